//! What a long walk shows while it runs (begin's baseline, finish's
//! re-reads, extract): entries, bytes and their rates on one line of
//! stderr, redrawn by indicatif, only when stderr is a terminal (and not a
//! dumb one: `TERM` unset or `dumb` draws nothing); and, for a
//! baseline, a warning once a watched root grows large, with how to narrow
//! it, on any stderr.

use indicatif::{HumanBytes, HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};
use recorder::progress::{Progress, Walked};
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A baseline root with this many entries is worth a word
/// (`CFT_LARGE_BASELINE` sets another number, for tests and the curious).
const LARGE_BASELINE: u64 = 100_000;

/// The line on the terminal for one command's walks.
pub struct Shown {
    bar: ProgressBar,
    what: &'static str,
    large: Option<u64>,
    state: Mutex<State>,
}

struct State {
    started: Instant,
    /// Entries and bytes of the roots already walked.
    done: (u64, u64),
    /// Roots already warned about.
    warned: BTreeSet<String>,
}

impl Shown {
    /// `what` names the walk ("baseline", "rescan", "extract").
    pub fn new(what: &'static str) -> Shown {
        let terminal = std::io::stderr().is_terminal();
        let bar = if terminal {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        // The style first: the first tick draws, and indicatif's default
        // is an empty bar and "0/0".
        if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg}") {
            bar.set_style(style);
        }
        if terminal {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Shown {
            bar,
            what,
            large: None,
            state: Mutex::new(State {
                started: Instant::now(),
                done: (0, 0),
                warned: BTreeSet::new(),
            }),
        }
    }

    /// A baseline: also warn when one root is large.
    pub fn baseline() -> Shown {
        let large = std::env::var("CFT_LARGE_BASELINE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(LARGE_BASELINE);
        let mut shown = Shown::new("baseline");
        shown.large = Some(large);
        shown
    }
}

impl Progress for Shown {
    fn walked(&self, w: &Walked) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let entries = st.done.0 + w.entries;
        let bytes = st.done.1 + w.bytes;
        let secs = st.started.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!(
            "{} of {}: {} entries, {} ({} entries/s, {}/s)",
            self.what,
            w.root,
            HumanCount(entries),
            HumanBytes(bytes),
            HumanCount((entries as f64 / secs) as u64),
            HumanBytes((bytes as f64 / secs) as u64),
        ));
        if w.done {
            st.done = (entries, bytes);
        }
        if let Some(large) = self.large {
            if w.entries >= large && st.warned.insert(w.root.clone()) {
                let so_far = HumanCount(w.entries);
                self.bar.suspend(|| {
                    eprintln!(
                        "cft: the baseline of {} is large ({so_far} entries so far); narrow it \
                         with --no-default-watch --watch DIR, or --ignore PATTERN",
                        w.root
                    )
                });
            }
        }
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
