//! Reading the observed system under its root: directories resolved the
//! way the target would see them (symlinks followed inside the root, `..`
//! stopping at it, so nothing reaches the host's own files), files opened
//! with `O_NOFOLLOW | O_NONBLOCK` and required to be regular files. Errors
//! name the host path, and the line for parse errors.

use crate::beneath::{self, Stat};
use crate::error::{Error, Result};
use crate::model::display_path;
use crate::target::Target;
use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Symlinks followed while resolving one path, as in the kernel.
const MAX_LINKS: usize = 40;

pub(super) fn bad_input(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
    Error::BadInput {
        path: path.into(),
        message: message.into(),
    }
}

/// Resolve every component of a target path the way the target would (a
/// chroot's view): symlinks are followed inside the root, `..` stops at it.
/// `None` if some component does not exist or is not a directory.
pub(super) fn resolve(target: &Target, path: &[u8]) -> Result<Option<Vec<u8>>> {
    let root = target
        .root()
        .map_err(|e| Error::io(target.host_path(b"/"), e))?;
    let mut todo: Vec<Vec<u8>> = components(path).rev().map(<[u8]>::to_vec).collect();
    let mut done: Vec<Vec<u8>> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop() {
        if c == b".." {
            done.pop();
            continue;
        }
        done.push(c);
        let tp = join_components(&done);
        let hp = target.host_path(&tp);
        // Each look is beneath the root with no link followed: the links
        // are followed here, by hand, inside the root.
        let md = match root.lstat(&tp) {
            Ok(md) => md,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(Error::io(hp, e)),
        };
        if md.is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(bad_input(hp, "too many levels of symbolic links"));
            }
            let dest = root.read_link(&tp).map_err(|e| Error::io(&hp, e))?;
            let dest = &dest[..];
            done.pop();
            if dest.starts_with(b"/") {
                done.clear();
            }
            todo.extend(components(dest).rev().map(<[u8]>::to_vec));
        } else if !md.is_dir() && !todo.is_empty() {
            return Ok(None);
        }
    }
    Ok(Some(join_components(&done)))
}

fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

fn join_components(cs: &[Vec<u8>]) -> Vec<u8> {
    if cs.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::new();
    for c in cs {
        out.push(b'/');
        out.extend_from_slice(c);
    }
    out
}

fn is_missing(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
}

/// A component swapped for a link after `resolve` looked at it.
fn is_raced(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// Contents of a regular file of the target, `None` if it does not exist.
/// Its directories are resolved inside the root; the file itself is never
/// followed (a symlink, fifo or device there is an error naming it).
pub(super) fn read_file(target: &Target, path: &[u8]) -> Result<Option<(PathBuf, Vec<u8>)>> {
    let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    let Some(dir) = resolve(target, dir)? else {
        return Ok(None);
    };
    let tp = crate::model::join(&dir, name);
    let hp = target.host_path(&tp);
    Ok(read_beneath(target, &tp)?.map(|data| (hp, data)))
}

/// A regular file of the target, read the safe way, or `None` (missing,
/// a symlink, a fifo, unreadable): for best-effort reads outside the
/// probes (facts, attribution hints).
pub(crate) fn read_target(target: &Target, path: &[u8]) -> Option<Vec<u8>> {
    read_file(target, path).ok().flatten().map(|(_, data)| data)
}

/// The target of a symbolic link of the target (its directories resolved
/// inside the root), `None` if it is missing or not a link.
pub(super) fn read_link(target: &Target, path: &[u8]) -> Result<Option<Vec<u8>>> {
    let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&b""[..], path),
    };
    let Some(dir) = resolve(target, dir)? else {
        return Ok(None);
    };
    let tp = crate::model::join(&dir, name);
    let hp = target.host_path(&tp);
    match target.root().and_then(|r| r.read_link(&tp)) {
        Ok(t) => Ok(Some(t)),
        Err(e) if is_missing(&e) || e.raw_os_error() == Some(libc::EINVAL) => Ok(None),
        Err(e) => Err(Error::io(hp, e)),
    }
}

/// Read the resolved target path `tp` beneath the root, following no link
/// in any component; `None` if it is missing.
pub(super) fn read_beneath(target: &Target, tp: &[u8]) -> Result<Option<Vec<u8>>> {
    let hp = target.host_path(tp);
    match target.root().and_then(|r| r.read_regular(tp)) {
        Ok(data) => Ok(Some(data)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) if is_raced(&e) => Err(bad_input(
            hp,
            "is a symbolic link; cft reads this file only as a regular file",
        )),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            Err(bad_input(hp, "is not a regular file"))
        }
        Err(e) => Err(Error::io(hp, e)),
    }
}

/// One entry of a directory of the target, not followed.
pub(crate) struct DirEntry {
    pub name: Vec<u8>,
    pub file_type: Stat,
}

/// The entries of a target directory sorted by name, with the directory's
/// resolved target path; `None` if it does not exist.
pub(crate) fn read_dir(target: &Target, dir: &[u8]) -> Result<Option<(Vec<u8>, Vec<DirEntry>)>> {
    let Some(resolved) = resolve(target, dir)? else {
        return Ok(None);
    };
    let hp = target.host_path(&resolved);
    let fd = match target.root().and_then(|r| r.open_dir(&resolved)) {
        Ok(fd) => fd,
        Err(e) if is_missing(&e) || is_raced(&e) => return Ok(None),
        Err(e) => return Err(Error::io(hp, e)),
    };
    let names = beneath::open_at(fd.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY)
        .and_then(beneath::read_dir)
        .map_err(|e| Error::io(&hp, e))?;
    let mut out = Vec::new();
    for name in names {
        let file_type = match beneath::stat_at(fd.as_fd(), &name) {
            Ok(t) => t,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err(Error::io(hp.join(os(&name)), e)),
        };
        out.push(DirEntry { name, file_type });
    }
    Ok(Some((resolved, out)))
}

/// `file:line` in an error message.
pub(super) fn at_line(path: &Path, line: usize, message: impl std::fmt::Display) -> Error {
    bad_input(path, format!("line {line}: {message}"))
}

/// A line as UTF-8, or an error naming the file and line.
pub(super) fn utf8_line<'a>(path: &Path, line: usize, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| {
        at_line(
            path,
            line,
            format!("not valid UTF-8: {}", display_path(bytes)),
        )
    })
}

pub(super) fn os(b: &[u8]) -> &OsStr {
    OsStr::from_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(setup: impl FnOnce(&Path)) -> (tempfile::TempDir, Target) {
        let tmp = tempfile::tempdir().unwrap();
        setup(tmp.path());
        let t = Target::new(tmp.path().as_os_str().as_bytes());
        (tmp, t)
    }

    #[test]
    fn resolve_stays_inside_the_root() {
        use std::os::unix::fs::symlink;
        let (_tmp, t) = root_with(|r| {
            std::fs::create_dir_all(r.join("usr/lib/x")).unwrap();
            std::fs::create_dir_all(r.join("etc")).unwrap();
            symlink("usr/lib", r.join("lib")).unwrap();
            symlink("/etc", r.join("abs")).unwrap();
            symlink("../../../../../..", r.join("up")).unwrap();
            symlink("loop2", r.join("loop1")).unwrap();
            symlink("loop1", r.join("loop2")).unwrap();
            std::fs::write(r.join("etc/file"), b"x").unwrap();
        });
        type Case<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);
        let cases: &[Case] = &[
            ("plain", b"/etc", Some(b"/etc")),
            ("relative link", b"/lib/x", Some(b"/usr/lib/x")),
            (
                "absolute link is the root's",
                b"/abs/file",
                Some(b"/etc/file"),
            ),
            ("dot-dot stops at the root", b"/up/etc", Some(b"/etc")),
            ("missing", b"/nope/x", None),
            ("through a file", b"/etc/file/x", None),
            ("the root", b"/", Some(b"/")),
        ];
        for (name, path, want) in cases {
            let got = resolve(&t, path).unwrap();
            assert_eq!(got.as_deref(), *want, "{name}");
        }
        let err = resolve(&t, b"/loop1/x").unwrap_err().to_string();
        assert!(err.contains("too many levels of symbolic links"), "{err}");
    }

    #[test]
    fn read_file_refuses_links_and_special_files() {
        let (_tmp, t) = root_with(|r| {
            std::fs::create_dir_all(r.join("etc")).unwrap();
            std::fs::write(r.join("etc/real"), b"data").unwrap();
            std::os::unix::fs::symlink("/etc/real", r.join("etc/link")).unwrap();
            nix::unistd::mkfifo(&r.join("etc/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        });
        assert_eq!(read_file(&t, b"/etc/real").unwrap().unwrap().1, b"data");
        assert!(read_file(&t, b"/etc/missing").unwrap().is_none());
        let link = read_file(&t, b"/etc/link").unwrap_err().to_string();
        assert!(
            link.contains("etc/link") && link.contains("symbolic link"),
            "{link}"
        );
        let fifo = read_file(&t, b"/etc/fifo").unwrap_err().to_string();
        assert!(
            fifo.contains("etc/fifo") && fifo.contains("not a regular file"),
            "{fifo}"
        );
    }
}
