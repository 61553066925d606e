//! Commands promoted to `exec` resources (`cft manifest --exec`): steps no
//! other resource expresses (`createdb app`), run when the module is
//! applied, at their place in the recorded order.
//!
//! An exec requires the resources of every change made before its command
//! ran, and comes before those of later changes where that cannot make a
//! cycle with the part chain. It is never unguarded: `creates` or `unless`
//! as given, else `refreshonly`, subscribed to what came before, so it
//! runs once when those are first put in place.

use super::catalog::{Ref, Resource, Value};
use super::{Input, Part, Planned};
use crate::{Error, ExecGuard, ExecProblem};
use recorder::model::Intent;
use recorder::model::Subject;
use std::collections::BTreeSet;

/// Where an exec looks for commands (Puppet needs a `path` or absolute
/// commands).
pub(super) const PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// `resources` are the module's other resources, which a replayed command
/// is ordered against. The outcome is the ids of the commands replayed.
pub(super) fn plan(input: &Input<'_>, resources: &[Resource]) -> Result<Planned<Vec<i64>>, Error> {
    let why = input.why;
    let mut out: Planned<Vec<i64>> = Planned::default();
    let mut seen = BTreeSet::new();
    for spec in input.execs {
        let err = |problem| Error::exec(&spec.arg, problem);
        if !seen.insert(spec.id) {
            return Err(err(ExecProblem::Twice { id: spec.id }));
        }
        let Some(intent) = why.intent(spec.id) else {
            return Err(err(ExecProblem::NoSuchCommand { id: spec.id }));
        };
        if !intent.secrets().is_empty() && !input.include_secrets {
            return Err(err(ExecProblem::HoldsPassword));
        }
        let Some(command) = intent.shell_command().filter(|c| !c.is_empty()) else {
            return Err(err(ExecProblem::NotText));
        };
        let start = why.top(intent.id).map_or(intent.start_ns, |t| t.start_ns);
        let (before, after) = neighbours(input, resources, intent, start);
        let mut attrs = vec![
            ("command", Value::Str(command)),
            ("provider", Value::Word("shell")),
            (
                "path",
                Value::Strs(PATH.iter().map(|p| p.to_string()).collect()),
            ),
        ];
        if let Ok(cwd) = String::from_utf8(intent.cwd.clone()) {
            if cwd.starts_with('/') {
                attrs.push(("cwd", Value::Str(cwd)));
            }
        }
        if intent.uid != 0 {
            attrs.push(("user", Value::Str(intent.uid.to_string())));
        }
        match &spec.guard {
            Some(ExecGuard::Creates(path)) => attrs.push(("creates", Value::Str(path.clone()))),
            Some(ExecGuard::Unless(check)) => attrs.push(("unless", Value::Str(check.clone()))),
            None if before.is_empty() => return Err(err(ExecProblem::Unguarded)),
            None => attrs.push(("refreshonly", Value::Word("true"))),
        }
        let max_before = before.iter().map(|(p, _)| *p).max();
        let before_refs: Vec<Ref> = before.into_iter().map(|(_, r)| r).collect();
        if !before_refs.is_empty() {
            let key = if spec.guard.is_none() {
                "subscribe"
            } else {
                "require"
            };
            attrs.push((key, Value::Refs(before_refs)));
        }
        // A later resource in an earlier (or the same) part than something
        // required could close a cycle through the part chain.
        let later: Vec<Ref> = after
            .into_iter()
            .filter(|(p, _)| max_before.is_none_or(|m| *p > m))
            .map(|(_, r)| r)
            .collect();
        if !later.is_empty() {
            attrs.push(("before", Value::Refs(later)));
        }
        out.resources.push(Resource {
            part: Part::Commands,
            kind: "exec",
            title: exec_title(intent),
            attrs,
        });
        out.outcome.push(intent.id);
    }
    Ok(out)
}

/// `cft command #12: createdb app` (cut at 60 characters, one line).
pub(crate) fn exec_title(i: &Intent) -> String {
    let text: String = i
        .text()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let short: String = if text.chars().count() > 60 {
        format!("{}...", text.chars().take(57).collect::<String>())
    } else {
        text
    };
    format!("cft command #{}: {short}", i.id)
}

/// Resource references with the part they are in.
type Placed = Vec<(Part, Ref)>;

/// The module's resources for changes made before (and after) the
/// command's top-level command started, with their parts, sorted.
fn neighbours(
    input: &Input<'_>,
    resources: &[Resource],
    intent: &Intent,
    start: i64,
) -> (Placed, Placed) {
    let why = input.why;
    let mut before = BTreeSet::new();
    let mut after = BTreeSet::new();
    for a in &why.attributions {
        let Some(top) = why.top(a.intent) else {
            continue;
        };
        if top.id == why.top(intent.id).map_or(intent.id, |t| t.id) {
            continue;
        }
        let Some((part, r)) = resource_for(resources, a.subject, &a.name) else {
            continue;
        };
        if top.start_ns < start {
            before.insert((part, r));
        } else {
            after.insert((part, r));
        }
    }
    (before.into_iter().collect(), after.into_iter().collect())
}

fn resource_for(resources: &[Resource], subject: Subject, name: &[u8]) -> Option<(Part, Ref)> {
    let name = std::str::from_utf8(name).ok()?;
    let (kind, type_name, title) = match subject {
        Subject::File => ("file", "File", name.to_string()),
        Subject::Package => (
            "package",
            "Package",
            name.split(':').next().unwrap_or(name).to_string(),
        ),
        Subject::User => ("user", "User", name.to_string()),
        Subject::Group => ("group", "Group", name.to_string()),
        Subject::Service => ("service", "Service", super::services::title(name)),
    };
    resources
        .iter()
        .find(|r| r.kind == kind && r.title == title)
        .map(|r| {
            (
                r.part,
                Ref {
                    kind: type_name,
                    title,
                },
            )
        })
}
