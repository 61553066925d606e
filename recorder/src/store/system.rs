//! What the system probes saw at begin and finish, and their diff, kept as
//! JSON documents.

use super::{encode, Fail, Snapshot, Store};
use crate::error::Result;
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Store what the system probes saw (any serialisable snapshot).
    pub fn put_system_snapshot<T: serde::Serialize>(
        &self,
        session: i64,
        snapshot: Snapshot,
        value: &T,
    ) -> Result<()> {
        let data = encode(value, "system_snapshots", &session.to_string())?;
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
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM system_snapshots WHERE session_id = ?1 AND snapshot = ?2",
                    params![session, snapshot as i64],
                    |r| r.get(0),
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
            let data: Option<String> = c
                .query_row(
                    "SELECT data FROM system_changes WHERE session_id = ?1",
                    [session],
                    |r| r.get(0),
                )
                .optional()?;
            decode_json(data, "system_changes", session)
        })
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(
    data: Option<String>,
    table: &'static str,
    session: i64,
) -> Result<Option<T>, Fail> {
    data.map(|d| {
        serde_json::from_str(&d)
            .map_err(|e| Fail::decode(table, format!("session {session}"), e.to_string()))
    })
    .transpose()
}
