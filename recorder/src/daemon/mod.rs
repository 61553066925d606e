//! The recorder daemon: started detached by `cft begin`, it watches the
//! session's roots, takes the baseline, tells `begin` it is ready through a
//! pipe, then records events until `finish` sends SIGTERM.
//!
//! Threads: the reader owns the inotify fd (and the signalfd that stops it);
//! the writer owns a store connection and batches events into SQLite; once
//! the baseline is stored, the capture thread reads what was written
//! (`capture`); the main thread takes the baseline and then waits for the
//! writer. If the
//! writer cannot write, the daemon exits with an error: `finish` then sees a
//! dead daemon and rescans everything, so nothing is silently lost.
//!
//! - `invocation`: the daemon's command line, built and read in one place;
//! - `start`: getting ready, as named steps in order;
//! - `writer`: the writer thread;
//! - `capture`: the capture thread;
//! - here: `run`, the `Ready` line, and telling whether a daemon lives.

mod capture;
mod invocation;
mod start;
mod writer;

pub use invocation::Invocation;

use crate::error::Result;
use crate::progress::{Progress, Walked};
use serde::{Deserialize, Serialize};
use std::io::Write;

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

/// The daemon's body, as `invocation` asks. `ready` is where the `Ready`
/// line goes (the descriptor `invocation.ready_fd` names, opened by the
/// binary, which owns it). Returns when stopped (SIGTERM/SIGINT) or on
/// failure.
pub fn run(invocation: &Invocation, ready: Option<std::fs::File>) -> Result<()> {
    let progress = PipeProgress(std::sync::Mutex::new(
        ready.as_ref().and_then(|f| f.try_clone().ok()),
    ));
    let started = start::start(invocation, &progress);
    drop(progress);
    match started {
        Ok(started) => {
            send_ready(ready, &started.ready);
            // The baseline's contents reach the disk after `begin` returned:
            // flushing 400 MB is not worth making the admin wait for.
            let mut threads = started.threads;
            if let Some(pack) = started.pack {
                if let Err(e) = pack.finish(true) {
                    tracing::error!("syncing the baseline pack: {e}");
                }
            }
            threads.start_capture();
            threads.wait()
        }
        Err(e) => {
            send_ready(
                ready,
                &Ready {
                    ok: false,
                    error: Some(with_causes(&e)),
                    ..Ready::default()
                },
            );
            Err(e)
        }
    }
}

/// A progress line on the ready pipe, before the `Ready` line.
#[derive(Serialize, Deserialize)]
pub struct WalkedLine {
    pub walked: Walked,
}

/// The baseline's progress, as `WalkedLine`s on the ready pipe for `begin`
/// to show. A `begin` that is gone only makes the writes fail (SIGPIPE is
/// ignored in the daemon), which changes nothing.
struct PipeProgress(std::sync::Mutex<Option<std::fs::File>>);

impl Progress for PipeProgress {
    fn walked(&self, w: &Walked) {
        let Ok(mut f) = self.0.lock() else { return };
        if let Some(f) = f.as_mut() {
            let line = WalkedLine { walked: w.clone() };
            if let Ok(text) = serde_json::to_string(&line) {
                let _ = writeln!(f, "{text}");
            }
        }
    }
}

/// The error and what caused it, in one line ("PATH: File too large"):
/// `begin` says it once, and whole.
fn with_causes(e: &crate::Error) -> String {
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cause = c.source();
    }
    s
}

fn send_ready(f: Option<std::fs::File>, r: &Ready) {
    if let Some(mut f) = f {
        let line = serde_json::to_string(r).unwrap_or_default();
        let _ = writeln!(f, "{line}");
    }
}

pub use crate::clock::{is_alive, process_start};
