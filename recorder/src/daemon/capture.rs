//! The capture thread: during the session, the files the watcher saw
//! written are read as they come (beneath the root, as every read is), their
//! contents packed and their entries stored as `Snapshot::Seen` with the
//! stamp (inode, ctime) they had. `finish` then reads again only what
//! moved since, so a storm of 100k new files costs finish a stat each, not a
//! read each.
//!
//! A file whose ctime is too recent to trust (a write in the same clock
//! tick after the read would not move it) is asked again in a later batch.
//!
//! Best effort by design: a path the queue had no room for, one still too
//! fresh after `TRIES` looks, one that changed while read, one holding a
//! private key (finish decides secrets), or a failure here: each is left
//! for `finish` to read, as before. It never holds up the daemon's stop:
//! at the stop it drops what is still queued.

use crate::beneath::Parents;
use crate::error::Result;
use crate::ignore_rules::Ignore;
use crate::model::{EntryKind, Session};
use crate::progress::SILENT;
use crate::reconcile::FINISH_CAPTURE_CAP;
use crate::snapshot::{Scanned, Scanner};
use crate::store::{Snapshot, Store};
use crate::target::Target;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::BorrowedFd;
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

/// How many times a path found too fresh is asked again.
const TRIES: u8 = 10;

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
    // Too fresh to trust when looked at: asked again in a later batch
    // (as many times as it took to look), up to `TRIES` times. A capture
    // that keeps up sees most of a storm's files within 100 ms of their
    // last write.
    let mut later: HashMap<Vec<u8>, u8> = HashMap::new();
    loop {
        // Each path with how many times it was found too fresh.
        let mut paths: BTreeMap<Vec<u8>, u8> = BTreeMap::new();
        let first = if later.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(GATHER)
        };
        match first {
            Ok(p) => {
                paths.insert(p, 0);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
        let until = Instant::now() + GATHER;
        while !paths.is_empty() && paths.len() < BATCH {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(p) => {
                    paths.insert(p, 0);
                }
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        for (p, tries) in later.drain() {
            paths.entry(p).or_insert(tries);
        }
        let mut batch: Vec<Scanned> = Vec::with_capacity(paths.len());
        // Left to finish: the root cannot be opened now.
        let Ok(root) = target.root() else { continue };
        // Sorted, a directory's files come together: it is opened once.
        let mut parents = Parents::new(&root);
        for (path, tries) in paths {
            if stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let Ok((dir, name)) = parents.parent(&path) else {
                continue;
            };
            match read(&scanner, dir, &path, name, &mut pack)? {
                Read::Captured(s) => batch.push(s),
                Read::Fresh if tries < TRIES => {
                    later.insert(path, tries + 1);
                }
                Read::Fresh | Read::Left => {}
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

/// What became of one path.
// Returned and matched at once, never held: no need to box the entry.
#[allow(clippy::large_enum_variant)]
enum Read {
    Captured(Scanned),
    /// Changed too recently for its stamp to be trusted: to ask again.
    Fresh,
    /// Left for finish.
    Left,
}

/// One path read and packed, or why not.
fn read(
    scanner: &Scanner,
    dir: BorrowedFd<'_>,
    path: &[u8],
    name: &[u8],
    pack: &mut crate::store::pack::PackWriter,
) -> Result<Read> {
    let mut notices = Vec::new();
    let Some(mut s) = scanner.stat_in(dir, path, name, &mut notices) else {
        return Ok(Read::Left);
    };
    // A notice: it changed while read, or could not be read.
    if s.entry.kind != EntryKind::File || s.content.is_none() || !notices.is_empty() {
        return Ok(Read::Left);
    }
    let settled = s
        .stamp
        .is_some_and(|st| crate::clock::now_ns() - st.ctime_ns >= SETTLED_NS);
    if !settled {
        return Ok(Read::Fresh);
    }
    if scanner.pack(&mut s, pack, &mut notices)? || !notices.is_empty() {
        return Ok(Read::Left);
    }
    Ok(Read::Captured(s))
}
