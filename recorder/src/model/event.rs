//! The timeline's vocabulary: what the watcher (or a rescan, or the daemon
//! itself) saw happen, and when. Events are hints: they tell the
//! reconciliation at `finish` where to look; the state difference against
//! the baseline is the truth.

/// What happened, as far as the watcher (or a rescan) could tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A name appeared (create, or the target side of a move from outside).
    Created,
    /// Content was written.
    Modified,
    /// Metadata (mode, owner, times, link count) changed.
    Attrib,
    /// A name went away (unlink, rmdir, or a move out of the watched tree).
    Removed,
    /// A move within the watched tree, paired by cookie: `path` -> `path_to`.
    Renamed,
    /// The kernel queue overflowed: events were lost, a full rescan is due.
    Overflow,
    /// The watch limit was reached: the session degrades to a full rescan.
    WatchLimit,
    /// The daemon started watching.
    Started,
    /// The daemon stopped watching (cleanly).
    Stopped,
    /// A package manager lock was taken (opened) ...
    LockOpened,
    /// ... and released (closed): together, a run of the package manager.
    LockClosed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Modified => "modified",
            EventKind::Attrib => "attrib",
            EventKind::Removed => "removed",
            EventKind::Renamed => "renamed",
            EventKind::Overflow => "overflow",
            EventKind::WatchLimit => "watch_limit",
            EventKind::Started => "started",
            EventKind::Stopped => "stopped",
            EventKind::LockOpened => "lock_opened",
            EventKind::LockClosed => "lock_closed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "created" => EventKind::Created,
            "modified" => EventKind::Modified,
            "attrib" => EventKind::Attrib,
            "removed" => EventKind::Removed,
            "renamed" => EventKind::Renamed,
            "overflow" => EventKind::Overflow,
            "watch_limit" => EventKind::WatchLimit,
            "started" => EventKind::Started,
            "stopped" => EventKind::Stopped,
            "lock_opened" => EventKind::LockOpened,
            "lock_closed" => EventKind::LockClosed,
            _ => return None,
        })
    }

    /// Does this event touch a whole subtree (a directory may have appeared
    /// or vanished with everything in it) rather than one entry?
    pub fn is_subtree(self) -> bool {
        matches!(
            self,
            EventKind::Created | EventKind::Removed | EventKind::Renamed
        )
    }
}

/// Who produced an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSource {
    Watcher,
    /// Found by reading a new directory after its watch was added, or by a
    /// rescan.
    Rescan,
    Daemon,
}

impl EventSource {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Watcher => "watcher",
            EventSource::Rescan => "rescan",
            EventSource::Daemon => "daemon",
        }
    }

    pub fn parse(s: &str) -> Option<EventSource> {
        [
            EventSource::Watcher,
            EventSource::Rescan,
            EventSource::Daemon,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time_ns: i64,
    pub kind: EventKind,
    pub path: Option<Vec<u8>>,
    pub path_to: Option<Vec<u8>>,
    pub source: EventSource,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in [
            EventKind::Created,
            EventKind::Modified,
            EventKind::Attrib,
            EventKind::Removed,
            EventKind::Renamed,
            EventKind::Overflow,
            EventKind::WatchLimit,
            EventKind::Started,
            EventKind::Stopped,
            EventKind::LockOpened,
            EventKind::LockClosed,
        ] {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
    }
}
