//! The timeline (the watcher's events) and the notices of what could not
//! be captured.

use super::{db_err, Activity, Phase, Snapshot, Store};
use crate::error::Result;
use crate::model::{Event, EventKind};
use crate::model::{Notice, NoticeKind};
use rusqlite::{params, Transaction, TransactionBehavior};

impl Store {
    pub fn record_events(&mut self, session: i64, events: &[Event]) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (session_id, time_ns, kind, path, path_to, source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(|e| db_err(&path, e))?;
            for ev in events {
                stmt.execute(params![
                    session,
                    ev.time_ns,
                    ev.kind.as_str(),
                    ev.path,
                    ev.path_to,
                    ev.source.as_str()
                ])
                .map_err(|e| db_err(&path, e))?;
            }
        }
        tx.commit().map_err(|e| db_err(&path, e))
    }

    /// The distinct (kind, path) pairs the reconciliation must look at:
    /// every path an event named, with whether a whole subtree is involved.
    pub fn touched_paths(&self, session: i64) -> Result<Vec<(Vec<u8>, bool)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT kind, path, path_to FROM events
                 WHERE session_id = ?1 AND path IS NOT NULL",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([session], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let (kind, path, to) = r.map_err(|e| self.err(e))?;
            let subtree = EventKind::parse(&kind).is_some_and(|k| k.is_subtree());
            out.push((path, subtree));
            if let Some(to) = to {
                out.push((to, subtree));
            }
        }
        Ok(out)
    }

    /// Paths in the stored change set (from an earlier finish).
    pub fn changed_paths(&self, session: i64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM changes WHERE session_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([session], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    pub fn activity(&self, session: i64) -> Result<Activity> {
        let (events, paths) = self
            .conn
            .query_row(
                "SELECT count(*), count(DISTINCT path) FROM events
                 WHERE session_id = ?1 AND path IS NOT NULL",
                [session],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .map_err(|e| self.err(e))?;
        Ok(Activity {
            events: events as u64,
            paths: paths as u64,
            baseline_entries: self.entry_count(session, Snapshot::Baseline)?,
        })
    }

    /// The timeline of a session, oldest first.
    pub fn events(&self, session: i64) -> Result<Vec<Event>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT time_ns, kind, path, path_to, source FROM events
                 WHERE session_id = ?1 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([session], |r| {
                let kind: String = r.get(1)?;
                let source: String = r.get(4)?;
                Ok(Event {
                    time_ns: r.get(0)?,
                    kind: EventKind::parse(&kind).unwrap_or(EventKind::Modified),
                    path: r.get(2)?,
                    path_to: r.get(3)?,
                    source: match source.as_str() {
                        "watcher" => crate::model::EventSource::Watcher,
                        "rescan" => crate::model::EventSource::Rescan,
                        _ => crate::model::EventSource::Daemon,
                    },
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    // ------------------------------------------------------------ notices

    pub fn add_notices(&mut self, session: i64, phase: Phase, notices: &[Notice]) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        insert_notices_raw(&tx, session, phase, notices).map_err(|e| db_err(&path, e))?;
        tx.commit().map_err(|e| db_err(&path, e))
    }

    pub fn notices(&self, session: i64) -> Result<Vec<Notice>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT path, kind, message FROM notices WHERE session_id = ?1
                 ORDER BY phase, path, id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([session], |r| {
                Ok(Notice {
                    path: r.get(0)?,
                    kind: NoticeKind::parse(&r.get::<_, String>(1)?),
                    message: r.get(2)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }
}

pub(super) fn insert_notices_raw(
    tx: &Transaction,
    session: i64,
    phase: Phase,
    notices: &[Notice],
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO notices (session_id, phase, path, kind, message) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for n in notices {
        stmt.execute(params![
            session,
            phase.as_str(),
            n.path,
            n.kind.as_str(),
            n.message
        ])?;
    }
    Ok(())
}
