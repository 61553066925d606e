//! cft's recorder: the session store, baseline snapshots, the inotify
//! watcher, the recorder daemon and the reconciliation of a session into a
//! change set.
//!
//! Map: `model` (vocabulary) · `store` (SQLite, the only SQL) · `snapshot`
//! (safe walks and reads) · `event` + `watcher` (inotify) · `daemon`
//! (threads, handshake) · `reconcile` (baseline vs now) · `session`
//! (lifecycle) · `ignore_rules`, `secret`, `target` (policy and context) ·
//! `probe` (packages, accounts, services) · `system` + `attribute` (their
//! diff, and who made each file change) · `intent` + `why` (the commands
//! run, and which change each one made).

pub mod attribute;
pub mod changeset;
pub mod daemon;
pub mod error;
pub mod event;
pub mod gap;
pub mod ignore_rules;
pub mod intent;
pub mod model;
pub mod probe;
pub mod reconcile;
pub mod secret;
pub mod session;
pub mod snapshot;
pub mod stop_keys;
pub mod store;
pub mod system;
pub mod target;
pub mod watcher;
pub mod why;

pub use changeset::{BlobSource, ChangeSet};
pub use error::{Error, Result};
pub use store::Store;
