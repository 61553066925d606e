//! Filesystem entries as seen at one point in time, and their content
//! hashes: what a snapshot holds for every path.

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

/// A user or group name. Shared: a walk's 100k entries are owned by a
/// handful of names, not each by its own copy.
pub type Name = std::sync::Arc<str>;

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
    pub owner: Option<Name>,
    /// Group name of `gid` in the target system's `/etc/group`, if any.
    pub group: Option<Name>,
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
    /// The owner's name in the target system, else the numeric uid.
    pub fn owner_name(&self) -> String {
        self.owner
            .as_deref()
            .map_or_else(|| self.uid.to_string(), str::to_string)
    }

    /// The group's name in the target system, else the numeric gid.
    pub fn group_name(&self) -> String {
        self.group
            .as_deref()
            .map_or_else(|| self.gid.to_string(), str::to_string)
    }

    /// `file 0644 root:root`: type, mode and ownership, for people.
    pub fn summary(&self) -> String {
        format!(
            "{} {:04o} {}:{}",
            self.kind,
            self.mode,
            self.owner_name(),
            self.group_name()
        )
    }

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

/// An entry plus the content read for it (if captured): what a snapshot
/// stores.
#[derive(Debug)]
pub struct EntryWithContent {
    pub entry: Entry,
    pub content: Option<Content>,
    /// The inode and ctime seen when it was read (none for an entry that
    /// came from elsewhere, an import): what finish's stat sweep compares.
    pub stamp: Option<Stamp>,
}

/// A captured content on its way to the store. Only small contents are
/// ever held whole in memory: a larger one is streamed from the file to
/// the session's pack, so what cft holds does not grow with file sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Read whole: at most [`IN_MEMORY`] bytes.
    Bytes(Vec<u8>),
    /// Larger than [`IN_MEMORY`] and within the cap: hashed but not kept;
    /// read again from the file (beneath the root, checked to be the same
    /// inode and the same bytes) and streamed into the pack when stored.
    Stream,
    /// In the session's pack already, at this place.
    Packed(PackPlace),
    /// The same bytes as a content the store holds already (the
    /// baseline's, unchanged): nothing more to store, found by its hash.
    InStore,
}

/// The largest content held whole in memory.
pub const IN_MEMORY: u64 = 1 << 20;

impl Content {
    /// The bytes, when they are held.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Content::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// Where a content is in a pack: the frame's offset in the pack (a raw
/// content's, in a pack written before schema 7) and the content's offset
/// inside the decompressed frame (`None` in those old packs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackPlace {
    pub offset: u64,
    pub within: Option<u64>,
}

/// What no writer can hide from a stat: the inode (a replaced file) and
/// the ctime (any write, even one that puts the mtime back). Kept with the
/// baseline so that `finish` can tell, by `fstatat` alone, which entries
/// changed without an event (a write through a hard link outside the
/// watched tree, or through an mmap made before `begin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub ino: u64,
    pub ctime_ns: i64,
}
