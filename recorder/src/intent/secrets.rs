//! The passwords a command line carries, masked wherever a command is
//! shown or written. Table-driven:
//!
//! - [`VALUE_FLAGS`]: a tool's flag whose value is a password (`useradd -p
//!   HASH`, `sshpass -p PW`, `redis-cli -a PW`, `docker login -p PW`), or a
//!   `user:password` pair (`curl -u admin:PW`);
//! - any `NAME=VALUE` word (an assignment, `export`, `env`, `docker run -e`,
//!   a `-o a=b,c=d` list) whose name looks secret ([`secret_name`]:
//!   `*PASSWORD*`, `*PASSWD*`, `*SECRET*`, `*TOKEN*`, `*_KEY`, `pass`);
//! - `mysql -pX`, `htpasswd -b FILE USER PW`, `pass:X`, a URL's
//!   `user:password@`;
//! - [`STDIN_FED`]: tools that read passwords on standard input
//!   (`chpasswd`, `passwd --stdin`, `htpasswd -i`, `login --password-stdin`):
//!   the text fed to them by `echo`/`printf` before a `|`, a here-string
//!   (`<<< 'root:PW'`) or a here-document body.

/// `(tool, flags)`: each flag's value is a password. A flag ending in `:`
/// takes `user:password` and only the part after the first `:` is secret.
const VALUE_FLAGS: &[(&str, &[&str])] = &[
    ("useradd", &["-p", "--password"]),
    ("usermod", &["-p", "--password"]),
    ("groupadd", &["-p", "--password"]),
    ("groupmod", &["-p", "--password"]),
    ("mysql", &["--password"]),
    ("mysqladmin", &["--password"]),
    ("mysqldump", &["--password"]),
    ("mariadb", &["--password"]),
    ("mariadb-dump", &["--password"]),
    ("sshpass", &["-p"]),
    ("redis-cli", &["-a", "--pass"]),
    ("docker", &["-p", "--password"]),
    ("podman", &["-p", "--password"]),
    ("helm", &["--password"]),
    ("curl", &["-u:", "--user:", "-U:", "--proxy-user:"]),
    ("smbclient", &["--password"]),
    ("ldapsearch", &["-w"]),
    ("ldapadd", &["-w"]),
    ("ldapmodify", &["-w"]),
];

/// How a stdin-fed tool reads its input.
#[derive(Clone, Copy)]
enum Fed {
    /// `user:password` lines (`chpasswd`): the part after the first `:`.
    UserColonPassword,
    /// Each line is a password.
    Whole,
}

/// `(tool, a flag it must have (empty: none), what it reads)`.
const STDIN_FED: &[(&str, &str, Fed)] = &[
    ("chpasswd", "", Fed::UserColonPassword),
    ("chgpasswd", "", Fed::UserColonPassword),
    ("passwd", "--stdin", Fed::Whole),
    ("htpasswd", "-i", Fed::Whole),
    ("docker", "--password-stdin", Fed::Whole),
    ("podman", "--password-stdin", Fed::Whole),
    ("helm", "--password-stdin", Fed::Whole),
];

/// Does a variable or option name look like it holds a secret?
pub(super) fn secret_name(name: &str) -> bool {
    let n = name
        .trim_start_matches('-')
        .to_ascii_uppercase()
        .replace('-', "_");
    n.contains("PASSWORD")
        || n.contains("PASSWD")
        || n.contains("SECRET")
        || n.contains("TOKEN")
        || n.ends_with("_KEY")
        || n == "PASS"
}

fn flag_matches(word: &str, flag: &str) -> bool {
    if word == flag {
        return true;
    }
    // Single-letter flags may be clustered (`htpasswd -ci`).
    let (Some(letter), Some(cluster)) = (flag.strip_prefix('-'), word.strip_prefix('-')) else {
        return false;
    };
    letter.len() == 1 && !cluster.starts_with('-') && cluster.contains(letter)
}

/// Is `cmd` (the words of one command, `cmd[0]` its name) a stdin-fed
/// tool, and how does it read?
fn stdin_fed(cmd: &[String]) -> Option<Fed> {
    let (tool, args) = cmd.split_first()?;
    STDIN_FED.iter().find_map(|&(t, flag, fed)| {
        (t == tool && (flag.is_empty() || args.iter().any(|a| flag_matches(a, flag))))
            .then_some(fed)
    })
}

/// The passwords in `text` fed to a tool that reads them as `fed` says.
fn fed_secrets(text: &str, fed: Fed, out: &mut Vec<String>) {
    // `printf 'a:b\nc:d\n'` and `echo -e` write the escapes as newlines.
    for line in text.split('\n').flat_map(|l| l.split("\\n")) {
        let line = line.trim();
        let secret = match fed {
            Fed::UserColonPassword => line.split_once(':').map_or("", |(_, pw)| pw),
            Fed::Whole => line,
        };
        if !secret.is_empty() {
            out.push(secret.to_string());
        }
    }
}

/// The password values in one command's words (`words[0]` its name).
pub(super) fn secrets_of(words: &[String]) -> Vec<String> {
    let Some((tool, args)) = words.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let flags = VALUE_FLAGS
        .iter()
        .find(|(t, _)| t == tool)
        .map_or(&[][..], |(_, f)| *f);
    // The value of the previous word's flag is secret (`Some(true)`: only
    // after its first `:`).
    let mut next_is_secret: Option<bool> = None;
    for (i, w) in args.iter().enumerate() {
        if let Some(pair) = next_is_secret.take() {
            push_value(w, pair, &mut out);
            continue;
        }
        for f in flags {
            let (name, pair) = match f.strip_suffix(':') {
                Some(n) => (n, true),
                None => (*f, false),
            };
            if w == name {
                next_is_secret = Some(pair);
            } else if let Some(v) = w.strip_prefix(name).and_then(|v| v.strip_prefix('=')) {
                push_value(v, pair, &mut out);
            } else if name.len() == 2 && !name.starts_with("--") {
                // `-pSECRET`, `-uadmin:PW`
                if let Some(v) = w.strip_prefix(name).filter(|v| !v.is_empty()) {
                    push_value(v, pair, &mut out);
                }
            }
        }
        // NAME=VALUE, and comma lists of them (`-o user=u,password=PW`).
        for part in w.split(',') {
            if let Some((key, value)) = part.split_once('=') {
                if secret_name(key) {
                    out.push(value.to_string());
                }
            }
        }
        if let Some(v) = w.strip_prefix("pass:") {
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

fn push_value(v: &str, pair: bool, out: &mut Vec<String>) {
    if pair {
        if let Some((_, pw)) = v.split_once(':') {
            out.push(pw.to_string());
        }
    } else {
        out.push(v.to_string());
    }
}

/// What one raw simple command (every word kept) carries beyond its
/// command words: secret assignments before the name, here-strings fed to
/// a stdin-fed tool.
pub(super) fn raw_secrets(raw: &[String], cmd: &[String], out: &mut Vec<String>) {
    for w in raw {
        if let Some((key, value)) = w.split_once('=') {
            if secret_name(key) {
                out.push(value.to_string());
            }
        }
    }
    let Some(fed) = stdin_fed(cmd) else {
        return;
    };
    let mut it = raw.iter();
    while let Some(w) = it.next() {
        if let Some(rest) = w.strip_prefix("<<<") {
            let body = if rest.is_empty() {
                it.next().map_or("", String::as_str)
            } else {
                rest
            };
            fed_secrets(body, fed, out);
        }
    }
}

/// What `echo`/`printf` (the `prev` command) writes into a pipe to `cmd`.
pub(super) fn piped_secrets(prev: &[String], cmd: &[String], out: &mut Vec<String>) {
    let Some(fed) = stdin_fed(cmd) else {
        return;
    };
    let Some((tool, args)) = prev.split_first() else {
        return;
    };
    if tool == "echo" || tool == "printf" {
        for a in args.iter().filter(|a| !a.starts_with('-')) {
            fed_secrets(a, fed, out);
        }
    }
}

/// A here-document body fed to any stdin-fed tool of the line.
pub(super) fn heredoc_secrets(body: &str, cmds: &[Vec<String>], out: &mut Vec<String>) {
    if let Some(fed) = cmds.iter().find_map(|c| stdin_fed(c)) {
        // The last line is the delimiter, not data.
        let data = body.trim_end().rsplit_once('\n').map_or("", |(d, _)| d);
        fed_secrets(data, fed, out);
    }
}
