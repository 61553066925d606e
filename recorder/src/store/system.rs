//! What the system probes saw at begin and finish, and their diff, kept as
//! JSON documents.
//!
//! A document is stored as one zstd frame of its JSON (a BLOB): a Debian
//! base root's package database is a 60 KB document, twice per session
//! (begin and finish), which was the largest part of a small store; it
//! compresses about eightfold. A TEXT value is plain JSON, as every
//! database before this wrote it, and still reads.

use super::{encode, Fail, Snapshot, Store};
use crate::error::Result;
use rusqlite::types::ValueRef;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Store what the system probes saw (any serialisable snapshot).
    pub fn put_system_snapshot<T: serde::Serialize>(
        &self,
        session: i64,
        snapshot: Snapshot,
        value: &T,
    ) -> Result<()> {
        let data = compress_json(
            &encode(value, "system_snapshots", &session.to_string())?,
            "system_snapshots",
        )?;
        self.read(|c| {
            c.execute(
                "INSERT OR REPLACE INTO system_snapshots (session_id, snapshot, data)
                 VALUES (?1, ?2, ?3)",
                params![session, snapshot as i64, data],
            )?;
            Ok(())
        })
    }

    pub fn system_snapshot<T: serde::de::DeserializeOwned>(
        &self,
        session: i64,
        snapshot: Snapshot,
    ) -> Result<Option<T>> {
        self.read(|c| {
            let data: Option<Stored> = c
                .query_row(
                    "SELECT data FROM system_snapshots WHERE session_id = ?1 AND snapshot = ?2",
                    params![session, snapshot as i64],
                    stored,
                )
                .optional()?;
            decode_json(data, "system_snapshots", session)
        })
    }

    pub fn system_changes<T: serde::de::DeserializeOwned>(
        &self,
        session: i64,
    ) -> Result<Option<T>> {
        self.read(|c| {
            let data: Option<Stored> = c
                .query_row(
                    "SELECT data FROM system_changes WHERE session_id = ?1",
                    [session],
                    stored,
                )
                .optional()?;
            decode_json(data, "system_changes", session)
        })
    }
}

/// A document as stored: JSON text (before compression) or a zstd frame.
enum Stored {
    Text(String),
    Zstd(Vec<u8>),
}

fn stored(r: &rusqlite::Row) -> rusqlite::Result<Stored> {
    Ok(match r.get_ref(0)? {
        ValueRef::Blob(b) => Stored::Zstd(b.to_vec()),
        _ => Stored::Text(r.get(0)?),
    })
}

/// A document's JSON as one zstd frame (level 3).
pub(super) fn compress_json(json: &str, table: &'static str) -> Result<Vec<u8>> {
    zstd::bulk::compress(json.as_bytes(), super::pack::LEVEL).map_err(|e| {
        crate::error::Error::BadInput {
            path: table.into(),
            message: format!("cannot compress for the database: {e}"),
        }
    })
}

fn decode_json<T: serde::de::DeserializeOwned>(
    data: Option<Stored>,
    table: &'static str,
    session: i64,
) -> Result<Option<T>, Fail> {
    let bad = |e: String| Fail::decode(table, format!("session {session}"), e);
    data.map(|d| match d {
        Stored::Text(t) => serde_json::from_str(&t).map_err(|e| bad(e.to_string())),
        Stored::Zstd(z) => {
            let json = zstd::stream::decode_all(&z[..])
                .map_err(|e| bad(format!("does not decompress: {e}")))?;
            serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))
        }
    })
    .transpose()
}
