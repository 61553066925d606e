//! Text: turns a [`Plan`] into `metadata.json`, `manifests/init.pp`,
//! `README.md` and the `files/` tree. Templates under `templates/` only lay
//! out values that Rust has already escaped for their target language
//! (Puppet single quotes, Markdown); they hold no logic of their own.

use crate::plan::{Param, Plan, Resource, Value};
use crate::{puppet, Error, Module, ModuleOptions, Parameter, Report};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use recorder::model::{display_path, Facts, Notice};
use recorder::ChangeSet;
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATES: [(&str, &str); 3] = [
    ("init.pp", include_str!("../templates/init.pp.j2")),
    ("resource.pp", include_str!("../templates/resource.pp.j2")),
    ("README.md", include_str!("../templates/README.md.j2")),
];

pub(crate) fn render(cs: &ChangeSet, plan: &Plan, opts: &ModuleOptions) -> Result<Module, Error> {
    let env = environment()?;
    let mut files = BTreeMap::new();
    files.insert("metadata.json".to_string(), metadata(cs, opts)?);
    files.insert(
        "manifests/init.pp".to_string(),
        init_pp(&env, cs, plan, &opts.module_name)?.into_bytes(),
    );
    files.insert(
        "README.md".to_string(),
        readme(&env, cs, plan, &opts.module_name)?.into_bytes(),
    );
    for (rel, bytes) in &plan.files {
        files.insert(format!("files/{rel}"), bytes.clone());
    }
    let report = Report {
        resources: plan.resources.len(),
        skipped: plan.skipped.clone(),
        incomplete: plan.incomplete.clone(),
        parameters: plan
            .params
            .iter()
            .map(|p| Parameter {
                name: p.name.clone(),
                puppet_type: p.puppet_type.to_string(),
                path: display_path(&p.path),
                why: p.why.clone(),
            })
            .collect(),
    };
    let private = plan
        .private
        .iter()
        .map(|rel| format!("files/{rel}"))
        .collect();
    Ok(Module {
        files,
        private,
        report,
    })
}

fn environment() -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Neither Puppet nor Markdown is HTML: values arrive escaped for their
    // target, and HTML escaping would corrupt them.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| Error::Template {
                template: name,
                source,
            })?;
    }
    Ok(env)
}

fn render_template(
    env: &Environment<'_>,
    name: &'static str,
    ctx: impl Serialize,
) -> Result<String, Error> {
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|source| Error::Template {
            template: name,
            source,
        })
}

// ---- metadata.json -------------------------------------------------------

#[derive(Serialize)]
struct Metadata {
    name: String,
    version: &'static str,
    author: String,
    summary: String,
    license: &'static str,
    source: &'static str,
    dependencies: [(); 0],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    operatingsystem_support: Vec<OsSupport>,
    requirements: [Requirement; 1],
    /// Marks the module as cft's, so `write_module` may replace it.
    tags: [&'static str; 1],
}

#[derive(Serialize)]
struct OsSupport {
    operatingsystem: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    operatingsystemrelease: Vec<String>,
}

#[derive(Serialize)]
struct Requirement {
    name: &'static str,
    version_requirement: &'static str,
}

/// The tag `write_module` looks for before replacing a directory's content.
pub(crate) const CFT_TAG: &str = "cft";

fn metadata(cs: &ChangeSet, opts: &ModuleOptions) -> Result<Vec<u8>, Error> {
    let facts = &cs.session.facts;
    let mut summary = format!("Changes recorded by the cft session '{}'", cs.session.name);
    if let Some(d) = cs
        .session
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        summary.push_str(": ");
        summary.push_str(d);
    }
    let os = (!facts.os_id.is_empty()).then(|| OsSupport {
        operatingsystem: forge_os_name(&facts.os_id),
        operatingsystemrelease: [&facts.os_version_id]
            .into_iter()
            .filter(|v| !v.is_empty())
            .cloned()
            .collect(),
    });
    let m = Metadata {
        name: format!("{}-{}", opts.author, opts.module_name),
        version: "0.1.0",
        author: opts.author.clone(),
        // The Forge cuts summaries at 144 characters.
        summary: puppet::comment_text(&summary, 144),
        license: "Apache-2.0",
        source: "",
        dependencies: [],
        operatingsystem_support: os.into_iter().collect(),
        requirements: [Requirement {
            name: "puppet",
            version_requirement: ">= 7.0.0 < 9.0.0",
        }],
        tags: [CFT_TAG],
    };
    let mut out = serde_json::to_vec_pretty(&m).map_err(Error::Metadata)?;
    out.push(b'\n');
    Ok(out)
}

/// os-release `ID` -> the `operatingsystem` fact Puppet and the Forge use.
fn forge_os_name(os_id: &str) -> String {
    let known = [
        ("debian", "Debian"),
        ("ubuntu", "Ubuntu"),
        ("rhel", "RedHat"),
        ("centos", "CentOS"),
        ("fedora", "Fedora"),
        ("rocky", "Rocky"),
        ("almalinux", "AlmaLinux"),
        ("ol", "OracleLinux"),
        ("sles", "SLES"),
        ("amzn", "Amazon"),
    ];
    if let Some((_, name)) = known.iter().find(|(id, _)| *id == os_id) {
        return name.to_string();
    }
    let mut chars = os_id.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

// ---- manifests/init.pp ---------------------------------------------------

#[derive(Serialize)]
struct InitView {
    summary: String,
    session: String,
    name: String,
    params: Vec<ParamView>,
    resources: Vec<ResourceView>,
    class_wide_140chars: bool,
}

#[derive(Serialize)]
struct ParamView {
    name: String,
    puppet_type: &'static str,
    doc: String,
}

#[derive(Serialize)]
struct ResourceView {
    text: String,
    /// Control comment opening a `lint:ignore` block around the resource.
    lint_ignore: Option<String>,
}

#[derive(Serialize)]
struct AttrView {
    key: String,
    value: String,
}

fn init_pp(
    env: &Environment<'_>,
    cs: &ChangeSet,
    plan: &Plan,
    module: &str,
) -> Result<String, Error> {
    let texts = plan
        .resources
        .iter()
        .map(|r| resource_text(env, r, module, &plan.params))
        .collect::<Result<Vec<_>, _>>()?;
    // puppet-lint 3.0.1 numbers lines by \r as well as \n but measures
    // them by \n alone, so after a carriage return a per-resource
    // `lint:ignore:140chars` lands on the wrong lines; one block around
    // the whole class still covers them.
    let class_wide_140chars =
        texts.iter().any(|t| t.contains('\r')) && texts.iter().any(|t| puppet::has_long_line(t));
    let resources = texts
        .into_iter()
        .map(|text| {
            let mut checks = Vec::new();
            if !class_wide_140chars && puppet::has_long_line(&text) {
                checks.push("lint:ignore:140chars");
            }
            // `${` in a single-quoted string is literal text here, on purpose.
            if text.contains("${") {
                checks.push("lint:ignore:single_quote_string_with_variables");
            }
            ResourceView {
                lint_ignore: (!checks.is_empty()).then(|| checks.join(" ")),
                text,
            }
        })
        .collect();
    let params = plan
        .params
        .iter()
        .map(|p| ParamView {
            name: p.name.clone(),
            puppet_type: p.puppet_type,
            doc: param_doc(p),
        })
        .collect();
    let view = InitView {
        summary: puppet::comment_text(
            &format!("Changes recorded by the cft session '{}'", cs.session.name),
            120,
        ),
        session: puppet::comment_text(&format!("'{}'", cs.session.name), 100),
        name: module.to_string(),
        params,
        resources,
        class_wide_140chars,
    };
    render_template(env, "init.pp", view)
}

/// One resource, with `=>` aligned (puppet-lint's `arrow_alignment`).
fn resource_text(
    env: &Environment<'_>,
    r: &Resource,
    module: &str,
    params: &[Param],
) -> Result<String, Error> {
    let width = r.attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let attrs: Vec<AttrView> = r
        .attrs
        .iter()
        .map(|(k, v)| AttrView {
            key: format!("{k:<width$}"),
            value: literal(v, module, params),
        })
        .collect();
    let text = render_template(
        env,
        "resource.pp",
        minijinja::context! { title => puppet::quote(&r.title), attrs => attrs },
    )?;
    Ok(text.trim_end_matches('\n').to_string())
}

fn literal(v: &Value, module: &str, params: &[Param]) -> String {
    match v {
        Value::Word(w) => (*w).to_string(),
        Value::Str(s) => puppet::quote(s),
        Value::Mode(bits) => puppet::mode(*bits),
        Value::Param(i) => format!("${}", params[*i].name),
        Value::Source(rel) => puppet::quote(&format!("puppet:///modules/{module}/{rel}")),
    }
}

/// The `@param` description: one comment line within puppet-lint's limit.
fn param_doc(p: &Param) -> String {
    let doc = format!("Content of {} (secret).", display_path(&p.path));
    let line = format!("#   {doc}");
    if doc.chars().any(char::is_control) || puppet::has_long_line(&line) {
        "Content of a secret file; README.md names its path.".to_string()
    } else {
        doc
    }
}

// ---- README.md -----------------------------------------------------------

#[derive(Serialize)]
struct ReadmeView {
    name: String,
    session: String,
    description: Option<String>,
    recorded_on: Option<String>,
    /// Secret content was copied into `files/` (include_secrets).
    ships_secrets: bool,
    params: Vec<ReadmeParam>,
    rows: Vec<ReadmeRow>,
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
    path: String,
    why: String,
    example: &'static str,
}

#[derive(Serialize)]
struct ReadmeRow {
    path: String,
    change: &'static str,
    puppet: String,
}

#[derive(Serialize)]
struct ReadmeSkip {
    path: String,
    reason: String,
}

fn readme(
    env: &Environment<'_>,
    cs: &ChangeSet,
    plan: &Plan,
    module: &str,
) -> Result<String, Error> {
    let width = plan.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
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
        ships_secrets: plan.rows.iter().any(|r| r.puppet.starts_with("secret ")),
        params: plan
            .params
            .iter()
            .map(|p| ReadmeParam {
                name: p.name.clone(),
                key: format!("{:<width$}", p.name),
                puppet_type: p.puppet_type,
                path: md_code(&display_path(&p.path), false),
                why: p.why.clone(),
                example: if p.puppet_type == "Sensitive[Binary]" {
                    "Sensitive(Binary('BASE64...'))"
                } else {
                    "Sensitive('...')"
                },
            })
            .collect(),
        rows: plan
            .rows
            .iter()
            .map(|r| ReadmeRow {
                path: md_code(&r.path, true),
                change: r.change.as_str(),
                puppet: match &r.detail {
                    Some(d) => format!("{} {}", r.puppet, md_code(d, true)),
                    None => r.puppet.clone(),
                },
            })
            .collect(),
        skipped: plan.skipped.iter().map(readme_skip).collect(),
        incomplete: plan.incomplete.iter().map(readme_skip).collect(),
        notices: cs.notices.iter().map(notice_line).collect(),
    };
    render_template(env, "README.md", view)
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
    fn forge_os_name_cases() {
        let cases = [
            ("debian", "Debian"),
            ("rhel", "RedHat"),
            ("centos", "CentOS"),
            ("arch", "Arch"),
            ("", ""),
        ];
        for (id, want) in cases {
            assert_eq!(forge_os_name(id), want, "{id}");
        }
    }

    #[test]
    fn templates_parse_and_are_strict() {
        let env = environment().expect("templates parse");
        let err = render_template(&env, "resource.pp", minijinja::context! { title => "'x'" });
        assert!(
            err.is_err(),
            "a missing value is an error, not an empty string"
        );
    }

    #[test]
    fn no_html_escaping() {
        let env = environment().expect("templates parse");
        let attrs = vec![AttrView {
            key: "content".into(),
            value: puppet::quote("<&>\"'"),
        }];
        let text = render_template(
            &env,
            "resource.pp",
            minijinja::context! { title => "'/x'", attrs => attrs },
        )
        .expect("renders");
        assert!(text.contains(r#"content => '<&>"\''"#), "{text}");
    }
}
