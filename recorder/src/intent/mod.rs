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
use lexer::{basename, command_words, heredoc_body, split_line, split_raw};
use secrets::{heredoc_secrets, piped_secrets, raw_secrets, secrets_of};

/// A typed line whose password is not there as typed (quoted or escaped
/// differently): its words as the shell reads them, each masked and quoted
/// again, so no spelling of the password survives.
fn rebuilt(typed: &str, masked: &dyn Fn(&[u8]) -> String) -> String {
    let mut out = String::new();
    for (n, r) in split_raw(typed).unwrap_or_default().iter().enumerate() {
        if n > 0 {
            out.push_str(if r.piped { " | " } else { " ; " });
        }
        let words: Vec<String> = r
            .words
            .iter()
            .map(|w| sh_quote(&masked(w.as_bytes())))
            .collect();
        out.push_str(&words.join(" "));
    }
    out.push_str(" # (rewritten: a password was hidden)");
    if let Some(body) = heredoc_body(typed) {
        out.push('\n');
        out.push_str(&masked(body.as_bytes()));
    }
    out
}

/// What a typed line carries beyond its commands' words: assignments,
/// here-strings, pipes into and here-documents for stdin-fed tools.
fn line_secrets(line: &str, out: &mut Vec<String>) {
    let raw = split_raw(line).unwrap_or_default();
    let cmds = split_line(line);
    let cmd_of = |r: &lexer::Simple| command_words(r.words.clone()).unwrap_or_default();
    let mut prev: Vec<String> = Vec::new();
    for r in &raw {
        let cmd = cmd_of(r);
        raw_secrets(&r.words, &cmd, out);
        if r.piped {
            piped_secrets(&prev, &cmd, out);
        }
        prev = cmd;
    }
    if let Some(body) = heredoc_body(line) {
        heredoc_secrets(body, &cmds, out);
    }
}

impl Intent {
    /// The command as a reader should see it: the typed line, or the
    /// tool's arguments quoted for a POSIX shell, with every password it
    /// carries masked as `***` (see [`Intent::secrets`]).
    pub fn text(&self) -> String {
        let argv = self.masked_argv();
        match self.source {
            IntentSource::Line => argv
                .first()
                .map(|l| String::from_utf8_lossy(l).trim().to_string())
                .unwrap_or_default(),
            IntentSource::Tool => argv
                .iter()
                .map(|a| sh_quote(&String::from_utf8_lossy(a)))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// `argv` with every password (see [`Intent::secrets`]) replaced by
    /// `***`: what may be shown or written. A typed line where a password
    /// is not found as typed (quoted or escaped differently) becomes its
    /// commands' words, masked and quoted again, so it never leaks.
    pub fn masked_argv(&self) -> Vec<Vec<u8>> {
        let secrets = self.secrets();
        if secrets.is_empty() {
            return self.argv.clone();
        }
        let masked = |a: &[u8]| {
            let mut a = String::from_utf8_lossy(a).into_owned();
            for s in &secrets {
                a = a.replace(s.as_str(), "***");
            }
            a
        };
        match self.source {
            IntentSource::Tool => self.argv.iter().map(|a| masked(a).into_bytes()).collect(),
            IntentSource::Line => {
                let typed =
                    String::from_utf8_lossy(self.argv.first().map_or(&[][..], Vec::as_slice))
                        .into_owned();
                let hidden = secrets.iter().any(|s| !typed.contains(s.as_str()));
                let line = if hidden {
                    rebuilt(&typed, &masked)
                } else {
                    masked(typed.as_bytes())
                };
                let mut out = vec![line.into_bytes()];
                out.extend(self.argv.iter().skip(1).map(|a| masked(a).into_bytes()));
                out
            }
        }
    }

    /// Passwords on the command line (`recorder::intent::secrets` has the
    /// table): flags' values (`useradd -p HASH`, `sshpass -p PW`, `curl -u
    /// admin:PW`...), `NAME=VALUE` words whose name looks secret
    /// (`PGPASSWORD=PW`, `export AWS_SECRET_ACCESS_KEY=PW`), `mysql -pX`,
    /// `htpasswd -b FILE USER PW`, `pass:X`, a URL's password, and what a
    /// typed line feeds a stdin-fed tool (`echo 'root:PW' | chpasswd`,
    /// `chpasswd <<< 'root:PW'`, a here-document). Longest first.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.commands().iter().flat_map(|c| secrets_of(c)).collect();
        if self.source == IntentSource::Line {
            let line = self
                .argv
                .first()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .unwrap_or_default();
            line_secrets(&line, &mut out);
        }
        let mut out: Vec<String> = out
            .into_iter()
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
