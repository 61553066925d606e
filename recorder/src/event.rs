//! The pure translation of inotify masks into the recorder's event
//! vocabulary (`model::event`), unit-tested without the kernel, and the
//! masks the watcher asks for.
//!
//! Events are hints: they tell the reconciliation at `finish` which paths to
//! look at again; the state difference against the baseline is the truth.

use crate::model::EventKind;
use inotify::EventMask;

/// The result of translating one raw inotify event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Translated {
    /// A plain event on `dir/name` (or on the watched directory itself when
    /// `name` is empty).
    Plain { kind: EventKind, is_dir: bool },
    /// First half of a move; the second half carries the same cookie.
    MoveFrom { cookie: u32, is_dir: bool },
    /// Second half of a move.
    MoveTo { cookie: u32, is_dir: bool },
    /// The queue overflowed.
    Overflow,
    /// The watch was removed (directory deleted, filesystem unmounted).
    WatchGone,
    /// Nothing worth recording (e.g. IN_IGNORED's companions, open/close-nowrite).
    Nothing,
}

/// The mask the watcher asks for on every directory.
pub fn watch_mask() -> inotify::WatchMask {
    use inotify::WatchMask as W;
    W::CREATE
        | W::DELETE
        | W::MODIFY
        | W::CLOSE_WRITE
        | W::ATTRIB
        | W::MOVED_FROM
        | W::MOVED_TO
        | W::DELETE_SELF
        | W::MOVE_SELF
        | W::DONT_FOLLOW
        | W::ONLYDIR
        | W::EXCL_UNLINK
}

/// The mask on the nearest existing ancestor of a root that does not
/// exist yet: only names appearing there, and the directory itself going.
pub fn pending_mask() -> inotify::WatchMask {
    use inotify::WatchMask as W;
    W::CREATE | W::MOVED_TO | W::DELETE_SELF | W::MOVE_SELF | W::DONT_FOLLOW | W::ONLYDIR
}

/// Package managers' lock files: held open for exactly one run.
pub const PACKAGE_LOCKS: &[(&str, &[&str])] = &[
    ("/var/lib/dpkg", &["lock", "lock-frontend"]),
    ("/var/lib/rpm", &[".rpm.lock"]),
];

/// The mask for a directory holding package-manager locks: only opens and
/// closes matter there.
pub fn lock_mask() -> inotify::WatchMask {
    use inotify::WatchMask as W;
    W::OPEN | W::CLOSE_WRITE | W::CLOSE_NOWRITE | W::DONT_FOLLOW | W::ONLYDIR
}

/// Translate an event in a lock directory: `None` unless it opens or closes.
pub fn translate_lock(mask: EventMask) -> Option<EventKind> {
    if mask.contains(EventMask::OPEN) {
        Some(EventKind::LockOpened)
    } else if mask.intersects(EventMask::CLOSE_WRITE | EventMask::CLOSE_NOWRITE) {
        Some(EventKind::LockClosed)
    } else {
        None
    }
}

/// Translate an inotify mask (plus its cookie) into our vocabulary. Pure.
pub fn translate(mask: EventMask, cookie: u32) -> Translated {
    let is_dir = mask.contains(EventMask::ISDIR);
    if mask.contains(EventMask::Q_OVERFLOW) {
        return Translated::Overflow;
    }
    if mask.contains(EventMask::IGNORED) || mask.contains(EventMask::UNMOUNT) {
        return Translated::WatchGone;
    }
    if mask.contains(EventMask::MOVED_FROM) {
        return Translated::MoveFrom { cookie, is_dir };
    }
    if mask.contains(EventMask::MOVED_TO) {
        return Translated::MoveTo { cookie, is_dir };
    }
    let kind = if mask.contains(EventMask::CREATE) {
        EventKind::Created
    } else if mask.intersects(EventMask::DELETE | EventMask::DELETE_SELF | EventMask::MOVE_SELF) {
        EventKind::Removed
    } else if mask.intersects(EventMask::MODIFY | EventMask::CLOSE_WRITE) {
        EventKind::Modified
    } else if mask.contains(EventMask::ATTRIB) {
        EventKind::Attrib
    } else {
        return Translated::Nothing;
    };
    Translated::Plain { kind, is_dir }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inotify::EventMask as M;

    #[test]
    fn translate_table() {
        let cases: &[(&str, EventMask, u32, Translated)] = &[
            (
                "create file",
                M::CREATE,
                0,
                Translated::Plain {
                    kind: EventKind::Created,
                    is_dir: false,
                },
            ),
            (
                "mkdir",
                M::CREATE | M::ISDIR,
                0,
                Translated::Plain {
                    kind: EventKind::Created,
                    is_dir: true,
                },
            ),
            (
                "write",
                M::MODIFY,
                0,
                Translated::Plain {
                    kind: EventKind::Modified,
                    is_dir: false,
                },
            ),
            (
                "close after write",
                M::CLOSE_WRITE,
                0,
                Translated::Plain {
                    kind: EventKind::Modified,
                    is_dir: false,
                },
            ),
            (
                "chmod",
                M::ATTRIB,
                0,
                Translated::Plain {
                    kind: EventKind::Attrib,
                    is_dir: false,
                },
            ),
            (
                "unlink",
                M::DELETE,
                0,
                Translated::Plain {
                    kind: EventKind::Removed,
                    is_dir: false,
                },
            ),
            (
                "rmdir",
                M::DELETE | M::ISDIR,
                0,
                Translated::Plain {
                    kind: EventKind::Removed,
                    is_dir: true,
                },
            ),
            (
                "watched dir deleted",
                M::DELETE_SELF,
                0,
                Translated::Plain {
                    kind: EventKind::Removed,
                    is_dir: false,
                },
            ),
            (
                "move from",
                M::MOVED_FROM,
                7,
                Translated::MoveFrom {
                    cookie: 7,
                    is_dir: false,
                },
            ),
            (
                "move dir to",
                M::MOVED_TO | M::ISDIR,
                9,
                Translated::MoveTo {
                    cookie: 9,
                    is_dir: true,
                },
            ),
            ("overflow", M::Q_OVERFLOW, 0, Translated::Overflow),
            ("ignored", M::IGNORED, 0, Translated::WatchGone),
            ("unmount", M::UNMOUNT, 0, Translated::WatchGone),
            ("open is nothing", M::OPEN, 0, Translated::Nothing),
            (
                "close-nowrite is nothing",
                M::CLOSE_NOWRITE,
                0,
                Translated::Nothing,
            ),
        ];
        for (name, mask, cookie, want) in cases {
            assert_eq!(&translate(*mask, *cookie), want, "{name}");
        }
    }

    #[test]
    fn lock_translation() {
        assert_eq!(translate_lock(M::OPEN), Some(EventKind::LockOpened));
        assert_eq!(translate_lock(M::CLOSE_WRITE), Some(EventKind::LockClosed));
        assert_eq!(
            translate_lock(M::CLOSE_NOWRITE),
            Some(EventKind::LockClosed)
        );
        assert_eq!(translate_lock(M::MODIFY), None);
    }
}
