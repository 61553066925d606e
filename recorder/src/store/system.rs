//! What the system probes saw at begin and finish, and their diff.

use super::{Snapshot, Store};
use crate::error::{Error, Result};
use rusqlite::{params, OptionalExtension};

impl Store {
    /// Store what the system probes saw (any serialisable snapshot).
    pub fn put_system_snapshot<T: serde::Serialize>(
        &self,
        session: i64,
        snapshot: Snapshot,
        value: &T,
    ) -> Result<()> {
        let data = serde_json::to_string(value).map_err(|e| Error::BadInput {
            path: self.path.clone(),
            message: format!("cannot encode a system snapshot: {e}"),
        })?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO system_snapshots (session_id, snapshot, data)
                 VALUES (?1, ?2, ?3)",
                params![session, snapshot as i64, data],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn system_snapshot<T: serde::de::DeserializeOwned>(
        &self,
        session: i64,
        snapshot: Snapshot,
    ) -> Result<Option<T>> {
        let data: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM system_snapshots WHERE session_id = ?1 AND snapshot = ?2",
                params![session, snapshot as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        self.decode_json(data)
    }

    pub fn system_changes<T: serde::de::DeserializeOwned>(
        &self,
        session: i64,
    ) -> Result<Option<T>> {
        let data: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM system_changes WHERE session_id = ?1",
                [session],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        self.decode_json(data)
    }

    fn decode_json<T: serde::de::DeserializeOwned>(
        &self,
        data: Option<String>,
    ) -> Result<Option<T>> {
        data.map(|d| {
            serde_json::from_str(&d).map_err(|e| Error::BadInput {
                path: self.path.clone(),
                message: format!("unreadable system record in the database: {e}"),
            })
        })
        .transpose()
    }
}
