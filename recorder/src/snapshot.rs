//! Snapshots: turning what is on disk into `Entry` values, for the baseline
//! at `begin` and the final state at `finish`.
//!
//! Nothing here follows a symlink. Walks use walkdir without following links
//! (the root included), and file contents are read through `O_NOFOLLOW |
//! O_NONBLOCK` and re-checked with `fstat`: a file swapped for a symlink or a
//! fifo between `lstat` and `open` is reported, never followed or blocked on.

use crate::ignore_rules::Ignore;
use crate::model::{ContentHash, Entry, EntryKind, Notice, NoticeKind};
use crate::target::Target;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// An entry with the content that was read for it, if any.
pub use crate::model::EntryWithContent as Scanned;

/// Reads entries of one target system with one set of ignore rules.
pub struct Scanner<'a> {
    pub target: &'a Target,
    pub ignore: &'a Ignore,
    /// Files up to this size keep their content; larger ones only a hash.
    pub content_cap: u64,
}

impl Scanner<'_> {
    /// The entry at `path` (target path), `Ok(None)` if it does not exist or
    /// is ignored. Problems reading content become notices, not errors.
    pub fn stat(&self, path: &[u8], notices: &mut Vec<Notice>) -> Option<Scanned> {
        let host = self.target.host_path(path);
        let md = match std::fs::symlink_metadata(&host) {
            Ok(md) => md,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    notices.push(unreadable(path, &e));
                }
                return None;
            }
        };
        if self.ignore.is_ignored(path, md.is_dir()) {
            return None;
        }
        Some(self.scan_one(path, &host, &md, notices))
    }

    /// Every entry at and below `path` (target path), not following links and
    /// pruning ignored directories. `on_dir` is called for each directory
    /// before its contents are read (the watcher adds its watch there).
    pub fn walk(
        &self,
        path: &[u8],
        notices: &mut Vec<Notice>,
        mut on_dir: impl FnMut(&Path, &[u8]),
        mut sink: impl FnMut(Scanned),
    ) {
        let host_root = self.target.host_path(path);
        // By name: entries reach the store in (nearly) path order, which
        // fills the entries table's pages instead of splitting them, and
        // puts similar neighbours (site1.conf, site2.conf) in one
        // compressed pack frame.
        let mut it = walkdir::WalkDir::new(&host_root)
            .follow_links(false)
            .follow_root_links(false)
            .sort_by_file_name()
            .into_iter();
        loop {
            let de = match it.next() {
                None => break,
                Some(Ok(de)) => de,
                Some(Err(e)) => {
                    if let Some(p) = e.path() {
                        let tp = self.target.target_path(p).unwrap_or_default();
                        let io = e
                            .io_error()
                            .map(|io| io.to_string())
                            .unwrap_or_else(|| e.to_string());
                        if e.io_error()
                            .is_none_or(|io| io.kind() != std::io::ErrorKind::NotFound)
                        {
                            notices.push(Notice {
                                path: Some(tp),
                                kind: NoticeKind::Unreadable,
                                message: io,
                            });
                        }
                    }
                    continue;
                }
            };
            let Some(tp) = self.target.target_path(de.path()) else {
                continue;
            };
            let is_dir = de.file_type().is_dir();
            let ignored = if de.depth() == 0 {
                self.ignore.is_ignored(&tp, is_dir)
            } else {
                self.ignore.is_ignored_here(&tp, is_dir)
            };
            if ignored {
                if is_dir {
                    it.skip_current_dir();
                }
                continue;
            }
            let md = match de.metadata() {
                Ok(md) => md,
                Err(e) => {
                    if let Some(io) = e.io_error() {
                        if io.kind() != std::io::ErrorKind::NotFound {
                            notices.push(unreadable(&tp, io));
                        }
                    }
                    continue;
                }
            };
            if is_dir {
                on_dir(de.path(), &tp);
            }
            sink(self.scan_one(&tp, de.path(), &md, notices));
        }
    }

    fn scan_one(
        &self,
        path: &[u8],
        host: &Path,
        md: &Metadata,
        notices: &mut Vec<Notice>,
    ) -> Scanned {
        let ft = md.file_type();
        let kind = if ft.is_file() {
            EntryKind::File
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else if ft.is_socket() {
            EntryKind::Socket
        } else if ft.is_char_device() {
            EntryKind::CharDevice
        } else {
            EntryKind::BlockDevice
        };
        let mut entry = Entry {
            path: path.to_vec(),
            kind,
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            owner: self.target.user_name(md.uid()),
            group: self.target.group_name(md.gid()),
            size: md.size(),
            mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
            hash: None,
            content_stored: false,
            link_target: None,
        };
        let mut content = None;
        match kind {
            EntryKind::File => match read_file(host, md, self.content_cap) {
                Ok((hash, data)) => {
                    entry.hash = Some(hash);
                    entry.content_stored = data.is_some();
                    content = data;
                }
                Err(e) => notices.push(unreadable(path, &e)),
            },
            EntryKind::Symlink => match std::fs::read_link(host) {
                Ok(t) => {
                    use std::os::unix::ffi::OsStrExt;
                    entry.link_target = Some(t.as_os_str().as_bytes().to_vec());
                }
                Err(e) => notices.push(unreadable(path, &e)),
            },
            _ => {}
        }
        Scanned { entry, content }
    }
}

fn unreadable(path: &[u8], e: &std::io::Error) -> Notice {
    Notice {
        path: Some(path.to_vec()),
        kind: NoticeKind::Unreadable,
        message: e.to_string(),
    }
}

/// Read a regular file without following links or blocking on a fifo, and
/// check it is still the file `expect` describes. Returns its hash, and its
/// content when it is no larger than `cap`.
pub fn read_file(
    path: &Path,
    expect: &Metadata,
    cap: u64,
) -> std::io::Result<(ContentHash, Option<Vec<u8>>)> {
    let flags = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    // O_NOATIME keeps a snapshot from touching atimes; it is refused for
    // files we do not own unless we are root, so fall back without it.
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags | libc::O_NOATIME)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)?,
        Err(e) => return Err(e),
    };
    let md = f.metadata()?;
    if !md.file_type().is_file() || md.ino() != expect.ino() || md.dev() != expect.dev() {
        return Err(std::io::Error::other(
            "the file was replaced while it was being read",
        ));
    }
    if md.size() <= cap {
        let mut data = Vec::with_capacity(md.size() as usize);
        (&mut f).take(cap + 1).read_to_end(&mut data)?;
        if data.len() as u64 <= cap {
            return Ok((ContentHash::of(&data), Some(data)));
        }
        // It grew past the cap while we read: hash all of it instead.
        let mut h = blake3::Hasher::new();
        h.update(&data);
        return Ok((finish_hash(h, &mut f)?, None));
    }
    Ok((finish_hash(blake3::Hasher::new(), &mut f)?, None))
}

fn finish_hash(mut h: blake3::Hasher, f: &mut File) -> std::io::Result<ContentHash> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(ContentHash(*h.finalize().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn scanner_for(root: &Path) -> (Target, Ignore) {
        (
            Target::new(root.as_os_str().as_bytes()),
            Ignore::new(&[]).unwrap(),
        )
    }

    #[test]
    fn walk_records_every_kind_without_following_links() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("etc/sub")).unwrap();
        std::fs::write(r.join("etc/sub/f"), b"hello").unwrap();
        std::os::unix::fs::symlink("/etc/sub", r.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("etc/loop")).unwrap();
        nix::unistd::mkfifo(
            &r.join("etc/fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        std::fs::write(r.join("etc/x.swp"), b"noise").unwrap();
        std::fs::write(r.join("etc/big"), vec![7u8; 100]).unwrap();
        let (t, ig) = scanner_for(r);
        let s = Scanner {
            target: &t,
            ignore: &ig,
            content_cap: 10,
        };
        let mut got = Vec::new();
        let mut dirs = Vec::new();
        let mut notices = Vec::new();
        s.walk(
            b"/etc",
            &mut notices,
            |_, d| dirs.push(d.to_vec()),
            |sc| got.push(sc),
        );
        got.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
        let summary: Vec<(String, EntryKind, bool)> = got
            .iter()
            .map(|s| {
                (
                    String::from_utf8_lossy(&s.entry.path).into_owned(),
                    s.entry.kind,
                    s.content.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/etc".into(), EntryKind::Dir, false),
                ("/etc/big".into(), EntryKind::File, false),
                ("/etc/fifo".into(), EntryKind::Fifo, false),
                ("/etc/link".into(), EntryKind::Symlink, false),
                ("/etc/loop".into(), EntryKind::Symlink, false),
                ("/etc/sub".into(), EntryKind::Dir, false),
                ("/etc/sub/f".into(), EntryKind::File, true),
            ]
        );
        assert!(notices.is_empty(), "{notices:?}");
        let big = got.iter().find(|s| s.entry.path == b"/etc/big").unwrap();
        assert_eq!(big.entry.hash, Some(ContentHash::of(&[7u8; 100])));
        assert!(!big.entry.content_stored);
        let link = got.iter().find(|s| s.entry.path == b"/etc/link").unwrap();
        assert_eq!(link.entry.link_target.as_deref(), Some(&b"/etc/sub"[..]));
        dirs.sort();
        assert_eq!(dirs, vec![b"/etc".to_vec(), b"/etc/sub".to_vec()]);
    }

    #[test]
    fn a_watched_root_that_is_a_symlink_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("elsewhere")).unwrap();
        std::fs::write(r.join("elsewhere/secret"), b"x").unwrap();
        std::os::unix::fs::symlink(r.join("elsewhere"), r.join("srv")).unwrap();
        let (t, ig) = scanner_for(r);
        let s = Scanner {
            target: &t,
            ignore: &ig,
            content_cap: 10,
        };
        let mut got = Vec::new();
        s.walk(
            b"/srv",
            &mut Vec::new(),
            |_, _| {},
            |sc| got.push(sc.entry.path),
        );
        assert_eq!(got, vec![b"/srv".to_vec()]);
    }

    #[test]
    fn read_file_refuses_a_swapped_file() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        let md_a = std::fs::symlink_metadata(&a).unwrap();
        assert!(read_file(&b, &md_a, 100).is_err());
        // A symlink in its place is never followed.
        std::fs::remove_file(&b).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert!(read_file(&b, &md_a, 100).is_err());
    }
}
