//! The watcher's decisions, without the kernel: a state machine over raw
//! inotify events `(wd, mask, cookie, name)` and the watch map, which
//! answers each with `Action`s for the reader thread to carry out (record
//! these hints, watch and read this new directory, arm this pending root,
//! move or drop watches, forget a watch, rescan). It does no I/O, so every
//! rule is table-tested in `tests.rs` with numbers for watch descriptors.
//!
//! The rules: renames are paired by cookie within one batch (a half left
//! over at the end of the batch went out of, or came into, the tree), and
//! a watched directory's watches follow its inode when it moves; the
//! package managers' lock files tell opens and closes, and nothing else
//! in a directory watched for its locks alone is recorded; the ignore
//! rules drop noise, but a rename from an ignored name to a kept one is
//! recorded; a root that does not exist yet waits below its nearest
//! existing ancestor, and is armed again when a name appears there, when
//! that watch goes, or when the root itself is deleted or moved away; an
//! overflow means a rescan; `echo x > f` (CREATE, MODIFY, CLOSE_WRITE) is
//! one hint.

use super::root::RootState;
use super::watches::WatchMap;
use crate::event::{translate, translate_lock, Translated, PACKAGE_LOCKS};
use crate::ignore_rules::Ignore;
use crate::model::{display_path, is_within, join, EventKind, EventSource};
use inotify::EventMask;
use std::collections::BTreeMap;
use std::hash::Hash;

#[cfg(test)]
mod tests;

/// Why the session must be rescanned when the kernel queue overflowed.
pub const OVERFLOW_REASON: &str =
    "the inotify event queue overflowed (fs.inotify.max_queued_events)";

/// One event as the kernel delivered it; `W` is the watch descriptor.
#[derive(Clone, Debug)]
pub struct Raw<W> {
    pub wd: W,
    pub mask: EventMask,
    pub cookie: u32,
    pub name: Option<Vec<u8>>,
}

/// A hint for the timeline, before the reader stamps it with a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub kind: EventKind,
    pub path: Vec<u8>,
    pub to: Option<Vec<u8>>,
    pub source: EventSource,
}

/// What the reader thread is to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<W> {
    /// Record this hint; passed through `Dispatcher::admit` as it is sent.
    Emit(Hint),
    /// Watch this new directory, then read it and hand what it holds to
    /// `Dispatcher::listed` (which asks for its subdirectories in turn).
    WatchTree(Vec<u8>),
    /// Look at this pending root's components (`root_state`) and hand the
    /// answer to `Dispatcher::arm`.
    Arm(Vec<u8>),
    /// A watched directory moved within the tree: its watches went with
    /// the inode, only their paths change.
    MoveWatches { from: Vec<u8>, to: Vec<u8> },
    /// Stop watching this directory and everything below it.
    DropWatches(Vec<u8>),
    /// The kernel removed this watch.
    Forget(W),
    /// Events were lost, or a root was moved, deleted or unmounted: record
    /// `event` (if any) from the daemon, then mark the session for a full
    /// rescan, for this reason.
    Rescan {
        event: Option<EventKind>,
        reason: String,
    },
    /// Worth a line in the daemon's log, nothing more.
    Warn(String),
}

/// The answer to a pending root's components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Armed<W> {
    /// Carry these out; the root is settled for now.
    Done(Vec<Action<W>>),
    /// Watch this ancestor narrowly (`pending_mask`) for the next
    /// component, then look at the root again: it may have appeared before
    /// the watch was on.
    WatchAncestor(Vec<u8>),
}

/// The watcher's state apart from the watch map: the session's roots,
/// those that wait to appear, the first halves of moves, and the last hint
/// sent (for the dedup).
pub struct Dispatcher {
    ignore: Ignore,
    roots: Vec<Vec<u8>>,
    /// Pending roots and the ancestor each waits below (empty: not armed
    /// yet).
    pending: BTreeMap<Vec<u8>, Vec<u8>>,
    /// MOVED_FROM halves waiting for their MOVED_TO, by cookie.
    moves: BTreeMap<u32, (Vec<u8>, bool)>,
    last: Option<(EventKind, Vec<u8>)>,
    /// An unmount was told (every watch on the filesystem reports one).
    unmount_told: bool,
}

/// A watched root (or a mount below it) went: whatever takes its place
/// is read whole at finish, beneath the root as ever.
fn root_gone<W>(dir: &[u8], what: &str) -> Action<W> {
    Action::Rescan {
        event: None,
        reason: format!(
            "the watched directory {} {what} during the session",
            crate::model::display_path(dir)
        ),
    }
}

fn emit<W>(kind: EventKind, path: Vec<u8>, to: Option<Vec<u8>>, source: EventSource) -> Action<W> {
    Action::Emit(Hint {
        kind,
        path,
        to,
        source,
    })
}

/// The lock file names of a package manager's lock directory.
fn lock_names(dir: &[u8]) -> Option<&'static [&'static str]> {
    PACKAGE_LOCKS
        .iter()
        .find(|(d, _)| d.as_bytes() == dir)
        .map(|(_, names)| *names)
}

impl Dispatcher {
    /// `roots` are all the session's roots; `pending` those of them that
    /// are not there yet.
    pub fn new(ignore: Ignore, roots: &[Vec<u8>], pending: &[Vec<u8>]) -> Dispatcher {
        Dispatcher {
            ignore,
            roots: roots.to_vec(),
            pending: pending.iter().map(|p| (p.clone(), Vec::new())).collect(),
            moves: BTreeMap::new(),
            last: None,
            unmount_told: false,
        }
    }

    /// Before the first event: wait for every pending root.
    pub fn start<W>(&self) -> Vec<Action<W>> {
        self.pending.keys().cloned().map(Action::Arm).collect()
    }

    /// One raw event.
    pub fn event<W: Clone + Eq + Hash>(
        &mut self,
        map: &WatchMap<W>,
        raw: Raw<W>,
    ) -> Vec<Action<W>> {
        let Raw {
            wd,
            mask,
            cookie,
            name,
        } = raw;
        let t = translate(mask, cookie);
        match t {
            Translated::Overflow => {
                return vec![Action::Rescan {
                    event: Some(EventKind::Overflow),
                    reason: OVERFLOW_REASON.into(),
                }]
            }
            Translated::WatchGone => {
                let dir = map.dir_of(&wd).map(<[u8]>::to_vec);
                let mut out = vec![Action::Forget(wd)];
                if let Some(dir) = dir {
                    // Whatever was below a mount point is another tree now,
                    // with no event for any of it.
                    if mask.contains(EventMask::UNMOUNT) && !self.unmount_told {
                        self.unmount_told = true;
                        out.push(root_gone(&dir, "was unmounted"));
                    }
                    out.extend(self.rearm_below(&dir));
                }
                return out;
            }
            _ => {}
        }
        let Some(dir) = map.dir_of(&wd).map(<[u8]>::to_vec) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if self.pending.values().any(|a| *a == dir) {
            let appeared = matches!(
                t,
                Translated::Plain {
                    kind: EventKind::Created,
                    ..
                } | Translated::MoveTo { .. }
            );
            if let (true, Some(n)) = (appeared, &name) {
                out.extend(self.pending_child(&dir, n));
            }
            // The ancestor may be watched for itself too: in a tree, or
            // for its locks.
            let tree = self.roots.iter().any(|r| is_within(&dir, r));
            if !tree && lock_names(&dir).is_none() {
                return out;
            }
        }
        if let Some(names) = lock_names(&dir) {
            let lock = name
                .as_deref()
                .filter(|n| names.iter().any(|l| l.as_bytes() == *n));
            if let (Some(n), Some(kind)) = (lock, translate_lock(mask)) {
                out.push(emit(kind, join(&dir, n), None, EventSource::Watcher));
            }
            if lock.is_some() || map.is_lock_only(&dir) {
                return out;
            }
        }
        let about_dir = name.is_none();
        let path = match &name {
            Some(n) if !n.is_empty() => join(&dir, n),
            _ => dir,
        };
        match t {
            Translated::Plain { kind, is_dir } => {
                let move_self = about_dir && mask.contains(EventMask::MOVE_SELF);
                self.plain(kind, is_dir, path, about_dir, move_self, &mut out);
            }
            Translated::MoveFrom { cookie, is_dir } => {
                self.moves.insert(cookie, (path, is_dir));
            }
            Translated::MoveTo { cookie, is_dir } => {
                self.move_to(map, cookie, path, is_dir, &mut out)
            }
            Translated::Overflow | Translated::WatchGone | Translated::Nothing => {}
        }
        out
    }

    fn plain<W>(
        &mut self,
        kind: EventKind,
        is_dir: bool,
        path: Vec<u8>,
        about_dir: bool,
        move_self: bool,
        out: &mut Vec<Action<W>>,
    ) {
        if self.ignore.is_ignored(&path, is_dir) {
            return;
        }
        let is_root = about_dir && self.roots.contains(&path);
        // A watched directory moving is told by its parent's MOVED_FROM and
        // MOVED_TO; a root's parent is not watched, so a root's own move is
        // told here, and its watches, which went with it, are dropped.
        if move_self {
            if is_root {
                out.push(Action::DropWatches(path.clone()));
                out.push(emit(
                    EventKind::Removed,
                    path.clone(),
                    None,
                    EventSource::Watcher,
                ));
                out.push(root_gone(&path, "was moved away"));
                out.push(Action::Arm(path));
            }
            return;
        }
        out.push(emit(kind, path.clone(), None, EventSource::Watcher));
        if kind == EventKind::Created && is_dir {
            out.push(Action::WatchTree(path.clone()));
        }
        if is_root && kind == EventKind::Removed {
            out.push(root_gone(&path, "was deleted"));
            out.push(Action::Arm(path));
        }
    }

    fn move_to<W: Clone + Eq + Hash>(
        &mut self,
        map: &WatchMap<W>,
        cookie: u32,
        path: Vec<u8>,
        is_dir: bool,
        out: &mut Vec<Action<W>>,
    ) {
        let Some((from, _)) = self.moves.remove(&cookie) else {
            // In from outside the tree.
            if self.ignore.is_ignored(&path, is_dir) {
                return;
            }
            out.push(emit(
                EventKind::Created,
                path.clone(),
                None,
                EventSource::Watcher,
            ));
            if is_dir {
                out.push(Action::WatchTree(path));
            }
            return;
        };
        let watched = is_dir && map.watches_dir(&from);
        if watched {
            out.push(Action::MoveWatches {
                from: from.clone(),
                to: path.clone(),
            });
        }
        if self.ignore.is_ignored(&from, is_dir) && self.ignore.is_ignored(&path, is_dir) {
            return;
        }
        out.push(emit(
            EventKind::Renamed,
            from,
            Some(path.clone()),
            EventSource::Watcher,
        ));
        // A directory that was not watched under its old name (dpkg unpacks
        // `/etc/x.dpkg-new`, an ignored name, then renames it): watch it
        // now, then read it.
        if is_dir && !watched {
            out.push(Action::WatchTree(path));
        }
    }

    /// The end of a batch (the kernel has nothing more for now): a move
    /// whose other half never came left the tree.
    pub fn end_of_batch<W>(&mut self) -> Vec<Action<W>> {
        let mut out = Vec::new();
        for (_, (from, is_dir)) in std::mem::take(&mut self.moves) {
            if is_dir {
                out.push(Action::DropWatches(from.clone()));
            }
            out.push(emit(EventKind::Removed, from, None, EventSource::Watcher));
        }
        out
    }

    /// What a directory held when it was read after its watch went on
    /// (`entries`: names and whether each is a directory, in any order):
    /// each entry is recorded, then each subdirectory is watched and read
    /// in turn (the last first, as a stack would).
    pub fn listed<W>(&self, dir: &[u8], entries: Vec<(Vec<u8>, bool)>) -> Vec<Action<W>> {
        let mut children: Vec<(Vec<u8>, bool)> = entries
            .into_iter()
            .map(|(name, is_dir)| (join(dir, &name), is_dir))
            .collect();
        children.sort();
        let mut out = Vec::new();
        let mut subdirs = Vec::new();
        for (child, is_dir) in children {
            if self.ignore.is_ignored_here(&child, is_dir) {
                continue;
            }
            out.push(emit(
                EventKind::Created,
                child.clone(),
                None,
                EventSource::Rescan,
            ));
            if is_dir {
                subdirs.push(child);
            }
        }
        out.extend(subdirs.into_iter().rev().map(Action::WatchTree));
        out
    }

    /// Where a root to wait for stands now (`Action::Arm`'s answer).
    pub fn arm<W>(&mut self, root: &[u8], state: RootState) -> Armed<W> {
        match state {
            RootState::Present => {
                self.pending.remove(root);
                Armed::Done(vec![
                    emit(EventKind::Created, root.to_vec(), None, EventSource::Rescan),
                    Action::WatchTree(root.to_vec()),
                ])
            }
            RootState::Blocked { at, what } => {
                self.pending.remove(root);
                if at == root {
                    // The root appeared as a link or a file: that is the
                    // change (reconciliation records the entry itself).
                    Armed::Done(vec![emit(
                        EventKind::Created,
                        root.to_vec(),
                        None,
                        EventSource::Rescan,
                    )])
                } else {
                    Armed::Done(vec![Action::Warn(format!(
                        "{} is not watched: {} is {what}",
                        display_path(root),
                        display_path(&at)
                    ))])
                }
            }
            RootState::Pending { ancestor } => {
                if self.pending.get(root) == Some(&ancestor) {
                    return Armed::Done(Vec::new());
                }
                self.pending.insert(root.to_vec(), ancestor.clone());
                Armed::WatchAncestor(ancestor)
            }
        }
    }

    /// A name appeared in `dir`, which pending roots wait below: arm those
    /// it may lead to.
    fn pending_child<W>(&self, dir: &[u8], name: &[u8]) -> Vec<Action<W>> {
        let child = join(dir, name);
        self.pending
            .iter()
            .filter(|(r, a)| a.as_slice() == dir && is_within(r, &child))
            .map(|(r, _)| Action::Arm(r.clone()))
            .collect()
    }

    /// The watch of `dir` is gone: the roots waiting below it wait further
    /// up.
    fn rearm_below<W>(&mut self, dir: &[u8]) -> Vec<Action<W>> {
        let mut out = Vec::new();
        for (root, ancestor) in self.pending.iter_mut() {
            if ancestor.as_slice() == dir {
                ancestor.clear();
                out.push(Action::Arm(root.clone()));
            }
        }
        out
    }

    /// Should this hint be sent? `echo x > f` is CREATE, MODIFY,
    /// CLOSE_WRITE: one hint is enough. Asked in the order hints are sent.
    pub fn admit(&mut self, hint: &Hint) -> bool {
        if hint.to.is_some() {
            self.last = None;
            return true;
        }
        if let Some((kind, path)) = &self.last {
            if *path == hint.path
                && (*kind == hint.kind
                    || (*kind == EventKind::Created && hint.kind == EventKind::Modified))
            {
                return false;
            }
        }
        self.last = Some((hint.kind, hint.path.clone()));
        true
    }
}
