//! The writer thread: it owns its own store connection and batches the
//! reader's events into SQLite (a batch at 4096 events or after 200 ms),
//! and records a rescan mark as soon as it is asked for one. It ends when
//! every sender is gone (the reader stopped), after a final flush, and
//! hands its connection back for the daemon's clean stop (`record_stop`);
//! if it cannot write, the daemon exits with the error and `finish`
//! rescans.

use crate::error::Result;
use crate::model::{Event, EventKind};
use crate::store::Store;
use crate::watcher::{daemon_event, Msg};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

/// Store `events`, with one retry: a long baseline transaction can
/// outlast busy_timeout.
fn record(store: &mut Store, session: i64, events: &[Event]) -> Result<()> {
    if let Err(e) = store.record_events(session, events) {
        tracing::warn!("writing events failed, retrying: {e}");
        std::thread::sleep(Duration::from_secs(1));
        store.record_events(session, events)?;
    }
    Ok(())
}

/// The daemon's clean stop, the last thing it commits: once every other
/// thread that writes is done. `finish` takes it as the end of the
/// recording.
pub(super) fn record_stop(store: &mut Store, session: i64) -> Result<()> {
    record(store, session, &[daemon_event(EventKind::Stopped, None)])
}

/// The writer thread's body. Once stored, the paths of what was written
/// go to the capture thread (`capture`), as far as its queue has room.
/// Returns its connection, for `record_stop`.
pub(super) fn write_events(
    db: PathBuf,
    session: i64,
    rx: Receiver<Msg>,
    capture: SyncSender<Vec<u8>>,
) -> Result<Store> {
    let mut store = Store::open_existing(&db)?;
    let mut pending: Vec<Event> = Vec::new();
    let mut since: Option<Instant> = None;
    let flush = |store: &mut Store, pending: &mut Vec<Event>| -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        record(store, session, pending)?;
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
                flush(&mut store, &mut pending)?;
                return Ok(store);
            }
        }
        if since.is_some_and(|t| t.elapsed() >= Duration::from_millis(200)) {
            flush(&mut store, &mut pending)?;
            since = None;
        }
    }
}
