//! Changes: what happened to a path between the baseline and the end of a
//! session, who made it, and what the recorder could not capture.

use super::entry::{Entry, EntryKind};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What happened to a path between the baseline and the end of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A file, symlink or special file that did not exist.
    Created,
    /// A regular file whose content changed (its metadata may have too).
    Modified,
    /// A file, symlink or special file that no longer exists.
    Removed,
    /// Only mode, owner or group changed.
    Metadata,
    /// The path now holds another type of entry (file -> symlink, ...).
    TypeChanged,
    /// A symlink that points somewhere else.
    Retargeted,
    DirCreated,
    DirRemoved,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::Created,
        ChangeKind::Modified,
        ChangeKind::Removed,
        ChangeKind::Metadata,
        ChangeKind::TypeChanged,
        ChangeKind::Retargeted,
        ChangeKind::DirCreated,
        ChangeKind::DirRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Modified => "modified",
            ChangeKind::Removed => "removed",
            ChangeKind::Metadata => "metadata",
            ChangeKind::TypeChanged => "type_changed",
            ChangeKind::Retargeted => "retargeted",
            ChangeKind::DirCreated => "dir_created",
            ChangeKind::DirRemoved => "dir_removed",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Classify the difference between a baseline entry and a final entry.
    /// `None` when nothing a configuration cares about changed.
    pub fn classify(before: Option<&Entry>, after: Option<&Entry>) -> Option<ChangeKind> {
        match (before, after) {
            (None, None) => None,
            (None, Some(a)) if a.kind == EntryKind::Dir => Some(ChangeKind::DirCreated),
            (None, Some(_)) => Some(ChangeKind::Created),
            (Some(b), None) if b.kind == EntryKind::Dir => Some(ChangeKind::DirRemoved),
            (Some(_), None) => Some(ChangeKind::Removed),
            (Some(b), Some(a)) => {
                let d = b.differences(a);
                if !d.any() {
                    None
                } else if d.kind {
                    Some(ChangeKind::TypeChanged)
                } else if d.content {
                    Some(ChangeKind::Modified)
                } else if d.target {
                    Some(ChangeKind::Retargeted)
                } else {
                    Some(ChangeKind::Metadata)
                }
            }
        }
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reconciled change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub path: Vec<u8>,
    pub kind: ChangeKind,
    pub before: Option<Entry>,
    pub after: Option<Entry>,
    /// The final content is a secret (shadow file, private key): generators
    /// must not copy it unless explicitly asked to.
    pub secret: bool,
    /// Who made the change; only the admin's become file resources.
    pub origin: Origin,
    /// The package that owns this path, if any.
    pub package: Option<String>,
}

/// Who made a file change, which decides whether a generator emits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "name")]
pub enum Origin {
    /// The admin: emitted as a `file` resource.
    #[default]
    Admin,
    /// Exactly what this package installed, or what its maintainer scripts
    /// made while the package manager ran: the package resource reproduces
    /// it; not emitted.
    Package(String),
    /// An account database file (`/etc/passwd`...): expressed by `user` and
    /// `group` resources, never as a file.
    Accounts,
    /// A service enablement link (`*.wants/`, masks, `/etc/rc?.d`):
    /// expressed by `service` resources, never as a file.
    Service,
    /// A link in `/etc/alternatives`, or a file a diversion moved aside:
    /// expressed by the `update-alternatives` or `dpkg-divert` exec, which
    /// also keeps dpkg's own database right.
    DpkgState,
}

impl Origin {
    /// Should a generator emit this change as a file resource?
    pub fn is_admin(&self) -> bool {
        matches!(self, Origin::Admin)
    }

    pub fn describe(&self) -> String {
        match self {
            Origin::Admin => "admin".into(),
            Origin::Package(p) => format!("package {p}"),
            Origin::Accounts => "accounts (user and group resources)".into(),
            Origin::Service => "service state (service resources)".into(),
            Origin::DpkgState => "dpkg's alternatives and diversions (their exec resources)".into(),
        }
    }
}

/// Something the recorder could not capture, or chose not to, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The file could not be read (permissions, I/O error).
    Unreadable,
    /// The file is larger than the capture cap: only its hash is known.
    TooLarge,
    /// A fifo, socket or device: recorded, never opened.
    Special,
    /// The content is a secret and is withheld from generated output.
    Secret,
    /// A full rescan replaced the watcher's hints (overflow, dead daemon...).
    Rescan,
    /// The inotify watch limit was reached.
    WatchLimit,
    /// Anything else worth telling the user.
    Other,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Unreadable => "unreadable",
            NoticeKind::TooLarge => "too_large",
            NoticeKind::Special => "special",
            NoticeKind::Secret => "secret",
            NoticeKind::Rescan => "rescan",
            NoticeKind::WatchLimit => "watch_limit",
            NoticeKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<NoticeKind> {
        [
            NoticeKind::Unreadable,
            NoticeKind::TooLarge,
            NoticeKind::Special,
            NoticeKind::Secret,
            NoticeKind::Rescan,
            NoticeKind::WatchLimit,
            NoticeKind::Other,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub path: Option<Vec<u8>>,
    pub kind: NoticeKind,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entry::{ContentHash, EntryKind};

    fn file(hash: &[u8], mode: u32) -> Entry {
        Entry {
            path: b"/etc/x".to_vec(),
            kind: EntryKind::File,
            mode,
            uid: 0,
            gid: 0,
            owner: Some("root".into()),
            group: Some("root".into()),
            size: hash.len() as u64,
            mtime_ns: 1,
            hash: Some(ContentHash::of(hash)),
            content_stored: true,
            link_target: None,
        }
    }

    #[test]
    fn classify_cases() {
        let a = file(b"a", 0o644);
        let b = file(b"b", 0o644);
        let a600 = file(b"a", 0o600);
        let mut a_later = a.clone();
        a_later.mtime_ns = 99;
        let mut dir = a.clone();
        dir.kind = EntryKind::Dir;
        dir.hash = None;
        let mut link = a.clone();
        link.kind = EntryKind::Symlink;
        link.hash = None;
        link.link_target = Some(b"/t1".to_vec());
        let mut link2 = link.clone();
        link2.link_target = Some(b"/t2".to_vec());
        type Case<'a> = (
            &'a str,
            Option<&'a Entry>,
            Option<&'a Entry>,
            Option<ChangeKind>,
        );
        let cases: &[Case] = &[
            ("nothing", None, None, None),
            ("created", None, Some(&a), Some(ChangeKind::Created)),
            (
                "dir created",
                None,
                Some(&dir),
                Some(ChangeKind::DirCreated),
            ),
            ("removed", Some(&a), None, Some(ChangeKind::Removed)),
            (
                "dir removed",
                Some(&dir),
                None,
                Some(ChangeKind::DirRemoved),
            ),
            ("same", Some(&a), Some(&a), None),
            ("mtime only is noise", Some(&a), Some(&a_later), None),
            ("content", Some(&a), Some(&b), Some(ChangeKind::Modified)),
            (
                "mode only",
                Some(&a),
                Some(&a600),
                Some(ChangeKind::Metadata),
            ),
            ("type", Some(&a), Some(&link), Some(ChangeKind::TypeChanged)),
            (
                "retarget",
                Some(&link),
                Some(&link2),
                Some(ChangeKind::Retargeted),
            ),
        ];
        for (name, before, after, want) in cases {
            assert_eq!(ChangeKind::classify(*before, *after), *want, "{name}");
        }
    }

    #[test]
    fn change_kind_round_trips() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(k.as_str()), Some(k));
        }
    }
}
