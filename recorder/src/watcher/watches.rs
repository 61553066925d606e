//! The watches: `WatchMap`, the plain watch descriptor -> directory map the
//! dispatcher reads (no kernel in it, so it is tested with numbers for
//! descriptors), and `WatchSet`, the handle that adds and removes watches
//! on the inotify fd and keeps the map in step. The set is shared: the
//! baseline walk, the gap sweep and the reader thread all add watches.
//!
//! `ENOSPC` from `inotify_add_watch` is reported once, as an event naming
//! `fs.inotify.max_user_watches` and a rescan mark; no more watches are
//! added after it.

use super::{daemon_event, Msg};
use crate::event::{lock_mask, pending_mask, watch_mask};
use crate::model::{is_within, EventKind};
use inotify::{WatchDescriptor, WatchMask, Watches};
use std::collections::HashMap;
use std::hash::Hash;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard};

/// Which directory each watch descriptor stands for, and which directories
/// are watched for their package-manager locks alone.
#[derive(Clone, Debug)]
pub struct WatchMap<W> {
    dirs: HashMap<W, Vec<u8>>,
    lock_only: Vec<Vec<u8>>,
}

impl<W> Default for WatchMap<W> {
    fn default() -> Self {
        WatchMap {
            dirs: HashMap::new(),
            lock_only: Vec::new(),
        }
    }
}

impl<W: Clone + Eq + Hash> WatchMap<W> {
    /// Record that `wd` watches `dir`; true if the descriptor is new (the
    /// kernel hands back the same one when a directory is watched again).
    pub fn insert(&mut self, wd: W, dir: &[u8]) -> bool {
        self.dirs.insert(wd, dir.to_vec()).is_none()
    }

    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    pub fn dir_of(&self, wd: &W) -> Option<&[u8]> {
        self.dirs.get(wd).map(Vec::as_slice)
    }

    /// Is this exact directory watched?
    pub fn watches_dir(&self, dir: &[u8]) -> bool {
        self.dirs.values().any(|d| d == dir)
    }

    /// The descriptor watching this exact directory (tests stand in for
    /// the kernel with it).
    #[cfg(test)]
    pub fn wd_of(&self, dir: &[u8]) -> Option<&W> {
        self.dirs
            .iter()
            .find(|(_, d)| d.as_slice() == dir)
            .map(|(wd, _)| wd)
    }

    pub fn mark_lock_only(&mut self, dir: &[u8]) {
        self.lock_only.push(dir.to_vec());
    }

    /// Is `dir` watched for its locks only (not as part of a tree)?
    pub fn is_lock_only(&self, dir: &[u8]) -> bool {
        self.lock_only.iter().any(|d| d == dir)
    }

    /// The kernel removed this watch.
    pub fn forget(&mut self, wd: &W) -> bool {
        self.dirs.remove(wd).is_some()
    }

    /// A directory moved within the tree: its watches follow the inodes, so
    /// only their recorded paths change.
    pub fn rename_prefix(&mut self, from: &[u8], to: &[u8]) {
        for dir in self.dirs.values_mut() {
            if is_within(dir, from) {
                let mut new = to.to_vec();
                new.extend_from_slice(&dir[from.len()..]);
                *dir = new;
            }
        }
    }

    /// Forget the watches of `from` and below; returns their descriptors,
    /// for the kernel to drop too.
    pub fn drop_prefix(&mut self, from: &[u8]) -> Vec<W> {
        let gone: Vec<W> = self
            .dirs
            .iter()
            .filter(|(_, d)| is_within(d, from))
            .map(|(wd, _)| wd.clone())
            .collect();
        for wd in &gone {
            self.dirs.remove(wd);
        }
        gone
    }
}

/// What the session is told when the watch limit is reached.
pub fn watch_limit_reason(host: &Path, watches: usize) -> String {
    format!(
        "the inotify watch limit was reached at {} after {watches} watches; raise \
         fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=N)",
        host.display()
    )
}

/// The inotify fd's watches and their map, shared by everyone who adds
/// watches.
#[derive(Clone)]
pub struct WatchSet {
    watches: Watches,
    map: Arc<Mutex<WatchMap<WatchDescriptor>>>,
    limit_hit: Arc<AtomicBool>,
}

impl WatchSet {
    pub(super) fn new(watches: Watches) -> WatchSet {
        WatchSet {
            watches,
            map: Arc::new(Mutex::new(WatchMap::default())),
            limit_hit: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The map, locked: the reader holds it while the dispatcher decides
    /// about one event.
    pub(super) fn map(&self) -> MutexGuard<'_, WatchMap<WatchDescriptor>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Watch one directory (host path `host`, target path `dir`). On the
    /// watch limit, reports it once (event + rescan mark) and gives up
    /// adding more: the session degrades to a rescan at finish.
    pub fn add(&self, host: &Path, dir: &[u8], tx: &Sender<Msg>) {
        self.add_with(host, dir, tx, watch_mask());
    }

    /// Watch a directory that is open as `fd` (target path `dir`, host path
    /// `host`): the watch goes on that very inode, named through
    /// `/proc/self/fd`, so a directory swapped for a link after it was
    /// opened cannot move the watch elsewhere. Without `/proc`, `host`.
    pub fn add_open(&self, fd: BorrowedFd<'_>, host: &Path, dir: &[u8], tx: &Sender<Msg>) {
        let by_fd = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        // The magic link must be followed to reach the directory itself.
        let mask = watch_mask() & !WatchMask::DONT_FOLLOW;
        if self.limit_hit.load(Ordering::Relaxed) {
            return;
        }
        match self.watches.clone().add(&by_fd, mask) {
            Ok(wd) => {
                self.map().insert(wd, dir);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self.add(host, dir, tx),
            Err(e) => self.failed(host, dir, tx, e),
        }
    }

    /// Watch a package manager's lock directory for opens and closes. If
    /// the directory is watched as part of a tree already, the lock events
    /// are added to that watch (a second add would replace its mask, and
    /// changes to the other files there would go unseen).
    pub fn add_locks(&self, host: &Path, dir: &[u8], tx: &Sender<Msg>) {
        if self.map().watches_dir(dir) {
            self.add_with(host, dir, tx, lock_mask() | WatchMask::MASK_ADD);
        } else {
            self.map().mark_lock_only(dir);
            self.add_with(host, dir, tx, lock_mask());
        }
    }

    /// Watch the nearest existing ancestor of a pending root for the next
    /// component to appear, adding to an existing watch of the directory
    /// rather than replacing it.
    pub(super) fn add_pending(&self, host: &Path, dir: &[u8], tx: &Sender<Msg>) {
        let mut mask = pending_mask();
        if self.map().watches_dir(dir) {
            mask |= WatchMask::MASK_ADD;
        }
        self.add_with(host, dir, tx, mask);
    }

    fn add_with(&self, host: &Path, dir: &[u8], tx: &Sender<Msg>, mask: WatchMask) {
        if self.limit_hit.load(Ordering::Relaxed) {
            return;
        }
        match self.watches.clone().add(host, mask) {
            Ok(wd) => {
                self.map().insert(wd, dir);
            }
            Err(e) => self.failed(host, dir, tx, e),
        }
    }

    fn failed(&self, host: &Path, dir: &[u8], tx: &Sender<Msg>, e: std::io::Error) {
        match e {
            e if e.raw_os_error() == Some(libc::ENOSPC) => {
                if !self.limit_hit.swap(true, Ordering::Relaxed) {
                    let reason = watch_limit_reason(host, self.count());
                    tracing::warn!("{reason}; the session degrades to a full rescan at finish");
                    let _ = tx.send(Msg::Event(daemon_event(EventKind::WatchLimit, Some(dir))));
                    let _ = tx.send(Msg::Rescan(reason));
                }
            }
            // Gone already (created and removed at once) or not a directory
            // any more: the events about it tell the rest.
            e => tracing::debug!("cannot watch {}: {e}", host.display()),
        }
    }

    pub fn count(&self) -> usize {
        self.map().len()
    }

    pub fn limit_hit(&self) -> bool {
        self.limit_hit.load(Ordering::Relaxed)
    }

    pub(super) fn forget(&self, wd: &WatchDescriptor) {
        self.map().forget(wd);
    }

    pub(super) fn rename_prefix(&self, from: &[u8], to: &[u8]) {
        self.map().rename_prefix(from, to);
    }

    /// A directory moved out of the tree: stop watching it and below.
    pub(super) fn drop_prefix(&self, from: &[u8]) {
        let gone = self.map().drop_prefix(from);
        for wd in gone {
            let _ = self.watches.clone().remove(wd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(dirs: &[&str]) -> WatchMap<u32> {
        let mut m = WatchMap::default();
        for (i, d) in dirs.iter().enumerate() {
            m.insert(i as u32 + 1, d.as_bytes());
        }
        m
    }

    fn dirs(m: &WatchMap<u32>) -> Vec<(u32, String)> {
        let mut v: Vec<(u32, String)> = m
            .dirs
            .iter()
            .map(|(wd, d)| (*wd, String::from_utf8_lossy(d).into_owned()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rename_prefix_moves_the_directory_and_below_only() {
        let mut m = map(&["/etc/a", "/etc/a/b", "/etc/ab", "/etc"]);
        m.rename_prefix(b"/etc/a", b"/etc/z");
        assert_eq!(
            dirs(&m),
            [
                (1, "/etc/z".to_string()),
                (2, "/etc/z/b".to_string()),
                (3, "/etc/ab".to_string()),
                (4, "/etc".to_string()),
            ]
        );
    }

    #[test]
    fn drop_prefix_returns_the_descriptors_of_the_directory_and_below() {
        let mut m = map(&["/etc/a", "/etc/a/b", "/etc/ab", "/etc"]);
        let mut gone = m.drop_prefix(b"/etc/a");
        gone.sort();
        assert_eq!(gone, [1, 2]);
        assert_eq!(
            dirs(&m),
            [(3, "/etc/ab".to_string()), (4, "/etc".to_string())]
        );
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn the_same_descriptor_again_is_not_a_new_watch() {
        let mut m = map(&["/etc"]);
        assert!(!m.insert(1, b"/etc"));
        assert!(m.insert(2, b"/srv"));
        assert!(m.forget(&2));
        assert!(!m.forget(&2));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn lock_only_directories_are_told_apart() {
        let mut m = map(&["/etc"]);
        m.mark_lock_only(b"/var/lib/dpkg");
        assert!(m.is_lock_only(b"/var/lib/dpkg"));
        assert!(!m.is_lock_only(b"/var/lib/rpm"));
        assert!(!m.is_lock_only(b"/etc"));
    }

    #[test]
    fn the_watch_limit_names_the_sysctl() {
        let reason = watch_limit_reason(Path::new("/r/etc/x"), 12);
        assert!(reason.contains("/r/etc/x"), "{reason}");
        assert!(reason.contains("after 12 watches"), "{reason}");
        assert!(reason.contains("fs.inotify.max_user_watches"), "{reason}");
    }
}
