//! The gap of a resumed session: what changed between its finish and
//! `cft begin --resume`, while nothing watched. At resume every entry of
//! the roots is stat'ed (no content is read) and compared with the state
//! that finish left: the baseline with the finish's changes applied. Each
//! difference becomes a hint event, so the next finish re-reads it like
//! anything the watcher saw; nothing made in the gap is lost silently.

use crate::beneath::{self, Stat};
use crate::clock::now_ns;
use crate::error::Result;
use crate::ignore_rules::Ignore;
use crate::model::{is_within, Entry, EntryKind, Session};
use crate::model::{Event, EventKind, EventSource};
use crate::snapshot::Scanner;
use crate::store::{Snapshot, Store};
use crate::target::Target;
use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;

/// Walk `root` as it is now, calling `on_dir` for each directory with the
/// directory open (the watcher adds its watch there), and return a hint for
/// every path that differs from where the session's last finish left it.
///
/// The walk is the snapshot's (`Scanner::walk_stats`): by directory fds
/// beneath the root, no link followed, no pseudo filesystem entered, and
/// nothing read but a link's target. Its counts go to `progress`.
pub fn sweep(
    store: &Store,
    session: &Session,
    target: &Target,
    ignore: &Ignore,
    root: &[u8],
    on_dir: impl FnMut(BorrowedFd<'_>, &[u8]),
    progress: &dyn crate::progress::Progress,
) -> Result<Vec<Event>> {
    let mut known: BTreeMap<Vec<u8>, Entry> = store
        .entries_under(session.id, Snapshot::Baseline, root)?
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect();
    for c in store.change_set(&session.name)?.changes {
        if !is_within(&c.path, root) {
            continue;
        }
        match c.after {
            Some(a) => {
                known.insert(c.path, a);
            }
            None => {
                known.remove(&c.path);
            }
        }
    }
    let time_ns = now_ns();
    let hint = |kind: EventKind, path: Vec<u8>| Event {
        time_ns,
        kind,
        path: Some(path),
        path_to: None,
        source: EventSource::Rescan,
    };
    let mut out = Vec::new();
    let scanner = Scanner {
        target,
        ignore,
        progress: crate::progress::SILENT,
        content_cap: 0,
    };
    // What cannot be looked at now is not a hint; finish says why.
    let mut unread = Vec::new();
    let mut meter = crate::progress::Meter::start(progress, root);
    scanner.walk_stats(root, &mut unread, on_dir, |tp, dir, name, st, _| {
        meter.add_stat();
        match known.remove(tp) {
            None => out.push(hint(EventKind::Created, tp.to_vec())),
            Some(was) if differs(&was, st, dir, name) => {
                out.push(hint(EventKind::Modified, tp.to_vec()))
            }
            Some(_) => {}
        }
    });
    drop(meter);
    // What the finish left and is gone now.
    out.extend(
        known
            .into_keys()
            .filter(|p| !ignore.is_ignored(p, false))
            .map(|p| hint(EventKind::Removed, p)),
    );
    Ok(out)
}

/// Does what is on disk differ from `was` by anything a stat shows?
/// Content is not read: a changed file shows in its size or mtime.
fn differs(was: &Entry, st: &Stat, dir: BorrowedFd<'_>, name: &[u8]) -> bool {
    let kind = st.kind();
    if kind != was.kind || st.uid != was.uid || st.gid != was.gid {
        return true;
    }
    match kind {
        EntryKind::Symlink => beneath::read_link_at(dir, name)
            .map(|t| Some(t) != was.link_target)
            .unwrap_or(true),
        EntryKind::File => {
            st.mode & 0o7777 != was.mode
                || st.size != was.size
                || st.mtime * 1_000_000_000 + st.mtime_nsec != was.mtime_ns
        }
        _ => st.mode & 0o7777 != was.mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    /// Between finish and resume a user swaps the root's parent for a link
    /// to a directory outside: the gap walk goes by fds beneath the root,
    /// so it neither watches nor reports anything of the outside (the old
    /// walk went through the host path, following the parent link).
    #[test]
    fn the_gap_walk_never_passes_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(root.join("srv/x")).unwrap();
        std::fs::write(root.join("srv/x/kept"), "1").unwrap();
        std::fs::create_dir_all(outside.join("x/deeper")).unwrap();
        std::fs::write(outside.join("x/only-outside"), "host").unwrap();
        let (store, s, _) = crate::snapshot::baselined(&root, &tmp.path().join("db"), &[b"/srv/x"]);
        let target = Target::new(root.as_os_str().as_bytes());
        let ignore = Ignore::new(&[]).unwrap();
        let silent = crate::progress::SILENT;
        let untouched = sweep(&store, &s, &target, &ignore, b"/srv/x", |_, _| {}, silent).unwrap();
        assert!(untouched.is_empty(), "{untouched:?}");

        std::fs::rename(root.join("srv"), root.join("srv.old")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("srv")).unwrap();
        let mut dirs = Vec::new();
        let hints = sweep(
            &store,
            &s,
            &target,
            &ignore,
            b"/srv/x",
            |_, d| dirs.push(d.to_vec()),
            silent,
        )
        .unwrap();
        assert!(dirs.is_empty(), "watched through the link: {dirs:?}");
        let got: Vec<(EventKind, Vec<u8>)> = hints
            .into_iter()
            .map(|h| (h.kind, h.path.unwrap_or_default()))
            .collect();
        assert_eq!(
            got,
            vec![
                (EventKind::Removed, b"/srv/x".to_vec()),
                (EventKind::Removed, b"/srv/x/kept".to_vec()),
            ]
        );
    }
}
