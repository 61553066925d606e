//! Site parameters: a value recorded in a file (a mail relay, a host name)
//! that differs from site to site. `NAME=PATH:LITERAL` turns the one
//! occurrence of LITERAL in the recorded content of PATH into the class
//! parameter NAME, whose default is LITERAL; the file becomes an EPP
//! template (`epp`). A literal found more than once in the file is refused
//! as ambiguous (`2048` for `worker_connections` is also
//! `types_hash_max_size 2048`): `NAME=PATH:LINE:LITERAL` picks the one on
//! line LINE, `NAME=PATH:*:LITERAL` takes every occurrence. This module
//! parses and checks the argument alone; `plan` checks it against the
//! session.

use crate::{puppet, Error};
use recorder::model::display_path;

/// Which occurrences of the literal a site parameter replaces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Select {
    /// `PATH:LITERAL`: the literal must occur exactly once in the file.
    #[default]
    Only,
    /// `PATH:LINE:LITERAL`: the one occurrence on this line (from 1).
    Line(usize),
    /// `PATH:*:LITERAL`: every occurrence in the file.
    All,
}

/// One `NAME=PATH:[LINE:|*:]LITERAL`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SiteParam {
    /// The class parameter: a valid, unreserved Puppet variable name.
    pub name: String,
    /// The target path of a recorded file, e.g. `/etc/app/mail.conf`.
    pub path: Vec<u8>,
    /// The recorded value: non-empty text on one line.
    pub literal: Vec<u8>,
    /// Which of its occurrences in the file.
    pub select: Select,
}

const FORM: &str = "expected NAME=PATH:LITERAL (the literal's one occurrence), NAME=PATH:LINE:LITERAL (the one on line LINE) or NAME=PATH:*:LITERAL (every occurrence), e.g. mailhub=/etc/app/mail.conf:smtp.example.com";

impl SiteParam {
    /// Parse `NAME=PATH:LITERAL`: the name ends at the first `=`, the path
    /// at the first `:` after it, and the literal is the rest (it may hold
    /// `:` and `=`; a path cannot hold `:`). If the rest starts with digits
    /// and a `:` they are a line number, if with `*:` the selector "every
    /// occurrence": a literal that itself starts so (`8080:tcp`) is given
    /// with its selector (`PATH:3:8080:tcp`).
    pub fn parse(arg: &str) -> Result<SiteParam, Error> {
        let err = |reason: String| Error::SiteParam {
            arg: arg.to_string(),
            reason,
        };
        let (name, rest) = arg.split_once('=').ok_or_else(|| err(FORM.into()))?;
        let (path, rest) = rest
            .split_once(':')
            .ok_or_else(|| err(format!("no ':' after the path; {FORM}")))?;
        let (select, literal) = match rest.split_once(':') {
            Some(("*", lit)) => (Select::All, lit),
            Some((n, lit)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                match n.parse::<usize>() {
                    Ok(line) if line > 0 => (Select::Line(line), lit),
                    _ => {
                        return Err(err(format!(
                            "line '{n}' is not a line number (lines count from 1); {FORM}"
                        )))
                    }
                }
            }
            _ => (Select::Only, rest),
        };
        let p = SiteParam {
            name: name.to_string(),
            path: path.as_bytes().to_vec(),
            literal: literal.as_bytes().to_vec(),
            select,
        };
        match p.problem() {
            Some(reason) => Err(err(reason)),
            None => Ok(p),
        }
    }

    /// The parameter on its own, whoever built it: a usable name, an
    /// absolute path, a literal of text on one line.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self.problem() {
            None => Ok(()),
            Some(reason) => Err(self.error(reason)),
        }
    }

    fn problem(&self) -> Option<String> {
        if let Some(problem) = puppet::param_name_problem(&self.name) {
            return Some(format!(
                "'{}' cannot name a class parameter: {problem}",
                self.name
            ));
        }
        if !self.path.starts_with(b"/") {
            return Some(format!(
                "the path '{}' is not absolute: give the recorded file's path on the recorded system, e.g. /etc/app/mail.conf",
                display_path(&self.path)
            ));
        }
        let Ok(literal) = std::str::from_utf8(&self.literal) else {
            return Some("the literal is not UTF-8 text, which an EPP template cannot hold".into());
        };
        if literal.is_empty() {
            return Some(
                "the literal after the path's ':' is empty: give the recorded value the parameter replaces".into(),
            );
        }
        if literal.chars().any(|c| c.is_control() && c != '\t') {
            return Some(
                "the literal holds a line break or another control character: a parameter's value is text on one line".into(),
            );
        }
        None
    }

    /// The argument form, for messages.
    pub fn arg(&self) -> String {
        let select = match self.select {
            Select::Only => String::new(),
            Select::Line(n) => format!("{n}:"),
            Select::All => "*:".to_string(),
        };
        format!(
            "{}={}:{select}{}",
            self.name,
            display_path(&self.path),
            String::from_utf8_lossy(&self.literal)
        )
    }

    pub(crate) fn error(&self, reason: String) -> Error {
        Error::SiteParam {
            arg: self.arg(),
            reason,
        }
    }

    /// The literal as text; `parse` only makes UTF-8 literals, but the
    /// fields are public.
    pub(crate) fn literal_str(&self) -> Result<&str, Error> {
        std::str::from_utf8(&self.literal).map_err(|_| {
            self.error("the literal is not UTF-8 text, which an EPP template cannot hold".into())
        })
    }
}

/// Check the parameters against each other: one default per name, one
/// name per literal in a file, names Puppet accepts. Returns them sorted
/// by name then path, exact repeats dropped.
pub(crate) fn check_all(params: &[SiteParam]) -> Result<Vec<SiteParam>, Error> {
    let mut sorted = params.to_vec();
    sorted.sort();
    sorted.dedup();
    for p in &sorted {
        p.validate()?;
    }
    for pair in sorted.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.name == b.name && a.literal != b.literal {
            return Err(b.error(format!(
                "parameter '{}' is also given the value '{}' (in {}); one parameter has one default: use two names",
                a.name,
                String::from_utf8_lossy(&a.literal),
                display_path(&a.path)
            )));
        }
    }
    for (i, a) in sorted.iter().enumerate() {
        // Two parameters on one literal of one file: only on two different
        // lines, and under two names.
        let twin = sorted[i + 1..].iter().find(|b| {
            b.path == a.path
                && b.literal == a.literal
                && !matches!((a.select, b.select), (Select::Line(x), Select::Line(y)) if x != y && a.name != b.name)
        });
        if let Some(b) = twin {
            let reason = if a.name == b.name {
                format!(
                    "'{}' in {} is already given for parameter '{}' as '{}': give it once, with PATH:*:LITERAL for every occurrence",
                    String::from_utf8_lossy(&a.literal),
                    display_path(&a.path),
                    a.name,
                    a.arg()
                )
            } else {
                format!(
                    "'{}' in {} is already parameter '{}': a value can stand for one parameter only (two parameters on one literal need two lines: PATH:LINE:LITERAL)",
                    String::from_utf8_lossy(&a.literal),
                    display_path(&a.path),
                    a.name
                )
            };
            return Err(b.error(reason));
        }
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_cases() {
        let ok: &[(&str, &str, &str, &str, &str)] = &[
            (
                "plain",
                "mailhub=/etc/app/mail.conf:smtp.example.com",
                "mailhub",
                "/etc/app/mail.conf",
                "smtp.example.com",
            ),
            (
                "colon and equals in the literal",
                "url=/etc/app.ini:http://h:80/?a=b",
                "url",
                "/etc/app.ini",
                "http://h:80/?a=b",
            ),
            ("equals in the path", "x=/etc/a=b:v", "x", "/etc/a=b", "v"),
            ("spaces kept", "x=/etc/a: v ", "x", "/etc/a", " v "),
            ("tab kept", "x=/etc/a:a\tb", "x", "/etc/a", "a\tb"),
            (
                "a line",
                "c=/etc/nginx.conf:12:2048",
                "c",
                "/etc/nginx.conf",
                "2048",
            ),
            (
                "every occurrence",
                "c=/etc/nginx.conf:*:2048",
                "c",
                "/etc/nginx.conf",
                "2048",
            ),
            (
                "a literal like a line, with its line",
                "p=/etc/a:3:8080:tcp",
                "p",
                "/etc/a",
                "8080:tcp",
            ),
            (
                "a star inside the literal",
                "p=/etc/a:a*:b",
                "p",
                "/etc/a",
                "a*:b",
            ),
        ];
        let selects = [
            Select::Only,
            Select::Only,
            Select::Only,
            Select::Only,
            Select::Only,
            Select::Line(12),
            Select::All,
            Select::Line(3),
            Select::Only,
        ];
        for ((case, arg, name, path, literal), select) in ok.iter().zip(selects) {
            let p = SiteParam::parse(arg).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(p.select, select, "{case}");
            assert_eq!(p.name, *name, "{case}");
            assert_eq!(p.path, path.as_bytes(), "{case}");
            assert_eq!(p.literal, literal.as_bytes(), "{case}");
            assert_eq!(p.arg(), *arg, "{case}: arg() gives the argument back");
        }
        let bad: &[(&str, &str, &str)] = &[
            ("no equals", "mailhub", "expected NAME=PATH:LITERAL"),
            ("no colon", "mailhub=/etc/x", "no ':' after the path"),
            ("empty name", "=/etc/x:v", "it is empty"),
            ("uppercase name", "MailHub=/etc/x:v", "lowercase"),
            ("dash in name", "mail-hub=/etc/x:v", "only lowercase"),
            ("reserved name", "class=/etc/x:v", "reserved word"),
            ("built-in name", "title=/etc/x:v", "built-in variable"),
            ("relative path", "x=etc/x:v", "not absolute"),
            ("empty path", "x=:v", "not absolute"),
            ("empty literal", "x=/etc/x:", "is empty"),
            ("newline in literal", "x=/etc/x:a\nb", "line break"),
            ("line 0", "x=/etc/x:0:v", "lines count from 1"),
            ("empty literal after a line", "x=/etc/x:3:", "is empty"),
        ];
        for (case, arg, want) in bad {
            let err = SiteParam::parse(arg).expect_err(case).to_string();
            assert!(err.contains(want), "{case}: {err}");
            assert!(
                err.starts_with(&format!("site parameter '{arg}'")),
                "{case}: names the argument: {err}"
            );
        }
    }

    fn p(arg: &str) -> SiteParam {
        SiteParam::parse(arg).expect("valid")
    }

    #[test]
    fn check_all_cases() {
        let sorted = check_all(&[
            p("port=/etc/b:25"),
            p("mailhub=/etc/b:smtp"),
            p("mailhub=/etc/a:smtp"),
            p("mailhub=/etc/a:smtp"),
        ])
        .expect("consistent");
        let args: Vec<String> = sorted.iter().map(SiteParam::arg).collect();
        assert_eq!(
            args,
            [
                "mailhub=/etc/a:smtp",
                "mailhub=/etc/b:smtp",
                "port=/etc/b:25"
            ]
        );

        let err = check_all(&[p("mailhub=/etc/a:smtp"), p("mailhub=/etc/b:relay")])
            .expect_err("two defaults")
            .to_string();
        assert!(err.contains("'mailhub=/etc/b:relay'"), "{err}");
        assert!(err.contains("'smtp' (in /etc/a)"), "{err}");

        let err = check_all(&[p("a=/etc/x:v"), p("b=/etc/x:v")])
            .expect_err("one literal, two names")
            .to_string();
        assert!(err.contains("already parameter 'a'"), "{err}");

        // One literal, two names: only on two different lines.
        assert!(check_all(&[p("a=/etc/x:1:v"), p("b=/etc/x:2:v")]).is_ok());
        for (one, two) in [
            ("a=/etc/x:1:v", "b=/etc/x:1:v"),
            ("a=/etc/x:*:v", "b=/etc/x:2:v"),
            ("a=/etc/x:v", "b=/etc/x:2:v"),
        ] {
            let err = check_all(&[p(one), p(two)]).expect_err(two).to_string();
            assert!(err.contains("already parameter"), "{one} {two}: {err}");
        }
        let err = check_all(&[p("a=/etc/x:1:v"), p("a=/etc/x:2:v")])
            .expect_err("one name on two lines")
            .to_string();
        assert!(err.contains("PATH:*:LITERAL"), "{err}");

        let raw = SiteParam {
            name: "x".into(),
            path: b"/etc/x".to_vec(),
            literal: b"\xff".to_vec(),
            select: Select::Only,
        };
        assert!(
            check_all(std::slice::from_ref(&raw)).is_err(),
            "non-UTF-8 literal"
        );
        let newline = SiteParam {
            literal: b"a\nb".to_vec(),
            ..raw
        };
        let err = check_all(&[newline]).expect_err("newline").to_string();
        assert!(err.contains("line break"), "{err}");
    }
}
