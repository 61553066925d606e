//! `README.md`: what the module manages part by part, which class
//! parameters must be supplied and how, which site values are parameters
//! and how a site gives its own, how to override a part, and what could
//! not be expressed. Every value is escaped for Markdown here; the
//! template only lays it out.

use super::manifests::part_summary;
use super::markdown::{md_code, md_text};
use super::overriding::{overriding, Overriding};
use super::render_template;
use super::tables::{self, FileRow, TableRow};
use super::words;
use crate::plan::catalog::{Param, Supplies};
use crate::plan::{Part, Plan};
use crate::{puppet, Error};
use minijinja::Environment;
use recorder::model::ChangeSet;
use recorder::model::{display_path, Facts, Notice};
use serde::Serialize;

#[derive(Serialize)]
struct ReadmeView {
    name: String,
    session: String,
    description: Option<String>,
    recorded_on: Option<String>,
    /// Secret content was copied into the module (include_secrets).
    ships_secrets: bool,
    /// The mandatory parameters.
    params: Vec<ReadmeParam>,
    site: Vec<SiteRow>,
    parts: Vec<PartRow>,
    sources: Vec<FileRow>,
    refresh: Option<String>,
    packages: Vec<TableRow>,
    /// Upgrades or downgrades became `ensure => installed`.
    unpinned: bool,
    dependencies: Option<String>,
    accounts: Vec<TableRow>,
    by_package: Vec<String>,
    services: Vec<TableRow>,
    dpkg: Vec<TableRow>,
    files: Vec<FileRow>,
    /// Commands run when the files that feed them change.
    derived: Vec<String>,
    elsewhere: Vec<String>,
    overriding: Option<Overriding>,
    /// The recorded commands, in order, and what each one changed.
    changelog: Vec<String>,
    skipped: Vec<ReadmeSkip>,
    incomplete: Vec<ReadmeSkip>,
    notices: Vec<String>,
    previous: Option<PreviousView>,
}

/// The version this module replaces, and what it managed that this one
/// does not (each `WHAT` as "Not expressed" names it: a path, or `KIND NAME`).
#[derive(Serialize)]
struct PreviousView {
    session: String,
    left: Vec<String>,
}

#[derive(Serialize)]
struct ReadmeParam {
    name: String,
    /// Name padded for the aligned example declaration.
    key: String,
    puppet_type: &'static str,
    /// What it supplies, as Markdown.
    what: String,
    why: String,
    example: &'static str,
}

/// A site parameter: its name (and padded for the example), the recorded
/// value as Markdown code, and the files using it.
#[derive(Serialize)]
struct SiteRow {
    name: String,
    key: String,
    default: String,
    /// The default as a Puppet literal, as Markdown code.
    literal: String,
    files: String,
}

#[derive(Serialize)]
struct PartRow {
    class: String,
    file: String,
    what: String,
}

#[derive(Serialize)]
struct ReadmeSkip {
    path: String,
    reason: String,
}

pub(super) fn readme(
    env: &Environment<'_>,
    cs: &ChangeSet,
    plan: &Plan,
    module: &str,
    previous: Option<(&crate::Previous, Vec<&str>)>,
) -> Result<String, Error> {
    let catalog = &plan.catalog;
    let outcomes = &plan.outcomes;
    let mandatory: Vec<&Param> = catalog
        .params
        .iter()
        .filter(|p| p.default().is_none())
        .collect();
    let width = mandatory.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let site_width = catalog
        .params
        .iter()
        .filter(|p| p.default().is_some())
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    let parts: Vec<Part> = Part::ALL
        .into_iter()
        .filter(|p| catalog.has_part(*p))
        .collect();
    let files = &outcomes.files;
    let file_rows =
        |part: Part| tables::file_rows(files.changes.iter().filter(|c| c.part == part), catalog);
    let view = ReadmeView {
        name: module.to_string(),
        session: md_code(&cs.session.name, false),
        description: cs
            .session
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(|d| {
                d.trim()
                    .lines()
                    .map(|l| format!("> {}", md_text(&puppet::comment_text(l, usize::MAX))))
                    .map(|l| l.trim_end().to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        recorded_on: recorded_on(&cs.session.facts),
        ships_secrets: tables::ships_secret_files(&files.changes)
            || !catalog.secret_parts().is_empty(),
        params: mandatory
            .iter()
            .map(|p| ReadmeParam {
                name: p.name.clone(),
                key: format!("{:<width$}", p.name),
                puppet_type: p.puppet_type(),
                what: match &p.supplies {
                    Supplies::Content { path, .. } => {
                        format!("the content of {}", md_code(&display_path(path), false))
                    }
                    Supplies::Password { user, .. } => format!(
                        "the password hash (as in `/etc/shadow`) of user {}",
                        md_code(&display_path(user.as_bytes()), false)
                    ),
                    Supplies::Site { .. } => String::new(),
                },
                why: md_text(&words::param_why(p)),
                example: example(p),
            })
            .collect(),
        site: catalog
            .params
            .iter()
            .filter_map(|p| match &p.supplies {
                Supplies::Site { literal, paths } => Some(SiteRow {
                    name: p.name.clone(),
                    key: format!("{:<site_width$}", p.name),
                    default: md_code(literal, true),
                    literal: md_code(&puppet::quote(literal), false),
                    files: paths
                        .iter()
                        .map(|path| md_code(&display_path(path), true))
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
                _ => None,
            })
            .collect(),
        parts: parts
            .iter()
            .map(|p| PartRow {
                class: format!("{module}::{}", p.name()),
                file: format!("manifests/{}.pp", p.name()),
                what: part_summary(*p, catalog),
            })
            .collect(),
        sources: file_rows(Part::Sources),
        refresh: outcomes
            .packages
            .index_refresh
            .as_deref()
            .map(|t| md_code(t, false)),
        packages: tables::package_rows(&outcomes.packages.changes),
        unpinned: outcomes.packages.unpinned > 0,
        dependencies: tables::dependencies(outcomes.packages.dependencies),
        accounts: tables::account_rows(&outcomes.accounts, catalog),
        by_package: tables::by_package_lines(&outcomes.accounts),
        services: tables::service_rows(&outcomes.services),
        dpkg: tables::dpkg_rows(&outcomes.dpkg),
        files: file_rows(Part::Files),
        derived: tables::regenerated_lines(&files.regenerated),
        elsewhere: tables::elsewhere_lines(&files.elsewhere),
        overriding: overriding(catalog, &parts, module),
        changelog: changelog(&cs.why, &outcomes.replayed),
        previous: previous.map(|(p, left)| PreviousView {
            session: md_code(&p.session, false),
            left: left
                .into_iter()
                .map(|t| match t.split_once(' ') {
                    Some(("file", path)) => md_code(path, false),
                    _ => md_code(t, false),
                })
                .collect(),
        }),
        skipped: outcomes
            .not_expressed
            .left_out
            .iter()
            .map(|l| ReadmeSkip {
                path: md_code(&l.subject.to_string(), false),
                reason: md_text(&words::left_out_reason(l)),
            })
            .collect(),
        incomplete: outcomes
            .not_expressed
            .partial
            .iter()
            .map(|(path, why)| ReadmeSkip {
                path: md_code(&display_path(path), false),
                reason: md_text(&words::partial_reason(*why)),
            })
            .collect(),
        notices: cs.notices.iter().map(notice_line).collect(),
    };
    render_template(env, "README.md", view)
}

/// One line per top-level command: what it was, how it ended, and every
/// change made during it (by the tools it ran too).
fn changelog(why: &recorder::model::Why, replayed: &[i64]) -> Vec<String> {
    use recorder::model::Subject;
    why.top_level()
        .map(|i| {
            let status = match (i.exit_code, i.signal) {
                (_, Some(sig)) => format!("killed by signal {sig}"),
                (Some(0), _) => "ok".to_string(),
                (Some(c), _) => format!("exit {c}"),
                (None, None) => "did not end".to_string(),
            };
            let changes: Vec<String> = why
                .changes_of(i.id)
                .iter()
                .map(|a| {
                    let name = match a.subject {
                        Subject::File => display_path(&a.name),
                        _ => String::from_utf8_lossy(&a.name).into_owned(),
                    };
                    format!("{} {}", a.subject.as_str(), md_code(&name, false))
                })
                .collect();
            let text = i.text();
            let mut lines = text.lines();
            let first = lines.next().unwrap_or("");
            let shown = if text.contains('\n') {
                format!("{first} …")
            } else {
                text.clone()
            };
            let mut line = format!("`#{}` {} ({status})", i.id, md_code(&shown, false));
            if changes.is_empty() {
                line.push_str(": no recorded change");
            } else {
                line.push_str(&format!(": {}", changes.join(", ")));
            }
            if replayed.contains(&i.id) {
                line.push_str(&format!(
                    "; replayed by exec {}",
                    md_code(&crate::plan::exec_title(i), false)
                ));
            }
            if text.contains('\n') {
                line.push_str(&fenced(&text));
            }
            line
        })
        .collect()
}

/// A command of several lines (a heredoc) as typed, in a fenced block
/// inside its list item: the fence is longer than any run of backticks in
/// it.
fn fenced(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let mut out = format!("\n\n  {fence}sh\n");
    for l in text.lines() {
        if l.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out.push_str(&format!("  {fence}"));
    out
}

/// A value for the parameter in the README's examples.
pub(super) fn example(p: &Param) -> &'static str {
    match &p.supplies {
        Supplies::Password { .. } => "Sensitive('$6$...')",
        Supplies::Site { .. } => "'...'",
        Supplies::Content { binary: true, .. } => "Sensitive(Binary('BASE64...'))",
        Supplies::Content { .. } => "Sensitive('...')",
    }
}

fn recorded_on(f: &Facts) -> Option<String> {
    let about: Vec<String> = [&f.os_pretty_name, &f.arch]
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| md_text(&puppet::comment_text(s, 200)))
        .collect();
    match (f.hostname.is_empty(), about.is_empty()) {
        (true, true) => None,
        (true, false) => Some(about.join(", ")),
        (false, true) => Some(md_code(&f.hostname, false)),
        (false, false) => Some(format!(
            "{} ({})",
            md_code(&f.hostname, false),
            about.join(", ")
        )),
    }
}

fn notice_line(n: &Notice) -> String {
    let message = md_text(&puppet::comment_text(&n.message, usize::MAX));
    match &n.path {
        Some(p) => format!(
            "{}: {}: {message}",
            n.kind.as_str(),
            md_code(&display_path(p), false)
        ),
        None => format!("{}: {message}", n.kind.as_str()),
    }
}
