//! Text: turns a [`Plan`] into `metadata.json`, the classes under
//! `manifests/` (`manifests`), `README.md` (`readme`, with its tables in
//! `tables` and its override example in `overriding`), the `files/` tree
//! and the EPP templates under `templates/`, and the [`crate::Report`] the
//! caller prints. All the wording of the plan's decisions is here
//! (`tables`, `words`). The files under `templates/` only lay out values
//! that Rust has already escaped for their target language (Puppet single
//! quotes, Markdown: `markdown`); they hold no logic of their own.

mod manifests;
mod markdown;
mod overriding;
mod readme;
mod tables;
mod words;

pub(crate) use markdown::{md_code, md_text};

use crate::plan::Plan;
use crate::{puppet, Error, Module, ModuleOptions};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use recorder::model::ChangeSet;
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATES: [(&str, &str); 4] = [
    ("init.pp", include_str!("../templates/init.pp.j2")),
    ("part.pp", include_str!("../templates/part.pp.j2")),
    ("resource.pp", include_str!("../templates/resource.pp.j2")),
    ("README.md", include_str!("../templates/README.md.j2")),
];

/// The plan's file contents move into the module (not copied: they can be
/// many).
pub(crate) fn render(
    cs: &ChangeSet,
    plan: &mut Plan,
    opts: &ModuleOptions,
) -> Result<Module, Error> {
    let env = environment()?;
    let mut files = BTreeMap::new();
    files.insert("metadata.json".to_string(), metadata(cs, opts)?.into());
    for (rel, text) in manifests::manifests(&env, cs, plan, &opts.module_name)? {
        files.insert(rel, text.into_bytes().into());
    }
    let report = words::report(plan);
    files.insert(
        "README.md".to_string(),
        readme::readme(&env, cs, plan, &opts.module_name, previous(opts, &report))?
            .into_bytes()
            .into(),
    );
    for (rel, body) in std::mem::take(&mut plan.content.files) {
        files.insert(format!("files/{rel}"), body);
    }
    for (rel, bytes) in &plan.content.templates {
        files.insert(format!("templates/{rel}"), bytes.clone().into());
    }
    let private = plan
        .content
        .private
        .iter()
        .map(|rel| format!("files/{rel}"))
        .chain(
            plan.catalog
                .secret_parts()
                .into_iter()
                .map(|part| format!("manifests/{}.pp", part.name())),
        )
        .collect();
    Ok(Module {
        files,
        private,
        report,
    })
}

/// The previous version's session and version, and the resources it
/// managed that this module does not, in its order.
fn previous<'a>(
    opts: &'a ModuleOptions,
    report: &crate::Report,
) -> Option<(&'a crate::Previous, Vec<&'a str>)> {
    let p = opts.previous.as_ref()?;
    let now: std::collections::BTreeSet<&str> = report.titles.iter().map(String::as_str).collect();
    let gone = p
        .titles
        .iter()
        .map(String::as_str)
        .filter(|t| !now.contains(t))
        .collect();
    Some((p, gone))
}

/// The settings every template of this crate renders with.
pub(crate) fn base_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Neither Puppet, Markdown nor kickstart is HTML: values arrive escaped
    // for their target, and HTML escaping would corrupt them.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env
}

fn environment() -> Result<Environment<'static>, Error> {
    let mut env = base_environment();
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
    version: String,
    author: String,
    summary: String,
    license: String,
    source: String,
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
        version: opts.version.clone(),
        author: opts.author.clone(),
        // The Forge cuts summaries at 144 characters.
        summary: puppet::comment_text(&summary, 144),
        license: opts.license.clone(),
        source: opts.source.clone(),
        dependencies: [],
        operatingsystem_support: os.into_iter().collect(),
        requirements: [Requirement {
            name: "puppet",
            version_requirement: ">= 7.0.0 < 9.0.0",
        }],
        tags: [CFT_TAG],
    };
    let mut out = serde_json::to_vec_pretty(&m).map_err(|source| Error::Metadata { source })?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
