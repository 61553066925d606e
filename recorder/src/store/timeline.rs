//! The timeline (the watcher's events) and the notices of what could not
//! be captured.

use super::{Activity, Fail, Phase, Snapshot, Sql, Store};
use crate::error::Result;
use crate::model::{Event, EventKind, EventSource, Notice, NoticeKind};
use rusqlite::{params, OptionalExtension, Transaction};

impl Store {
    pub fn record_events(&mut self, session: i64, events: &[Event]) -> Result<()> {
        self.write(|tx| insert_events_raw(tx, session, events))
    }

    /// The distinct (kind, path) pairs the reconciliation must look at:
    /// every path an event named, with whether a whole subtree is involved.
    pub fn touched_paths(&self, session: i64) -> Result<Vec<(Vec<u8>, bool)>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT DISTINCT kind, path, path_to FROM events
                 WHERE session_id = ?1 AND path IS NOT NULL",
            )?;
            let rows = stmt.query_map([session], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (kind, path, to) = r?;
                let kind = EventKind::parse(&kind).ok_or_else(|| {
                    Fail::decode(
                        "events",
                        session.to_string(),
                        format!("unknown kind '{kind}'"),
                    )
                })?;
                let subtree = kind.is_subtree();
                out.push((path, subtree));
                if let Some(to) = to {
                    out.push((to, subtree));
                }
            }
            Ok(out)
        })
    }

    /// Paths in the stored change set (from an earlier finish).
    pub fn changed_paths(&self, session: i64) -> Result<Vec<Vec<u8>>> {
        let rows = self.read(|c| super::change_blocks::read(c, session))?;
        Ok(rows.into_iter().map(|r| r.path).collect())
    }

    pub fn activity(&self, session: i64) -> Result<Activity> {
        let (events, paths) = self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*), count(DISTINCT path) FROM events
                 WHERE session_id = ?1 AND path IS NOT NULL",
                [session],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )?)
        })?;
        Ok(Activity {
            events: events as u64,
            paths: paths as u64,
            baseline_entries: self.entry_count(session, Snapshot::Baseline)?,
        })
    }

    /// Is the session's last event the daemon's clean stop? The daemon
    /// commits it after everything else it had; a daemon killed, crashed or
    /// unable to write leaves none, and then its last events may be lost.
    pub fn stopped_cleanly(&self, session: i64) -> Result<bool> {
        Ok(self.last_event(session)?.is_some_and(|(_, stop)| stop))
    }

    /// The id of the session's last event, and whether it is the daemon's
    /// clean stop. Ids only grow: a stop with a larger id than one seen
    /// earlier was committed since.
    pub fn last_event(&self, session: i64) -> Result<Option<(i64, bool)>> {
        self.read(|c| {
            let last: Option<(i64, String)> = c
                .query_row(
                    "SELECT id, kind FROM events WHERE session_id = ?1 ORDER BY id DESC LIMIT 1",
                    [session],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            Ok(last.map(|(id, kind)| (id, kind == EventKind::Stopped.as_str())))
        })
    }

    /// The timeline of a session, oldest first.
    pub fn events(&self, session: i64) -> Result<Vec<Event>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT time_ns, kind, path, path_to, source FROM events
                 WHERE session_id = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query([session])?;
            let mut out = Vec::new();
            // Kinds and sources read in place, not as a String each: a
            // storm's finish reads hundreds of thousands.
            while let Some(r) = rows.next()? {
                let bad = |what: &str, v: &str| {
                    Fail::decode(
                        "events",
                        session.to_string(),
                        format!("unknown {what} '{v}'"),
                    )
                };
                let text = |i: usize| -> Sql<&str> {
                    Ok(r.get_ref(i)?.as_str().map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            i,
                            rusqlite::types::Type::Text,
                            e.into(),
                        )
                    })?)
                };
                let kind = text(1)?;
                let kind = EventKind::parse(kind).ok_or_else(|| bad("kind", kind))?;
                let source = text(4)?;
                let source = EventSource::parse(source).ok_or_else(|| bad("source", source))?;
                out.push(Event {
                    time_ns: r.get(0)?,
                    kind,
                    path: r.get(2)?,
                    path_to: r.get(3)?,
                    source,
                });
            }
            Ok(out)
        })
    }

    // ------------------------------------------------------------ notices

    pub fn add_notices(&mut self, session: i64, phase: Phase, notices: &[Notice]) -> Result<()> {
        self.write(|tx| insert_notices_raw(tx, session, phase, notices))
    }

    pub fn notices(&self, session: i64) -> Result<Vec<Notice>> {
        Ok(self
            .notices_by_phase(session)?
            .into_iter()
            .map(|(_, n)| n)
            .collect())
    }

    /// The notices of a session with the phase that raised each, in the
    /// order [`Store::notices`] gives them.
    pub fn notices_by_phase(&self, session: i64) -> Result<Vec<(Phase, Notice)>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT phase, path, kind, message FROM notices WHERE session_id = ?1
                 ORDER BY phase, path, id",
            )?;
            let rows = stmt.query_map([session], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (phase, path, kind, message) = r?;
                let bad = |what: &str, v: &str| {
                    Fail::decode(
                        "notices",
                        session.to_string(),
                        format!("unknown {what} '{v}'"),
                    )
                };
                let phase = Phase::parse(&phase).ok_or_else(|| bad("phase", &phase))?;
                let kind = NoticeKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?;
                out.push((
                    phase,
                    Notice {
                        path,
                        kind,
                        message,
                    },
                ));
            }
            Ok(out)
        })
    }
}

pub(super) fn insert_notices_raw(
    tx: &Transaction,
    session: i64,
    phase: Phase,
    notices: &[Notice],
) -> Sql<()> {
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

pub(super) fn insert_events_raw(tx: &Transaction, session: i64, events: &[Event]) -> Sql<()> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO events (session_id, time_ns, kind, path, path_to, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for ev in events {
        stmt.execute(params![
            session,
            ev.time_ns,
            ev.kind.as_str(),
            ev.path,
            ev.path_to,
            ev.source.as_str()
        ])?;
    }
    Ok(())
}
