//! The capture thread: during the session, the files the watcher saw
//! written are read as they come (beneath the root, as every read is), their
//! contents packed and their entries stored as `Snapshot::Seen` with the
//! stamp (inode, ctime) they had. `finish` then reads again only what
//! moved since, so a storm of 100k new files costs finish a stat each, not a
//! read each.
//!
//! Best effort by design: a path the queue had no room for, a file whose
//! ctime is too recent to trust (a write in the same clock tick after the
//! read would not move it), one that changed while read, one holding a
//! private key (finish decides secrets), or a failure here: each is left
//! for `finish` to read, as before. It never holds up the daemon's stop:
//! at the stop it drops what is still queued.

use crate::error::Result;
use crate::ignore_rules::Ignore;
use crate::model::{EntryKind, Session};
use crate::progress::SILENT;
use crate::reconcile::FINISH_CAPTURE_CAP;
use crate::snapshot::{Scanned, Scanner};
use crate::store::{Snapshot, Store};
use crate::target::Target;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Paths waiting to be captured; beyond this the writer drops them.
pub(super) const QUEUE: usize = 1 << 17;

/// How long a batch gathers paths (a file written twice is read once).
const GATHER: Duration = Duration::from_millis(200);

/// How old a file's ctime must be for its stamp to be trusted: ctimes
/// come from a coarse clock (a tick of a few ms).
const SETTLED_NS: i64 = 100_000_000;

const BATCH: usize = 2048;

/// The capture thread's body, until `stop` is set or the writer is gone.
pub(super) fn capture(
    db: PathBuf,
    session: Session,
    rx: Receiver<Vec<u8>>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let mut store = Store::open_existing(&db)?;
    let target = Target::new(&session.root);
    let ignore = Ignore::new(&session.ignore_patterns)?;
    let scanner = Scanner {
        target: &target,
        ignore: &ignore,
        content_cap: session.content_cap.max(FINISH_CAPTURE_CAP),
        progress: SILENT,
    };
    let mut pack = store.pack_appender(&session)?;
    loop {
        let mut paths = BTreeSet::new();
        match rx.recv() {
            Ok(p) => {
                paths.insert(p);
            }
            Err(_) => return Ok(()),
        }
        let until = Instant::now() + GATHER;
        while paths.len() < BATCH {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(p) => {
                    paths.insert(p);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        let mut batch: Vec<Scanned> = Vec::with_capacity(paths.len());
        for path in paths {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if let Some(s) = read(&scanner, &path, &mut pack)? {
                batch.push(s);
            }
        }
        if batch.is_empty() {
            continue;
        }
        // The contents reach the pack file before any entry names them.
        pack.flush()?;
        store.insert_entries(session.id, Snapshot::Seen, &batch)?;
    }
}

/// One path read and packed, or `None` when it is left for finish.
fn read(
    scanner: &Scanner,
    path: &[u8],
    pack: &mut crate::store::pack::PackWriter,
) -> Result<Option<Scanned>> {
    let mut notices = Vec::new();
    let Some(mut s) = scanner.stat(path, &mut notices) else {
        return Ok(None);
    };
    let settled = s
        .stamp
        .is_some_and(|st| crate::clock::now_ns() - st.ctime_ns >= SETTLED_NS);
    // A notice: it changed while read, or could not be read.
    if s.entry.kind != EntryKind::File || s.content.is_none() || !settled || !notices.is_empty() {
        return Ok(None);
    }
    if scanner.pack(&mut s, pack, &mut notices)? || !notices.is_empty() {
        return Ok(None);
    }
    Ok(Some(s))
}
