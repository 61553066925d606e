//! What to do next, in terms of this command line: the libraries say what
//! went wrong and about what; only the binary knows its commands and flags.

use recorder::Error;

/// The error as the user reads it, and the hints that follow it.
pub fn explain(e: &anyhow::Error) -> (String, Vec<String>) {
    let mut message = format!("{e:#}");
    let mut hints = Vec::new();
    for cause in e.chain() {
        if let Some(m) = cause.downcast_ref::<manifest_gen::Error>() {
            generator(m, &mut message, &mut hints);
            continue;
        }
        let Some(r) = cause.downcast_ref::<Error>() else {
            continue;
        };
        match r {
            // The library names the root it was given; the user gave a flag.
            Error::BadRoot { path, reason } => {
                message = format!("--root {}: {reason}", path.display());
            }
            Error::BadWatch { path, reason } => {
                message = format!("--watch {}: {reason}", path.display());
            }
            Error::NoDatabase { .. } => hints.push(
                "start recording with `cft begin NAME`, or name another database with --db or CFT_DB"
                    .into(),
            ),
            Error::NoSuchSession(_) => hints.push("`cft list` shows the sessions".into()),
            Error::SessionExists(name) => hints.push(format!(
                "choose another name (`cft import FILE --as NAME` for an import), or delete the old session with `cft erase {name}`"
            )),
            Error::Imported { .. } => hints.push(
                "record the rest in a new session (`cft begin NAME`) on the machine itself".into(),
            ),
            Error::ExportTooNew { .. } => hints.push("import it with a newer cft".into()),
            Error::ExportTruncated { .. } | Error::ExportChecksum { .. } => hints.push(
                "copy the file again, or export the session again with `cft export NAME -o FILE`"
                    .into(),
            ),
            Error::AlreadyRecording { active, .. } => hints.push(format!(
                "finish it with `cft finish {active}`, or abort it with `cft abort {active}`"
            )),
            Error::NoActiveSession { .. } => {
                hints.push("start one with `cft begin NAME`".into())
            }
            Error::AmbiguousSession(_) => hints.push("name the session you mean".into()),
            Error::WrongState {
                name,
                state,
                expected,
            } => hints.push(match (state.as_str(), expected.as_str()) {
                ("recording", _) => format!(
                    "finish it first with `cft finish {name}`, or stop and discard it with `cft abort {name}`"
                ),
                (_, "recording") => {
                    format!("`cft begin --resume {name}` records it again")
                }
                _ => format!("`cft show {name}` shows where it stands"),
            }),
            Error::SchemaTooNew { .. } => hints.push("upgrade cft".into()),
            _ => {}
        }
    }
    (message, hints)
}

/// The generator's errors in terms of `cft manifest` and `cft recipe`.
fn generator(m: &manifest_gen::Error, message: &mut String, hints: &mut Vec<String>) {
    use manifest_gen::{DomainArg, Error as G, Hint};
    match m {
        G::Exec { arg, problem } => *message = format!("--exec {arg}: {problem}"),
        G::Domain { arg, value, reason } => {
            let flag = match arg {
                DomainArg::VmName => "--vm-name",
                DomainArg::Mac => "--mac",
                DomainArg::DiskDir => "--disk-dir",
            };
            *message = format!("{flag} '{value}': {reason}");
        }
        _ => {}
    }
    let hint = match m.hint() {
        Some(Hint::IncludeSecrets) => {
            "pass --include-secrets to copy secrets into the output anyway"
        }
        Some(Hint::Force) => "pass --force to replace what is there",
        Some(Hint::ExecGuard) => {
            "give the command a guard: --exec ID:creates=PATH or --exec ID:unless=CMD"
        }
        Some(Hint::ListCommands) => "`cft show SESSION` lists the recorded commands and their ids",
        Some(Hint::Verify) => "`cft recipe verify FILE` checks the bundle in detail",
        Some(Hint::Spec) => "give an appliance spec with --spec appliance.toml",
        _ => return,
    };
    hints.push(hint.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn flags_and_next_steps_come_from_the_binary() {
        let cases: Vec<(Error, &str, &str)> = vec![
            (
                Error::BadWatch {
                    path: PathBuf::from("/srv/x"),
                    reason: "/srv is a symbolic link".into(),
                },
                "--watch /srv/x: /srv is a symbolic link",
                "",
            ),
            (
                Error::NoActiveSession {
                    db: PathBuf::from("/var/lib/cft/cft.db"),
                },
                "no session is recording in /var/lib/cft/cft.db",
                "start one with `cft begin NAME`",
            ),
            (
                Error::WrongState {
                    name: "web".into(),
                    state: "recording".into(),
                    expected: "finished".into(),
                },
                "session 'web' is recording, not finished",
                "`cft abort web`",
            ),
        ];
        for (err, message, hint) in cases {
            let (m, h) = explain(&anyhow::Error::new(err));
            assert_eq!(m, message);
            assert!(h.join(" ").contains(hint), "{h:?}");
        }
        let io = anyhow::Error::new(Error::io(
            "/etc/x",
            std::io::Error::from_raw_os_error(libc::ENOTDIR),
        ));
        assert_eq!(
            explain(&io).0,
            "/etc/x: Not a directory (os error 20)",
            "the OS error once"
        );
    }
}
