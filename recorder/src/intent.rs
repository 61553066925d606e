//! Intents: what the admin ran during a session, and what it meant.
//!
//! Two sources fill the `intents` table: `cft-shim` records every wrapped
//! tool it runs (argv), and a recording shell's hooks record every command
//! line typed (the line). This module is their vocabulary and the reading
//! of command lines the generator cares about: which packages an install
//! named, which services were started or stopped, which account a tool
//! touched. Reading is deliberately conservative: an argument we do not
//! understand names nothing.

use crate::system::Running;
use serde::{Deserialize, Serialize};

/// What kind of thing an intent records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentSource {
    /// A program run through `cft-shim`; `argv` is its arguments.
    Tool,
    /// A command line typed in a recording shell; `argv[0]` is the line.
    Line,
}

impl IntentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentSource::Tool => "tool",
            IntentSource::Line => "line",
        }
    }

    pub fn parse(s: &str) -> Option<IntentSource> {
        match s {
            "tool" => Some(IntentSource::Tool),
            "line" => Some(IntentSource::Line),
            _ => None,
        }
    }
}

/// One recorded invocation of a wrapped tool, or one typed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    pub id: i64,
    pub source: IntentSource,
    /// The enclosing intent: the typed line that ran this tool, the
    /// package manager that ran this maintainer script's command.
    pub parent: Option<i64>,
    /// Every argument, `argv[0]` (the name the tool was called by) first;
    /// for a typed line, the line alone.
    pub argv: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    pub uid: u32,
    pub pid: i32,
    pub ppid: i32,
    pub start_ns: i64,
    /// None while the tool runs (or if its end could not be recorded).
    pub end_ns: Option<i64>,
    pub exit_code: Option<i32>,
    /// The signal that killed the tool.
    pub signal: Option<i32>,
}

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

    /// Did it run to a zero exit status?
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && self.signal.is_none()
    }

    /// The words of each simple command it ran, as far as we can tell: a
    /// tool's argv (argv[0] reduced to its file name), or a typed line
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

/// The password values in one command's words.
fn secrets_of(words: &[String]) -> Vec<String> {
    let Some((tool, args)) = words.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let value_flags: &[&str] = match tool.as_str() {
        "useradd" | "usermod" | "groupadd" | "groupmod" => &["-p", "--password"],
        "mysql" | "mysqladmin" | "mysqldump" | "mariadb" | "mariadb-dump" => &["--password"],
        _ => &[],
    };
    let mut next_is_secret = false;
    for (i, w) in args.iter().enumerate() {
        if next_is_secret {
            out.push(w.clone());
            next_is_secret = false;
            continue;
        }
        if value_flags.contains(&w.as_str()) {
            next_is_secret = true;
        } else if let Some((key, value)) = w.split_once('=') {
            let key = key.trim_start_matches('-').to_ascii_lowercase();
            if key.contains("password") || key.contains("passwd") || key == "pass" {
                out.push(value.to_string());
            }
        } else if let Some(v) = w.strip_prefix("pass:") {
            out.push(v.to_string());
        }
        if matches!(
            tool.as_str(),
            "mysql" | "mysqladmin" | "mysqldump" | "mariadb" | "mariadb-dump"
        ) {
            if let Some(v) = w.strip_prefix("-p").filter(|v| !v.is_empty()) {
                out.push(v.to_string());
            }
        }
        if tool == "htpasswd"
            && i + 1 == args.len()
            && args
                .iter()
                .any(|a| a.starts_with("-b") || (a.starts_with('-') && a.contains('b')))
        {
            out.push(w.clone());
        }
        // scheme://user:password@host
        if let Some(rest) = w.split_once("://").map(|(_, r)| r) {
            if let Some((userinfo, _)) = rest.split_once('@') {
                if let Some((_, pw)) = userinfo.split_once(':') {
                    out.push(pw.to_string());
                }
            }
        }
    }
    out
}

/// Quote a word for a POSIX shell (only when it needs it).
pub fn sh_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

fn split_line(line: &str) -> Vec<Vec<String>> {
    // A here-document's body is data, not commands.
    let line = if line.contains("<<") {
        line.split('\n').next().unwrap_or("")
    } else {
        line
    };
    // Make operators separate words, then let shlex do the quoting rules.
    // `&` in `2>&1` and `&>` is part of a redirection, not an operator.
    let chars: Vec<char> = line.chars().collect();
    let mut spaced = String::with_capacity(line.len() + 8);
    let mut quote = None::<char>;
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let operator = match c {
            ';' | '|' | '\n' => true,
            '&' => !matches!(prev, '>' | '<') && next != '>',
            _ => false,
        };
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if (c == '\'' || c == '"') && prev != '\\' => quote = Some(c),
            None if operator => {
                spaced.push_str(if c == '\n' { " ; " } else { " " });
                if c != '\n' {
                    spaced.push(c);
                    spaced.push(' ');
                }
                continue;
            }
            None => {}
        }
        spaced.push(c);
    }
    let Some(words) = shlex::split(&spaced) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut target_next = false;
    for w in words {
        if matches!(w.as_str(), ";" | "|" | "&") {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if target_next {
            target_next = false;
            continue;
        }
        // Redirections (`>x`, `2>&1`, `< in`) are not arguments.
        let op_len = w
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '&')
            .len();
        let rest = &w[w.len() - op_len..];
        if rest.starts_with('>') || rest.starts_with('<') {
            let bare = rest.trim_start_matches(['>', '<', '&', '|']);
            target_next = bare.is_empty();
            continue;
        }
        cur.push(w);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .filter_map(|mut c| {
            while let Some(first) = c.first() {
                let assignment = first.contains('=') && !first.starts_with('=');
                if assignment || first == "sudo" || first == "env" || first == "command" {
                    c.remove(0);
                } else {
                    break;
                }
            }
            let first = c.first_mut()?;
            *first = basename(first).to_string();
            Some(c)
        })
        .collect()
}

/// A package-manager operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageOp {
    Install,
    Remove,
    Purge,
}

/// The package operation a command asks for, and the package names it
/// gives (without `=version`, `/release` or `:arch`; files such as
/// `./x.deb` are not names).
pub fn package_op(words: &[String]) -> Option<(PackageOp, Vec<String>)> {
    let tool = words.first()?.as_str();
    let (valued, rest): (&[&str], &[String]) = match tool {
        "apt-get" | "apt" | "aptitude" => (
            &[
                "-o",
                "-t",
                "-c",
                "--option",
                "--target-release",
                "--config-file",
            ],
            &words[1..],
        ),
        "dnf" | "yum" => (
            &[
                "--setopt",
                "--repo",
                "--enablerepo",
                "--disablerepo",
                "-x",
                "--exclude",
                "--releasever",
                "--installroot",
            ],
            &words[1..],
        ),
        "dpkg" | "rpm" => return low_level_op(tool, &words[1..]),
        _ => return None,
    };
    let mut op = None;
    let mut purge_flag = false;
    let mut names = Vec::new();
    let mut skip = false;
    for w in rest {
        if skip {
            skip = false;
            continue;
        }
        if w.starts_with('-') {
            if w == "--purge" {
                purge_flag = true;
            }
            skip = valued.contains(&w.as_str());
            continue;
        }
        if op.is_none() {
            op = Some(match w.as_str() {
                "install" | "reinstall" => PackageOp::Install,
                "remove" | "erase" | "autoremove" => PackageOp::Remove,
                "purge" => PackageOp::Purge,
                _ => return None,
            });
            continue;
        }
        if let Some(n) = package_name(w) {
            names.push(n);
        }
    }
    let op = match op? {
        PackageOp::Remove if purge_flag => PackageOp::Purge,
        op => op,
    };
    Some((op, names))
}

fn low_level_op(tool: &str, args: &[String]) -> Option<(PackageOp, Vec<String>)> {
    let mut op = None;
    let mut names = Vec::new();
    for w in args {
        let this = match (tool, w.as_str()) {
            ("dpkg", "-r" | "--remove") | ("rpm", "-e" | "--erase") => Some(PackageOp::Remove),
            ("dpkg", "-P" | "--purge") => Some(PackageOp::Purge),
            ("dpkg", "-i" | "--install") | ("rpm", "-i" | "-U" | "--install" | "--upgrade") => {
                Some(PackageOp::Install)
            }
            _ => None,
        };
        if this.is_some() {
            op = op.or(this);
        } else if !w.starts_with('-') && op.is_some() {
            if let Some(n) = package_name(w) {
                names.push(n);
            }
        }
    }
    Some((op?, names))
}

fn package_name(w: &str) -> Option<String> {
    if w.contains('/') && (w.ends_with(".deb") || w.ends_with(".rpm") || w.starts_with('.')) {
        return None;
    }
    if w.ends_with(".deb") || w.ends_with(".rpm") || w.starts_with('/') {
        return None;
    }
    let name = w.split(['=', '/', ':']).next().unwrap_or(w);
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b));
    valid.then(|| name.to_string())
}

/// The running state a command asks for, and the units it names (with
/// `.service` added to bare names).
pub fn service_op(words: &[String]) -> Option<(Running, Vec<String>)> {
    let tool = words.first()?.as_str();
    match tool {
        "systemctl" => {
            let valued = [
                "-H",
                "-M",
                "-t",
                "-p",
                "-s",
                "-n",
                "-o",
                "--host",
                "--machine",
                "--type",
                "--property",
                "--signal",
                "--state",
                "--root",
                "--lines",
                "--output",
            ];
            let mut verb = None;
            let mut now = false;
            let mut units = Vec::new();
            let mut skip = false;
            for w in &words[1..] {
                if skip {
                    skip = false;
                    continue;
                }
                if w.starts_with('-') {
                    now |= w == "--now";
                    skip = valued.contains(&w.as_str());
                    continue;
                }
                if verb.is_none() {
                    verb = Some(w.as_str());
                } else {
                    units.push(unit_name(w));
                }
            }
            let state = match verb? {
                "start" | "restart" | "reload-or-restart" | "try-restart" | "reload" => {
                    Running::Running
                }
                "stop" | "kill" => Running::Stopped,
                "enable" | "reenable" if now => Running::Running,
                "disable" | "mask" if now => Running::Stopped,
                _ => return None,
            };
            (!units.is_empty()).then_some((state, units))
        }
        "service" => {
            let rest: Vec<&String> = words[1..].iter().filter(|w| !w.starts_with('-')).collect();
            let (name, verb) = (rest.first()?, rest.get(1)?);
            let state = match verb.as_str() {
                "start" | "restart" | "reload" | "force-reload" => Running::Running,
                "stop" => Running::Stopped,
                _ => return None,
            };
            Some((state, vec![unit_name(name)]))
        }
        _ => None,
    }
}

/// Units a command names for any reason (enable, disable, start…).
pub fn service_names(words: &[String]) -> Vec<String> {
    match words.first().map(String::as_str) {
        Some("systemctl") => {
            let operands: Vec<&String> =
                words[1..].iter().filter(|w| !w.starts_with('-')).collect();
            operands.iter().skip(1).map(|w| unit_name(w)).collect()
        }
        Some("service" | "update-rc.d" | "chkconfig") => words[1..]
            .iter()
            .find(|w| !w.starts_with('-'))
            .map(|w| vec![unit_name(w)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn unit_name(w: &str) -> String {
    let base = basename(w);
    if base.contains('.') {
        base.to_string()
    } else {
        format!("{base}.service")
    }
}

/// Which accounts a command names: (is a group, name).
pub fn account_names(words: &[String]) -> Vec<(bool, String)> {
    let group = match words.first().map(String::as_str) {
        Some("useradd" | "usermod" | "userdel" | "adduser" | "deluser" | "passwd") => false,
        Some("groupadd" | "groupmod" | "groupdel" | "gpasswd" | "addgroup" | "delgroup") => true,
        _ => return Vec::new(),
    };
    // The account is the last operand of every one of these tools.
    match words[1..].last() {
        Some(last) if !last.starts_with('-') => vec![(group, last.clone())],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn line(s: &str) -> Intent {
        Intent {
            id: 1,
            source: IntentSource::Line,
            parent: None,
            argv: vec![s.as_bytes().to_vec()],
            cwd: b"/".to_vec(),
            uid: 0,
            pid: 1,
            ppid: 1,
            start_ns: 0,
            end_ns: Some(1),
            exit_code: Some(0),
            signal: None,
        }
    }

    #[test]
    fn package_operations() {
        type Case = (
            &'static str,
            &'static str,
            Option<(PackageOp, &'static [&'static str])>,
        );
        let cases: &[Case] = &[
            (
                "install",
                "apt-get install -y -q nginx jq=1.6-2 foo/bookworm-backports bar:amd64",
                Some((PackageOp::Install, &["nginx", "jq", "foo", "bar"])),
            ),
            (
                "option with a value",
                "apt-get -o Dpkg::Options::=--force-confold -t bookworm install vim",
                Some((PackageOp::Install, &["vim"])),
            ),
            (
                "remove",
                "apt remove cowsay",
                Some((PackageOp::Remove, &["cowsay"])),
            ),
            (
                "purge verb",
                "apt-get purge -y x",
                Some((PackageOp::Purge, &["x"])),
            ),
            (
                "remove --purge",
                "apt-get remove --purge x",
                Some((PackageOp::Purge, &["x"])),
            ),
            (
                "local file",
                "apt-get install ./x.deb",
                Some((PackageOp::Install, &[])),
            ),
            (
                "dnf",
                "dnf -y install httpd",
                Some((PackageOp::Install, &["httpd"])),
            ),
            (
                "dpkg purge",
                "dpkg -P foo",
                Some((PackageOp::Purge, &["foo"])),
            ),
            (
                "dpkg file",
                "dpkg -i /tmp/foo.deb",
                Some((PackageOp::Install, &[])),
            ),
            (
                "rpm erase",
                "rpm -e foo",
                Some((PackageOp::Remove, &["foo"])),
            ),
            ("update", "apt-get update", None),
            ("search", "apt search nginx", None),
            ("not a package tool", "ls -l", None),
        ];
        for (name, cmd, want) in cases {
            let got = package_op(&words(cmd));
            let want = want.map(|(op, n)| (op, n.iter().map(|s| s.to_string()).collect()));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn service_operations() {
        type Case = (
            &'static str,
            &'static str,
            Option<(Running, &'static [&'static str])>,
        );
        let cases: &[Case] = &[
            (
                "start",
                "systemctl start nginx",
                Some((Running::Running, &["nginx.service"])),
            ),
            (
                "stop",
                "systemctl stop app.service",
                Some((Running::Stopped, &["app.service"])),
            ),
            (
                "enable --now",
                "systemctl enable --now a b.socket",
                Some((Running::Running, &["a.service", "b.socket"])),
            ),
            ("enable only", "systemctl enable a", None),
            ("status", "systemctl status a", None),
            (
                "service",
                "service ssh restart",
                Some((Running::Running, &["ssh.service"])),
            ),
            (
                "service stop",
                "service cron stop",
                Some((Running::Stopped, &["cron.service"])),
            ),
        ];
        for (name, cmd, want) in cases {
            let got = service_op(&words(cmd));
            let want = want.map(|(s, u)| (s, u.iter().map(|s| s.to_string()).collect()));
            assert_eq!(got, want, "{name}");
        }
        assert_eq!(
            service_names(&words("systemctl --quiet enable app")),
            ["app.service"]
        );
    }

    #[test]
    fn accounts_named() {
        let cases: &[(&str, Vec<(bool, String)>)] = &[
            (
                "useradd -m -s /bin/bash alice",
                vec![(false, "alice".into())],
            ),
            ("usermod -aG web bob", vec![(false, "bob".into())]),
            ("groupadd -r web", vec![(true, "web".into())]),
            ("gpasswd -a alice web", vec![(true, "web".into())]),
            ("chpasswd", vec![]),
            ("ls alice", vec![]),
        ];
        for (cmd, want) in cases {
            assert_eq!(&account_names(&words(cmd)), want, "{cmd}");
        }
    }

    #[test]
    fn typed_lines_split_into_commands() {
        let cases: &[(&str, &str, &[&[&str]])] = &[
            (
                "plain",
                "apt-get install -y jq",
                &[&["apt-get", "install", "-y", "jq"]],
            ),
            (
                "operators",
                "apt-get update && sudo apt-get install -y x; systemctl start x | cat",
                &[
                    &["apt-get", "update"],
                    &["apt-get", "install", "-y", "x"],
                    &["systemctl", "start", "x"],
                    &["cat"],
                ],
            ),
            (
                "quotes keep operators",
                "echo 'a;b' \"c && d\"",
                &[&["echo", "a;b", "c && d"]],
            ),
            (
                "assignment and path",
                "DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get purge x",
                &[&["apt-get", "purge", "x"]],
            ),
            ("unclosed quote", "echo 'oops", &[]),
            (
                "redirections",
                "apt-get install -y jq >/dev/null 2>&1 && systemctl --version > out < in &> all",
                &[
                    &["apt-get", "install", "-y", "jq"],
                    &["systemctl", "--version"],
                ],
            ),
            (
                "here-document body",
                "cat > /etc/x <<'EOF'\nrm -rf / ; echo\nEOF",
                &[&["cat"]],
            ),
            (
                "background job",
                "sleep 1 & echo",
                &[&["sleep", "1"], &["echo"]],
            ),
        ];
        for (name, l, want) in cases {
            let got = line(l).commands();
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|c| c.iter().map(|s| s.to_string()).collect())
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn passwords_are_masked_for_people() {
        let cases = [
            (
                "useradd -m -p '$6$salt$hash' alice",
                "useradd -m -p '***' alice",
            ),
            (
                "usermod --password=$6$x$y bob",
                "usermod --password=*** bob",
            ),
            (
                "mysql -uroot -pS3cret app < schema.sql",
                "mysql -uroot -p*** app < schema.sql",
            ),
            (
                "htpasswd -b /etc/htpasswd admin hunter2",
                "htpasswd -b /etc/htpasswd admin ***",
            ),
            (
                "psql postgresql://app:pw1@db/app -f s.sql",
                "psql postgresql://app:***@db/app -f s.sql",
            ),
            (
                "openssl rsa -passin pass:abc -in k",
                "openssl rsa -passin pass:*** -in k",
            ),
            ("mkdir -p /srv/app", "mkdir -p /srv/app"),
            ("createdb app", "createdb app"),
        ];
        for (typed, shown) in cases {
            let i = line(typed);
            assert_eq!(i.text(), shown, "{typed}");
            assert_eq!(i.secrets().is_empty(), typed == shown, "{typed}");
        }
        let tool = Intent {
            source: IntentSource::Tool,
            argv: vec![
                b"useradd".to_vec(),
                b"-p".to_vec(),
                b"$6$a$b".to_vec(),
                b"u".to_vec(),
            ],
            ..line("")
        };
        assert_eq!(tool.text(), "useradd -p '***' u");
        assert!(
            tool.shell_command().unwrap().contains("$6$a$b"),
            "exact for --exec"
        );
    }

    #[test]
    fn shell_quoting_round_trips_through_sh() {
        let i = Intent {
            source: IntentSource::Tool,
            argv: vec![
                b"printf".to_vec(),
                b"%s|".to_vec(),
                b"it's $HOME".to_vec(),
                b"".to_vec(),
            ],
            ..line("")
        };
        let cmd = i.shell_command().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", &cmd])
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"it's $HOME||");
    }
}
