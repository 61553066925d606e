//! Package changes: a `package` resource for each one the admin asked for
//! (dependencies are the package manager's business), and the `exec` that
//! refreshes the package index when a package source changes, so packages
//! from a new repository install in the same run.

use super::catalog::{refs, Resource, Value};
use super::outcome::{Ensure, PackageDecision, PackageOutcome, PackageOutcomes, Reason, Subject};
use super::{Input, Part, Planned};
use recorder::model::is_within;
use recorder::model::PackageFamily;
use recorder::model::{PackageChange, PackageChangeKind};

/// A `package` resource for each package the admin changed; the version
/// changes made for them are listed, the rest counted.
pub(super) fn plan(packages: &[PackageChange], pin_versions: bool) -> Planned<PackageOutcomes> {
    let mut out: Planned<PackageOutcomes> = Planned::default();
    let mut explicit: Vec<&PackageChange> = Vec::new();
    for p in packages {
        if p.explicit {
            explicit.push(p);
            continue;
        }
        out.outcome.dependencies += 1;
        // A version change apt made for an install is listed, so a reader
        // sees it, but stays the package manager's: no resource.
        if matches!(
            p.kind,
            PackageChangeKind::Upgraded | PackageChangeKind::Downgraded
        ) {
            out.outcome.changes.push(PackageOutcome {
                change: p.clone(),
                became: PackageDecision::ByPackageManager,
            });
        }
    }
    explicit.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    let mut titles: Vec<&str> = Vec::new();
    for p in explicit {
        if titles.contains(&p.name.as_str()) {
            out.leave_out(Subject::Package(p.name.clone()), Reason::ListedTwice);
            continue;
        }
        let ensure = ensure(p, pin_versions);
        if ensure == Ensure::AnyVersion {
            out.outcome.unpinned += 1;
        }
        let value = match ensure {
            Ensure::Absent => Value::Word("absent"),
            Ensure::Purged => Value::Word("purged"),
            Ensure::Installed | Ensure::AnyVersion => Value::Word("installed"),
            Ensure::Pinned => Value::Str(p.after_version.clone().unwrap_or_default()),
        };
        let mut attrs = vec![("ensure", value)];
        // Puppet cannot mark a package it removes.
        let present = !matches!(ensure, Ensure::Absent | Ensure::Purged);
        let mark = p.hold.filter(|_| present);
        if let Some(held) = mark {
            attrs.push((
                "mark",
                Value::Str(if held { "hold" } else { "none" }.into()),
            ));
        }
        out.resources.push(Resource {
            part: Part::Packages,
            kind: "package",
            title: p.name.clone(),
            attrs,
        });
        out.outcome.changes.push(PackageOutcome {
            change: p.clone(),
            became: PackageDecision::Managed { ensure, mark },
        });
        titles.push(&p.name);
    }
    // Stable: a listed dependency upgrade comes before a package of the
    // same name.
    out.outcome
        .changes
        .sort_by(|a, b| a.change.name.cmp(&b.change.name));
    out
}

fn ensure(p: &PackageChange, pin_versions: bool) -> Ensure {
    match p.kind {
        PackageChangeKind::Removed => Ensure::Absent,
        PackageChangeKind::Purged => Ensure::Purged,
        PackageChangeKind::Marked => Ensure::Installed,
        PackageChangeKind::Installed
        | PackageChangeKind::Upgraded
        | PackageChangeKind::Downgraded => match &p.after_version {
            Some(v) if pin_versions && !v.is_empty() => Ensure::Pinned,
            _ if p.kind == PackageChangeKind::Installed => Ensure::Installed,
            _ => Ensure::AnyVersion,
        },
    }
}

/// The command that refreshes the package index, and a short name for it.
fn refresh_command(input: &Input<'_>, resources: &[Resource]) -> (&'static str, &'static str) {
    let family = input.system.family.unwrap_or_else(|| {
        // No package database was seen: go by which sources changed.
        let any_apt = resources
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

/// The `exec` refreshing the package index when a package source among
/// `resources` changes (also when one is removed).
pub(super) fn refresh(input: &Input<'_>, resources: &[Resource]) -> Option<Resource> {
    let sources: Vec<String> = resources
        .iter()
        .filter(|r| r.part == Part::Sources && r.kind == "file")
        .map(|r| r.title.clone())
        .collect();
    if sources.is_empty() {
        return None;
    }
    let (command, short) = refresh_command(input, resources);
    Some(Resource {
        part: Part::Sources,
        kind: "exec",
        title: format!("{} {short}", input.module),
        attrs: vec![
            ("command", Value::Str(command.into())),
            ("refreshonly", Value::Word("true")),
            ("subscribe", refs("File", sources)),
        ],
    })
}
