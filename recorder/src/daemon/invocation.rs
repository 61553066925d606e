//! How the daemon is invoked, defined once: `begin` builds the argument
//! list with `Invocation::to_args`, the binary hands what follows the
//! hidden subcommand to `Invocation::parse`. Nobody else spells the
//! daemon's arguments.
//!
//! `EXE __daemon --db DB [--resume] [--ready-fd N] SESSION`

use crate::error::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Everything the daemon is told on its command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The session database (absolute: the daemon runs in `/`).
    pub db: PathBuf,
    /// The session to record.
    pub session: String,
    /// Continue a finished session: watch again, keep the baseline.
    pub resume: bool,
    /// Where to write the `Ready` line: the write end of begin's pipe.
    pub ready_fd: Option<i32>,
}

impl Invocation {
    /// The hidden subcommand the binary routes to `daemon::run`.
    pub const SUBCOMMAND: &'static str = "__daemon";

    /// The arguments after the program: the subcommand, then the
    /// arguments `parse` reads.
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            Self::SUBCOMMAND.into(),
            "--db".into(),
            self.db.clone().into_os_string(),
        ];
        if self.resume {
            args.push("--resume".into());
        }
        if let Some(fd) = self.ready_fd {
            args.push("--ready-fd".into());
            args.push(fd.to_string().into());
        }
        args.push(self.session.clone().into());
        args
    }

    /// Read the arguments that follow the subcommand. Errors name the
    /// argument that is wrong.
    pub fn parse<S: AsRef<OsStr>>(args: &[S]) -> Result<Invocation> {
        let bad = |arg: &OsStr, why: &str| {
            Error::Daemon(format!("argument '{}': {why}", arg.to_string_lossy()))
        };
        let mut db = None;
        let mut session: Option<String> = None;
        let mut resume = false;
        let mut ready_fd = None;
        let mut it = args.iter().map(AsRef::as_ref);
        while let Some(arg) = it.next() {
            match arg.to_str() {
                Some("--db") => {
                    let value = it.next().ok_or_else(|| bad(arg, "needs a path"))?;
                    db = Some(PathBuf::from(value));
                }
                Some("--resume") => resume = true,
                Some("--ready-fd") => {
                    let value = it.next().ok_or_else(|| bad(arg, "needs a descriptor"))?;
                    let fd = value
                        .to_str()
                        .and_then(|v| v.parse::<i32>().ok())
                        .filter(|fd| *fd >= 0)
                        .ok_or_else(|| bad(value, "--ready-fd takes a descriptor number"))?;
                    ready_fd = Some(fd);
                }
                _ if arg.as_encoded_bytes().starts_with(b"-") => {
                    return Err(bad(arg, "unknown option"))
                }
                _ if session.is_some() => {
                    return Err(bad(arg, "only one session name is expected"))
                }
                Some(name) => session = Some(name.to_string()),
                None => return Err(bad(arg, "a session name is UTF-8")),
            }
        }
        Ok(Invocation {
            db: db.ok_or_else(|| Error::Daemon("argument '--db' is missing".into()))?,
            session: session
                .ok_or_else(|| Error::Daemon("the session name argument is missing".into()))?,
            resume,
            ready_fd,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn inv(resume: bool, ready_fd: Option<i32>) -> Invocation {
        Invocation {
            db: PathBuf::from(OsStr::from_bytes(b"/var/lib/cft/caf\xe9 db/cft.db")),
            session: "web-1".into(),
            resume,
            ready_fd,
        }
    }

    #[test]
    fn round_trip() {
        for case in [
            inv(false, Some(3)),
            inv(true, Some(3)),
            inv(false, None),
            inv(true, None),
        ] {
            let args = case.to_args();
            assert_eq!(args[0], Invocation::SUBCOMMAND);
            assert_eq!(Invocation::parse(&args[1..]).expect("parses"), case);
        }
    }

    #[test]
    fn begin_s_argument_list() {
        let args = inv(true, Some(3)).to_args();
        let text: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        assert_eq!(
            text,
            [
                "__daemon",
                "--db",
                "/var/lib/cft/caf\u{fffd} db/cft.db",
                "--resume",
                "--ready-fd",
                "3",
                "web-1"
            ]
        );
    }

    #[test]
    fn errors_name_the_argument() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("no --db", &["s"], "'--db' is missing"),
            (
                "no session",
                &["--db", "/d"],
                "session name argument is missing",
            ),
            (
                "--db without a value",
                &["s", "--db"],
                "'--db': needs a path",
            ),
            (
                "--ready-fd without a value",
                &["--db", "/d", "s", "--ready-fd"],
                "'--ready-fd': needs a descriptor",
            ),
            (
                "--ready-fd not a number",
                &["--db", "/d", "--ready-fd", "three", "s"],
                "'three': --ready-fd takes a descriptor number",
            ),
            (
                "--ready-fd negative",
                &["--db", "/d", "--ready-fd", "-1", "s"],
                "'-1': --ready-fd takes a descriptor number",
            ),
            (
                "unknown option",
                &["--db", "/d", "--watch", "s"],
                "'--watch': unknown option",
            ),
            (
                "two session names",
                &["--db", "/d", "s", "t"],
                "'t': only one session name is expected",
            ),
        ];
        for (name, args, want) in cases {
            let err = Invocation::parse(args).expect_err(name).to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn a_session_name_that_is_not_utf8_is_refused() {
        let args = [
            OsStr::new("--db"),
            OsStr::new("/d"),
            OsStr::from_bytes(b"s\xff"),
        ];
        let err = Invocation::parse(&args).expect_err("not UTF-8").to_string();
        assert!(err.contains("a session name is UTF-8"), "{err}");
    }
}
