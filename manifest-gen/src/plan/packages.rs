//! Package changes: a `package` resource for each one the admin asked for
//! (dependencies are the package manager's business), and the `exec` that
//! refreshes the package index when a package source changes, so packages
//! from a new repository install in the same run.

use super::{refs, Cell, Input, Part, Plan, Resource, SysRow, Value};
use crate::Skipped;
use recorder::model::is_within;
use recorder::model::PackageFamily;
use recorder::model::{PackageChange, PackageChangeKind};

/// Add the package resources; returns their titles.
pub(super) fn plan_packages(input: &Input<'_>, plan: &mut Plan) -> Vec<String> {
    let mut explicit: Vec<&PackageChange> = Vec::new();
    for p in &input.system.packages {
        if p.explicit {
            explicit.push(p);
            continue;
        }
        plan.dependencies += 1;
        // A version change apt made for an install is listed, so a reader
        // sees it, but stays the package manager's: no resource.
        if matches!(
            p.kind,
            PackageChangeKind::Upgraded | PackageChangeKind::Downgraded
        ) {
            plan.packages.push(SysRow {
                cells: vec![
                    Cell::code(&p.name),
                    Cell::text(kind_name(p)),
                    versions(p),
                    Cell::text("not managed: changed by apt for another package"),
                ],
                param: None,
            });
        }
    }
    explicit.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    let mut titles: Vec<String> = Vec::new();
    for p in explicit {
        if titles.contains(&p.name) {
            plan.skipped.push(Skipped {
                path: format!("package {}", p.name),
                reason: "the change set lists this package twice; only the first record is used"
                    .into(),
            });
            continue;
        }
        let (ensure, puppet) = ensure(p, input.pin_versions);
        if matches!(
            p.kind,
            PackageChangeKind::Upgraded | PackageChangeKind::Downgraded
        ) && !matches!(ensure, Value::Str(_))
        {
            plan.unpinned_version_changes += 1;
        }
        let mut attrs = vec![("ensure", ensure)];
        let mut puppet = puppet;
        // Puppet cannot mark a package it removes.
        let present = !matches!(
            p.kind,
            PackageChangeKind::Removed | PackageChangeKind::Purged
        );
        if let (Some(held), true) = (p.hold, present) {
            attrs.push((
                "mark",
                Value::Str(if held { "hold" } else { "none" }.into()),
            ));
            puppet.push_str(if held { ", held" } else { ", not held" });
        }
        plan.resources.push(Resource {
            part: Part::Packages,
            kind: "package",
            title: p.name.clone(),
            attrs,
        });
        plan.packages.push(SysRow {
            cells: vec![
                Cell::code(&p.name),
                Cell::text(kind_name(p)),
                versions(p),
                Cell::text(puppet),
            ],
            param: None,
        });
        titles.push(p.name.clone());
    }
    plan.packages.sort_by(|a, b| a.cells[0].cmp(&b.cells[0]));
    titles
}

/// The `ensure` value and its README wording.
fn ensure(p: &PackageChange, pin_versions: bool) -> (Value, String) {
    match p.kind {
        PackageChangeKind::Removed => (Value::Word("absent"), "absent".into()),
        PackageChangeKind::Purged => (Value::Word("purged"), "purged".into()),
        PackageChangeKind::Marked => (Value::Word("installed"), "installed".into()),
        PackageChangeKind::Installed
        | PackageChangeKind::Upgraded
        | PackageChangeKind::Downgraded => match &p.after_version {
            Some(v) if pin_versions && !v.is_empty() => {
                (Value::Str(v.clone()), "the recorded version".into())
            }
            _ if p.kind == PackageChangeKind::Installed => {
                (Value::Word("installed"), "installed".into())
            }
            _ => (Value::Word("installed"), "installed (any version)".into()),
        },
    }
}

fn kind_name(p: &PackageChange) -> &'static str {
    match p.kind {
        PackageChangeKind::Installed => "installed",
        PackageChangeKind::Removed => "removed",
        PackageChangeKind::Purged => "purged",
        PackageChangeKind::Upgraded => "upgraded",
        PackageChangeKind::Downgraded => "downgraded",
        PackageChangeKind::Marked if p.hold == Some(false) => "released",
        PackageChangeKind::Marked => "held",
    }
}

fn versions(p: &PackageChange) -> Cell {
    match (&p.before_version, &p.after_version) {
        (Some(b), Some(a)) => Cell::FromTo(b.clone(), a.clone()),
        (None, Some(v)) | (Some(v), None) => Cell::code(v),
        (None, None) => Cell::text(""),
    }
}

/// The command that refreshes the package index, and a short name for it.
fn refresh_command(input: &Input<'_>, plan: &Plan) -> (&'static str, &'static str) {
    let family = input.system.family.unwrap_or_else(|| {
        // No package database was seen: go by which sources changed.
        let any_apt = plan
            .resources
            .iter()
            .any(|r| r.part == Part::Sources && is_within(r.title.as_bytes(), b"/etc/apt"));
        if any_apt {
            PackageFamily::Dpkg
        } else {
            PackageFamily::Rpm
        }
    });
    match family {
        PackageFamily::Dpkg => ("/usr/bin/apt-get update", "apt-get update"),
        PackageFamily::Rpm if uses_yum(input.os_id, input.os_version_id) => {
            ("/usr/bin/yum makecache", "yum makecache")
        }
        PackageFamily::Rpm => ("/usr/bin/dnf makecache", "dnf makecache"),
    }
}

/// Releases without dnf: EL 7 and older, Amazon Linux 2.
fn uses_yum(os_id: &str, version_id: &str) -> bool {
    let major: Option<u32> = version_id.split('.').next().and_then(|m| m.parse().ok());
    match os_id {
        "rhel" | "centos" | "ol" | "scientific" => major.is_some_and(|m| m < 8),
        "amzn" => major == Some(2),
        _ => false,
    }
}

/// Add the `exec` refreshing the package index when a package source in
/// the module changes (also when one is removed).
pub(super) fn plan_refresh(input: &Input<'_>, plan: &mut Plan) {
    let sources: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.part == Part::Sources && r.kind == "file")
        .map(|r| r.title.clone())
        .collect();
    if sources.is_empty() {
        return;
    }
    let (command, short) = refresh_command(input, plan);
    let title = format!("{} {short}", input.module);
    plan.resources.push(Resource {
        part: Part::Sources,
        kind: "exec",
        title: title.clone(),
        attrs: vec![
            ("command", Value::Str(command.into())),
            ("refreshonly", Value::Word("true")),
            ("subscribe", refs("File", sources)),
        ],
    });
    plan.refresh = Some(title);
}
