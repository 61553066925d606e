//! What a recorded command means: how a reader should see it (passwords
//! masked), the simple commands a typed line ran, and which packages,
//! services and accounts they name. Reading is deliberately conservative:
//! an argument we do not understand names nothing.
//!
//! `lexer` splits a typed line like a shell and quotes words for one;
//! `secrets` finds the passwords a command line carries; `verbs` knows
//! what the admin tools' arguments mean.

mod lexer;
mod secrets;
mod verbs;

use lexer::sh_quote;
pub(crate) use verbs::{account_names, package_op, service_names, service_op, PackageOp};

use crate::model::{Intent, IntentSource};
use lexer::{basename, split_line};
use secrets::secrets_of;

impl Intent {
    /// The command as a reader should see it: the typed line, or the
    /// tool's arguments quoted for a POSIX shell, with every password it
    /// carries masked as `***` (see [`Intent::secrets`]).
    pub fn text(&self) -> String {
        let mut text = match self.source {
            IntentSource::Line => self
                .argv
                .first()
                .map(|l| String::from_utf8_lossy(l).trim().to_string())
                .unwrap_or_default(),
            IntentSource::Tool => self
                .argv
                .iter()
                .map(|a| sh_quote(&String::from_utf8_lossy(a)))
                .collect::<Vec<_>>()
                .join(" "),
        };
        for secret in self.secrets() {
            text = text.replace(&secret, "***");
        }
        text
    }

    /// Passwords on the command line: `useradd -p HASH`, `--password=X`,
    /// `mysql -pX`, `htpasswd -b FILE USER PW`, `pass:X`, and the password
    /// of a `scheme://user:password@host` URL. Longest first.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .commands()
            .iter()
            .flat_map(|c| secrets_of(c))
            .filter(|s| !s.is_empty() && s != "***")
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        out.dedup();
        out
    }
    /// The command as an exact shell command (None when it is not UTF-8,
    /// which a Puppet string cannot carry).
    pub fn shell_command(&self) -> Option<String> {
        match self.source {
            IntentSource::Line => {
                let line = String::from_utf8(self.argv.first()?.clone()).ok()?;
                Some(line.trim().to_string())
            }
            IntentSource::Tool => {
                let mut words = Vec::with_capacity(self.argv.len());
                for a in &self.argv {
                    words.push(sh_quote(std::str::from_utf8(a).ok()?));
                }
                Some(words.join(" "))
            }
        }
    }

    /// The words of each simple command it ran, as far as we can tell: a
    /// tool's argv (`argv[0]` reduced to its file name), or a typed line
    /// split like a shell would at `;`, `&&`, `||` and `|`, with leading
    /// `VAR=value` assignments, `sudo` and `env` dropped. Every command has
    /// at least one word. A line that does not split (an unclosed quote), or
    /// a tool with no arguments at all, gives nothing.
    pub fn commands(&self) -> Vec<Vec<String>> {
        match self.source {
            IntentSource::Tool => {
                let mut words: Vec<String> = self
                    .argv
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect();
                // Every command has at least its name (a row written by
                // something else may have no arguments at all).
                let Some(first) = words.first_mut() else {
                    return Vec::new();
                };
                *first = basename(first).to_string();
                vec![words]
            }
            IntentSource::Line => {
                let line = self
                    .argv
                    .first()
                    .map(|l| String::from_utf8_lossy(l).into_owned())
                    .unwrap_or_default();
                split_line(&line)
            }
        }
    }
}

#[cfg(test)]
mod tests;
