//! The portable session format, version 1: the envelope's constants and
//! limits, and the header's documents (plain serde structs, apart from the
//! model so that the file format changes only on purpose, with a new
//! version). `docs/EXPORT-FORMAT.md` describes the same thing for people.
//!
//! ```text
//! "CFTX"  u32 version  u64 N   <N bytes: zlib stream>   SHA-256 (32 bytes)
//!                                   │
//!                      u64 H  <H bytes: header JSON>  then per blob: u64 L  <L bytes>
//! ```
//!
//! All integers are big-endian. The SHA-256 covers every byte before it.
//! The envelope (magic, version, length, checksum) is the same in every
//! version, so a reader checks it before it looks at the version.

use crate::model::{ChangeKind, EntryKind, Facts, IntentSource, NoticeKind, Origin, SystemChanges};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const MAGIC: &[u8; 4] = b"CFTX";
/// The version this cft writes, and the newest it reads.
pub const VERSION: u32 = 1;
/// Magic, version and body length.
pub const PRELUDE_LEN: u64 = 16;
pub const CHECKSUM_LEN: u64 = 32;
/// What `format` says in the header.
pub const FORMAT_NAME: &str = "cft-session";

/// Limits on what a reader allocates for a hostile file: the header JSON,
/// one content, and everything decompressed.
pub const MAX_HEADER: u64 = 256 << 20;
pub const MAX_BLOB: u64 = 1 << 30;
pub const MAX_BODY: u64 = 16 << 30;

/// Bytes that are usually text (paths, arguments): a JSON string when
/// they are UTF-8, else `{"hex": "…"}`. Unambiguous: the JSON type says
/// which.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum BytesRepr {
    Text(String),
    Hex { hex: String },
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(t) => BytesRepr::Text(t.to_string()),
            Err(_) => BytesRepr::Hex {
                hex: to_hex(&self.0),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        Ok(Bytes(match BytesRepr::deserialize(d)? {
            BytesRepr::Text(t) => t.into_bytes(),
            BytesRepr::Hex { hex } => from_hex(&hex)
                .ok_or_else(|| serde::de::Error::custom("invalid hex in a byte string"))?,
        }))
    }
}

pub fn to_hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let b = s.as_bytes();
    if b.len() % 2 != 0 {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The header: everything but the contents, which follow it in the
/// order of `blobs`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub session: SessionDoc,
    /// Sorted by path.
    pub changes: Vec<ChangeDoc>,
    pub notices: Vec<NoticeDoc>,
    /// `null`: the session was recorded without the system probes.
    pub system: Option<SystemChanges>,
    /// Sorted by id.
    pub intents: Vec<IntentDoc>,
    pub attributions: Vec<AttributionDoc>,
    /// The timeline, oldest first.
    pub events: Vec<EventDoc>,
    /// What the exporter left out (secrets), so the importer can say so.
    pub withheld: Vec<Withheld>,
    /// BLAKE3 hashes (hex) of the contents that follow, sorted.
    pub blobs: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDoc {
    pub name: String,
    pub description: Option<String>,
    pub root: Bytes,
    pub watched: Vec<Bytes>,
    pub created_at_ns: i64,
    pub finished_at_ns: Option<i64>,
    pub content_cap: u64,
    pub ignore_patterns: Vec<String>,
    pub facts: Facts,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryDoc {
    pub path: Bytes,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub size: u64,
    pub mtime_ns: i64,
    pub hash: Option<String>,
    pub content_stored: bool,
    pub link_target: Option<Bytes>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeDoc {
    pub path: Bytes,
    pub kind: ChangeKind,
    pub before: Option<EntryDoc>,
    pub after: Option<EntryDoc>,
    pub secret: bool,
    pub origin: Origin,
    pub package: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeDoc {
    /// `begin` or `finish`.
    pub phase: String,
    pub path: Option<Bytes>,
    pub kind: NoticeKind,
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentDoc {
    pub id: i64,
    pub source: IntentSource,
    pub parent: Option<i64>,
    pub argv: Vec<Bytes>,
    pub cwd: Bytes,
    pub uid: u32,
    pub pid: i32,
    pub ppid: i32,
    pub start_ns: i64,
    pub end_ns: Option<i64>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributionDoc {
    /// `file`, `package`, `user`, `group` or `service`.
    pub subject: String,
    pub name: Bytes,
    pub intent: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventDoc {
    pub time_ns: i64,
    /// As the store names it (`created`, `modified`, `renamed`…).
    pub kind: String,
    pub path: Option<Bytes>,
    pub path_to: Option<Bytes>,
    /// `watcher`, `rescan` or `daemon`.
    pub source: String,
}

/// One thing the exporter left out.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case", deny_unknown_fields)]
pub enum Withheld {
    /// The contents (baseline and final) of a secret file.
    Content { path: Bytes },
    /// A password hash of an account change (`user` or `group`).
    Password { account: String, name: String },
    /// Passwords on a command line, each replaced by `***`.
    CommandArguments { intent: i64, count: usize },
}
