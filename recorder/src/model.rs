//! The vocabulary shared by the recorder and the generators: filesystem
//! entries, changes, notices and session facts.
//!
//! Paths are raw bytes (absolute paths in the *target* system, i.e. without
//! the `--root` prefix) because Linux file names are bytes: a non-UTF-8 name
//! is recorded, not dropped. Nothing here touches the disk or the store.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The type of a filesystem entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "dir",
            EntryKind::Symlink => "symlink",
            EntryKind::Fifo => "fifo",
            EntryKind::Socket => "socket",
            EntryKind::CharDevice => "chardev",
            EntryKind::BlockDevice => "blockdev",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "file" => EntryKind::File,
            "dir" => EntryKind::Dir,
            "symlink" => EntryKind::Symlink,
            "fifo" => EntryKind::Fifo,
            "socket" => EntryKind::Socket,
            "chardev" => EntryKind::CharDevice,
            "blockdev" => EntryKind::BlockDevice,
            _ => return None,
        })
    }

    /// Special files are recorded but never opened, and Puppet cannot create them.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            EntryKind::Fifo | EntryKind::Socket | EntryKind::CharDevice | EntryKind::BlockDevice
        )
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A BLAKE3 content hash; blobs are deduplicated by it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(data: &[u8]) -> ContentHash {
        ContentHash(*blake3::hash(data).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        blake3::Hash::from(self.0).to_hex().to_string()
    }

    pub fn from_slice(b: &[u8]) -> Option<ContentHash> {
        Some(ContentHash(b.try_into().ok()?))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.to_hex())
    }
}

/// One filesystem entry as seen at a point in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path in the target system.
    pub path: Vec<u8>,
    pub kind: EntryKind,
    /// Permission bits including setuid, setgid and sticky (`0o7777` mask).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// User name of `uid` in the target system's `/etc/passwd`, if any.
    pub owner: Option<String>,
    /// Group name of `gid` in the target system's `/etc/group`, if any.
    pub group: Option<String>,
    pub size: u64,
    pub mtime_ns: i64,
    /// Content hash of a regular file (absent when it could not be read).
    pub hash: Option<ContentHash>,
    /// Whether the content itself is in the blob store (false past the size cap).
    pub content_stored: bool,
    /// Target of a symbolic link, as bytes.
    pub link_target: Option<Vec<u8>>,
}

impl Entry {
    /// Does `other` differ from `self` in a way a configuration change cares
    /// about? Directory mtimes and sizes are noise; file mtimes are too
    /// (content is compared by hash).
    pub fn differences(&self, other: &Entry) -> Differences {
        Differences {
            kind: self.kind != other.kind,
            content: self.kind == EntryKind::File
                && other.kind == EntryKind::File
                && match (&self.hash, &other.hash) {
                    (Some(a), Some(b)) => a != b,
                    // Unreadable both times: size and mtime are all we have.
                    (None, None) => self.size != other.size || self.mtime_ns != other.mtime_ns,
                    _ => true,
                },
            mode: self.kind != EntryKind::Symlink && self.mode != other.mode,
            owner: self.uid != other.uid,
            group: self.gid != other.gid,
            target: self.link_target != other.link_target,
        }
    }
}

/// Which attributes differ between two entries at the same path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Differences {
    pub kind: bool,
    pub content: bool,
    pub mode: bool,
    pub owner: bool,
    pub group: bool,
    pub target: bool,
}

impl Differences {
    pub fn any(&self) -> bool {
        self.kind || self.content || self.mode || self.owner || self.group || self.target
    }
}

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

    pub fn parse(s: &str) -> NoticeKind {
        match s {
            "unreadable" => NoticeKind::Unreadable,
            "too_large" => NoticeKind::TooLarge,
            "special" => NoticeKind::Special,
            "secret" => NoticeKind::Secret,
            "rescan" => NoticeKind::Rescan,
            "watch_limit" => NoticeKind::WatchLimit,
            _ => NoticeKind::Other,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub path: Option<Vec<u8>>,
    pub kind: NoticeKind,
    pub message: String,
}

/// Facts about the recorded machine, taken at `begin`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub hostname: String,
    /// `ID` from os-release (e.g. `debian`).
    pub os_id: String,
    /// `VERSION_ID` from os-release (e.g. `12`).
    pub os_version_id: String,
    /// `NAME` from os-release (e.g. `Debian GNU/Linux`).
    pub os_name: String,
    pub os_pretty_name: String,
    /// Machine architecture (`uname -m`).
    pub arch: String,
    pub kernel: String,
    /// Online CPUs of the host the session was recorded on (`nproc`).
    #[serde(default)]
    pub vcpus: u32,
    /// `MemTotal` from the host's `/proc/meminfo`, in KiB.
    #[serde(default)]
    pub memory_kib: u64,
    /// The CPU flags an appliance descriptor cares about (`pae`, `acpi`,
    /// `apic` from `/proc/cpuinfo`), sorted.
    #[serde(default)]
    pub cpu_flags: Vec<String>,
    /// Network interfaces from `/sys/class/net` except `lo`, sorted by name.
    #[serde(default)]
    pub interfaces: Vec<NetInterface>,
    /// The target's `/etc/fstab` entries in file order (plus, when the root
    /// is `/`, mounted block devices that fstab does not list).
    #[serde(default)]
    pub filesystems: Vec<FsFact>,
    /// The running kernel is a Xen paravirtualised guest.
    #[serde(default)]
    pub xen_pv: bool,
    /// rpm-family package repositories (`/etc/yum.repos.d`), sorted by id.
    #[serde(default)]
    pub repos: Vec<RepoFact>,
}

/// A package repository of the recorded system, as kickstart's `repo`
/// command can name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFact {
    pub id: String,
    pub name: String,
    pub baseurl: Option<String>,
    pub mirrorlist: Option<String>,
    pub metalink: Option<String>,
    pub enabled: bool,
}

/// A network interface of the recorded machine. The MAC address is a
/// deploy-time value: kept as a fact, never put into a descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInterface {
    pub name: String,
    pub mac: String,
    /// Backed by a device (`/sys/class/net/NAME/device` exists), as opposed
    /// to a virtual interface (bridge, veth, ifb...).
    #[serde(default)]
    pub physical: bool,
}

/// A filesystem of the recorded machine (one fstab line, escapes decoded).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsFact {
    /// First fstab field as written: `/dev/vda1`, `UUID=...`, `tmpfs`...
    pub device: String,
    /// Mount point (`none` or `swap` for swap).
    pub mount_point: String,
    pub fstype: String,
    pub options: String,
    /// Total size in MB (statvfs, or `/proc/swaps` for swap), when it was
    /// mounted on the recording host.
    #[serde(default)]
    pub size_mb: Option<u64>,
    /// Used size in MB, when known.
    #[serde(default)]
    pub used_mb: Option<u64>,
}

/// Lifecycle state of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Recording,
    Finished,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Recording => "recording",
            SessionState::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<SessionState> {
        match s {
            "recording" => Some(SessionState::Recording),
            "finished" => Some(SessionState::Finished),
            _ => None,
        }
    }
}

/// A recorded session as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Host path of the observed system (`/` unless `--root`).
    pub root: Vec<u8>,
    /// Watched roots, as target-system paths.
    pub watched: Vec<Vec<u8>>,
    pub state: SessionState,
    pub created_at_ns: i64,
    pub finished_at_ns: Option<i64>,
    pub daemon_pid: Option<i32>,
    /// Start time of the daemon process (`/proc/PID/stat` field 22), to tell
    /// a live daemon from a recycled PID.
    pub daemon_start: Option<u64>,
    /// Why the next finish must rescan every root, if it must.
    pub rescan_reason: Option<String>,
    /// Regular files larger than this keep only a hash in the baseline.
    pub content_cap: u64,
    /// Extra ignore patterns given at `begin` (on top of the built-in ones
    /// and the rules file).
    pub ignore_patterns: Vec<String>,
    pub facts: Facts,
}

/// Render a path for humans: UTF-8 as is, other bytes as `\xNN`.
pub fn display_path(p: &[u8]) -> String {
    let mut out = String::with_capacity(p.len());
    for chunk in p.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Parent of an absolute path (`/` for `/x`, `None` for `/`).
pub fn parent(p: &[u8]) -> Option<&[u8]> {
    if p == b"/" {
        return None;
    }
    match p.iter().rposition(|&b| b == b'/') {
        Some(0) => Some(b"/"),
        Some(i) => Some(&p[..i]),
        None => None,
    }
}

/// `base` joined with a single file name.
pub fn join(base: &[u8], name: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(base.len() + 1 + name.len());
    v.extend_from_slice(base);
    if !base.ends_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(name);
    v
}

/// Is `p` equal to `dir` or below it?
pub fn is_within(p: &[u8], dir: &[u8]) -> bool {
    if dir == b"/" {
        return p.starts_with(b"/");
    }
    p.starts_with(dir) && (p.len() == dir.len() || p[dir.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn display_path_escapes_what_a_terminal_would_mangle() {
        assert_eq!(display_path(b"/etc/a b"), "/etc/a b");
        assert_eq!(display_path(b"/etc/a\nb"), "/etc/a\\nb");
        assert_eq!(display_path(b"/etc/\xff\xfe"), "/etc/\\xff\\xfe");
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent(b"/etc/x"), Some(&b"/etc"[..]));
        assert_eq!(parent(b"/etc"), Some(&b"/"[..]));
        assert_eq!(parent(b"/"), None);
        assert_eq!(join(b"/", b"etc"), b"/etc");
        assert_eq!(join(b"/etc", b"x"), b"/etc/x");
        assert!(is_within(b"/etc/x", b"/etc"));
        assert!(is_within(b"/etc", b"/etc"));
        assert!(!is_within(b"/etcx", b"/etc"));
        assert!(is_within(b"/etc", b"/"));
    }
}
