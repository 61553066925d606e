//! The classes under `manifests/`: `init.pp` (the module's class, with
//! every parameter, containing the parts in order) and one file per part.
//! A part takes the parameters its resources use as class parameters of
//! its own, and the main class passes its values on: a site can declare
//! the parts without the main class and replace one of them. Every value
//! is a literal escaped by `puppet::quote` (or a number, a bare word, a
//! reference, a parameter); the layout follows puppet-lint 3.0.1.

use super::render_template;
use crate::plan::catalog::{Catalog, Param, Ref, Resource, Supplies, Value};
use crate::plan::{Part, Plan};
use crate::{puppet, Error};
use minijinja::Environment;
use recorder::model::display_path;
use recorder::model::ChangeSet;
use serde::Serialize;

#[derive(Serialize)]
struct InitView {
    summary: String,
    session: String,
    name: String,
    params: Vec<ParamView>,
    parts: Vec<PartLine>,
    /// The parts the chaining arrows order (not the replayed commands).
    chain: Vec<PartLine>,
}

#[derive(Serialize)]
struct ParamView {
    name: String,
    doc: String,
    /// The declaration: `Type $name[ = default],` and any lint control.
    line: String,
}

#[derive(Serialize)]
struct PartLine {
    class: String,
    what: String,
    /// The parameters the main class passes to the part.
    pass: Vec<AttrView>,
}

#[derive(Serialize)]
struct PartView {
    summary: String,
    session: String,
    module: String,
    class: String,
    about: Vec<String>,
    params: Vec<ParamView>,
    resources: Vec<ResourceView>,
    class_wide_140chars: bool,
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

/// What a part manages, in a few words (class comments and README).
pub(super) fn part_summary(part: Part, catalog: &Catalog) -> String {
    let execs = |tool: &str| {
        catalog.in_part(part).any(|r| {
            r.kind == "exec" && r.attrs.iter().any(|(k, v)| {
                *k == "command"
                    && matches!(v, Value::Strs(c) if c.first().is_some_and(|t| t.ends_with(tool)))
            })
        })
    };
    let mut s = match part {
        Part::Sources => "Package sources: repositories, their keys and preferences",
        Part::Packages => "Packages the admin installed, upgraded or removed",
        Part::Accounts => "Groups and users",
        Part::Files => "Files the admin created, changed or removed",
        Part::Services => "Services: enablement, running state, restarts",
        Part::Commands => "Recorded commands replayed, each at its place in the order",
    }
    .to_string();
    if part == Part::Sources && execs("/dpkg-divert") {
        s.push_str("; dpkg diversions");
    }
    if part == Part::Files && execs("/update-alternatives") {
        s.push_str("; alternatives chosen by hand");
    }
    s
}

/// `manifests/<name>.pp` -> text, for init and every part with resources.
pub(super) fn manifests(
    env: &Environment<'_>,
    cs: &ChangeSet,
    plan: &Plan,
    module: &str,
) -> Result<Vec<(String, String)>, Error> {
    let catalog = &plan.catalog;
    let session = puppet::comment_text(&format!("'{}'", cs.session.name), 100);
    let parts: Vec<Part> = Part::ALL
        .into_iter()
        .filter(|p| catalog.has_part(*p))
        .collect();
    let init = InitView {
        summary: puppet::comment_text(
            &format!("Changes recorded by the cft session '{}'", cs.session.name),
            120,
        ),
        session: session.clone(),
        name: module.to_string(),
        params: catalog.all_params().into_iter().map(param_view).collect(),
        parts: parts
            .iter()
            .map(|p| {
                let names: Vec<&str> = catalog
                    .part_params(*p)
                    .into_iter()
                    .map(|p| p.name.as_str())
                    .collect();
                let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
                PartLine {
                    class: format!("{module}::{}", p.name()),
                    what: part_summary(*p, catalog),
                    pass: names
                        .iter()
                        .map(|n| AttrView {
                            key: format!("{n:<width$}"),
                            value: format!("${n}"),
                        })
                        .collect(),
                }
            })
            .collect(),
        chain: parts
            .iter()
            .filter(|p| p.chained())
            .map(|p| PartLine {
                class: format!("{module}::{}", p.name()),
                what: part_summary(*p, catalog),
                pass: Vec::new(),
            })
            .collect(),
    };
    let mut out = vec![(
        "manifests/init.pp".to_string(),
        render_template(env, "init.pp", init)?,
    )];
    for part in parts {
        let resources: Vec<&Resource> = catalog.in_part(part).collect();
        let view = part_view(env, plan, module, part, &resources, &session)?;
        out.push((
            format!("manifests/{}.pp", part.name()),
            render_template(env, "part.pp", view)?,
        ));
    }
    Ok(out)
}

fn part_view(
    env: &Environment<'_>,
    plan: &Plan,
    module: &str,
    part: Part,
    resources: &[&Resource],
    session: &str,
) -> Result<PartView, Error> {
    let texts = resources
        .iter()
        .map(|r| resource_text(env, r, module, &plan.catalog))
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
    let mut about = Vec::new();
    match part {
        Part::Sources if plan.outcomes.packages.index_refresh.is_some() => {
            about.push("Refreshes the package index when one of them changes,".to_string());
            about.push(format!(
                "before class {module}::packages installs anything."
            ));
        }
        Part::Packages => about.push("Dependencies are left to the package manager.".into()),
        Part::Accounts => about.push("Accounts that packages create are left to them.".into()),
        _ => {}
    }
    let params: Vec<ParamView> = plan
        .catalog
        .part_params(part)
        .into_iter()
        .map(param_view)
        .collect();
    if !params.is_empty() {
        about.push(format!(
            "Class {module} declares it, passing on the values of the parameters below."
        ));
    }
    Ok(PartView {
        summary: part_summary(part, &plan.catalog),
        session: session.to_string(),
        module: module.to_string(),
        class: format!("{module}::{}", part.name()),
        about,
        params,
        resources,
        class_wide_140chars,
    })
}

/// One resource, with `=>` aligned (puppet-lint's `arrow_alignment`).
pub(super) fn resource_text(
    env: &Environment<'_>,
    r: &Resource,
    module: &str,
    catalog: &Catalog,
) -> Result<String, Error> {
    let width = r.attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let attrs: Vec<AttrView> = r
        .attrs
        .iter()
        .map(|(k, v)| AttrView {
            key: format!("{k:<width$}"),
            value: literal(v, module, catalog),
        })
        .collect();
    let text = render_template(
        env,
        "resource.pp",
        minijinja::context! { kind => r.kind, title => puppet::quote(&r.title), attrs => attrs },
    )?;
    Ok(text.trim_end_matches('\n').to_string())
}

fn param_view(p: &Param) -> ParamView {
    let mut line = format!("{} ${}", p.puppet_type(), p.name);
    if let Some(default) = p.default() {
        line.push_str(" = ");
        line.push_str(&puppet::quote(default));
    }
    line.push(',');
    let mut checks = Vec::new();
    // `${` in a single-quoted default is the recorded text, on purpose.
    if line.contains("${") {
        checks.push("lint:ignore:single_quote_string_with_variables");
    }
    if puppet::has_long_line(&format!("  {line}")) {
        checks.push("lint:ignore:140chars");
    }
    if !checks.is_empty() {
        line = format!("{line} # {}", checks.join(" "));
    }
    ParamView {
        name: p.name.clone(),
        doc: param_doc(p),
        line,
    }
}

/// Arrays up to this many characters stay on the attribute's line.
const INLINE_ARRAY: usize = 60;

fn literal(v: &Value, module: &str, catalog: &Catalog) -> String {
    match v {
        Value::Word(w) => (*w).to_string(),
        Value::Str(s) => puppet::quote(s),
        Value::Mode(bits) => puppet::mode(*bits),
        Value::Int(n) => n.to_string(),
        Value::Param(id) => format!("${}", catalog.param_name(id)),
        Value::Epp { rel, params: used } => {
            let template = puppet::quote(&format!("{module}/{rel}"));
            let names: Vec<&str> = used.iter().map(|id| catalog.param_name(id)).collect();
            let width = names.iter().map(|n| n.len() + 2).max().unwrap_or(0);
            let entries: Vec<String> = names
                .iter()
                .map(|n| format!("{:<width$} => ${n}", puppet::quote(n)))
                .collect();
            match entries.as_slice() {
                [one] => format!("epp({template}, {{ {one} }})"),
                many => format!(
                    "epp({template}, {{\n{}    }})",
                    many.iter()
                        .map(|e| format!("      {e},\n"))
                        .collect::<String>()
                ),
            }
        }
        Value::Source(rel) => puppet::quote(&format!("puppet:///modules/{module}/{rel}")),
        Value::Sensitive(s) => format!("Sensitive({})", puppet::quote(s)),
        Value::Strs(items) => {
            let items: Vec<String> = items.iter().map(|s| puppet::quote(s)).collect();
            array(items, true)
        }
        Value::Refs(refs) => {
            let items: Vec<String> = refs.iter().map(reference).collect();
            array(items, false)
        }
        Value::Cmds(cmds) => {
            let mut out = String::from("[\n");
            for cmd in cmds {
                out.push_str("      [\n");
                for arg in cmd {
                    out.push_str(&format!("        {},\n", puppet::quote(arg)));
                }
                out.push_str("      ],\n");
            }
            out.push_str("    ]");
            out
        }
    }
}

/// `[a, b]` on one line when short (and `inline` allows it; a single
/// reference stands alone), else one item per line with a trailing comma,
/// indented for an attribute of a resource.
fn array(items: Vec<String>, inline: bool) -> String {
    if !inline && items.len() == 1 {
        return items.into_iter().next().unwrap_or_default();
    }
    let one_line = format!("[{}]", items.join(", "));
    if inline && one_line.chars().count() <= INLINE_ARRAY && !one_line.contains('\n') {
        return one_line;
    }
    let mut out = String::from("[\n");
    for item in items {
        out.push_str("      ");
        out.push_str(&item);
        out.push_str(",\n");
    }
    out.push_str("    ]");
    out
}

fn reference(r: &Ref) -> String {
    format!("{}[{}]", r.kind, puppet::quote(&r.title))
}

/// The `@param` description: one comment line within puppet-lint's limit.
fn param_doc(p: &Param) -> String {
    let (doc, fallback) = match &p.supplies {
        Supplies::Content { path, .. } => (
            format!("Content of {} (secret).", display_path(path)),
            "Content of a secret file; README.md names its path.",
        ),
        Supplies::Password { user, .. } => (
            format!(
                "Password hash of user {} (as in /etc/shadow).",
                display_path(user.as_bytes())
            ),
            "Password hash of a user (as in /etc/shadow); README.md names the user.",
        ),
        Supplies::Site { .. } => (
            format!(
                "Site value in {}; the default is the recorded one.",
                super::words::param_subject(p)
            ),
            "Site value (the default is the recorded one); README.md lists its files.",
        ),
    };
    let line = format!("#   {doc}");
    if doc.chars().any(char::is_control) || puppet::has_long_line(&line) {
        fallback.to_string()
    } else {
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::catalog::ParamId;

    #[test]
    fn no_html_escaping() {
        let env = super::super::environment().expect("templates parse");
        let attrs = vec![AttrView {
            key: "content".into(),
            value: puppet::quote("<&>\"'"),
        }];
        let text = render_template(
            &env,
            "resource.pp",
            minijinja::context! { kind => "file", title => "'/x'", attrs => attrs },
        )
        .expect("renders");
        assert!(text.contains(r#"content => '<&>"\''"#), "{text}");
    }

    #[test]
    fn literal_cases() {
        let catalog = Catalog {
            resources: Vec::new(),
            params: vec![Param {
                name: "alice_password".into(),
                supplies: Supplies::Password {
                    user: "alice".into(),
                    recorded: true,
                },
            }],
        };
        let r = |kind, title: &str| Ref {
            kind,
            title: title.into(),
        };
        let long: Vec<String> = (0..12).map(|i| format!("group{i}")).collect();
        let cases: Vec<(&str, Value, String)> = vec![
            ("number", Value::Int(1001), "1001".into()),
            (
                "parameter",
                Value::Param(ParamId::Password("alice".into())),
                "$alice_password".into(),
            ),
            (
                "sensitive",
                Value::Sensitive("$6$a'b".into()),
                r"Sensitive('$6$a\'b')".into(),
            ),
            ("mask", Value::Str("mask".into()), "'mask'".into()),
            (
                "short array",
                Value::Strs(vec!["adm".into(), "web".into()]),
                "['adm', 'web']".into(),
            ),
            ("empty array", Value::Strs(Vec::new()), "[]".into()),
            (
                "long array",
                Value::Strs(long.clone()),
                format!(
                    "[\n{}    ]",
                    long.iter()
                        .map(|g| format!("      '{g}',\n"))
                        .collect::<String>()
                ),
            ),
            (
                "one reference",
                Value::Refs(vec![r("Package", "nginx")]),
                "Package['nginx']".into(),
            ),
            (
                "references",
                Value::Refs(vec![r("File", "/a"), r("File", "/it's")]),
                "[\n      File['/a'],\n      File['/it\\'s'],\n    ]".into(),
            ),
        ];
        for (name, v, want) in cases {
            assert_eq!(literal(&v, "web", &catalog), want, "{name}");
        }
    }
}
