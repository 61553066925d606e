//! The recorder daemon: started detached by `cft begin`, it watches the
//! session's roots, takes the baseline, tells `begin` it is ready through a
//! pipe, then records events until `finish` sends SIGTERM.
//!
//! Threads: the reader owns the inotify fd (and the signalfd that stops it);
//! the writer owns a store connection and batches events into SQLite; the
//! main thread takes the baseline and then waits for the writer. If the
//! writer cannot write, the daemon exits with an error: `finish` then sees a
//! dead daemon and rescans everything, so nothing is silently lost.
//!
//! - `invocation`: the daemon's command line, built and read in one place;
//! - `start`: getting ready, as named steps in order;
//! - `writer`: the writer thread;
//! - here: `run`, the `Ready` line, and telling whether a daemon lives.

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
            if let Some(pack) = started.pack {
                if let Err(e) = pack.finish(true) {
                    tracing::error!("syncing the baseline pack: {e}");
                }
            }
            started.threads.wait()
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

fn send_ready(f: Option<std::fs::File>, r: &Ready) {
    if let Some(mut f) = f {
        let line = serde_json::to_string(r).unwrap_or_default();
        let _ = writeln!(f, "{line}");
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
