//! The gap of a resumed session: what changed between its finish and
//! `cft begin --resume`, while nothing watched. At resume every entry of
//! the roots is stat'ed (no content is read) and compared with the state
//! that finish left: the baseline with the finish's changes applied. Each
//! difference becomes a hint event, so the next finish re-reads it like
//! anything the watcher saw; nothing made in the gap is lost silently.

use crate::clock::now_ns;
use crate::error::Result;
use crate::ignore_rules::Ignore;
use crate::model::{is_within, Entry, EntryKind, Session};
use crate::model::{Event, EventKind, EventSource};
use crate::store::{Snapshot, Store};
use crate::target::Target;
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Walk `root` as it is now, calling `on_dir` for each directory (the
/// watcher adds its watch there), and return a hint for every path that
/// differs from where the session's last finish left it.
pub fn sweep(
    store: &Store,
    session: &Session,
    target: &Target,
    ignore: &Ignore,
    root: &[u8],
    mut on_dir: impl FnMut(&Path, &[u8]),
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
    let mut it = walkdir::WalkDir::new(target.host_path(root))
        .follow_links(false)
        .follow_root_links(false)
        .into_iter();
    while let Some(next) = it.next() {
        let Ok(de) = next else {
            continue;
        };
        let Some(tp) = target.target_path(de.path()) else {
            continue;
        };
        let is_dir = de.file_type().is_dir();
        let ignored = if de.depth() == 0 {
            ignore.is_ignored(&tp, is_dir)
        } else {
            ignore.is_ignored_here(&tp, is_dir)
        };
        if ignored {
            if is_dir {
                it.skip_current_dir();
            }
            continue;
        }
        if is_dir {
            on_dir(de.path(), &tp);
        }
        let Ok(md) = de.metadata() else {
            continue;
        };
        match known.remove(&tp) {
            None => out.push(hint(EventKind::Created, tp)),
            Some(was) if differs(&was, &md, de.path()) => out.push(hint(EventKind::Modified, tp)),
            Some(_) => {}
        }
    }
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
fn differs(was: &Entry, md: &std::fs::Metadata, host: &Path) -> bool {
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
    if kind != was.kind || md.uid() != was.uid || md.gid() != was.gid {
        return true;
    }
    match kind {
        EntryKind::Symlink => {
            use std::os::unix::ffi::OsStrExt;
            std::fs::read_link(host)
                .map(|t| Some(t.as_os_str().as_bytes().to_vec()) != was.link_target)
                .unwrap_or(true)
        }
        EntryKind::File => {
            md.mode() & 0o7777 != was.mode
                || md.size() != was.size
                || md.mtime() * 1_000_000_000 + md.mtime_nsec() != was.mtime_ns
        }
        _ => md.mode() & 0o7777 != was.mode,
    }
}
