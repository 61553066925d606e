//! Getting the daemon ready, one named step after another (`start` reads
//! in order): open the session, block the stop signals, sort the roots,
//! open the watcher and spawn the writer and the reader, register the
//! daemon, take the baseline (or sweep a resumed session's gap), probe the
//! system, watch the package locks, store the notices, and say what is
//! ready. Each step is the code it always was; only its name is new.

use super::writer::{record_stop, write_events};
use super::{Invocation, Ready};
use crate::error::{Error, Result};
use crate::ignore_rules::Ignore;
use crate::model::{display_path, Content, EventKind, Notice, NoticeKind, Session, SessionState};
use crate::progress::Progress;
use crate::snapshot::{Scanned, Scanner};
use crate::store::pack::PackWriter;
use crate::store::{Phase, Snapshot, Store};
use crate::target::Target;
use crate::watcher::{daemon_event, root_state, Msg, RootState, WatchSet, Watcher};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

/// Baseline entries are stored in batches of this many, or of this many
/// content bytes, whichever comes first. With the batches in flight
/// (`IN_FLIGHT` queued, one being read, one being stored) this bounds
/// what the walk holds: contents over `IN_MEMORY` are never held.
const BATCH: usize = 2048;
const BATCH_BYTES: usize = 4 << 20;
const IN_FLIGHT: usize = 2;

/// A daemon that is ready: what to tell `begin`, the threads to wait for,
/// and the baseline pack still to sync.
pub(super) struct Started {
    pub ready: Ready,
    pub threads: Threads,
    pub pack: Option<PackWriter>,
}

pub(super) struct Threads {
    session: i64,
    writer: std::thread::JoinHandle<Result<Store>>,
    _reader: std::thread::JoinHandle<()>,
    /// What the capture thread needs, until it starts.
    capture: Option<(std::path::PathBuf, Session, Receiver<Vec<u8>>)>,
    capturing: Option<(std::thread::JoinHandle<Result<()>>, Arc<AtomicBool>)>,
}

impl Threads {
    /// Start capturing what is written: once the baseline's pack is
    /// complete, since the capture appends to it.
    pub fn start_capture(&mut self) {
        let Some((db, session, rx)) = self.capture.take() else {
            return;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("cft-capture".into())
            .spawn(move || super::capture::capture(db, session, rx, flag));
        match spawned {
            Ok(handle) => self.capturing = Some((handle, stop)),
            Err(e) => tracing::warn!("not capturing during the session: {e}"),
        }
    }

    /// Until the writer is done: the reader stopped and every event is
    /// stored. The capture then stops where it is, and the clean stop is
    /// committed after both: nothing of this daemon is written after it.
    pub fn wait(self) -> Result<()> {
        let written = self
            .writer
            .join()
            .map_err(|_| Error::Daemon("the event writer thread panicked".into()))?;
        if let Some((handle, stop)) = self.capturing {
            stop.store(true, Ordering::Relaxed);
            match handle.join() {
                Ok(Err(e)) => tracing::warn!("capturing during the session stopped: {e}"),
                Err(_) => tracing::warn!("the capture thread panicked"),
                Ok(Ok(())) => {}
            }
        }
        record_stop(&mut written?, self.session)
    }
}

/// The baseline's walks report to `progress`.
pub(super) fn start(inv: &Invocation, progress: &dyn Progress) -> Result<Started> {
    let (store, session) = open_recording_session(inv)?;
    let stop = block_stop_signals()?;
    let (mut daemon, rx) = Startup::new(store, session)?;
    let roots = daemon.sort_roots();
    let watcher = daemon.open_watcher(&roots)?;
    let set = watcher.set.clone();
    let threads = daemon.spawn_threads(&inv.db, rx, watcher, stop)?;
    daemon.register()?;
    let recorded = if inv.resume {
        daemon.sweep_gap(&set, &roots.present, progress)?
    } else {
        let recorded = daemon.take_baseline(&set, &roots.present, progress)?;
        daemon.probe_system()?;
        recorded
    };
    daemon.watch_package_locks(&set);
    let unreadable = daemon.store_notices(recorded.gap)?;
    // Committed before `begin` hears of it: a session without it whose
    // processes are gone is a failed begin's leftover.
    daemon.store.set_ready(daemon.session.id)?;
    let ready = daemon.announce(&set, &roots, &recorded, unreadable);
    Ok(Started {
        ready,
        threads,
        pack: recorded.pack,
    })
}

/// The session, which must be recording.
fn open_recording_session(inv: &Invocation) -> Result<(Store, Session)> {
    let store = Store::open_existing(&inv.db)?;
    let session = store.session(&inv.session)?;
    if session.state != SessionState::Recording {
        return Err(Error::WrongState {
            name: session.name,
            state: session.state.as_str().into(),
            expected: "recording".into(),
        });
    }
    Ok((store, session))
}

/// Block the stop signals before any thread exists, so only the reader's
/// signalfd sees them.
fn block_stop_signals() -> Result<SignalFd> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block()
        .map_err(|e| Error::Daemon(format!("blocking signals: {e}")))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::Daemon(format!("signalfd: {e}")))
}

/// The session's roots, sorted by where they stand at the start.
struct Roots {
    /// There: watched and walked now.
    present: Vec<Vec<u8>>,
    /// Not there yet: waited for.
    pending: Vec<Vec<u8>>,
}

/// What the baseline or the gap sweep recorded.
struct Recorded {
    entries: u64,
    gap: usize,
    pack: Option<PackWriter>,
}

/// The main thread's state while it gets the daemon ready.
struct Startup {
    store: Store,
    session: Session,
    target: Target,
    ignore: Ignore,
    /// To the writer; dropped when ready, so the writer ends with the
    /// reader.
    tx: Sender<Msg>,
    notices: Vec<Notice>,
}

impl Startup {
    fn new(store: Store, session: Session) -> Result<(Startup, Receiver<Msg>)> {
        let target = Target::new(&session.root);
        let ignore = Ignore::new(&session.ignore_patterns)?;
        let (tx, rx) = mpsc::channel::<Msg>();
        let startup = Startup {
            store,
            session,
            target,
            ignore,
            tx,
            notices: Vec::new(),
        };
        Ok((startup, rx))
    }

    /// Roots that are not there yet are waited for; a root behind a symlink
    /// or a file is not watched at all, and begin says so.
    fn sort_roots(&mut self) -> Roots {
        let mut roots = Roots {
            present: Vec::new(),
            pending: Vec::new(),
        };
        for root in &self.session.watched {
            match root_state(&self.target, root) {
                RootState::Present => roots.present.push(root.clone()),
                RootState::Pending { .. } => roots.pending.push(root.clone()),
                RootState::Blocked { at, what } => self.notices.push(Notice {
                    path: Some(root.clone()),
                    kind: NoticeKind::Other,
                    message: format!("not watched: {} is {what}", display_path(&at)),
                }),
            }
        }
        roots
    }

    fn open_watcher(&self, roots: &Roots) -> Result<Watcher> {
        Watcher::new(
            self.target.clone(),
            self.ignore.clone(),
            self.tx.clone(),
            &self.session.watched,
            &roots.pending,
        )
        .map_err(|e| Error::Daemon(format!("inotify_init: {e}")))
    }

    /// The writer (its own store connection) and the reader (the inotify
    /// fd, stopped by the signalfd).
    fn spawn_threads(
        &self,
        db: &Path,
        rx: Receiver<Msg>,
        watcher: Watcher,
        stop: SignalFd,
    ) -> Result<Threads> {
        let sid = self.session.id;
        let (capture_tx, capture_rx) = mpsc::sync_channel(super::capture::QUEUE);
        let writer_db = db.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("cft-writer".into())
            .spawn(move || write_events(writer_db, sid, rx, capture_tx))
            .map_err(|e| Error::Daemon(format!("spawning the writer: {e}")))?;
        let reader = std::thread::Builder::new()
            .name("cft-reader".into())
            .spawn(move || watcher.run(stop.as_fd()))
            .map_err(|e| Error::Daemon(format!("spawning the reader: {e}")))?;
        Ok(Threads {
            session: sid,
            writer,
            _reader: reader,
            capture: Some((db.to_path_buf(), self.session.clone(), capture_rx)),
            capturing: None,
        })
    }

    /// The session's daemon is this process (PID and start time, so that a
    /// recycled PID is not taken for it).
    fn register(&self) -> Result<()> {
        let pid = std::process::id() as i32;
        self.store
            .set_daemon(self.session.id, Some(pid), super::process_start(pid))
    }

    /// Walk every present root, watching each directory as it is reached,
    /// and store what it holds as the baseline (contents in the pack).
    fn take_baseline(
        &mut self,
        set: &WatchSet,
        present: &[Vec<u8>],
        progress: &dyn Progress,
    ) -> Result<Recorded> {
        let mut pack = self.store.pack_writer(&self.session)?;
        let mut entries = 0u64;
        for root in present {
            entries += self.baseline_of(set, root, &mut pack, progress)?;
        }
        pack.flush()?;
        Ok(Recorded {
            entries,
            gap: 0,
            pack: Some(pack),
        })
    }

    /// One root's baseline: a walker thread reads, this one stores.
    fn baseline_of(
        &mut self,
        set: &WatchSet,
        root: &[u8],
        pack: &mut PackWriter,
        progress: &dyn Progress,
    ) -> Result<u64> {
        let Startup {
            store,
            session,
            target,
            ignore,
            tx,
            notices,
        } = self;
        let tx: &Sender<Msg> = tx;
        let scanner = Scanner {
            target,
            ignore,
            content_cap: session.content_cap,
            progress,
        };
        let sid = session.id;
        let mut entries = 0u64;
        let (btx, brx) = mpsc::sync_channel::<Vec<Scanned>>(IN_FLIGHT);
        let walk_notices = std::thread::scope(|s| -> Result<Vec<Notice>> {
            let walker = s.spawn(|| {
                let mut notices = Vec::new();
                let mut batch = Vec::with_capacity(BATCH);
                let mut bytes = 0usize;
                // The storer gave up: walk on (the walk has no stop) but
                // keep nothing.
                let mut gone = false;
                scanner.walk(
                    root,
                    &mut notices,
                    |fd, dir| set.add_open(fd, &target.host_path(dir), dir, tx),
                    |sc| {
                        if gone {
                            return;
                        }
                        bytes += sc
                            .content
                            .as_ref()
                            .and_then(Content::bytes)
                            .map_or(0, <[u8]>::len);
                        batch.push(sc);
                        if batch.len() >= BATCH || bytes >= BATCH_BYTES {
                            bytes = 0;
                            let b = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            gone = btx.send(b).is_err();
                        }
                    },
                );
                if !batch.is_empty() && !gone {
                    let _ = btx.send(batch);
                }
                drop(btx);
                notices
            });
            let mut packed_notices = Vec::new();
            let stored = brx.iter().try_for_each(|mut batch| {
                entries += batch.len() as u64;
                // A large content is streamed from its file into the pack
                // here; the walker only hashed it.
                for sc in batch.iter_mut() {
                    if matches!(sc.content, Some(Content::Stream)) {
                        scanner.pack(sc, pack, &mut packed_notices)?;
                    }
                }
                store.insert_entries_packed(sid, Snapshot::Baseline, &batch, pack)
            });
            // A failed write (a full disk) must not leave the walker blocked
            // on a full channel forever: with the receiver gone its sends
            // fail and it stops storing.
            drop(brx);
            let notices = walker
                .join()
                .map_err(|_| Error::Daemon("the baseline walker panicked".into()));
            stored?;
            notices.map(|mut n| {
                n.append(&mut packed_notices);
                n
            })
        })?;
        notices.extend(walk_notices);
        Ok(entries)
    }

    /// Resumed: the baseline stays; the watches are needed again, and what
    /// changed while nothing watched is looked at again at finish.
    fn sweep_gap(
        &mut self,
        set: &WatchSet,
        present: &[Vec<u8>],
        progress: &dyn Progress,
    ) -> Result<Recorded> {
        let mut gap = 0usize;
        for root in present {
            let hints = crate::gap::sweep(
                &self.store,
                &self.session,
                &self.target,
                &self.ignore,
                root,
                |fd, dir| set.add_open(fd, &self.target.host_path(dir), dir, &self.tx),
                progress,
            )?;
            gap += hints.len();
            if !hints.is_empty() {
                let _ = self.tx.send(Msg::Events(hints));
            }
        }
        Ok(Recorded {
            entries: 0,
            gap,
            pack: None,
        })
    }

    /// Packages, accounts and services at begin, for the diff at finish.
    fn probe_system(&mut self) -> Result<()> {
        match crate::probe::snapshot(&self.target) {
            Ok(sys) => self
                .store
                .put_system_snapshot(self.session.id, Snapshot::Baseline, &sys)?,
            Err(e) => self.notices.push(Notice {
                path: None,
                kind: NoticeKind::Other,
                message: format!("packages, accounts and services will not be recorded: {e}"),
            }),
        }
        Ok(())
    }

    /// The package managers' locks: held for exactly one run, they tell which
    /// files maintainer scripts made. Never reconciled as changes.
    fn watch_package_locks(&self, set: &WatchSet) {
        for (dir, _) in crate::event::PACKAGE_LOCKS {
            let host = self.target.host_path(dir.as_bytes());
            if std::fs::symlink_metadata(&host).is_ok_and(|m| m.is_dir()) {
                set.add_locks(&host, dir.as_bytes(), &self.tx);
            }
        }
    }

    /// Store begin's notices, the gap's among them; returns how many paths
    /// could not be read (or roots not watched).
    fn store_notices(&mut self, gap: usize) -> Result<u64> {
        let unreadable = self.notices.len() as u64;
        if gap > 0 {
            self.notices.push(Notice {
                path: None,
                kind: NoticeKind::Other,
                message: format!(
                    "{gap} paths changed while the session was not recording (between its \
                     finish and the resume); they are recorded, made by no recorded command"
                ),
            });
        }
        if !self.notices.is_empty() {
            self.store
                .add_notices(self.session.id, Phase::Begin, &self.notices)?;
        }
        Ok(unreadable)
    }

    /// The timeline's `started`, and the line for `begin`. The main
    /// thread's sender goes with `self`: from here on the writer ends when
    /// the reader does.
    fn announce(
        self,
        set: &WatchSet,
        roots: &Roots,
        recorded: &Recorded,
        unreadable: u64,
    ) -> Ready {
        let _ = self
            .tx
            .send(Msg::Event(daemon_event(EventKind::Started, None)));
        Ready {
            ok: true,
            error: None,
            entries: recorded.entries,
            watches: set.count() as u64,
            notices: unreadable,
            watch_limit: set.limit_hit(),
            gap: recorded.gap as u64,
            pending: roots.pending.iter().map(|p| display_path(p)).collect(),
        }
    }
}
