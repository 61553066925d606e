//! Files that feed a generated one: when the module changes
//! `/etc/locale.gen`, the locales must be compiled again, or the machine
//! has the list but not the locales. One `refreshonly` exec per command
//! (`outcome::Regenerator` lists them with their inputs), subscribed to
//! the managed files that feed it.

use super::catalog::{Ref, Resource, Value};
use super::commands::PATH;
use super::outcome::{Regeneration, Regenerator};
use super::{Part, Planned};
use recorder::model::is_within;

/// `files` are the titles of the module's `file` resources, in order.
pub(super) fn plan(module: &str, files: &[String]) -> Planned<Vec<Regeneration>> {
    let mut out: Planned<Vec<Regeneration>> = Planned::default();
    for by in Regenerator::ALL {
        let feeding: Vec<String> = files
            .iter()
            .filter(|f| {
                by.inputs()
                    .iter()
                    .any(|p| is_within(f.as_bytes(), p.as_bytes()))
            })
            .cloned()
            .collect();
        if feeding.is_empty() {
            continue;
        }
        let command = by.command();
        out.resources.push(Resource {
            part: Part::Files,
            kind: "exec",
            title: format!("{module} {}", by.short()),
            attrs: vec![
                ("command", Value::Strs(vec![command.to_string()])),
                ("refreshonly", Value::Word("true")),
                // A machine without the tool has nothing to regenerate.
                (
                    "onlyif",
                    Value::Cmds(vec![vec![
                        "/usr/bin/test".into(),
                        "-x".into(),
                        command.into(),
                    ]]),
                ),
                (
                    "path",
                    Value::Strs(PATH.iter().map(|p| p.to_string()).collect()),
                ),
                (
                    "subscribe",
                    Value::Refs(
                        feeding
                            .iter()
                            .map(|t| Ref {
                                kind: "File",
                                title: t.clone(),
                            })
                            .collect(),
                    ),
                ),
            ],
        });
        out.outcome.push(Regeneration { by, files: feeding });
    }
    out
}
