//! cft's recorder: the session store, baseline snapshots, the inotify
//! watcher, the recorder daemon and the reconciliation of a session into a
//! change set.
//!
//! Public: `model` (the vocabulary: plain data, no I/O), `store` (SQLite,
//! the only SQL), `session` (lifecycle: begin, finish, resume, abort),
//! `daemon` (what `begin` starts), `probe` (packages, accounts, services),
//! `target` (the observed system's paths and names), `attribute` (who made
//! each change), `tools` (finding and quoting programs), `clock`,
//! `stop_keys`, `portable` (one session in one file: export and import),
//! `outfile` (writing an output file whole, never through a link),
//! `progress` (how far a long walk got, for the binary to show).
//!
//! Inside: `snapshot` (safe walks and reads) · `event` + `watcher`
//! (inotify) · `gap` (a resumed session's gap) · `reconcile` (baseline vs
//! now) · `sweep` (its stat-only look at every baseline entry) ·
//! `ignore_rules`, `secret` (policy) · `facts` (the machine) ·
//! `intent` (what a command line means) · `why` (which command made each
//! change).

// A library returns what happened; the binary prints it (CONTRIBUTING).
#![cfg_attr(
    not(test),
    deny(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)
)]

pub mod attribute;
pub mod beneath;
pub mod clock;
pub mod daemon;
pub mod error;
pub(crate) mod event;
pub mod extract;
pub(crate) mod facts;
pub(crate) mod finish;
pub(crate) mod gap;
pub mod ignore_rules;
pub(crate) mod intent;
pub mod model;
pub mod outfile;
pub mod portable;
pub mod probe;
pub mod progress;
pub(crate) mod reconcile;
pub(crate) mod secret;
pub mod session;
pub(crate) mod snapshot;
pub mod stop_keys;
pub mod store;
pub(crate) mod sweep;
pub mod target;
pub mod tools;
pub(crate) mod watcher;
pub(crate) mod why;

pub use error::{Error, Result};
pub use store::Store;

/// Free `v` on a thread of its own: a storm's 100k entries take tens of
/// milliseconds to free, which the admin need not wait for. If no thread
/// can be had, it is freed here.
pub(crate) fn drop_aside<T: Send + 'static>(v: T) {
    let _ = std::thread::Builder::new()
        .name("cft-free".into())
        .spawn(move || drop(v));
}
