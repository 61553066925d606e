//! Ignore rules: built-in noise patterns, the user's rules file and
//! `--ignore` patterns, in gitignore syntax, matched against target-system
//! absolute paths.
//!
//! Later rules win, so a user's `!pattern` can bring back a built-in.

use crate::error::{Error, Result};
use crate::model::os_path;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// Noise that no configuration change is made of: editor swap and backup
/// files, the shadow tools' lock and backup files, caches the system
/// regenerates, and shell histories (which can hold secrets).
pub const BUILTIN: &[&str] = &[
    // editors
    "*.swp",
    "*.swo",
    "*.swx",
    "*~",
    "4913",
    ".#*",
    "\\#*#",
    // package manager temporaries
    "*.dpkg-new",
    "*.dpkg-tmp",
    "*.rpmnew.tmp",
    // shadow-utils: passwd.<pid>, locks, backups
    "/etc/passwd.[0-9]*",
    "/etc/shadow.[0-9]*",
    "/etc/group.[0-9]*",
    "/etc/gshadow.[0-9]*",
    "/etc/subuid.[0-9]*",
    "/etc/subgid.[0-9]*",
    "*.lock",
    "/etc/.pwd.lock",
    "/etc/passwd-",
    "/etc/shadow-",
    "/etc/group-",
    "/etc/gshadow-",
    "/etc/subuid-",
    "/etc/subgid-",
    // regenerated or runtime state
    "/etc/mtab",
    "/etc/ld.so.cache",
    "/etc/adjtime",
    "/etc/aliases.db",
    "/etc/printcap",
    "/etc/.updated",
    "/etc/apparmor.d/cache/",
    "__pycache__/",
    "*.pyc",
    // cft's own configuration
    "/etc/cft/",
    // shell and tool histories of the admin
    "/root/.bash_history",
    "/root/.zsh_history",
    "/root/.lesshst",
    "/root/.viminfo",
    "/root/.python_history",
    "/root/.wget-hsts",
];

/// Toolchains, package caches and downloads in home directories (`/root`
/// and `/home/*`): hundreds of thousands of files an admin never edits
/// (issue 13 measured 197,824 entries and a 2 GB database from one
/// `/root`), which no module should carry. A user's `!/root/.cargo/git/`
/// (any one of these under its home) brings one back.
pub const HOME_CACHES: &[&str] = &[
    ".cache/",
    ".rustup/",
    ".cargo/registry/",
    ".cargo/git/",
    ".npm/",
    ".m2/repository/",
    ".gradle/caches/",
    "go/pkg/mod/",
    ".vscode-server/",
    ".local/share/Trash/",
    "**/node_modules/",
];

/// Every built-in pattern: `BUILTIN`, then `HOME_CACHES` under `/root` and
/// under each `/home/*`.
pub fn builtin() -> Vec<String> {
    let mut all: Vec<String> = BUILTIN.iter().map(|p| p.to_string()).collect();
    for home in ["/root/", "/home/*/"] {
        all.extend(HOME_CACHES.iter().map(|p| format!("{home}{p}")));
    }
    all
}

/// Where the user's rules live (gitignore syntax, one pattern a line).
pub const RULES_FILE: &str = "/etc/cft/ignore";

#[derive(Debug)]
pub struct Ignore {
    gi: Gitignore,
    /// Whether each directory asked about so far is ignored, itself or by
    /// a parent: a storm of 100k paths in 100 directories matches each
    /// directory once, not once per path beneath it.
    dirs: std::sync::Mutex<std::collections::HashMap<Vec<u8>, bool>>,
}

impl Clone for Ignore {
    fn clone(&self) -> Ignore {
        Ignore {
            gi: self.gi.clone(),
            dirs: Default::default(),
        }
    }
}

/// The most directories an `Ignore` remembers before it starts again.
const DIRS_KEPT: usize = 1 << 16;

impl Ignore {
    /// Built-ins followed by `user` patterns (rules file lines, then flags).
    pub fn new(user: &[String]) -> Result<Ignore> {
        Ignore::build(&builtin(), user)
    }

    /// Only these patterns (`cft manifest --exclude`).
    pub fn only(patterns: &[String]) -> Result<Ignore> {
        Ignore::build(&[], patterns)
    }

    fn build(builtin: &[String], user: &[String]) -> Result<Ignore> {
        let mut b = GitignoreBuilder::new("/");
        for p in builtin {
            b.add_line(None, p).map_err(|e| Error::BadIgnore {
                pattern: p.clone(),
                message: e.to_string(),
            })?;
        }
        for p in user {
            b.add_line(None, p).map_err(|e| Error::BadIgnore {
                pattern: p.clone(),
                message: e.to_string(),
            })?;
        }
        let gi = b.build().map_err(|e| Error::BadIgnore {
            pattern: user.join(" "),
            message: e.to_string(),
        })?;
        Ok(Ignore {
            gi,
            dirs: Default::default(),
        })
    }

    /// Is this target path (or one of its parents) ignored?
    pub fn is_ignored(&self, path: &[u8], is_dir: bool) -> bool {
        if !path.starts_with(b"/") || path == b"/" {
            return false;
        }
        // As `matched_path_or_any_parents`: the nearest match from the path
        // up decides, the path itself first, each parent as a directory.
        match self.gi.matched(os_path(path), is_dir) {
            Match::None => {}
            m => return m.is_ignore(),
        }
        let parent = match path.iter().rposition(|&b| b == b'/') {
            Some(0) => &b"/"[..],
            Some(i) => &path[..i],
            None => return false,
        };
        let mut dirs = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&known) = dirs.get(parent) {
            return known;
        }
        let ignored = self
            .gi
            .matched_path_or_any_parents(os_path(parent), true)
            .is_ignore();
        if dirs.len() >= DIRS_KEPT {
            dirs.clear();
        }
        dirs.insert(parent.to_vec(), ignored);
        ignored
    }

    /// Is this exact entry ignored (parents are assumed checked already)?
    /// Cheaper than `is_ignored` for walks that prune ignored directories.
    pub fn is_ignored_here(&self, path: &[u8], is_dir: bool) -> bool {
        if !path.starts_with(b"/") || path == b"/" {
            return false;
        }
        matches!(self.gi.matched(os_path(path), is_dir), Match::Ignore(_))
    }
}

/// Read the user's rules file: one pattern a line, `#` comments and blank
/// lines skipped. A missing file is no rules.
pub fn read_rules_file(path: &std::path::Path) -> Result<Vec<String>> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let text = String::from_utf8(data).map_err(|_| Error::BadInput {
        path: path.to_path_buf(),
        message: "ignore rules must be UTF-8 text".into(),
    })?;
    Ok(text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_user_rules() {
        let ig =
            Ignore::new(&["/srv/cache/".into(), "!/etc/keep~".into(), "*.tmp".into()]).unwrap();
        let cases: &[(&str, &[u8], bool, bool)] = &[
            ("vim swap", b"/etc/.nginx.conf.swp", false, true),
            ("vim probe file", b"/etc/nginx/4913", false, true),
            ("backup", b"/etc/hosts~", false, true),
            ("passwd.<pid>", b"/etc/passwd.12345", false, true),
            ("passwd lock", b"/etc/passwd.lock", false, true),
            ("passwd backup", b"/etc/passwd-", false, true),
            ("passwd itself", b"/etc/passwd", false, false),
            ("mtab", b"/etc/mtab", false, true),
            ("ld.so.cache", b"/etc/ld.so.cache", false, true),
            ("ordinary config", b"/etc/nginx/nginx.conf", false, false),
            ("user dir rule", b"/srv/cache", true, true),
            ("inside user dir", b"/srv/cache/a/b", false, true),
            ("negation wins", b"/etc/keep~", false, false),
            ("user glob", b"/opt/x.tmp", false, true),
            ("history", b"/root/.bash_history", false, true),
            ("root's cache", b"/root/.cache/pip/x", false, true),
            ("root's toolchain", b"/root/.rustup", true, true),
            (
                "root's crates",
                b"/root/.cargo/registry/src/a.rs",
                false,
                true,
            ),
            (
                "root's cargo config",
                b"/root/.cargo/config.toml",
                false,
                false,
            ),
            (
                "root's installed tools",
                b"/root/.cargo/bin/ripgrep",
                false,
                false,
            ),
            ("a home's npm", b"/home/ann/.npm/_cacache", true, true),
            (
                "a home's node_modules",
                b"/home/ann/app/web/node_modules",
                true,
                true,
            ),
            (
                "node_modules elsewhere",
                b"/srv/app/node_modules",
                true,
                false,
            ),
            ("a home's dotfile", b"/home/ann/.bashrc", false, false),
            (
                "a home's go modules",
                b"/home/ann/go/pkg/mod/x",
                false,
                true,
            ),
            (
                "a home's go sources",
                b"/home/ann/go/src/x.go",
                false,
                false,
            ),
            ("non-utf8 name", b"/etc/\xff.swp", false, true),
            ("non-utf8 kept", b"/etc/\xff", false, false),
            ("root", b"/", true, false),
        ];
        // Twice: the second time the directories' answers are remembered,
        // and each answer is still the one the whole walk up gives.
        for _ in 0..2 {
            for (name, path, is_dir, want) in cases {
                assert_eq!(ig.is_ignored(path, *is_dir), *want, "{name}");
                let walked = *path != b"/"
                    && ig
                        .gi
                        .matched_path_or_any_parents(os_path(path), *is_dir)
                        .is_ignore();
                assert_eq!(walked, *want, "{name}, walked up");
            }
        }
    }

    #[test]
    fn rules_file_skips_comments_and_blank_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("ignore");
        std::fs::write(&f, "# comment\n\n/srv/x\n  \n*.bak\n").unwrap();
        assert_eq!(read_rules_file(&f).unwrap(), vec!["/srv/x", "*.bak"]);
        assert!(read_rules_file(&tmp.path().join("missing"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = Ignore::new(&["/etc/{a,b".into()]).unwrap_err().to_string();
        assert!(err.contains("/etc/{a,b"), "{err}");
    }
}
