//! `README.md`: what the module manages part by part, which class
//! parameters must be supplied and how, which site values are parameters
//! and how a site gives its own, how to override a part, and what could
//! not be expressed. Every value is escaped for Markdown here; the
//! template only lays it out.

use super::manifests::part_params;
use super::manifests::part_summary;
use super::render_template;
use crate::plan::{Cell, Param, ParamFor, Part, Plan, Row, SysRow, Value};
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
    sources: Vec<ReadmeRow>,
    refresh: Option<String>,
    packages: Vec<TableRow>,
    /// Upgrades or downgrades became `ensure => installed`.
    unpinned: bool,
    dependencies: Option<String>,
    accounts: Vec<TableRow>,
    by_package: Vec<String>,
    services: Vec<TableRow>,
    dpkg: Vec<TableRow>,
    files: Vec<ReadmeRow>,
    /// Commands run when the files that feed them change.
    derived: Vec<String>,
    elsewhere: Vec<String>,
    overriding: Option<Overriding>,
    /// The recorded commands, in order, and what each one changed.
    changelog: Vec<String>,
    skipped: Vec<ReadmeSkip>,
    incomplete: Vec<ReadmeSkip>,
    notices: Vec<String>,
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
struct ReadmeRow {
    path: String,
    change: &'static str,
    puppet: String,
}

#[derive(Serialize)]
struct TableRow {
    cells: Vec<String>,
}

#[derive(Serialize)]
struct ReadmeSkip {
    path: String,
    reason: String,
}

/// How to override a part: which part the example replaces, and (when
/// the module has several parts) the example's declarations and chain.
#[derive(Serialize)]
struct Overriding {
    replaced: String,
    /// Lines of the example class (a declaration may span several).
    contain: Vec<String>,
    chain: Vec<String>,
    /// The kept parts that refer to resources of the replaced one.
    refer: Option<String>,
    /// A kept part's parameter as a Hiera key: `web::accounts::x`.
    hiera: Option<String>,
}

pub(super) fn readme(
    env: &Environment<'_>,
    cs: &ChangeSet,
    plan: &Plan,
    module: &str,
) -> Result<String, Error> {
    let mandatory: Vec<&Param> = plan
        .params
        .iter()
        .filter(|p| p.default().is_none())
        .collect();
    let width = mandatory.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let site_width = plan
        .params
        .iter()
        .filter(|p| p.default().is_some())
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    let parts: Vec<Part> = Part::ALL
        .into_iter()
        .filter(|p| plan.has_part(*p))
        .collect();
    let file_rows = |part: Part| -> Vec<ReadmeRow> {
        plan.rows
            .iter()
            .filter(|r| r.part == part)
            .map(|r| readme_row(r, plan))
            .collect()
    };
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
        ships_secrets: plan.rows.iter().any(|r| r.puppet.starts_with("secret "))
            || !plan.secret_parts.is_empty(),
        params: mandatory
            .iter()
            .map(|p| ReadmeParam {
                name: p.name.clone(),
                key: format!("{:<width$}", p.name),
                puppet_type: p.puppet_type,
                what: match &p.target {
                    ParamFor::Content(path) => {
                        format!("the content of {}", md_code(&display_path(path), false))
                    }
                    ParamFor::Password(user) => format!(
                        "the password hash (as in `/etc/shadow`) of user {}",
                        md_code(&display_path(user.as_bytes()), false)
                    ),
                    ParamFor::Site { .. } => String::new(),
                },
                why: md_text(&p.why),
                example: example(p),
            })
            .collect(),
        site: plan
            .params
            .iter()
            .filter_map(|p| match &p.target {
                ParamFor::Site { literal, paths } => Some(SiteRow {
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
                what: part_summary(*p, plan),
            })
            .collect(),
        sources: file_rows(Part::Sources),
        refresh: plan.refresh.as_deref().map(|t| md_code(t, false)),
        packages: table(&plan.packages, plan),
        unpinned: plan.unpinned_version_changes > 0,
        dependencies: match plan.dependencies {
            0 => None,
            1 => Some("1 other package change (a dependency) is".into()),
            n => Some(format!("{n} other package changes (dependencies) are")),
        },
        accounts: table(&plan.accounts, plan),
        by_package: plan
            .by_package
            .iter()
            .map(|(kind, name, pkg)| {
                format!(
                    "{kind} {}: package {}",
                    md_code(name, false),
                    md_code(pkg, false)
                )
            })
            .collect(),
        services: table(&plan.services, plan),
        dpkg: table(&plan.dpkg, plan),
        files: file_rows(Part::Files),
        derived: plan
            .derived
            .iter()
            .map(|(command, makes, files)| {
                format!(
                    "{} remakes {} when {} changes",
                    md_code(command, false),
                    md_text(makes),
                    files
                        .iter()
                        .map(|f| md_code(f, false))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )
            })
            .collect(),
        elsewhere: plan
            .elsewhere
            .iter()
            .map(|(origin, paths)| elsewhere_line(origin, paths))
            .collect(),
        overriding: overriding(plan, &parts, module),
        changelog: changelog(&cs.why, plan),
        skipped: plan.skipped.iter().map(readme_skip).collect(),
        incomplete: plan.incomplete.iter().map(readme_skip).collect(),
        notices: cs.notices.iter().map(notice_line).collect(),
    };
    render_template(env, "README.md", view)
}

/// One line per top-level command: what it was, how it ended, and every
/// change made during it (by the tools it ran too).
fn changelog(why: &recorder::model::Why, plan: &Plan) -> Vec<String> {
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
            let mut line = format!(
                "`#{}` {} ({status})",
                i.id,
                md_code(&i.text().replace('\n', " "), false)
            );
            if changes.is_empty() {
                line.push_str(": no recorded change");
            } else {
                line.push_str(&format!(": {}", changes.join(", ")));
            }
            if plan.execs.contains(&i.id) {
                line.push_str(&format!(
                    "; replayed by exec {}",
                    md_code(&crate::plan::exec_title(i), false)
                ));
            }
            line
        })
        .collect()
}

/// A value for the parameter in the README's examples.
fn example(p: &Param) -> &'static str {
    match (&p.target, p.puppet_type) {
        (ParamFor::Password(_), _) => "Sensitive('$6$...')",
        (ParamFor::Site { .. }, _) => "'...'",
        (_, "Sensitive[Binary]") => "Sensitive(Binary('BASE64...'))",
        _ => "Sensitive('...')",
    }
}

fn readme_row(r: &Row, plan: &Plan) -> ReadmeRow {
    let mut puppet = r.puppet.clone();
    if let Some(d) = &r.detail {
        puppet = format!("{puppet} {}", md_code(d, true));
    }
    if !r.params.is_empty() {
        let names: Vec<String> = r
            .params
            .iter()
            .map(|i| format!("`${}`", plan.params[*i].name))
            .collect();
        let with = if r.detail.is_some() { " with" } else { "" };
        puppet = format!("{puppet}{with} {}", names.join(", "));
    }
    ReadmeRow {
        path: md_code(&r.path, true),
        change: r.change.as_str(),
        puppet,
    }
}

fn table(rows: &[SysRow], plan: &Plan) -> Vec<TableRow> {
    rows.iter()
        .map(|row| {
            let mut cells: Vec<String> = row
                .cells
                .iter()
                .map(|c| match c {
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
                })
                .collect();
            if let (Some(i), Some(last)) = (row.param, cells.last_mut()) {
                last.push_str(&format!(" `${}`", plan.params[i].name));
            }
            TableRow { cells }
        })
        .collect()
}

/// Paths listed when there are a few, else counted.
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

fn overriding(plan: &Plan, parts: &[Part], module: &str) -> Option<Overriding> {
    let replaced = parts
        .iter()
        .copied()
        .find(|p| *p == Part::Files)
        .or_else(|| parts.last().copied())?;
    // Resources of the replaced part that other parts refer to (a
    // service subscribing to a file): the replacement must declare them.
    let replaced_titles: Vec<(String, &str)> = plan
        .resources
        .iter()
        .filter(|r| r.part == replaced)
        .map(|r| (r.kind.to_string(), r.title.as_str()))
        .collect();
    let refers_to_replaced = |part: Part| {
        plan.resources.iter().filter(|r| r.part == part).any(|r| {
            r.attrs.iter().any(|(_, v)| match v {
                Value::Refs(refs) => refs.iter().any(|x| {
                    replaced_titles
                        .iter()
                        .any(|(k, t)| k.eq_ignore_ascii_case(x.kind) && *t == x.title)
                }),
                _ => false,
            })
        })
    };
    let mut classes = Vec::new();
    let mut contain = Vec::new();
    let mut refer = Vec::new();
    let mut hiera = None;
    for &p in parts {
        if p == replaced {
            let class = format!("mysite::{}", p.name());
            contain.push(format!("contain {class}"));
            classes.push(class);
            continue;
        }
        let class = format!("{module}::{}", p.name());
        let params = part_params(plan, p);
        // A site value: Hiera gives a Sensitive secret only with lookup_options.
        if let Some(&i) = params.iter().find(|&&i| plan.params[i].default().is_some()) {
            hiera.get_or_insert_with(|| format!("{class}::{}", plan.params[i].name));
        }
        // Mandatory values passed in the example; defaults left to Hiera.
        let mandatory: Vec<&Param> = params
            .iter()
            .map(|&i| &plan.params[i])
            .filter(|p| p.default().is_none())
            .collect();
        if !mandatory.is_empty() {
            let width = mandatory.iter().map(|p| p.name.len()).max().unwrap_or(0);
            let mut decl = format!("class {{ '{class}':\n");
            for m in &mandatory {
                decl.push_str(&format!("      {:<width$} => {},\n", m.name, example(m)));
            }
            decl.push_str("    }");
            contain.push(decl);
        }
        contain.push(format!("contain {class}"));
        if refers_to_replaced(p) {
            refer.push(format!("`{class}`"));
        }
        classes.push(class);
    }
    let commands = format!("{module}::{}", Part::Commands.name());
    let chain = classes
        .iter()
        .filter(|c| **c != commands)
        .enumerate()
        .map(|(i, c)| {
            let arrow = if i == 0 { "" } else { "-> " };
            format!("{arrow}Class['{c}']")
        })
        .collect::<Vec<_>>();
    let refer = subject(&refer, "refers", "refer");
    Some(Overriding {
        replaced: format!("{module}::{}", replaced.name()),
        contain: if parts.len() > 1 { contain } else { Vec::new() },
        chain: if chain.len() > 1 { chain } else { Vec::new() },
        refer,
        hiera: if parts.len() > 1 { hiera } else { None },
    })
}

/// `A verb` / `A and B verb_plural`, or nothing for no names.
fn subject(names: &[String], verb: &str, verb_plural: &str) -> Option<String> {
    match names {
        [] => None,
        [one] => Some(format!("{one} {verb}")),
        many => Some(format!("{} {verb_plural}", many.join(" and "))),
    }
}

fn readme_skip(s: &crate::Skipped) -> ReadmeSkip {
    ReadmeSkip {
        path: md_code(&s.path, false),
        reason: md_text(&s.reason),
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

/// A Markdown code span holding `s` verbatim, whatever backticks it holds;
/// in a table cell `|` must be escaped even inside code.
pub(crate) fn md_code(s: &str, in_table: bool) -> String {
    let longest_run = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) || s.is_empty() {
        " "
    } else {
        ""
    };
    let body = if in_table {
        s.replace('|', "\\|")
    } else {
        s.to_string()
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// Plain text with the characters Markdown would act on escaped. An `_`
/// inside a word (`x86_64`) is left alone: it cannot start emphasis.
pub(crate) fn md_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let in_word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let intraword = c == '_' && in_word(i.checked_sub(1)) && in_word(Some(i + 1));
        if "\\`*_[]<>|".contains(c) && !intraword {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_code_cases() {
        let cases = [
            ("plain", "/etc/x", false, "`/etc/x`"),
            ("backtick inside", "/etc/a`b", false, "``/etc/a`b``"),
            ("leading backtick", "`x", false, "`` `x ``"),
            ("pipe in table", "/etc/a|b", true, "`/etc/a\\|b`"),
            ("pipe outside table", "/etc/a|b", false, "`/etc/a|b`"),
            ("trailing space", "/etc/a ", false, "` /etc/a  `"),
        ];
        for (name, input, table, want) in cases {
            assert_eq!(md_code(input, table), want, "{name}");
        }
    }

    #[test]
    fn md_text_cases() {
        assert_eq!(md_text("_a_b_ *c* <d>"), "\\_a_b\\_ \\*c\\* \\<d\\>");
        assert_eq!(md_text("plain words."), "plain words.");
    }

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
}
