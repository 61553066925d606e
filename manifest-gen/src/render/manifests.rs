//! The classes under `manifests/`: `init.pp` (the module's class, with
//! every parameter, containing the parts in order) and one file per part.
//! Every value is a literal escaped by `puppet::quote` (or a number, a bare
//! word, a reference); the layout follows puppet-lint 3.0.1.

use super::render_template;
use crate::plan::{Param, ParamFor, Part, Plan, Ref, Resource, Value};
use crate::{puppet, Error};
use minijinja::Environment;
use recorder::model::display_path;
use recorder::ChangeSet;
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
    puppet_type: &'static str,
    doc: String,
}

#[derive(Serialize)]
struct PartLine {
    class: String,
    what: &'static str,
}

#[derive(Serialize)]
struct PartView {
    summary: String,
    session: String,
    module: String,
    class: String,
    about: Vec<String>,
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
pub(super) fn part_summary(part: Part) -> &'static str {
    match part {
        Part::Sources => "Package sources: repositories, their keys and preferences",
        Part::Packages => "Packages the admin installed, upgraded or removed",
        Part::Accounts => "Groups and users",
        Part::Files => "Files the admin created, changed or removed",
        Part::Services => "Services: enablement, running state, restarts",
        Part::Commands => "Recorded commands replayed, each at its place in the order",
    }
}

/// `manifests/<name>.pp` -> text, for init and every part with resources.
pub(super) fn manifests(
    env: &Environment<'_>,
    cs: &ChangeSet,
    plan: &Plan,
    module: &str,
) -> Result<Vec<(String, String)>, Error> {
    let session = puppet::comment_text(&format!("'{}'", cs.session.name), 100);
    let parts: Vec<Part> = Part::ALL
        .into_iter()
        .filter(|p| plan.has_part(*p))
        .collect();
    let init = InitView {
        summary: puppet::comment_text(
            &format!("Changes recorded by the cft session '{}'", cs.session.name),
            120,
        ),
        session: session.clone(),
        name: module.to_string(),
        params: plan
            .params
            .iter()
            .map(|p| ParamView {
                name: p.name.clone(),
                puppet_type: p.puppet_type,
                doc: param_doc(p),
            })
            .collect(),
        parts: parts
            .iter()
            .map(|p| PartLine {
                class: format!("{module}::{}", p.name()),
                what: part_summary(*p),
            })
            .collect(),
        chain: parts
            .iter()
            .filter(|p| p.chained())
            .map(|p| PartLine {
                class: format!("{module}::{}", p.name()),
                what: part_summary(*p),
            })
            .collect(),
    };
    let mut out = vec![(
        "manifests/init.pp".to_string(),
        render_template(env, "init.pp", init)?,
    )];
    for part in parts {
        let resources: Vec<&Resource> = plan.resources.iter().filter(|r| r.part == part).collect();
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
    let mut about = Vec::new();
    match part {
        Part::Sources if plan.refresh.is_some() => {
            about.push("Refreshes the package index when one of them changes,".to_string());
            about.push(format!(
                "before class {module}::packages installs anything."
            ));
        }
        Part::Packages => about.push("Dependencies are left to the package manager.".into()),
        Part::Accounts => about.push("Accounts that packages create are left to them.".into()),
        _ => {}
    }
    let reads_params = plan
        .resources
        .iter()
        .any(|r| r.part == part && r.attrs.iter().any(|(_, v)| matches!(v, Value::Param(_))));
    if reads_params {
        about.push(format!(
            "Reads parameters of class {module}: declare that class, not this one alone."
        ));
    }
    Ok(PartView {
        summary: part_summary(part).to_string(),
        session: session.to_string(),
        module: module.to_string(),
        class: format!("{module}::{}", part.name()),
        about,
        resources,
        class_wide_140chars,
    })
}

/// One resource, with `=>` aligned (puppet-lint's `arrow_alignment`).
pub(super) fn resource_text(
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
        minijinja::context! { kind => r.kind, title => puppet::quote(&r.title), attrs => attrs },
    )?;
    Ok(text.trim_end_matches('\n').to_string())
}

/// Arrays up to this many characters stay on the attribute's line.
const INLINE_ARRAY: usize = 60;

fn literal(v: &Value, module: &str, params: &[Param]) -> String {
    match v {
        Value::Word(w) => (*w).to_string(),
        Value::Str(s) => puppet::quote(s),
        Value::Mode(bits) => puppet::mode(*bits),
        Value::Int(n) => n.to_string(),
        Value::Param(i) => format!("${module}::{}", params[*i].name),
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
    let (doc, fallback) = match &p.target {
        ParamFor::Content(path) => (
            format!("Content of {} (secret).", display_path(path)),
            "Content of a secret file; README.md names its path.",
        ),
        ParamFor::Password(user) => (
            format!(
                "Password hash of user {} (as in /etc/shadow).",
                display_path(user.as_bytes())
            ),
            "Password hash of a user (as in /etc/shadow); README.md names the user.",
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
        let params = vec![Param {
            target: ParamFor::Password("alice".into()),
            name: "alice_password".into(),
            puppet_type: "Sensitive[String]",
            why: String::new(),
        }];
        let r = |kind, title: &str| Ref {
            kind,
            title: title.into(),
        };
        let long: Vec<String> = (0..12).map(|i| format!("group{i}")).collect();
        let cases: Vec<(&str, Value, String)> = vec![
            ("number", Value::Int(1001), "1001".into()),
            ("parameter", Value::Param(0), "$web::alice_password".into()),
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
            assert_eq!(literal(&v, "web", &params), want, "{name}");
        }
    }
}
