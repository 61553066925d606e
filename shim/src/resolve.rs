//! Finding the real tool on `PATH` without finding ourselves.
//!
//! The shim directory sits early in `PATH`, so a plain lookup would find
//! the shim again and recurse. Like ripgrep's `grep_cli::resolve_binary`,
//! we walk `PATH` ourselves and hand `exec` an explicit path: we skip the
//! directory the shim was invoked from (when `argv[0]` names it) and every
//! candidate that *is* the cft-shim binary (same device and inode after
//! following links), so the shim directory listed twice, or under another
//! name, still cannot recurse. No shell is involved.

use recorder::tools::{find_on_path, is_executable, DEFAULT_PATH};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Identity of a file: (device, inode) after following links.
pub type FileId = (u64, u64);

pub fn file_id(path: &Path) -> Option<FileId> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The running cft-shim binary.
pub fn self_id() -> Option<FileId> {
    file_id(Path::new("/proc/self/exe"))
        .or_else(|| std::env::current_exe().ok().and_then(|p| file_id(&p)))
}

/// Where the real `tool` is. `argv0` is how we were invoked (a path when
/// the caller used one), `path` the caller's `PATH`, `me` the shim binary.
pub fn find_real(
    tool: &OsStr,
    argv0: &OsStr,
    path: Option<&OsStr>,
    me: Option<FileId>,
) -> Option<PathBuf> {
    let is_me = |p: &Path| me.is_some() && file_id(p) == me;
    if tool.as_bytes().contains(&b'/') {
        let p = PathBuf::from(tool);
        return (is_executable(&p) && !is_me(&p)).then_some(p);
    }
    let own_dir = if argv0.as_bytes().contains(&b'/') {
        Path::new(argv0)
            .parent()
            .and_then(|d| std::fs::canonicalize(non_empty_dir(d.as_os_str())).ok())
    } else {
        None
    };
    let default = OsString::from(DEFAULT_PATH);
    let path = path.unwrap_or(&default);
    let accept = |candidate: &Path| {
        if is_me(candidate) {
            return false;
        }
        let dir = candidate.parent().map(Path::as_os_str).unwrap_or_default();
        match &own_dir {
            Some(own) => std::fs::canonicalize(non_empty_dir(dir)).ok().as_ref() != Some(own),
            None => true,
        }
    };
    find_on_path(tool, path, &accept)
}

/// An empty `PATH` entry means the current directory, as for `execvp`.
fn non_empty_dir(dir: &OsStr) -> &Path {
    if dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::os::unix::fs::PermissionsExt;

    fn exe(path: &Path) {
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn skips_the_shim_and_its_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        for d in ["shims", "bin", "other", "noexec"] {
            std::fs::create_dir(t.join(d)).unwrap();
        }
        let shim = t.join("cft-shim");
        exe(&shim);
        symlink(&shim, t.join("shims/tool")).unwrap();
        symlink("../cft-shim", t.join("other/tool")).unwrap();
        exe(&t.join("bin/tool"));
        std::fs::write(t.join("noexec/tool"), "").unwrap();
        let me = file_id(&shim);
        let p = |dirs: &[&str]| {
            let v: Vec<String> = dirs
                .iter()
                .map(|d| {
                    if d.is_empty() {
                        String::new()
                    } else {
                        t.join(d).display().to_string()
                    }
                })
                .collect();
            OsString::from(v.join(":"))
        };
        let bin = Some(t.join("bin/tool"));
        let cases: &[(&str, OsString, &str, Option<PathBuf>)] = &[
            ("shim dir first", p(&["shims", "bin"]), "tool", bin.clone()),
            (
                "shim dir twice",
                p(&["shims", "shims", "bin"]),
                "tool",
                bin.clone(),
            ),
            (
                "relative link elsewhere",
                p(&["other", "bin"]),
                "tool",
                bin.clone(),
            ),
            ("not executable", p(&["noexec", "bin"]), "tool", bin.clone()),
            ("only shims", p(&["shims", "other"]), "tool", None),
            ("missing", p(&["bin"]), "nope", None),
        ];
        for (name, path, tool, want) in cases {
            let got = find_real(OsStr::new(tool), OsStr::new(tool), Some(path), me);
            assert_eq!(&got, want, "{name}");
        }
        // Invoked by path: that directory is skipped even for a non-link.
        exe(&t.join("other/two"));
        exe(&t.join("bin/two"));
        let argv0 = t.join("other/two");
        let got = find_real(
            OsStr::new("two"),
            argv0.as_os_str(),
            Some(&p(&["other", "bin"])),
            me,
        );
        assert_eq!(got, Some(t.join("bin/two")));
        // An explicit path is used as given, unless it is the shim.
        let got = find_real(t.join("bin/tool").as_os_str(), OsStr::new("x"), None, me);
        assert_eq!(got, bin);
        let got = find_real(t.join("shims/tool").as_os_str(), OsStr::new("x"), None, me);
        assert_eq!(got, None);
    }
}
