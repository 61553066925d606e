//! The inotify watcher: one reader thread owns the inotify fd; watches are
//! added from the baseline walk and from the reader itself (new
//! directories). Events go to a writer thread over an unbounded channel, so
//! the reader never waits on SQLite.
//!
//! A new directory gets its watch first and is read afterwards, and what it
//! already holds is recorded (`mkdir -p a/b/c && echo x > a/b/c/f` is not
//! lost). Renames are paired by cookie. A queue overflow becomes an event
//! and a rescan mark: never "carry on".
//!
//! A root that does not exist yet (`/var/www` before nginx is installed) is
//! *pending*: its nearest existing ancestor gets a narrow watch (creations
//! and moves in, nothing else) until the root appears, and then the root is
//! watched and read like any new directory. A root that is deleted or moved
//! away during the session becomes pending again.

use crate::clock::now_ns;
use crate::event::{
    lock_mask, pending_mask, translate, translate_lock, watch_mask, Translated, PACKAGE_LOCKS,
};
use crate::ignore_rules::Ignore;
use crate::model::{is_within, join};
use crate::model::{Event, EventKind, EventSource};
use crate::target::Target;
use inotify::{Inotify, WatchDescriptor, Watches};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the reader sends to the writer.
#[derive(Debug)]
pub enum Msg {
    Event(Event),
    Events(Vec<Event>),
    /// The next finish must rescan everything, for this reason.
    Rescan(String),
}

/// The watch descriptor -> target directory map, shared by everyone who
/// adds watches.
#[derive(Clone)]
pub struct WatchSet {
    watches: Watches,
    map: Arc<Mutex<HashMap<WatchDescriptor, Vec<u8>>>>,
    limit_hit: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
    /// Lock directories watched for their locks alone.
    lock_only: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl WatchSet {
    /// Watch one directory (host path `host`, target path `dir`). On the
    /// watch limit, reports it once (event + rescan mark) and gives up
    /// adding more: the session degrades to a rescan at finish.
    pub fn add(&self, host: &std::path::Path, dir: &[u8], tx: &Sender<Msg>) {
        self.add_with(host, dir, tx, watch_mask());
    }

    /// Watch a package manager's lock directory for opens and closes. If
    /// the directory is watched as part of a tree already, the lock events
    /// are added to that watch (a second add would replace its mask, and
    /// changes to the other files there would go unseen).
    pub fn add_locks(&self, host: &std::path::Path, dir: &[u8], tx: &Sender<Msg>) {
        if self.watches_dir(dir) {
            self.add_with(host, dir, tx, lock_mask() | inotify::WatchMask::MASK_ADD);
        } else {
            self.lock_only
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(dir.to_vec());
            self.add_with(host, dir, tx, lock_mask());
        }
    }

    /// Watch the nearest existing ancestor of a pending root for the next
    /// component to appear, adding to an existing watch of the directory
    /// rather than replacing it.
    fn add_pending(&self, host: &std::path::Path, dir: &[u8], tx: &Sender<Msg>) {
        let mut mask = pending_mask();
        if self.watches_dir(dir) {
            mask |= inotify::WatchMask::MASK_ADD;
        }
        self.add_with(host, dir, tx, mask);
    }

    /// Is `dir` watched for its locks only (not as part of a tree)?
    fn is_lock_only(&self, dir: &[u8]) -> bool {
        self.lock_only
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|d| d == dir)
    }

    fn add_with(
        &self,
        host: &std::path::Path,
        dir: &[u8],
        tx: &Sender<Msg>,
        mask: inotify::WatchMask,
    ) {
        if self.limit_hit.load(Ordering::Relaxed) {
            return;
        }
        match self.watches.clone().add(host, mask) {
            Ok(wd) => {
                let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
                if map.insert(wd, dir.to_vec()).is_none() {
                    self.count.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => {
                if !self.limit_hit.swap(true, Ordering::Relaxed) {
                    let reason = format!(
                        "the inotify watch limit was reached at {} after {} watches; raise \
                         fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=N)",
                        host.display(),
                        self.count.load(Ordering::Relaxed)
                    );
                    tracing::warn!("{reason}; the session degrades to a full rescan at finish");
                    let _ = tx.send(Msg::Event(daemon_event(EventKind::WatchLimit, Some(dir))));
                    let _ = tx.send(Msg::Rescan(reason));
                }
            }
            // Gone already (created and removed at once) or not a directory
            // any more: the events about it tell the rest.
            Err(e) => tracing::debug!("cannot watch {}: {e}", host.display()),
        }
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    pub fn limit_hit(&self) -> bool {
        self.limit_hit.load(Ordering::Relaxed)
    }

    fn dir_of(&self, wd: &WatchDescriptor) -> Option<Vec<u8>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(wd)
            .cloned()
    }

    fn forget(&self, wd: &WatchDescriptor) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.remove(wd).is_some() {
            self.count.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Is this exact directory watched?
    fn watches_dir(&self, dir: &[u8]) -> bool {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|d| d == dir)
    }

    /// A directory moved within the tree: its watches follow the inodes, so
    /// only their recorded paths change.
    fn rename_prefix(&self, from: &[u8], to: &[u8]) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        for dir in map.values_mut() {
            if is_within(dir, from) {
                let mut new = to.to_vec();
                new.extend_from_slice(&dir[from.len()..]);
                *dir = new;
            }
        }
    }

    /// A directory moved out of the tree: stop watching it and below.
    fn drop_prefix(&self, from: &[u8]) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let gone: Vec<WatchDescriptor> = map
            .iter()
            .filter(|(_, d)| is_within(d, from))
            .map(|(wd, _)| wd.clone())
            .collect();
        for wd in gone {
            map.remove(&wd);
            self.count.fetch_sub(1, Ordering::Relaxed);
            let _ = self.watches.clone().remove(wd);
        }
    }
}

/// Where a watched root stands in the target system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootState {
    /// A directory, reached without following a link.
    Present,
    /// Not there yet; `ancestor` is the nearest directory that is.
    Pending { ancestor: Vec<u8> },
    /// `at` (the root itself or one of its parents) is not a directory:
    /// a symlink, which is never followed, or something else.
    Blocked { at: Vec<u8>, what: &'static str },
}

/// Look at each component of `root` in turn with `lstat`, following no
/// link, so a root is never reached through one.
pub fn root_state(target: &Target, root: &[u8]) -> RootState {
    let mut cur = b"/".to_vec();
    for comp in root.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        let next = join(&cur, comp);
        match std::fs::symlink_metadata(target.host_path(&next)) {
            Ok(md) if md.is_dir() => cur = next,
            Ok(md) => {
                let what = if md.file_type().is_symlink() {
                    "a symbolic link, which cft never follows"
                } else {
                    "not a directory"
                };
                return RootState::Blocked { at: next, what };
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return RootState::Pending { ancestor: cur }
            }
            Err(_) => {
                return RootState::Blocked {
                    at: next,
                    what: "unreadable",
                }
            }
        }
    }
    RootState::Present
}

pub fn daemon_event(kind: EventKind, path: Option<&[u8]>) -> Event {
    Event {
        time_ns: now_ns(),
        kind,
        path: path.map(<[u8]>::to_vec),
        path_to: None,
        source: EventSource::Daemon,
    }
}

const BATCH_PAUSE: Duration = Duration::from_millis(2);

/// Owns the inotify instance; `run` is the reader thread's body.
pub struct Watcher {
    inotify: Inotify,
    pub set: WatchSet,
    target: Target,
    ignore: Ignore,
    tx: Sender<Msg>,
    last: Option<(EventKind, Vec<u8>)>,
    pending_moves: HashMap<u32, (Vec<u8>, bool)>,
    out: Vec<Event>,
    /// When the events being read were first seen: the wake-up before the
    /// batch pause, so that attribution to commands is not thrown off by
    /// the pause (inotify itself carries no times).
    woke_ns: Option<i64>,
    stamp_ns: i64,
    /// The time given to the last event sent.
    last_ns: i64,
    /// Test hook: sleep this long before each read, to force an overflow.
    stall: Option<Duration>,
    /// The session's roots, to tell a root's own removal or move.
    roots: Vec<Vec<u8>>,
    /// Pending roots and the ancestor each one waits below.
    pending: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Watcher {
    pub fn new(target: Target, ignore: Ignore, tx: Sender<Msg>) -> std::io::Result<Watcher> {
        let inotify = Inotify::init()?;
        let set = WatchSet {
            watches: inotify.watches(),
            map: Arc::new(Mutex::new(HashMap::new())),
            limit_hit: Arc::new(AtomicBool::new(false)),
            count: Arc::new(AtomicUsize::new(0)),
            lock_only: Arc::new(Mutex::new(Vec::new())),
        };
        let stall = std::env::var("CFT_TEST_STALL_READER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis);
        Ok(Watcher {
            inotify,
            set,
            target,
            ignore,
            tx,
            last: None,
            pending_moves: HashMap::new(),
            out: Vec::new(),
            woke_ns: None,
            stamp_ns: 0,
            last_ns: 0,
            stall,
            roots: Vec::new(),
            pending: BTreeMap::new(),
        })
    }

    /// The session's roots, and those of them that are not there yet (to
    /// wait for from the start of `run`).
    pub fn with_roots(mut self, roots: &[Vec<u8>], pending: &[Vec<u8>]) -> Watcher {
        self.roots = roots.to_vec();
        for p in pending {
            self.pending.insert(p.clone(), Vec::new());
        }
        self
    }

    /// The ancestors that pending roots wait below.
    fn pending_dirs(&self) -> BTreeSet<&[u8]> {
        self.pending.values().map(Vec::as_slice).collect()
    }

    /// Wait for `root` to appear below its nearest existing ancestor, or,
    /// if it is there now, watch and read it. The ancestor's watch goes on
    /// first and the root is looked for afterwards, so a root made in
    /// between is not missed.
    fn arm(&mut self, root: &[u8]) {
        for _ in 0..64 {
            match root_state(&self.target, root) {
                RootState::Present => {
                    self.pending.remove(root);
                    self.send(EventKind::Created, root.to_vec(), None, EventSource::Rescan);
                    self.add_tree(root);
                    return;
                }
                RootState::Blocked { at, what } => {
                    self.pending.remove(root);
                    if at == root {
                        // The root appeared as a link or a file: that is the
                        // change (reconciliation records the entry itself).
                        self.send(EventKind::Created, root.to_vec(), None, EventSource::Rescan);
                    } else {
                        tracing::warn!(
                            "{} is not watched: {} is {what}",
                            crate::model::display_path(root),
                            crate::model::display_path(&at)
                        );
                    }
                    return;
                }
                RootState::Pending { ancestor } => {
                    if self.pending.get(root) == Some(&ancestor) {
                        return;
                    }
                    let host = self.target.host_path(&ancestor);
                    self.set.add_pending(&host, &ancestor, &self.tx);
                    self.pending.insert(root.to_vec(), ancestor.clone());
                    // Looked at again now that the watch is on.
                    if root_state(&self.target, root) == (RootState::Pending { ancestor }) {
                        return;
                    }
                }
            }
        }
    }

    /// A name appeared in a directory pending roots wait below.
    fn pending_child(&mut self, dir: &[u8], name: &[u8]) {
        let child = join(dir, name);
        let roots: Vec<Vec<u8>> = self
            .pending
            .iter()
            .filter(|(r, a)| a.as_slice() == dir && is_within(r, &child))
            .map(|(r, _)| r.clone())
            .collect();
        for r in roots {
            self.arm(&r);
        }
    }

    /// Roots waiting below `dir`, whose watch is gone: wait further up.
    fn rearm_below(&mut self, dir: &[u8]) {
        let roots: Vec<Vec<u8>> = self
            .pending
            .iter()
            .filter(|(_, a)| a.as_slice() == dir)
            .map(|(r, _)| r.clone())
            .collect();
        for r in roots {
            self.pending.insert(r.clone(), Vec::new());
            self.arm(&r);
        }
    }

    /// Read events until `stop` becomes readable, then drain what the kernel
    /// still holds and return.
    pub fn run(mut self, stop: BorrowedFd<'_>) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut buf = vec![0u8; 256 * 1024];
        self.stamp_ns = now_ns();
        let pending: Vec<Vec<u8>> = self.pending.keys().cloned().collect();
        for root in pending {
            self.arm(&root);
        }
        self.flush_out();
        loop {
            let (ready_events, ready_stop) = {
                let ino = self.inotify.as_fd();
                let mut fds = [
                    PollFd::new(ino, PollFlags::POLLIN),
                    PollFd::new(stop, PollFlags::POLLIN),
                ];
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        tracing::error!("poll failed: {e}");
                        let _ = self
                            .tx
                            .send(Msg::Rescan(format!("watcher poll failed: {e}")));
                        return;
                    }
                }
                let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
                (ready(&fds[0]), ready(&fds[1]))
            };
            if ready_events {
                self.woke_ns = Some(now_ns());
                // A short pause lets a burst (a package install, a storm of
                // files) arrive as one read: far fewer wake-ups for the
                // process doing the work. 2 ms of a 16384-event queue is
                // 8 million events a second.
                std::thread::sleep(self.stall.unwrap_or(BATCH_PAUSE));
                self.drain(&mut buf);
            }
            if ready_stop {
                // Whatever the admin did before `finish` is already queued.
                self.drain(&mut buf);
                return;
            }
        }
    }

    fn drain(&mut self, buf: &mut [u8]) {
        loop {
            self.stamp_ns = self.woke_ns.take().unwrap_or_else(now_ns);
            let events: Vec<(WatchDescriptor, inotify::EventMask, u32, Option<Vec<u8>>)> =
                match self.inotify.read_events(buf) {
                    Ok(evs) => evs
                        .map(|e| {
                            (
                                e.wd,
                                e.mask,
                                e.cookie,
                                e.name.map(|n| n.as_bytes().to_vec()),
                            )
                        })
                        .collect(),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::error!("reading inotify events failed: {e}");
                        let _ = self
                            .tx
                            .send(Msg::Rescan(format!("reading inotify events failed: {e}")));
                        break;
                    }
                };
            if events.is_empty() {
                break;
            }
            for (wd, mask, cookie, name) in events {
                self.handle(wd, mask, cookie, name);
            }
        }
        // A move whose other half never came left (or entered) the tree.
        let pending: Vec<(Vec<u8>, bool)> = self.pending_moves.drain().map(|(_, v)| v).collect();
        for (from, is_dir) in pending {
            if is_dir {
                self.set.drop_prefix(&from);
            }
            self.send(EventKind::Removed, from, None, EventSource::Watcher);
        }
        self.flush_out();
    }

    fn handle(
        &mut self,
        wd: WatchDescriptor,
        mask: inotify::EventMask,
        cookie: u32,
        name: Option<Vec<u8>>,
    ) {
        let t = translate(mask, cookie);
        if t == Translated::Overflow {
            self.flush_out();
            tracing::warn!("inotify queue overflow: events were lost; a full rescan is due");
            let _ = self
                .tx
                .send(Msg::Event(daemon_event(EventKind::Overflow, None)));
            let _ = self.tx.send(Msg::Rescan(
                "the inotify event queue overflowed (fs.inotify.max_queued_events)".into(),
            ));
            return;
        }
        if t == Translated::WatchGone {
            let dir = self.set.dir_of(&wd);
            self.set.forget(&wd);
            if let Some(dir) = dir {
                self.rearm_below(&dir);
            }
            return;
        }
        let Some(dir) = self.set.dir_of(&wd) else {
            return;
        };
        if self.pending_dirs().contains(dir.as_slice()) {
            let appeared = matches!(
                t,
                Translated::Plain {
                    kind: EventKind::Created,
                    ..
                } | Translated::MoveTo { .. }
            );
            if let (true, Some(n)) = (appeared, &name) {
                self.pending_child(&dir, n);
            }
            let tree = self.roots.iter().any(|r| is_within(&dir, r));
            let locks = PACKAGE_LOCKS.iter().any(|(d, _)| d.as_bytes() == dir);
            if !tree && !locks {
                return;
            }
        }
        if let Some((_, names)) = PACKAGE_LOCKS.iter().find(|(d, _)| d.as_bytes() == dir) {
            let is_lock = name
                .as_deref()
                .is_some_and(|n| names.iter().any(|l| l.as_bytes() == n));
            if let (true, Some(kind), Some(n)) = (is_lock, translate_lock(mask), &name) {
                self.send(kind, join(&dir, n), None, EventSource::Watcher);
            }
            if is_lock || self.set.is_lock_only(&dir) {
                return;
            }
        }
        let path = match &name {
            Some(n) if !n.is_empty() => join(&dir, n),
            _ => dir,
        };
        match t {
            Translated::Plain { kind, is_dir } => {
                if self.ignore.is_ignored(&path, is_dir) {
                    return;
                }
                let is_root = name.is_none() && self.roots.contains(&path);
                // Events about a watched directory itself moving are told by
                // its parent's MOVED_FROM/MOVED_TO; a root's parent is not
                // watched, so a root's own move is told here, and its
                // watches, which went with it, are dropped.
                if name.is_none() && mask.contains(inotify::EventMask::MOVE_SELF) {
                    if is_root {
                        self.set.drop_prefix(&path);
                        self.send(EventKind::Removed, path.clone(), None, EventSource::Watcher);
                        self.arm(&path);
                    }
                    return;
                }
                self.send(kind, path.clone(), None, EventSource::Watcher);
                if kind == EventKind::Created && is_dir {
                    self.add_tree(&path);
                }
                if is_root && kind == EventKind::Removed {
                    self.arm(&path);
                }
            }
            Translated::MoveFrom { cookie, is_dir } => {
                self.pending_moves.insert(cookie, (path, is_dir));
            }
            Translated::MoveTo { cookie, is_dir } => {
                if let Some((from, _)) = self.pending_moves.remove(&cookie) {
                    let watched = is_dir && self.set.watches_dir(&from);
                    if watched {
                        self.set.rename_prefix(&from, &path);
                    }
                    if self.ignore.is_ignored(&from, is_dir)
                        && self.ignore.is_ignored(&path, is_dir)
                    {
                        return;
                    }
                    self.send(
                        EventKind::Renamed,
                        from,
                        Some(path.clone()),
                        EventSource::Watcher,
                    );
                    // A directory that was not watched under its old name
                    // (dpkg unpacks `/etc/x.dpkg-new`, an ignored name, then
                    // renames it): watch it now, then read it.
                    if is_dir && !watched {
                        self.add_tree(&path);
                    }
                } else {
                    if self.ignore.is_ignored(&path, is_dir) {
                        return;
                    }
                    self.send(EventKind::Created, path.clone(), None, EventSource::Watcher);
                    if is_dir {
                        self.add_tree(&path);
                    }
                }
            }
            Translated::Overflow | Translated::WatchGone | Translated::Nothing => {}
        }
    }

    /// Watch a new directory and everything below it, recording what it
    /// already holds: the watch goes on first, then the directory is read.
    fn add_tree(&mut self, dir: &[u8]) {
        let mut stack = vec![dir.to_vec()];
        while let Some(d) = stack.pop() {
            let host = self.target.host_path(&d);
            self.set.add(&host, &d, &self.tx);
            let Ok(rd) = std::fs::read_dir(&host) else {
                continue;
            };
            let mut children: Vec<(Vec<u8>, bool)> = rd
                .flatten()
                .map(|de| {
                    let is_dir = de.file_type().map(|t| t.is_dir()).unwrap_or(false);
                    (join(&d, de.file_name().as_bytes()), is_dir)
                })
                .collect();
            children.sort();
            for (child, is_dir) in children {
                if self.ignore.is_ignored_here(&child, is_dir) {
                    continue;
                }
                self.send(EventKind::Created, child.clone(), None, EventSource::Rescan);
                if is_dir {
                    stack.push(child);
                }
            }
        }
    }

    fn send(&mut self, kind: EventKind, path: Vec<u8>, to: Option<Vec<u8>>, source: EventSource) {
        // `echo x > f` is CREATE, MODIFY, CLOSE_WRITE: one hint is enough.
        if to.is_none() {
            if let Some((lk, lp)) = &self.last {
                if *lp == path
                    && (*lk == kind || (*lk == EventKind::Created && kind == EventKind::Modified))
                {
                    return;
                }
            }
            self.last = Some((kind, path.clone()));
        } else {
            self.last = None;
        }
        // Strictly increasing within a batch: queue order is the order
        // things happened (a file written after dpkg let go of its lock
        // must not share the lock's time).
        let time_ns = self.stamp_ns.max(self.last_ns.saturating_add(1));
        self.last_ns = time_ns;
        self.out.push(Event {
            time_ns,
            kind,
            path: Some(path),
            path_to: to,
            source,
        });
    }

    /// Hand the batch to the writer: one message per read, not per event.
    fn flush_out(&mut self) {
        if !self.out.is_empty() {
            let _ = self.tx.send(Msg::Events(std::mem::take(&mut self.out)));
        }
    }
}
