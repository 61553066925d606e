//! Files that feed a generated one: when the module changes
//! `/etc/locale.gen`, the locales must be compiled again, or the machine
//! has the list but not the locales. One `refreshonly` exec per command,
//! subscribed to the managed files that feed it.

use super::commands::PATH;
use super::{Input, Part, Plan, Ref, Resource, Value};
use recorder::model::is_within;

/// (file or directory, command, what the command makes).
const DERIVED: &[(&str, &str, &str)] = &[
    (
        "/etc/locale.gen",
        "/usr/sbin/locale-gen",
        "the compiled locales",
    ),
    ("/etc/aliases", "/usr/bin/newaliases", "/etc/aliases.db"),
    ("/etc/ld.so.conf", "/sbin/ldconfig", "/etc/ld.so.cache"),
    ("/etc/ld.so.conf.d", "/sbin/ldconfig", "/etc/ld.so.cache"),
    (
        "/etc/ca-certificates.conf",
        "/usr/sbin/update-ca-certificates",
        "the trusted certificates in /etc/ssl/certs",
    ),
    (
        "/usr/local/share/ca-certificates",
        "/usr/sbin/update-ca-certificates",
        "the trusted certificates in /etc/ssl/certs",
    ),
];

pub(super) fn plan_derived(input: &Input<'_>, plan: &mut Plan) {
    let files: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.kind == "file")
        .map(|r| r.title.clone())
        .collect();
    let mut commands: Vec<&str> = DERIVED.iter().map(|(_, c, _)| *c).collect();
    commands.dedup();
    for command in commands {
        let feeding: Vec<String> = files
            .iter()
            .filter(|f| {
                DERIVED
                    .iter()
                    .any(|(p, c, _)| *c == command && is_within(f.as_bytes(), p.as_bytes()))
            })
            .cloned()
            .collect();
        if feeding.is_empty() {
            continue;
        }
        let short = command.rsplit('/').next().unwrap_or(command);
        plan.resources.push(Resource {
            part: Part::Files,
            kind: "exec",
            title: format!("{} {short}", input.module),
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
        let makes = DERIVED
            .iter()
            .find(|(_, c, _)| *c == command)
            .map_or("", |(_, _, m)| *m);
        plan.derived.push((short.to_string(), makes, feeding));
    }
}
