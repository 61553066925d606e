//! dpkg's own state: alternatives chosen by hand and local diversions,
//! as `exec` resources of the tools that change them (Puppet has no type
//! for either). A file resource for `/etc/alternatives/editor` would put
//! the link in place but leave dpkg's database saying "auto", and the next
//! package operation would put it back; a file at a diverted path would be
//! overwritten by the package's next upgrade.
//!
//! Commands are arrays, so no shell parses a recorded value; a guard that
//! needs a pipeline is a fixed `sh -c` script that takes the recorded
//! values as its positional arguments.

use super::catalog::{Resource, Value};
use super::commands::PATH;
use super::outcome::{DpkgOutcome, Reason, Subject};
use super::{Part, Planned};
use recorder::model::SystemChanges;

const UPDATE_ALTERNATIVES: &str = "/usr/bin/update-alternatives";
const DPKG_DIVERT: &str = "/usr/bin/dpkg-divert";

/// True when alternative `$1` is set by hand to `$2`.
pub(super) const SET_BY_HAND: &str = r#"[ "$(readlink /etc/alternatives/"$1")" = "$2" ] && /usr/bin/update-alternatives --query "$1" | grep -qx 'Status: manual'"#;
/// True when alternative `$1` follows the priorities.
pub(super) const AUTOMATIC: &str =
    r#"/usr/bin/update-alternatives --query "$1" | grep -qx 'Status: auto'"#;
/// True when `$1` is diverted to `$2`.
pub(super) const DIVERTED_TO: &str = r#"[ "$(/usr/bin/dpkg-divert --truename "$1")" = "$2" ]"#;
/// True when `$1` is diverted anywhere.
pub(super) const DIVERTED: &str = r#"[ "$(/usr/bin/dpkg-divert --truename "$1")" != "$1" ]"#;

/// Alternatives first, then diversions; `module` prefixes exec titles.
pub(super) fn plan(system: &SystemChanges, module: &str) -> Planned<Vec<DpkgOutcome>> {
    let mut out: Planned<Vec<DpkgOutcome>> = Planned::default();
    for a in &system.alternatives {
        let name = a.name.clone();
        let (args, guard) = match &a.manual {
            Some(value) => (
                vec!["--set".to_string(), name.clone(), value.clone()],
                sh(SET_BY_HAND, &[&name, value]),
            ),
            None => (
                vec!["--auto".to_string(), name.clone()],
                sh(AUTOMATIC, &[&name]),
            ),
        };
        // After the packages that provide the choices: in the files part.
        out.resources.push(exec(
            module,
            Part::Files,
            UPDATE_ALTERNATIVES,
            args,
            ("unless", guard),
        ));
        out.outcome.push(DpkgOutcome::Alternative {
            name,
            choice: a.manual.clone(),
        });
    }
    for d in &system.diversions {
        let (Ok(from), Ok(to)) = (
            String::from_utf8(d.from.clone()),
            String::from_utf8(d.to.clone()),
        ) else {
            out.leave_out(Subject::Diversion(d.from.clone()), Reason::DiversionNotUtf8);
            continue;
        };
        let mut args = vec!["--local".to_string()];
        if d.renamed {
            args.push("--rename".into());
        }
        let guard = if d.added {
            args.extend(["--divert".into(), to.clone(), "--add".into(), from.clone()]);
            ("unless", sh(DIVERTED_TO, &[&from, &to]))
        } else {
            args.extend(["--remove".into(), from.clone()]);
            ("onlyif", sh(DIVERTED, &[&from]))
        };
        // Before any package is installed or file written: in the sources
        // part, so a packaged file lands at its diverted name.
        out.resources
            .push(exec(module, Part::Sources, DPKG_DIVERT, args, guard));
        out.outcome.push(DpkgOutcome::Diversion {
            from,
            to,
            added: d.added,
            renamed: d.renamed,
        });
    }
    out
}

/// `sh -c SCRIPT sh ARGS...`: the values are arguments, never script text.
fn sh(script: &str, args: &[&String]) -> Vec<String> {
    let mut v = vec![
        "/bin/sh".to_string(),
        "-c".into(),
        script.into(),
        "sh".into(),
    ];
    v.extend(args.iter().map(|a| a.to_string()));
    v
}

fn exec(
    module: &str,
    part: Part,
    tool: &str,
    args: Vec<String>,
    (guard, check): (&'static str, Vec<String>),
) -> Resource {
    let short = tool.rsplit('/').next().unwrap_or(tool);
    let title = format!("{module} {short} {}", args.join(" "));
    let mut command = vec![tool.to_string()];
    command.extend(args);
    Resource {
        part,
        kind: "exec",
        title,
        attrs: vec![
            ("command", Value::Strs(command)),
            (guard, Value::Cmds(vec![check])),
            (
                "path",
                Value::Strs(PATH.iter().map(|p| p.to_string()).collect()),
            ),
        ],
    }
}
