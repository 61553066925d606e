//! The stat-only sweep at `finish`: every baseline entry that no event
//! named is looked at once more with `fstatat` alone (kind, mode, owner,
//! size, mtime, and the inode and ctime the baseline kept), and only what
//! differs is re-read.
//!
//! inotify reports a write on the name it went through: a write through a
//! hard link that lives outside the watched tree, or through an mmap made
//! before `begin`, names no watched path, and the watcher is silent. The
//! state is the truth, and a stat is cheap (about as much as `find
//! -printf` of the same tree; `bench/sweep.sh`), so finish asks it.
//!
//! Paths are reached the way everything of the target is (`crate::beneath`):
//! each directory opened from its parent's fd, `O_NOFOLLOW`, starting at
//! the root; a directory that became a link is "not there", never followed.
//! The baseline is streamed in path order and only the chain of open
//! ancestors is held, so memory does not grow with the tree.

use crate::beneath::{self, Stat};
use crate::error::Result;
use crate::model::{is_within, EntryKind};
use crate::store::{Store, SweepRow};
use crate::target::Target;
use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// What a sweep found.
#[derive(Debug, Default)]
pub struct Swept {
    /// Baseline paths whose stat differs, or that are gone: to re-read.
    pub differ: Vec<Vec<u8>>,
    /// How many baseline entries were looked at.
    pub entries: usize,
    pub elapsed: Duration,
}

/// Stat every baseline entry of `session` under `roots`, except those
/// below `skip` (subtrees finish re-reads whole anyway).
pub fn sweep(
    store: &Store,
    session: i64,
    target: &Target,
    roots: &[Vec<u8>],
    skip: &[Vec<u8>],
) -> Result<Swept> {
    let start = Instant::now();
    let skip: HashSet<&[u8]> = skip.iter().map(Vec::as_slice).collect();
    let mut out = Swept::default();
    let root = target
        .root()
        .and_then(|r| r.open_path(b"/", libc::O_PATH | libc::O_DIRECTORY));
    let Ok(root) = root else {
        // The root itself is gone: every entry differs, and reconcile says
        // why when it re-reads them.
        for r in roots {
            store.for_each_stamp(session, r, |row| out.differ.push(row.path))?;
        }
        out.elapsed = start.elapsed();
        return Ok(out);
    };
    let mut dirs = Ancestors {
        chain: vec![(b"/".to_vec(), root)],
    };
    for r in roots {
        store.for_each_stamp(session, r, |row| {
            if skipped(&row.path, &skip) {
                return;
            }
            // `/` itself, a root: `replaced_root` looks at it.
            let Some((dir, name)) = split(&row.path) else {
                return;
            };
            out.entries += 1;
            let now = dirs
                .open(dir)
                .and_then(|fd| beneath::stat_at(fd, name).ok());
            if now.is_none_or(|st| differs(&row, &st)) {
                out.differ.push(row.path);
            }
        })?;
    }
    out.differ.sort();
    out.differ.dedup();
    out.elapsed = start.elapsed();
    Ok(out)
}

/// Why every root must be re-read, if one of them is not the directory
/// the baseline saw: gone, another inode, or behind a link now (moved,
/// replaced or deleted, itself or a parent, whether or not an event said
/// so). What now stands at its path is read beneath the root as ever.
pub fn replaced_root(
    store: &Store,
    session: i64,
    target: &Target,
    roots: &[Vec<u8>],
) -> Result<Option<String>> {
    let root = target.root().ok();
    for r in roots {
        let Some(row) = store.stamp_of(session, r)? else {
            continue; // not there at begin: a root that appears is walked
        };
        let now = root.as_ref().and_then(|root| root.lstat(r).ok());
        let same = now.is_some_and(|st| st.is_dir() && row.stamp.is_none_or(|s| s.ino == st.ino));
        if !same {
            return Ok(Some(format!(
                "the watched directory {} was moved, replaced or deleted during the session",
                crate::model::display_path(r)
            )));
        }
    }
    Ok(None)
}

/// Whether `path` or one of its ancestors is in `skip`.
fn skipped(path: &[u8], skip: &HashSet<&[u8]>) -> bool {
    if skip.is_empty() {
        return false;
    }
    let mut p = path;
    loop {
        if skip.contains(p) {
            return true;
        }
        match p.iter().rposition(|&b| b == b'/') {
            Some(0) if p.len() > 1 => p = b"/",
            Some(i) if i > 0 => p = &p[..i],
            _ => return false,
        }
    }
}

/// The directory holding `path` and its last component; `None` for `/`
/// itself (the root is not an entry a write can change unseen).
fn split(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = path.iter().rposition(|&b| b == b'/')?;
    let name = &path[i + 1..];
    if name.is_empty() {
        return None;
    }
    Some((if i == 0 { b"/" } else { &path[..i] }, name))
}

/// Whether what `fstatat` says now is not what the baseline entry says.
/// A directory's times and size move with every entry made in it (which
/// the watcher reports), so only its kind, inode, mode and owner count.
pub(crate) fn differs(row: &SweepRow, st: &Stat) -> bool {
    let kind = st.kind();
    if row.kind != Some(kind)
        || row.mode != st.mode & 0o7777
        || row.uid != st.uid
        || row.gid != st.gid
        || row.stamp.is_some_and(|s| s.ino != st.ino)
    {
        return true;
    }
    if kind == EntryKind::Dir {
        return false;
    }
    row.size != st.size
        || row.mtime_ns != st.mtime * 1_000_000_000 + st.mtime_nsec
        || row.stamp.is_some_and(|s| s.ctime_ns != st.ctime_ns)
}

/// The open directories from the root down to the last one asked for.
/// Entries come in path order, so consecutive ones mostly share it.
struct Ancestors {
    /// (target path, fd opened `O_PATH` from its parent's fd, not followed).
    chain: Vec<(Vec<u8>, OwnedFd)>,
}

impl Ancestors {
    /// The directory `dir` (target path), opened component by component
    /// from the deepest open ancestor; `None` if it is not there as cft
    /// sees it (missing, or a link now).
    fn open(&mut self, dir: &[u8]) -> Option<BorrowedFd<'_>> {
        while self.chain.len() > 1 && !is_within(dir, &self.chain[self.chain.len() - 1].0) {
            self.chain.pop();
        }
        let have = self.chain.last()?.0.clone();
        let rest = if have == b"/" {
            &dir[1..]
        } else {
            dir.get(have.len() + 1..).unwrap_or_default()
        };
        let mut path = have;
        for comp in rest.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            let parent = self.chain.last()?.1.as_fd();
            let fd = beneath::open_at(parent, comp, libc::O_PATH | libc::O_DIRECTORY).ok()?;
            if path != b"/" {
                path.push(b'/');
            }
            path.extend_from_slice(comp);
            self.chain.push((path.clone(), fd));
        }
        self.chain.last().map(|(_, fd)| fd.as_fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ignore_rules::Ignore;
    use crate::snapshot::Scanner;
    use crate::store::Snapshot;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn skipped_looks_at_every_ancestor() {
        let set: HashSet<&[u8]> = [&b"/a"[..], b"/b/c"].into_iter().collect();
        for (path, want) in [
            (&b"/a"[..], true),
            (b"/a/x/y", true),
            (b"/a-b", false),
            (b"/b", false),
            (b"/b/c/d", true),
            (b"/bc", false),
        ] {
            assert_eq!(skipped(path, &set), want, "{path:?}");
        }
        let root: HashSet<&[u8]> = [&b"/"[..]].into_iter().collect();
        assert!(skipped(b"/etc/x", &root));
    }

    /// (case, what happens to the tree, whether the root counts as replaced)
    #[test]
    fn a_root_moved_replaced_or_deleted_asks_for_a_rescan() {
        type Act = fn(&std::path::Path);
        let cases: &[(&str, Act, bool)] = &[
            ("untouched", |_| {}, false),
            (
                "a file in it changes",
                |r| std::fs::write(r.join("srv/www/f"), "2").unwrap(),
                false,
            ),
            (
                "the root replaced by another directory",
                |r| {
                    std::fs::rename(r.join("srv/www"), r.join("srv/www.old")).unwrap();
                    std::fs::create_dir(r.join("srv/www")).unwrap();
                },
                true,
            ),
            (
                "its parent swapped for a link to a look-alike",
                |r| {
                    std::fs::rename(r.join("srv"), r.join("srv.old")).unwrap();
                    std::fs::create_dir_all(r.join("fake/www")).unwrap();
                    std::os::unix::fs::symlink(r.join("fake"), r.join("srv")).unwrap();
                },
                true,
            ),
            (
                "deleted",
                |r| std::fs::remove_dir_all(r.join("srv/www")).unwrap(),
                true,
            ),
        ];
        for (case, act, replaced) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().join("root");
            std::fs::create_dir_all(root.join("srv/www")).unwrap();
            std::fs::write(root.join("srv/www/f"), "1").unwrap();
            let (store, s, _) =
                crate::snapshot::baselined(&root, &tmp.path().join("db"), &[b"/srv/www"]);
            let target = Target::new(root.as_os_str().as_bytes());
            act(&root);
            let got = replaced_root(&store, s.id, &target, &[b"/srv/www".to_vec()]).unwrap();
            assert_eq!(got.is_some(), *replaced, "{case}: {got:?}");
            if let Some(why) = got {
                assert!(
                    why.contains("/srv/www was moved, replaced or deleted"),
                    "{why}"
                );
            }
        }
    }

    /// Every kind of change a stat can see, and the ones it must not
    /// report: (case, what to do to the tree, the paths that must differ).
    #[test]
    fn the_sweep_finds_what_changed_without_an_event() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("etc/sub/deep")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        for f in ["a", "b", "c", "d", "sub/e", "sub/deep/f", "g"] {
            std::fs::write(root.join("etc").join(f), "same\n").unwrap();
        }
        std::fs::hard_link(root.join("etc/a"), outside.join("a")).unwrap();
        std::fs::create_dir_all(root.join("etc/h")).unwrap();
        let (mut store, s, rows) =
            crate::snapshot::baselined(&root, &tmp.path().join("db"), &[b"/etc"]);
        let target = Target::new(root.as_os_str().as_bytes());
        let untouched = sweep(&store, s.id, &target, &[b"/etc".to_vec()], &[]).unwrap();
        assert!(untouched.differ.is_empty(), "{:?}", untouched.differ);
        assert_eq!(untouched.entries, rows.len());
        // A watch of `/` itself: its own entry is the root's, not swept.
        let ignore = Ignore::new(&[]).unwrap();
        let scanner = Scanner {
            target: &target,
            ignore: &ignore,
            progress: crate::progress::SILENT,
            content_cap: 1 << 20,
        };
        let mut all = Vec::new();
        scanner.walk(b"/", &mut Vec::new(), |_, _| {}, |r| all.push(r));
        let n = all.len();
        store
            .insert_entries(s.id, Snapshot::Baseline, &all)
            .unwrap();
        let whole = sweep(&store, s.id, &target, &[b"/".to_vec()], &[]).unwrap();
        assert!(whole.differ.is_empty(), "{:?}", whole.differ);
        assert_eq!(whole.entries, n - 1);

        // A write through the outside link, same size, mtime put back.
        let before = std::fs::metadata(root.join("etc/a")).unwrap();
        std::fs::write(outside.join("a"), "SAME\n").unwrap();
        let times = std::fs::FileTimes::new().set_modified(before.modified().unwrap());
        std::fs::File::options()
            .write(true)
            .open(outside.join("a"))
            .unwrap()
            .set_times(times)
            .unwrap();
        // Replaced by another file of the same size and mtime.
        std::fs::write(root.join("etc/b.new"), "same\n").unwrap();
        let b_md = std::fs::metadata(root.join("etc/b")).unwrap();
        std::fs::File::options()
            .write(true)
            .open(root.join("etc/b.new"))
            .unwrap()
            .set_times(std::fs::FileTimes::new().set_modified(b_md.modified().unwrap()))
            .unwrap();
        std::fs::rename(root.join("etc/b.new"), root.join("etc/b")).unwrap();
        // A mode change, a removal, a deep write, a directory made a link.
        std::fs::set_permissions(
            root.join("etc/c"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        std::fs::remove_file(root.join("etc/d")).unwrap();
        std::fs::write(root.join("etc/sub/deep/f"), "longer now\n").unwrap();
        std::fs::rename(root.join("etc/h"), tmp.path().join("h")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("h"), root.join("etc/h")).unwrap();
        // A new file in a directory changes the directory's times only.
        std::fs::write(root.join("etc/sub/new"), "n\n").unwrap();

        let got = sweep(&store, s.id, &target, &[b"/etc".to_vec()], &[]).unwrap();
        let want: Vec<Vec<u8>> = [
            "/etc/a",
            "/etc/b",
            "/etc/c",
            "/etc/d",
            "/etc/h",
            "/etc/sub/deep/f",
        ]
        .iter()
        .map(|p| p.as_bytes().to_vec())
        .collect();
        assert_eq!(got.differ, want);
        // What a subtree re-read covers is not swept again.
        let got = sweep(
            &store,
            s.id,
            &target,
            &[b"/etc".to_vec()],
            &[b"/etc/sub".to_vec()],
        )
        .unwrap();
        assert!(!got.differ.iter().any(|p| p.starts_with(b"/etc/sub")));
        assert_eq!(got.differ.len(), 5);
    }
}
