//! The recorder daemon: started detached by `cft begin`, it watches the
//! session's roots, takes the baseline, tells `begin` it is ready through a
//! pipe, then records events until `finish` sends SIGTERM.
//!
//! Threads: the reader owns the inotify fd (and the signalfd that stops it);
//! the writer owns a store connection and batches events into SQLite; the
//! main thread takes the baseline and then waits for the writer. If the
//! writer cannot write, the daemon exits with an error: `finish` then sees a
//! dead daemon and rescans everything, so nothing is silently lost.

use crate::error::{Error, Result};
use crate::ignore_rules::Ignore;
use crate::model::display_path;
use crate::model::SessionState;
use crate::model::{Event, EventKind};
use crate::snapshot::{Scanned, Scanner};
use crate::store::pack::PackWriter;
use crate::store::{Phase, Snapshot, Store};
use crate::target::Target;
use crate::watcher::{daemon_event, root_state, Msg, RootState, Watcher};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// What the daemon tells `begin` once it is watching (one JSON line).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ready {
    pub ok: bool,
    pub error: Option<String>,
    pub entries: u64,
    pub watches: u64,
    pub notices: u64,
    pub watch_limit: bool,
    /// Roots that do not exist yet: recorded once they appear.
    #[serde(default)]
    pub pending: Vec<String>,
    /// Resumed: paths that changed while the session was not recording.
    #[serde(default)]
    pub gap: u64,
}

pub struct DaemonArgs {
    pub db: PathBuf,
    pub session: String,
    /// Continue a finished session: watch again, keep the baseline.
    pub resume: bool,
    /// Where to write the `Ready` line (the write end of begin's pipe).
    pub ready: Option<std::fs::File>,
}

/// The daemon's body. Returns when stopped (SIGTERM/SIGINT) or on failure.
pub fn run(mut args: DaemonArgs) -> Result<()> {
    let ready = args.ready.take();
    match start(&args) {
        Ok((ready_msg, handles, pack)) => {
            send_ready(ready, &ready_msg);
            // The baseline's contents reach the disk after `begin` returned:
            // flushing 400 MB is not worth making the admin wait for.
            if let Some(pack) = pack {
                if let Err(e) = pack.finish(true) {
                    tracing::error!("syncing the baseline pack: {e}");
                }
            }
            handles.wait()
        }
        Err(e) => {
            send_ready(
                ready,
                &Ready {
                    ok: false,
                    error: Some(e.to_string()),
                    ..Ready::default()
                },
            );
            Err(e)
        }
    }
}

fn send_ready(f: Option<std::fs::File>, r: &Ready) {
    if let Some(mut f) = f {
        let line = serde_json::to_string(r).unwrap_or_default();
        let _ = writeln!(f, "{line}");
    }
}

struct Handles {
    writer: std::thread::JoinHandle<Result<()>>,
    _reader: std::thread::JoinHandle<()>,
}

impl Handles {
    fn wait(self) -> Result<()> {
        self.writer
            .join()
            .map_err(|_| Error::Daemon("the event writer thread panicked".into()))?
    }
}

fn start(args: &DaemonArgs) -> Result<(Ready, Handles, Option<PackWriter>)> {
    let store = Store::open_existing(&args.db)?;
    let session = store.session(&args.session)?;
    if session.state != SessionState::Recording {
        return Err(Error::WrongState {
            name: session.name,
            state: session.state.as_str().into(),
            expected: "recording".into(),
        });
    }
    // Block the stop signals before any thread exists, so only the
    // reader's signalfd sees them.
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block()
        .map_err(|e| Error::Daemon(format!("blocking signals: {e}")))?;
    let sigfd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| Error::Daemon(format!("signalfd: {e}")))?;

    let target = Target::new(&session.root);
    let ignore = Ignore::new(&session.ignore_patterns)?;
    let (tx, rx) = mpsc::channel::<Msg>();
    // Roots that are not there yet are waited for; a root behind a symlink
    // or a file is not watched at all, and begin says so.
    let mut notices = Vec::new();
    let mut present = Vec::new();
    let mut pending = Vec::new();
    for root in &session.watched {
        match root_state(&target, root) {
            RootState::Present => present.push(root.clone()),
            RootState::Pending { .. } => pending.push(root.clone()),
            RootState::Blocked { at, what } => notices.push(Notice {
                path: Some(root.clone()),
                kind: crate::model::NoticeKind::Other,
                message: format!("not watched: {} is {what}", display_path(&at)),
            }),
        }
    }
    let watcher = Watcher::new(
        target.clone(),
        ignore.clone(),
        tx.clone(),
        &session.watched,
        &pending,
    )
    .map_err(|e| Error::Daemon(format!("inotify_init: {e}")))?;
    let set = watcher.set.clone();

    let db = args.db.clone();
    let sid = session.id;
    let writer = std::thread::Builder::new()
        .name("cft-writer".into())
        .spawn(move || write_events(db, sid, rx))
        .map_err(|e| Error::Daemon(format!("spawning the writer: {e}")))?;
    let reader = std::thread::Builder::new()
        .name("cft-reader".into())
        .spawn(move || watcher.run(sigfd.as_fd()))
        .map_err(|e| Error::Daemon(format!("spawning the reader: {e}")))?;

    let pid = std::process::id() as i32;
    store.set_daemon(sid, Some(pid), process_start(pid))?;

    let mut store = store;
    let scanner = Scanner {
        target: &target,
        ignore: &ignore,
        content_cap: session.content_cap,
    };
    let mut entries = 0u64;
    let mut pack = if args.resume {
        None
    } else {
        Some(store.pack_writer(&session)?)
    };
    let mut gap = 0usize;
    for root in &present {
        if args.resume {
            // The baseline stays; the watches are needed again, and what
            // changed while nothing watched is looked at again at finish.
            let hints =
                crate::gap::sweep(&store, &session, &target, &ignore, root, |host, dir| {
                    set.add(host, dir, &tx)
                })?;
            gap += hints.len();
            if !hints.is_empty() {
                let _ = tx.send(Msg::Events(hints));
            }
            continue;
        }
        let (btx, brx) = mpsc::sync_channel::<Vec<Scanned>>(4);
        let walk_notices = std::thread::scope(|s| -> Result<Vec<Notice>> {
            let walker = s.spawn(|| {
                let mut notices = Vec::new();
                let mut batch = Vec::with_capacity(BATCH);
                let mut bytes = 0usize;
                scanner.walk(
                    root,
                    &mut notices,
                    |host, dir| set.add(host, dir, &tx),
                    |sc| {
                        bytes += sc.content.as_ref().map_or(0, Vec::len);
                        batch.push(sc);
                        if batch.len() >= BATCH || bytes >= BATCH_BYTES {
                            bytes = 0;
                            let _ =
                                btx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                        }
                    },
                );
                if !batch.is_empty() {
                    let _ = btx.send(batch);
                }
                drop(btx);
                notices
            });
            for batch in brx.iter() {
                entries += batch.len() as u64;
                match pack.as_mut() {
                    Some(p) => store.insert_entries_packed(sid, Snapshot::Baseline, &batch, p)?,
                    None => store.insert_entries(sid, Snapshot::Baseline, &batch)?,
                }
            }
            walker
                .join()
                .map_err(|_| Error::Daemon("the baseline walker panicked".into()))
        })?;
        notices.extend(walk_notices);
    }
    if let Some(p) = pack.as_mut() {
        p.flush()?;
    }
    if !args.resume {
        // Packages, accounts and services at begin, for the diff at finish.
        match crate::probe::snapshot(&target) {
            Ok(sys) => store.put_system_snapshot(sid, Snapshot::Baseline, &sys)?,
            Err(e) => notices.push(Notice {
                path: None,
                kind: crate::model::NoticeKind::Other,
                message: format!("packages, accounts and services will not be recorded: {e}"),
            }),
        }
    }
    // The package managers' locks: held for exactly one run, they tell which
    // files maintainer scripts made. Never reconciled as changes.
    for (dir, _) in crate::event::PACKAGE_LOCKS {
        let host = target.host_path(dir.as_bytes());
        if std::fs::symlink_metadata(&host).is_ok_and(|m| m.is_dir()) {
            set.add_locks(&host, dir.as_bytes(), &tx);
        }
    }
    let unreadable = notices.len() as u64;
    if gap > 0 {
        notices.push(Notice {
            path: None,
            kind: crate::model::NoticeKind::Other,
            message: format!(
                "{gap} paths changed while the session was not recording (between its finish \
                 and the resume); they are recorded, made by no recorded command"
            ),
        });
    }
    if !notices.is_empty() {
        store.add_notices(sid, Phase::Begin, &notices)?;
    }
    let _ = tx.send(Msg::Event(daemon_event(EventKind::Started, None)));
    drop(tx);
    let ready = Ready {
        ok: true,
        error: None,
        entries,
        watches: set.count() as u64,
        notices: unreadable,
        watch_limit: set.limit_hit(),
        gap: gap as u64,
        pending: pending.iter().map(|p| display_path(p)).collect(),
    };
    Ok((
        ready,
        Handles {
            writer,
            _reader: reader,
        },
        pack,
    ))
}

use crate::model::Notice;

const BATCH: usize = 2048;
const BATCH_BYTES: usize = 32 << 20;

/// The writer thread: batch events into the store. Ends when every sender
/// is gone (the reader stopped), after a final flush.
fn write_events(db: PathBuf, session: i64, rx: Receiver<Msg>) -> Result<()> {
    let mut store = Store::open_existing(&db)?;
    let mut pending: Vec<Event> = Vec::new();
    let mut since: Option<Instant> = None;
    let flush = |store: &mut Store, pending: &mut Vec<Event>| -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        // One retry: a long baseline transaction can outlast busy_timeout.
        if let Err(e) = store.record_events(session, pending) {
            tracing::warn!("writing events failed, retrying: {e}");
            std::thread::sleep(Duration::from_secs(1));
            store.record_events(session, pending)?;
        }
        pending.clear();
        Ok(())
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Event(ev)) => {
                pending.push(ev);
                since.get_or_insert_with(Instant::now);
                if pending.len() >= 4096 {
                    flush(&mut store, &mut pending)?;
                    since = None;
                }
            }
            Ok(Msg::Events(evs)) => {
                pending.extend(evs);
                since.get_or_insert_with(Instant::now);
                if pending.len() >= 4096 {
                    flush(&mut store, &mut pending)?;
                    since = None;
                }
            }
            Ok(Msg::Rescan(reason)) => {
                flush(&mut store, &mut pending)?;
                store.mark_rescan(session, &reason)?;
                since = None;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                pending.push(daemon_event(EventKind::Stopped, None));
                flush(&mut store, &mut pending)?;
                return Ok(());
            }
        }
        if since.is_some_and(|t| t.elapsed() >= Duration::from_millis(200)) {
            flush(&mut store, &mut pending)?;
            since = None;
        }
    }
}

/// Start time of a process in clock ticks since boot (`/proc/PID/stat`
/// field 22): with the PID it identifies a process even after PID reuse.
pub fn process_start(pid: i32) -> Option<u64> {
    let (state, start) = proc_stat(pid)?;
    (state != 'Z' && state != 'X').then_some(start)
}

fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Is the daemon with this PID and start time still running?
pub fn is_alive(pid: Option<i32>, start: Option<u64>) -> bool {
    match (pid, start) {
        (Some(pid), Some(start)) => process_start(pid) == Some(start),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_start_identifies_this_process() {
        let me = std::process::id() as i32;
        let start = process_start(me).expect("own stat");
        assert!(is_alive(Some(me), Some(start)));
        assert!(
            !is_alive(Some(me), Some(start + 1)),
            "a recycled PID is not alive"
        );
        assert!(!is_alive(None, None));
    }
}
