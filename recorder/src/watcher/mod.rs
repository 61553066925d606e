//! The inotify watcher: one reader thread owns the inotify fd and carries
//! out what the dispatcher decides. Watches are added from the baseline
//! walk and from the reader itself (new directories). Events go to a
//! writer thread over an unbounded channel, so the reader never waits on
//! SQLite.
//!
//! - `dispatch`: the decisions, pure (renames by cookie, the package
//!   locks, the ignore rules, pending roots, overflow, the dedup), tested
//!   without the kernel;
//! - `watches`: the watch descriptor -> directory map and the shared
//!   handle that adds and removes watches (and reports the watch limit);
//! - `root`: where a root stands (`root_state`, the only look at a root's
//!   components);
//! - here: the reader thread, which reads raw events, asks the dispatcher,
//!   and does the I/O it asks for (adding watches, reading directories,
//!   looking at roots), stamping and batching the hints it sends.
//!
//! A new directory gets its watch first and is read afterwards, and what it
//! already holds is recorded (`mkdir -p a/b/c && echo x > a/b/c/f` is not
//! lost). A queue overflow becomes an event and a rescan mark: never
//! "carry on". A root that does not exist yet (`/var/www` before nginx is
//! installed) is *pending*: its nearest existing ancestor gets a narrow
//! watch until the root appears, and then the root is watched and read
//! like any new directory; a root deleted or moved away during the session
//! becomes pending again.

mod dispatch;
mod root;
mod watches;

pub use root::{root_state, RootState};
pub use watches::WatchSet;

use crate::clock::now_ns;
use crate::ignore_rules::Ignore;
use crate::model::{Event, EventKind, EventSource};
use crate::target::Target;
use dispatch::{Action, Armed, Dispatcher, Hint, Raw};
use inotify::{Inotify, WatchDescriptor};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// What the reader sends to the writer.
#[derive(Debug)]
pub enum Msg {
    Event(Event),
    Events(Vec<Event>),
    /// The next finish must rescan everything, for this reason.
    Rescan(String),
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

/// How often one `Action::Arm` looks at a root: 64 ancestors watched in
/// turn as the root's components appear, and the last look.
const ARM_LOOKS: usize = 65;

/// Owns the inotify instance; `run` is the reader thread's body.
pub struct Watcher {
    // Dropped first (fields drop in order): the writer hears the reader is
    // done at once, and commits the clean stop while the kernel tears the
    // watches down as `inotify` closes (tens of ms with many watches).
    tx: Sender<Msg>,
    inotify: Inotify,
    pub set: WatchSet,
    target: Target,
    dispatch: Dispatcher,
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
}

impl Watcher {
    /// `roots` are the session's roots (to tell a root's own removal or
    /// move), `pending` those of them that are not there yet (waited for
    /// from the start of `run`).
    pub fn new(
        target: Target,
        ignore: Ignore,
        tx: Sender<Msg>,
        roots: &[Vec<u8>],
        pending: &[Vec<u8>],
    ) -> std::io::Result<Watcher> {
        let inotify = Inotify::init()?;
        let set = WatchSet::new(inotify.watches());
        let stall = std::env::var("CFT_TEST_STALL_READER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_millis);
        Ok(Watcher {
            inotify,
            set,
            target,
            tx,
            dispatch: Dispatcher::new(ignore, roots, pending),
            out: Vec::new(),
            woke_ns: None,
            stamp_ns: 0,
            last_ns: 0,
            stall,
        })
    }

    /// Read events until `stop` becomes readable, then drain what the kernel
    /// still holds and return.
    pub fn run(mut self, stop: BorrowedFd<'_>) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut buf = vec![0u8; 256 * 1024];
        self.stamp_ns = now_ns();
        let start = self.dispatch.start();
        self.carry_out(start);
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
            let events: Vec<Raw<WatchDescriptor>> = match self.inotify.read_events(buf) {
                Ok(evs) => evs
                    .map(|e| Raw {
                        wd: e.wd,
                        mask: e.mask,
                        cookie: e.cookie,
                        name: e.name.map(|n| n.as_bytes().to_vec()),
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
            for raw in events {
                // The map is held while the dispatcher decides, not while
                // its actions are carried out (they add watches).
                let actions = {
                    let map = self.set.map();
                    self.dispatch.event(&map, raw)
                };
                self.carry_out(actions);
            }
        }
        let leftover = self.dispatch.end_of_batch();
        self.carry_out(leftover);
        self.flush_out();
    }

    /// Carry out the dispatcher's actions in order; what an action leads to
    /// (a new directory's entries and subdirectories) comes before the
    /// actions after it.
    fn carry_out(&mut self, actions: Vec<Action<WatchDescriptor>>) {
        let mut work: Vec<Action<WatchDescriptor>> = actions;
        work.reverse();
        while let Some(action) = work.pop() {
            let then = self.perform(action);
            work.extend(then.into_iter().rev());
        }
    }

    fn perform(&mut self, action: Action<WatchDescriptor>) -> Vec<Action<WatchDescriptor>> {
        match action {
            Action::Emit(hint) => self.send(hint),
            Action::WatchTree(dir) => return self.watch_and_read(&dir),
            Action::Arm(root) => self.arm(&root),
            Action::MoveWatches { from, to } => self.set.rename_prefix(&from, &to),
            Action::DropWatches(dir) => self.set.drop_prefix(&dir),
            Action::Forget(wd) => self.set.forget(&wd),
            Action::Rescan { event, reason } => {
                // What was seen before the loss goes first.
                self.flush_out();
                tracing::warn!("{reason}: a full rescan is due");
                if let Some(event) = event {
                    let _ = self.tx.send(Msg::Event(daemon_event(event, None)));
                }
                let _ = self.tx.send(Msg::Rescan(reason));
            }
            Action::Warn(message) => tracing::warn!("{message}"),
        }
        Vec::new()
    }

    /// A new directory: the watch goes on first, then it is read, and the
    /// dispatcher says what to record of it and what to read next.
    fn watch_and_read(&mut self, dir: &[u8]) -> Vec<Action<WatchDescriptor>> {
        // Opened beneath the root, following no link: a directory that is
        // a link by now is neither watched nor read.
        let Ok(fd) = self.target.root().and_then(|r| r.open_dir(dir)) else {
            return Vec::new();
        };
        let host = self.target.host_path(dir);
        self.set.add_open(fd.as_fd(), &host, dir, &self.tx);
        let listed = crate::beneath::open_at(fd.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY)
            .and_then(crate::beneath::read_dir);
        let Ok(names) = listed else {
            return Vec::new();
        };
        let entries: Vec<(Vec<u8>, bool)> = names
            .into_iter()
            .map(|name| {
                let is_dir = crate::beneath::stat_at(fd.as_fd(), &name).is_ok_and(|st| st.is_dir());
                (name, is_dir)
            })
            .collect();
        self.dispatch.listed(dir, entries)
    }

    /// Wait for `root` to appear below its nearest existing ancestor, or,
    /// if it is there now, watch and read it. The ancestor's watch goes on
    /// first and the root is looked at again afterwards, so a root made in
    /// between is not missed.
    fn arm(&mut self, root: &[u8]) {
        for _ in 0..ARM_LOOKS {
            match self.dispatch.arm(root, root_state(&self.target, root)) {
                Armed::Done(actions) => {
                    self.carry_out(actions);
                    return;
                }
                Armed::WatchAncestor(dir) => {
                    let host = self.target.host_path(&dir);
                    self.set.add_pending(&host, &dir, &self.tx);
                }
            }
        }
    }

    fn send(&mut self, hint: Hint) {
        if !self.dispatch.admit(&hint) {
            return;
        }
        // Strictly increasing within a batch: queue order is the order
        // things happened (a file written after dpkg let go of its lock
        // must not share the lock's time).
        let time_ns = self.stamp_ns.max(self.last_ns.saturating_add(1));
        self.last_ns = time_ns;
        self.out.push(Event {
            time_ns,
            kind: hint.kind,
            path: Some(hint.path),
            path_to: hint.to,
            source: hint.source,
        });
    }

    /// Hand the batch to the writer: one message per read, not per event.
    fn flush_out(&mut self) {
        if !self.out.is_empty() {
            let _ = self.tx.send(Msg::Events(std::mem::take(&mut self.out)));
        }
    }
}
