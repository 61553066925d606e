//! The accounts probe: users and groups from the target's own `passwd`,
//! `group`, `shadow` and `gshadow`, so attribution can turn account changes
//! into user and group resources instead of copying the databases as files.
//!
//! Policy for bad input: a malformed line (wrong field count, a non-numeric
//! id, bytes that are not UTF-8) in any of the four files is an error naming
//! the file and line. Skipping it would make that account look removed or
//! its password changed, which the generator would then act on. Blank lines,
//! `#` comments and NIS compat entries (`+...`, `-...`) are skipped; a
//! repeated name keeps its first entry, like `getpwnam`. An unreadable
//! `shadow` or `gshadow` (not running as root) means no password data.

use super::fs::{at_line, read_file, utf8_line};
use crate::error::{Error, Result};
use crate::model::{Accounts, Group, User};
use crate::target::Target;
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const PASSWD: &[u8] = b"/etc/passwd";
pub const GROUP: &[u8] = b"/etc/group";
pub const SHADOW: &[u8] = b"/etc/shadow";
pub const GSHADOW: &[u8] = b"/etc/gshadow";

/// Users and groups of the target; missing files mean none.
pub fn probe(target: &Target) -> Result<Accounts> {
    let passwd = read_file(target, PASSWD)?;
    let group = read_file(target, GROUP)?;
    let shadow = read_secret(target, SHADOW)?;
    let gshadow = read_secret(target, GSHADOW)?;
    parse(
        borrow(&passwd),
        borrow(&group),
        borrow(&shadow),
        borrow(&gshadow),
    )
}

fn borrow(f: &Option<(PathBuf, Vec<u8>)>) -> Option<(&Path, &[u8])> {
    f.as_ref().map(|(p, d)| (p.as_path(), d.as_slice()))
}

/// The shadow files are root-only: without permission there is no password
/// data (the same at `begin` and `finish`, so no change is invented).
fn read_secret(target: &Target, path: &[u8]) -> Result<Option<(PathBuf, Vec<u8>)>> {
    match read_file(target, path) {
        Err(Error::Io { path, source })
            if source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            tracing::warn!("{}: {source}; passwords are not recorded", path.display());
            Ok(None)
        }
        r => r,
    }
}

/// Build the accounts from the contents of the four files (each with the
/// path its errors should name).
pub fn parse(
    passwd: Option<(&Path, &[u8])>,
    group: Option<(&Path, &[u8])>,
    shadow: Option<(&Path, &[u8])>,
    gshadow: Option<(&Path, &[u8])>,
) -> Result<Accounts> {
    let mut out = Accounts::default();
    let mut shadows = BTreeMap::new();
    if let Some((path, data)) = shadow {
        for (_, f) in records(path, data, 9)? {
            shadows.entry(f[0].to_string()).or_insert(f[1].to_string());
        }
    }
    let mut gshadows = BTreeMap::new();
    if let Some((path, data)) = gshadow {
        for (_, f) in records(path, data, 4)? {
            gshadows.entry(f[0].to_string()).or_insert(f[1].to_string());
        }
    }
    if let Some((path, data)) = passwd {
        for (n, f) in records(path, data, 7)? {
            if let Entry::Vacant(v) = out.users.entry(f[0].to_string()) {
                v.insert(User {
                    name: f[0].to_string(),
                    uid: id(path, n, "uid", f[2])?,
                    gid: id(path, n, "gid", f[3])?,
                    gecos: f[4].to_string(),
                    home: f[5].to_string(),
                    shell: f[6].to_string(),
                    password: shadows.get(f[0]).cloned(),
                    groups: Vec::new(),
                });
            }
        }
    }
    if let Some((path, data)) = group {
        for (n, f) in records(path, data, 4)? {
            if let Entry::Vacant(v) = out.groups.entry(f[0].to_string()) {
                let mut members: Vec<String> = f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
                members.sort();
                members.dedup();
                v.insert(Group {
                    name: f[0].to_string(),
                    gid: id(path, n, "gid", f[2])?,
                    members,
                    password: gshadows.get(f[0]).cloned(),
                });
            }
        }
    }
    for g in out.groups.values() {
        for m in &g.members {
            if let Some(u) = out.users.get_mut(m) {
                u.groups.push(g.name.clone());
            }
        }
    }
    for u in out.users.values_mut() {
        u.groups.sort();
        u.groups.dedup();
    }
    Ok(out)
}

/// The `:`-separated records of an account file with their line numbers;
/// every record has exactly `fields` fields and a non-empty name.
fn records<'a>(path: &Path, data: &'a [u8], fields: usize) -> Result<Vec<(usize, Vec<&'a str>)>> {
    let mut out = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let line = utf8_line(path, n, line)?;
        if line.trim().is_empty() || line.starts_with(['+', '-']) {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != fields {
            return Err(at_line(
                path,
                n,
                format!("expected {fields} ':'-separated fields, found {}", f.len()),
            ));
        }
        if f[0].is_empty() {
            return Err(at_line(path, n, "empty name"));
        }
        out.push((n, f));
    }
    Ok(out)
}

fn id(path: &Path, line: usize, what: &str, s: &str) -> Result<u32> {
    s.parse()
        .map_err(|_| at_line(path, line, format!("{what} '{s}' is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::fixture;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn the_bookworm_accounts() {
        let a = probe(&fixture("bookworm")).unwrap();
        assert_eq!(a.users.len(), 20);
        assert_eq!(a.groups.len(), 41);
        let root = &a.users["root"];
        assert_eq!(
            (root.uid, root.gid, root.home.as_str(), root.shell.as_str()),
            (0, 0, "/root", "/bin/bash")
        );
        assert_eq!(root.password.as_deref(), Some("*"));
        let puppet = &a.users["puppet"];
        assert_eq!(puppet.gecos, "Puppet configuration management daemon,,,");
        assert_eq!(puppet.password.as_deref(), Some("!"));
        assert_eq!(a.users["systemd-network"].password.as_deref(), Some("!*"));
        assert_eq!(a.users["nobody"].uid, 65534);
        assert!(a.users.values().all(|u| u.groups.is_empty()));
        assert_eq!(a.groups["shadow"].gid, 42);
        assert_eq!(a.groups["root"].password.as_deref(), Some("*"));
        assert!(a.groups.values().all(|g| g.members.is_empty()));
    }

    #[test]
    fn the_synthetic_accounts() {
        let a = probe(&fixture("synthetic")).unwrap();
        let names: Vec<&str> = a.users.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["alice", "bob", "carol", "daemon", "nobody", "root", "www-data"]
        );
        let alice = &a.users["alice"];
        assert_eq!(alice.uid, 1000, "the first entry wins");
        assert!(
            alice.password.as_deref().unwrap().starts_with("$y$j9T$"),
            "the first shadow entry wins"
        );
        assert_eq!(alice.groups, ["devs", "sudo", "www-data"]);
        assert!(a.users["bob"]
            .password
            .as_deref()
            .unwrap()
            .starts_with("$6$fixturesalt$"));
        assert_eq!(a.users["bob"].groups, ["devs", "sudo"]);
        let carol = &a.users["carol"];
        assert_eq!(carol.password, None, "no shadow entry");
        assert!(
            carol.groups.is_empty(),
            "the duplicate sudo line is ignored"
        );
        assert_eq!(a.groups["sudo"].gid, 27);
        assert_eq!(a.groups["sudo"].members, ["alice", "bob"]);
        let devs = &a.groups["devs"];
        assert_eq!(
            devs.members,
            ["alice", "bob", "ghost"],
            "sorted, trimmed, deduplicated"
        );
        assert_eq!(devs.password.as_deref(), Some("!admin-locked"));
        assert_eq!(a.groups["users"].password.as_deref(), Some("*"));
    }

    #[test]
    fn malformed_lines_are_errors_naming_file_and_line() {
        type Case<'a> = (&'a str, [Option<&'a [u8]>; 4], &'a str);
        let ok_passwd: &[u8] = b"root:x:0:0:root:/root:/bin/bash\n";
        let cases: &[Case] = &[
            (
                "truncated passwd",
                [
                    Some(b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000\n"),
                    None,
                    None,
                    None,
                ],
                "/r/etc/passwd: line 2: expected 7 ':'-separated fields, found 3",
            ),
            (
                "extra passwd field",
                [Some(b"a:x:1:1::/:/bin/sh:extra\n"), None, None, None],
                "/r/etc/passwd: line 1: expected 7",
            ),
            (
                "non-numeric uid",
                [
                    Some(b"# c\nalice:x:10o0:1000::/home/alice:/bin/sh\n"),
                    None,
                    None,
                    None,
                ],
                "/r/etc/passwd: line 2: uid '10o0' is not a number",
            ),
            (
                "negative gid",
                [
                    Some(b"alice:x:1000:-1::/home/alice:/bin/sh\n"),
                    None,
                    None,
                    None,
                ],
                "gid '-1' is not a number",
            ),
            (
                "empty name",
                [Some(b":x:1:1::/:/bin/sh\n"), None, None, None],
                "/r/etc/passwd: line 1: empty name",
            ),
            (
                "non-UTF-8 gecos",
                [
                    Some(b"alice:x:1000:1000:Al\xe9:/home/alice:/bin/sh\n"),
                    None,
                    None,
                    None,
                ],
                "/r/etc/passwd: line 1: not valid UTF-8: alice:x:1000:1000:Al\\xe9",
            ),
            (
                "truncated group",
                [Some(ok_passwd), Some(b"root:x:0:\nsudo:x\n"), None, None],
                "/r/etc/group: line 2: expected 4",
            ),
            (
                "non-numeric gid in group",
                [Some(ok_passwd), Some(b"sudo:x:x:\n"), None, None],
                "/r/etc/group: line 1: gid 'x' is not a number",
            ),
            (
                "truncated shadow",
                [
                    Some(ok_passwd),
                    None,
                    Some(b"root:*:20783:0:99999:7::\n"),
                    None,
                ],
                "/r/etc/shadow: line 1: expected 9 ':'-separated fields, found 8",
            ),
            (
                "gshadow with an extra field",
                [Some(ok_passwd), None, None, Some(b"sudo:*:::\n")],
                "/r/etc/gshadow: line 1: expected 4",
            ),
            (
                "non-UTF-8 shadow",
                [
                    Some(ok_passwd),
                    None,
                    Some(b"root:\xff:1:0:99999:7:::\n"),
                    None,
                ],
                "/r/etc/shadow: line 1: not valid UTF-8",
            ),
        ];
        let paths = [
            "/r/etc/passwd",
            "/r/etc/group",
            "/r/etc/shadow",
            "/r/etc/gshadow",
        ]
        .map(Path::new);
        for (name, data, want) in cases {
            let f = |i: usize| data[i].map(|d| (paths[i], d));
            let err = parse(f(0), f(1), f(2), f(3)).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn junk_that_is_not_an_entry_is_skipped() {
        let passwd: &[u8] =
            b"\n# comment\n   \n+::::::\n-bad::::::\n+@ng\nroot:x:0:0:root:/root:/bin/bash\n";
        let a = parse(Some((Path::new("/p"), passwd)), None, None, None).unwrap();
        assert_eq!(a.users.keys().collect::<Vec<_>>(), ["root"]);
        assert_eq!(a.users["root"].password, None);
    }

    #[test]
    fn missing_files_mean_no_accounts_and_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let t = Target::new(tmp.path().as_os_str().as_bytes());
        assert_eq!(probe(&t).unwrap(), Accounts::default());
        std::fs::create_dir(tmp.path().join("etc")).unwrap();
        // A link could lead out of the root (to the host's own files).
        std::os::unix::fs::symlink("/etc/passwd", tmp.path().join("etc/passwd")).unwrap();
        let err = probe(&t).unwrap_err().to_string();
        assert!(
            err.contains("etc/passwd") && err.contains("symbolic link"),
            "{err}"
        );
    }
}
