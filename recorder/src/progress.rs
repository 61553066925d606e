//! Progress of the long walks (begin's baseline, finish's rescan, extract):
//! how many entries and bytes a walk of one watched root has read so far.
//!
//! The library only counts and hands the counts to a `Progress` the caller
//! gives; showing them (on a terminal, or not at all) is the binary's. The
//! daemon, which takes the baseline, passes them to `begin` over its ready
//! pipe as `{"walked":…}` lines (`daemon::PipeProgress`).

use crate::model::{display_path, Entry, EntryKind};
use serde::{Deserialize, Serialize};

/// One walk of one watched root, so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Walked {
    /// The watched root (a target path, for display).
    pub root: String,
    /// Entries read so far in this root.
    pub entries: u64,
    /// Bytes of regular files read (hashed) so far in this root.
    pub bytes: u64,
    /// The walk of this root is over.
    pub done: bool,
}

/// Where a walk reports its counts. Called from the walking thread, at most
/// every `STEP` entries or `STEP_BYTES` bytes, and once at each end.
pub trait Progress: Sync {
    fn walked(&self, w: &Walked);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn walked(&self, _: &Walked) {}
}

/// A `Progress` that reports nothing, for callers with nothing to show.
pub const SILENT: &Silent = &Silent;

/// Report every this many entries…
const STEP: u64 = 1024;
/// …or this many bytes, whichever comes first.
const STEP_BYTES: u64 = 16 << 20;

/// Counts one walk and reports it in steps; the last report (`done`) goes
/// when the meter is dropped, however the walk ended.
pub(crate) struct Meter<'a> {
    to: &'a dyn Progress,
    now: Walked,
    next_entries: u64,
    next_bytes: u64,
}

impl<'a> Meter<'a> {
    pub fn start(to: &'a dyn Progress, root: &[u8]) -> Meter<'a> {
        let now = Walked {
            root: display_path(root),
            ..Walked::default()
        };
        to.walked(&now);
        Meter {
            to,
            now,
            next_entries: STEP,
            next_bytes: STEP_BYTES,
        }
    }

    pub fn add(&mut self, e: &Entry) {
        self.count(if e.kind == EntryKind::File { e.size } else { 0 });
    }

    /// One more entry stat'ed, nothing read (a resumed session's gap).
    pub fn add_stat(&mut self) {
        self.count(0);
    }

    fn count(&mut self, bytes: u64) {
        self.now.entries += 1;
        self.now.bytes += bytes;
        if self.now.entries >= self.next_entries || self.now.bytes >= self.next_bytes {
            self.next_entries = self.now.entries + STEP;
            self.next_bytes = self.now.bytes + STEP_BYTES;
            self.to.walked(&self.now);
        }
    }
}

impl Drop for Meter<'_> {
    fn drop(&mut self) {
        self.now.done = true;
        self.to.walked(&self.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Keep(Mutex<Vec<Walked>>);
    impl Progress for Keep {
        fn walked(&self, w: &Walked) {
            self.0.lock().unwrap().push(w.clone());
        }
    }

    fn file(size: u64) -> Entry {
        Entry {
            path: b"/etc/x".to_vec(),
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: None,
            group: None,
            size,
            mtime_ns: 0,
            hash: None,
            content_stored: false,
            link_target: None,
        }
    }

    #[test]
    fn reports_at_the_start_in_steps_and_at_the_end() {
        let keep = Keep(Mutex::new(Vec::new()));
        {
            let mut m = Meter::start(&keep, b"/etc");
            for _ in 0..(2 * STEP + 3) {
                m.add(&file(10));
            }
        }
        let got = keep.0.into_inner().unwrap();
        let counts: Vec<(u64, bool)> = got.iter().map(|w| (w.entries, w.done)).collect();
        assert_eq!(
            counts,
            vec![
                (0, false),
                (STEP, false),
                (2 * STEP, false),
                (2 * STEP + 3, true)
            ]
        );
        assert_eq!(got[3].bytes, (2 * STEP + 3) * 10);
        assert_eq!(got[0].root, "/etc");
    }

    #[test]
    fn big_files_report_by_bytes() {
        let keep = Keep(Mutex::new(Vec::new()));
        {
            let mut m = Meter::start(&keep, b"/srv");
            m.add(&file(STEP_BYTES));
            m.add(&file(1));
        }
        let got = keep.0.into_inner().unwrap();
        let counts: Vec<u64> = got.iter().map(|w| w.entries).collect();
        assert_eq!(counts, vec![0, 1, 2]);
    }
}
