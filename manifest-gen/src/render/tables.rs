//! The tables and lists of `README.md` that say what became of each
//! recorded change: files and package sources, packages, accounts,
//! services, dpkg's state, the commands rerun for what files feed, and the
//! changes other resources reproduce. The planners' decisions are worded
//! here; every value is escaped for Markdown here.

use super::markdown::{md_code, md_text};
use crate::plan::catalog::{Catalog, ParamId};
use crate::plan::outcome::Password;
use crate::plan::outcome::{
    AccountDecision, AccountKind, AccountOutcomes, DpkgOutcome, Ensure, FileDecision, FileOutcome,
    PackageDecision, PackageOutcome, PrimaryGroup, Regeneration, Regenerator, ServiceOutcome,
    UserState,
};
use recorder::model::{
    display_path, AccountChangeKind, Enable, Origin, PackageChange, PackageChangeKind, Running,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// A row of a file table.
#[derive(Serialize)]
pub(super) struct FileRow {
    path: String,
    change: &'static str,
    puppet: String,
}

/// A row of the other tables, cells ready for Markdown.
#[derive(Serialize)]
pub(super) struct TableRow {
    cells: Vec<String>,
}

/// A table cell, before Markdown escaping.
enum Cell {
    Text(String),
    /// Names shown as code, separated by commas (`-` for none).
    Code(Vec<String>),
    /// Two values shown as code: `before` -> `after`.
    FromTo(String, String),
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn code(s: &str) -> Cell {
    Cell::Code(vec![s.to_string()])
}

impl Cell {
    fn markdown(&self) -> String {
        match self {
            Cell::Text(t) => md_text(t),
            Cell::FromTo(from, to) => {
                format!("{} \u{2192} {}", md_code(from, true), md_code(to, true))
            }
            Cell::Code(names) if names.is_empty() => "-".to_string(),
            Cell::Code(names) => names
                .iter()
                .map(|n| md_code(n, true))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

fn row(cells: &[Cell]) -> TableRow {
    TableRow {
        cells: cells.iter().map(Cell::markdown).collect(),
    }
}

/// `` `$name` `` for each parameter.
fn param_names<'a>(catalog: &Catalog, ids: impl IntoIterator<Item = &'a ParamId>) -> String {
    ids.into_iter()
        .map(|id| format!("`${}`", catalog.param_name(id)))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---- files ---------------------------------------------------------------

pub(super) fn file_rows<'a>(
    changes: impl IntoIterator<Item = &'a FileOutcome>,
    catalog: &Catalog,
) -> Vec<FileRow> {
    changes
        .into_iter()
        .map(|c| FileRow {
            path: md_code(&display_path(&c.path), true),
            change: c.change.as_str(),
            puppet: file_puppet(&c.became, catalog),
        })
        .collect()
}

/// What the module does with a file, as the Puppet column says it: words,
/// then a path (as code) they refer to, then the parameters they use.
fn file_puppet(d: &FileDecision, catalog: &Catalog) -> String {
    let secret = |s: bool| if s { "secret " } else { "" };
    let (words, detail, params): (String, Option<String>, &[ParamId]) = match d {
        FileDecision::Absent => ("absent".into(), None, &[]),
        FileDecision::AbsentTree => ("absent, with everything below it".into(), None, &[]),
        FileDecision::RemovedWith(dir) => ("removed with".into(), Some(display_path(dir)), &[]),
        FileDecision::Directory => ("directory".into(), None, &[]),
        FileDecision::Link(target) => {
            ("link to".into(), Some(display_path(target.as_bytes())), &[])
        }
        FileDecision::Metadata => ("file: ownership and mode".into(), None, &[]),
        FileDecision::Uncaptured => (
            "file: ownership and mode (content not captured)".into(),
            None,
            &[],
        ),
        FileDecision::Empty { secret: s } => (format!("{}file: empty", secret(*s)), None, &[]),
        FileDecision::Shipped { rel, secret: s } => (
            format!("{}file: content from", secret(*s)),
            Some(format!("files/{rel}")),
            &[],
        ),
        FileDecision::Template { rel, params } => (
            "file: template".into(),
            Some(format!("templates/{rel}")),
            params,
        ),
        FileDecision::FromParam(id) => (
            "file: content from parameter".into(),
            None,
            std::slice::from_ref(id),
        ),
    };
    let mut puppet = words;
    if let Some(d) = &detail {
        puppet = format!("{puppet} {}", md_code(d, true));
    }
    if !params.is_empty() {
        let with = if detail.is_some() { " with" } else { "" };
        puppet = format!("{puppet}{with} {}", param_names(catalog, params));
    }
    puppet
}

/// Does the module ship secret content as it is?
pub(super) fn ships_secret_files<'a>(changes: impl IntoIterator<Item = &'a FileOutcome>) -> bool {
    changes.into_iter().any(|c| {
        matches!(
            c.became,
            FileDecision::Empty { secret: true } | FileDecision::Shipped { secret: true, .. }
        )
    })
}

/// `` `locale-gen` remakes the compiled locales when `/etc/locale.gen` changes ``.
pub(super) fn regenerated_lines(regenerated: &[Regeneration]) -> Vec<String> {
    regenerated
        .iter()
        .map(|r| {
            format!(
                "{} remakes {} when {} changes",
                md_code(r.by.short(), false),
                md_text(makes(r.by)),
                r.files
                    .iter()
                    .map(|f| md_code(f, false))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        })
        .collect()
}

/// What a regenerating command makes from its input.
fn makes(by: Regenerator) -> &'static str {
    match by {
        Regenerator::LocaleGen => "the compiled locales",
        Regenerator::NewAliases => "/etc/aliases.db",
        Regenerator::Ldconfig => "/etc/ld.so.cache",
        Regenerator::UpdateCaCertificates => "the trusted certificates in /etc/ssl/certs",
    }
}

/// One line per origin (package, accounts, services...): its paths listed
/// when there are a few, else counted.
pub(super) fn elsewhere_lines(elsewhere: &[(Origin, Vec<u8>)]) -> Vec<String> {
    let mut by_origin: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (origin, path) in elsewhere {
        by_origin
            .entry(origin.describe())
            .or_default()
            .push(display_path(path));
    }
    by_origin
        .iter()
        .map(|(origin, paths)| elsewhere_line(origin, paths))
        .collect()
}

fn elsewhere_line(origin: &str, paths: &[String]) -> String {
    const LISTED: usize = 4;
    let origin = md_text(origin);
    if paths.len() <= LISTED {
        let list: Vec<String> = paths.iter().map(|p| md_code(p, false)).collect();
        format!("{origin}: {}", list.join(", "))
    } else {
        format!("{origin}: {} paths", paths.len())
    }
}

// ---- packages ------------------------------------------------------------

pub(super) fn package_rows(changes: &[PackageOutcome]) -> Vec<TableRow> {
    changes
        .iter()
        .map(|o| {
            let p = &o.change;
            row(&[
                code(&p.name),
                text(package_change(p)),
                versions(p),
                text(package_puppet(&o.became)),
            ])
        })
        .collect()
}

fn package_change(p: &PackageChange) -> &'static str {
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
        (None, Some(v)) | (Some(v), None) => code(v),
        (None, None) => text(""),
    }
}

fn package_puppet(d: &PackageDecision) -> String {
    let (ensure, mark) = match d {
        PackageDecision::ByPackageManager => {
            return "not managed: changed by apt for another package".into()
        }
        PackageDecision::Managed { ensure, mark } => (ensure, mark),
    };
    let mut s = match ensure {
        Ensure::Absent => "absent",
        Ensure::Purged => "purged",
        Ensure::Installed => "installed",
        Ensure::AnyVersion => "installed (any version)",
        Ensure::Pinned => "the recorded version",
    }
    .to_string();
    match mark {
        Some(true) => s.push_str(", held"),
        Some(false) => s.push_str(", not held"),
        None => {}
    }
    s
}

/// `1 other package change (a dependency) is`, completed by the template.
pub(super) fn dependencies(n: usize) -> Option<String> {
    match n {
        0 => None,
        1 => Some("1 other package change (a dependency) is".into()),
        n => Some(format!("{n} other package changes (dependencies) are")),
    }
}

// ---- accounts ------------------------------------------------------------

pub(super) fn account_rows(accounts: &AccountOutcomes, catalog: &Catalog) -> Vec<TableRow> {
    accounts
        .changes
        .iter()
        .map(|a| {
            let (kind, said, param) = match &a.became {
                AccountDecision::GroupAbsent => ("group", "absent".to_string(), None),
                AccountDecision::GroupPresent { gid } => {
                    ("group", format!("present; gid {gid}"), None)
                }
                AccountDecision::UserAbsent => ("user", "absent".to_string(), None),
                AccountDecision::UserPresent(state) => {
                    let param = match &state.password {
                        Some(Password::FromParam(id)) => Some(id),
                        _ => None,
                    };
                    ("user", user_said(state), param)
                }
            };
            let mut r = row(&[
                code(&a.name),
                text(kind),
                text(account_change(a.kind)),
                text(said),
            ]);
            if let (Some(id), Some(last)) = (param, r.cells.last_mut()) {
                last.push(' ');
                last.push_str(&param_names(catalog, [id]));
            }
            r
        })
        .collect()
}

fn account_change(k: AccountChangeKind) -> &'static str {
    match k {
        AccountChangeKind::Created => "created",
        AccountChangeKind::Changed => "changed",
        AccountChangeKind::Removed => "removed",
    }
}

fn user_said(u: &UserState) -> String {
    let mut said = vec!["present".to_string(), format!("uid {}", u.uid)];
    said.push(match &u.primary {
        PrimaryGroup::Named(name) => format!("primary group {name}"),
        PrimaryGroup::Gid(gid) => format!("gid {gid}"),
    });
    match u.groups.as_deref() {
        None => {}
        Some([]) => said.push("no supplementary groups".into()),
        Some(groups) => said.push(format!("groups {}", groups.join(", "))),
    }
    if u.creates_home {
        said.push("creates the home directory".into());
    }
    match u.password {
        None => {}
        Some(Password::Embedded) => said.push("password embedded (secret)".into()),
        Some(Password::FromParam(_)) => said.push("password from parameter".into()),
    }
    said.join("; ")
}

/// `` user `www-data`: package `nginx` ``.
pub(super) fn by_package_lines(accounts: &AccountOutcomes) -> Vec<String> {
    accounts
        .by_package
        .iter()
        .map(|a| {
            let kind = match a.kind {
                AccountKind::Group => "group",
                AccountKind::User => "user",
            };
            format!(
                "{kind} {}: package {}",
                md_code(&a.name, false),
                md_code(&a.package, false)
            )
        })
        .collect()
}

// ---- services and dpkg's state -------------------------------------------

pub(super) fn service_rows(services: &[ServiceOutcome]) -> Vec<TableRow> {
    services
        .iter()
        .map(|s| {
            let enable = match s.enable {
                Some(Enable::True) => "true",
                Some(Enable::False) => "false",
                Some(Enable::Mask) => "mask",
                None => "unchanged",
            };
            let running = match s.ensure {
                Some(Running::Running) => "running",
                Some(Running::Stopped) => "stopped",
                None => "not managed",
            };
            let restarts = s.restarts.iter().map(|p| display_path(p.as_bytes()));
            row(&[
                code(&s.unit),
                text(enable),
                text(running),
                Cell::Code(restarts.collect()),
            ])
        })
        .collect()
}

pub(super) fn dpkg_rows(dpkg: &[DpkgOutcome]) -> Vec<TableRow> {
    dpkg.iter()
        .map(|d| match d {
            DpkgOutcome::Alternative { name, choice } => row(&[
                code(&format!("alternative {name}")),
                match choice {
                    Some(value) => code(value),
                    None => text("automatic again"),
                },
                text("exec `update-alternatives`"),
            ]),
            DpkgOutcome::Diversion {
                from,
                to,
                added,
                renamed,
            } => {
                let mut said = if *added {
                    format!("added, to {to}")
                } else {
                    "removed".to_string()
                };
                if *renamed {
                    said.push_str(", the packaged file moved along");
                }
                row(&[
                    code(&format!("diversion {from}")),
                    text(said),
                    text("exec `dpkg-divert`"),
                ])
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::catalog::{Param, Supplies};
    use crate::plan::Part;
    use recorder::model::ChangeKind;

    #[test]
    fn elsewhere_lists_a_few_and_counts_many() {
        let few: Vec<String> = ["/etc/group", "/etc/passwd"].map(String::from).to_vec();
        assert_eq!(
            elsewhere_line("accounts", &few),
            "accounts: `/etc/group`, `/etc/passwd`"
        );
        let many: Vec<String> = (0..5).map(|i| format!("/usr/share/x{i}")).collect();
        assert_eq!(
            elsewhere_line("package nginx", &many),
            "package nginx: 5 paths"
        );
    }

    /// Every file decision in the words of the README's Puppet column.
    #[test]
    fn file_decisions_in_words() {
        let catalog = Catalog {
            resources: Vec::new(),
            params: vec![
                Param {
                    name: "mailhub".into(),
                    supplies: Supplies::Site {
                        literal: "smtp".into(),
                        paths: vec![b"/etc/m".to_vec()],
                    },
                },
                Param {
                    name: "etc_k_content".into(),
                    supplies: Supplies::Content {
                        path: b"/etc/k".to_vec(),
                        binary: false,
                        uncaptured: None,
                    },
                },
            ],
        };
        let site = ParamId::Site("mailhub".into());
        let content = ParamId::Content(b"/etc/k".to_vec());
        let cases = [
            (FileDecision::Absent, "absent"),
            (FileDecision::AbsentTree, "absent, with everything below it"),
            (
                FileDecision::RemovedWith(b"/opt/a".to_vec()),
                "removed with `/opt/a`",
            ),
            (FileDecision::Directory, "directory"),
            (FileDecision::Link("a|b".into()), "link to `a\\|b`"),
            (FileDecision::Metadata, "file: ownership and mode"),
            (
                FileDecision::Uncaptured,
                "file: ownership and mode (content not captured)",
            ),
            (FileDecision::Empty { secret: false }, "file: empty"),
            (FileDecision::Empty { secret: true }, "secret file: empty"),
            (
                FileDecision::Shipped {
                    rel: "etc/x".into(),
                    secret: true,
                },
                "secret file: content from `files/etc/x`",
            ),
            (
                FileDecision::Template {
                    rel: "etc/m.epp".into(),
                    params: vec![site],
                },
                "file: template `templates/etc/m.epp` with `$mailhub`",
            ),
            (
                FileDecision::FromParam(content),
                "file: content from parameter `$etc_k_content`",
            ),
        ];
        for (became, want) in cases {
            let o = FileOutcome {
                part: Part::Files,
                path: b"/etc/x".to_vec(),
                change: ChangeKind::Created,
                became,
            };
            let rows = file_rows([&o], &catalog);
            assert_eq!(rows[0].puppet, want);
        }
    }

    #[test]
    fn package_decisions_in_words() {
        let cases = [
            (
                PackageDecision::ByPackageManager,
                "not managed: changed by apt for another package",
            ),
            (
                PackageDecision::Managed {
                    ensure: Ensure::AnyVersion,
                    mark: None,
                },
                "installed (any version)",
            ),
            (
                PackageDecision::Managed {
                    ensure: Ensure::Installed,
                    mark: Some(true),
                },
                "installed, held",
            ),
            (
                PackageDecision::Managed {
                    ensure: Ensure::Pinned,
                    mark: Some(false),
                },
                "the recorded version, not held",
            ),
        ];
        for (d, want) in cases {
            assert_eq!(package_puppet(&d), want);
        }
    }
}
