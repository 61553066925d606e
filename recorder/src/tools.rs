//! The programs cft runs, found one way: a walk of `PATH` that hands back
//! an explicit path (never a shell, never `execvp`'s own search), and the
//! one quoter for showing a command to a POSIX shell or a person.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The search path when `PATH` is unset (glibc's `execvp` default, with
/// the `sbin` directories an admin's tools live in).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The first executable `name` in the directories of `path`, in order,
/// that `accept` takes. An empty entry means the current directory, as
/// for `execvp`; callers that must not run what a relative directory
/// holds refuse it in `accept`.
pub fn find_on_path(name: &OsStr, path: &OsStr, accept: &dyn Fn(&Path) -> bool) -> Option<PathBuf> {
    path.as_bytes()
        .split(|&b| b == b':')
        .map(|dir| {
            if dir.is_empty() {
                Path::new(".")
            } else {
                Path::new(OsStr::from_bytes(dir))
            }
        })
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate) && accept(candidate))
}

/// A program cft runs itself (a validator, `rpm`, `systemctl`): on this
/// process's `PATH`, in absolute directories only.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    find_on_path(name.as_ref(), &path, &|p| p.is_absolute())
}

/// A regular file someone may execute.
pub fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Quote a word for a POSIX shell (bash and zsh alike), only when it needs
/// it: safe to `eval`, and readable.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_walk_in_order_with_empty_entries_and_a_filter() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        for d in [&a, &b] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("tool"), "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(d.join("tool"), std::fs::Permissions::from_mode(0o755))
                .unwrap();
        }
        std::fs::write(a.join("plain"), "not executable").unwrap();
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(
            find_on_path("tool".as_ref(), &path, &|_| true),
            Some(a.join("tool"))
        );
        assert_eq!(
            find_on_path("tool".as_ref(), &path, &|p| !p.starts_with(&a)),
            Some(b.join("tool")),
            "a refused directory is passed over"
        );
        assert_eq!(find_on_path("plain".as_ref(), &path, &|_| true), None);
        assert_eq!(
            find_on_path("tool".as_ref(), ":".as_ref(), &|_| true),
            None,
            "an empty entry is the current directory"
        );
    }

    #[test]
    fn quoting_cases() {
        let cases = [
            ("plain", "apt-get", "apt-get"),
            ("empty", "", "''"),
            ("space", "a b", "'a b'"),
            ("quote", "it's", r"'it'\''s'"),
            ("dollar", "$HOME", "'$HOME'"),
            ("newline", "a\nb", "'a\nb'"),
        ];
        for (name, word, want) in cases {
            assert_eq!(sh_quote(word), want, "{name}");
        }
    }
}
