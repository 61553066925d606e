//! The vocabulary: plain data shared by the recorder and the generators,
//! with serde and no I/O. A [`ChangeSet`] is the one value that flows from
//! recording to generation.
//!
//! `entry` (filesystem entries and content hashes) · `change` (what
//! happened to a path, who made it, notices) · `session` (sessions and the
//! machine's facts) · `system` (what the probes see: packages, accounts,
//! services, alternatives, diversions) · `system_change` (their diff) ·
//! `intent` (the commands run) · `why` (which command made each change) ·
//! `event` (the timeline) · `changeset` · `path` (byte paths).
//!
//! Paths are raw bytes, absolute in the *target* system (without the
//! `--root` prefix), because Linux file names are bytes.

mod change;
mod changeset;
mod entry;
mod event;
mod intent;
mod path;
mod session;
mod system;
mod system_change;
mod why;

pub use change::{Change, ChangeKind, Notice, NoticeKind, Origin};
pub use changeset::{BlobSource, ChangeSet, Finished};
pub use entry::{
    Content, ContentHash, Differences, Entry, EntryKind, EntryWithContent, Name, PackPlace, Stamp,
    IN_MEMORY,
};
pub use event::{Event, EventKind, EventSource};
pub use intent::{Intent, IntentSource};
pub use path::{ancestors, display_path, is_within, join, os_path, parent};
pub use session::{Facts, FsFact, NetInterface, RepoFact, Session, SessionState};
pub use system::{
    Accounts, Alternative, Diversion, Enablement, Group, Package, PackageFamily, PackageSnapshot,
    PackageState, Service, Services, SystemSnapshot, User,
};
pub use system_change::{
    AccountChangeKind, AlternativeChange, DiversionChange, Enable, GroupChange, PackageChange,
    PackageChangeKind, Running, ServiceChange, SystemChanges, UserChange,
};
pub use why::{Attribution, Subject, Why};
