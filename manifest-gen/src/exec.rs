//! A recorded command to replay as an `exec` resource, as the caller
//! names it: `ID`, `ID:creates=PATH` or `ID:unless=CMD`. This module parses
//! and checks the argument alone; `plan::commands` checks it against the
//! session and places the exec.

use crate::{Error, ExecProblem};

/// `ID[:creates=PATH|:unless=CMD]`: a recorded command to replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecSpec {
    /// The argument as given, for messages.
    pub arg: String,
    /// The intent id (`cft show` and `cft finish` print them).
    pub id: i64,
    pub guard: Option<ExecGuard>,
}

/// What keeps an exec from running on every apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecGuard {
    /// Skip when this path exists.
    Creates(String),
    /// Skip when this command succeeds.
    Unless(String),
}

impl ExecSpec {
    /// `ID`, `ID:creates=PATH` or `ID:unless=CMD` (the command may hold
    /// any character, `:` included).
    pub fn parse(arg: &str) -> Result<ExecSpec, Error> {
        let err = |reason| Error::exec(arg, ExecProblem::Syntax(reason));
        let (id, guard) = match arg.split_once(':') {
            Some((id, g)) => (id, Some(g)),
            None => (arg, None),
        };
        let id: i64 = id
            .trim_start_matches('#')
            .parse()
            .map_err(|_| err("expected ID[:creates=PATH|:unless=CMD] with a command number"))?;
        let guard = match guard {
            None => None,
            Some(g) => Some(if let Some(p) = g.strip_prefix("creates=") {
                if !p.starts_with('/') || p.contains('\n') {
                    return Err(err("creates= needs an absolute path"));
                }
                ExecGuard::Creates(p.to_string())
            } else if let Some(c) = g.strip_prefix("unless=") {
                if c.trim().is_empty() {
                    return Err(err("unless= needs a command"));
                }
                ExecGuard::Unless(c.to_string())
            } else {
                return Err(err("the guard is creates=PATH or unless=CMD"));
            }),
        };
        Ok(ExecSpec {
            arg: arg.to_string(),
            id,
            guard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_arguments() {
        let ok: &[(&str, i64, Option<ExecGuard>)] = &[
            ("12", 12, None),
            ("#3", 3, None),
            (
                "4:creates=/var/lib/app/db",
                4,
                Some(ExecGuard::Creates("/var/lib/app/db".into())),
            ),
            (
                "5:unless=psql -c 'select 1' app",
                5,
                Some(ExecGuard::Unless("psql -c 'select 1' app".into())),
            ),
            ("6:unless=a:b=c", 6, Some(ExecGuard::Unless("a:b=c".into()))),
        ];
        for (arg, id, guard) in ok {
            let s = ExecSpec::parse(arg).unwrap();
            assert_eq!((s.id, &s.guard), (*id, guard), "{arg}");
        }
        for bad in [
            "",
            "x",
            "1:creates=relative",
            "1:unless= ",
            "1:onlyif=x",
            "1:",
        ] {
            let e = ExecSpec::parse(bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("command to replay '{bad}': ")),
                "{bad}: {e}"
            );
        }
    }
}
