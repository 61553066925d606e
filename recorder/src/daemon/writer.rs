//! The writer thread: it owns its own store connection and batches the
//! reader's events into SQLite (a batch at 4096 events or after 200 ms),
//! and records a rescan mark as soon as it is asked for one. It ends when
//! every sender is gone (the reader stopped), after a final flush; if it
//! cannot write, the daemon exits with the error and `finish` rescans.

use crate::error::Result;
use crate::model::{Event, EventKind};
use crate::store::Store;
use crate::watcher::{daemon_event, Msg};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// The writer thread's body. Once stored, the paths of what was written
/// go to the capture thread (`capture`), as far as its queue has room.
pub(super) fn write_events(
    db: PathBuf,
    session: i64,
    rx: Receiver<Msg>,
    capture: SyncSender<Vec<u8>>,
) -> Result<()> {
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
        // Each path once per batch (a new file is created, then written).
        let written: std::collections::BTreeSet<Vec<u8>> = pending
            .drain(..)
            .filter_map(|ev| match ev.kind {
                EventKind::Created | EventKind::Modified => ev.path,
                EventKind::Renamed => ev.path_to,
                _ => None,
            })
            .collect();
        for p in written {
            // Full or gone: finish reads it, as it would have anyway.
            let _ = capture.try_send(p);
        }
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
