//! The store's half of `cft import`: one finished session, read from a
//! portable file by `crate::portable`, written in one transaction (the
//! session row, its entries, changes, notices, system changes, intents,
//! attributions, timeline and the contents), or not at all.
//!
//! Everything here is already validated by `crate::portable`; this module
//! only decides where rows go. Intent ids are the one thing the store must
//! adapt: they are unique across sessions, so an imported session keeps
//! its command numbers (`#12`) when no session of this database uses them
//! and is shifted past the highest one otherwise.

use super::entries::{insert_entries_raw, Contents};
use super::intents::{encode_argv, replace_attributions};
use super::{encode, insert_events_raw, insert_notices_raw, Phase, Snapshot, Store};
use crate::error::{Error, Result};
use crate::model::{
    Attribution, Change, ContentHash, EntryWithContent, Event, Facts, Intent, Notice, Session,
    SystemChanges,
};
use rusqlite::{params, OptionalExtension};

/// A finished session as a portable file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedSession {
    /// The file it comes from, as given (kept in `imports`).
    pub source: String,
    /// The name it had where it was exported.
    pub exported_as: String,
    /// The file's format version.
    pub version: u32,
    pub name: String,
    pub description: Option<String>,
    pub root: Vec<u8>,
    pub watched: Vec<Vec<u8>>,
    pub created_at_ns: i64,
    pub finished_at_ns: Option<i64>,
    pub content_cap: u64,
    pub ignore_patterns: Vec<String>,
    pub facts: Facts,
    /// Sorted by path, unique.
    pub changes: Vec<Change>,
    /// In the order the store gives them (phase, path, insertion).
    pub notices: Vec<(Phase, Notice)>,
    pub system: Option<SystemChanges>,
    /// Sorted by id; parents and attributions refer to these ids.
    pub intents: Vec<Intent>,
    pub attributions: Vec<Attribution>,
    pub events: Vec<Event>,
}

/// The next content to store, from the file being read: `Ok(None)` at the
/// end. An error aborts the whole import.
pub type NextBlob<'a> = dyn FnMut() -> Result<Option<(ContentHash, Vec<u8>)>> + 'a;

/// What an import did besides storing the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub session: Session,
    /// Added to every intent id (0: the ids were kept).
    pub intent_shift: i64,
    pub blobs: usize,
}

/// Where an imported session came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportOrigin {
    pub source: String,
    pub exported_as: String,
    pub version: u32,
}

impl Store {
    /// Where the session `id` was imported from; `None` for a session
    /// recorded or extracted here.
    pub fn import_origin(&self, id: i64) -> Result<Option<ImportOrigin>> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT source, exported_as, version FROM imports WHERE session_id = ?1",
                [id],
                |r| {
                    Ok(ImportOrigin {
                        source: r.get(0)?,
                        exported_as: r.get(1)?,
                        version: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    /// Store `s` as a new finished session, with the contents `next_blob`
    /// yields, in one transaction. `renumbered` words the notice added when
    /// the intent ids had to be shifted by its argument.
    pub fn import_session(
        &mut self,
        s: &ImportedSession,
        next_blob: &mut NextBlob<'_>,
        renumbered: &dyn Fn(i64) -> Notice,
    ) -> Result<Imported> {
        let patterns = encode(&s.ignore_patterns, "sessions", &s.name)?;
        let facts = encode(&s.facts, "sessions", &s.name)?;
        let system = s
            .system
            .as_ref()
            .map(|c| {
                super::system::compress_json(
                    &encode(c, "system_changes", &s.name)?,
                    "system_changes",
                )
            })
            .transpose()?;
        let (id, intent_shift, blobs) = self.write(|tx| {
            let taken = tx
                .query_row("SELECT 1 FROM sessions WHERE name = ?1", [&s.name], |_| {
                    Ok(())
                })
                .optional()?
                .is_some();
            if taken {
                return Err(Error::SessionExists(s.name.clone()).into());
            }
            tx.execute(
                "INSERT INTO sessions (name, description, root, state, created_at, finished_at,
                                       content_cap, ignore_patterns, facts)
                 VALUES (?1, ?2, ?3, 'finished', ?4, ?5, ?6, ?7, ?8)",
                params![
                    s.name,
                    s.description,
                    s.root,
                    s.created_at_ns,
                    s.finished_at_ns,
                    s.content_cap as i64,
                    patterns,
                    facts
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO imports (session_id, source, exported_as, version)
                 VALUES (?1, ?2, ?3, ?4)",
                params![id, s.source, s.exported_as, s.version],
            )?;
            for w in &s.watched {
                tx.execute(
                    "INSERT OR IGNORE INTO watched_roots (session_id, path) VALUES (?1, ?2)",
                    params![id, w],
                )?;
            }
            let entries = |pick: fn(&Change) -> Option<&crate::model::Entry>| -> Vec<_> {
                s.changes
                    .iter()
                    .filter_map(pick)
                    .map(|e| EntryWithContent {
                        entry: e.clone(),
                        content: None,
                        stamp: None,
                    })
                    .collect()
            };
            for (snapshot, batch) in [
                (Snapshot::Baseline, entries(|c| c.before.as_ref())),
                (Snapshot::Final, entries(|c| c.after.as_ref())),
            ] {
                insert_entries_raw(tx, id, snapshot, &batch, Contents::AsRecorded)?;
            }
            super::change_blocks::replace(tx, id, s.changes.iter().map(Into::into).collect())?;
            // Keep the command numbers unless another session uses one.
            let shift = match (s.intents.first(), s.intents.last()) {
                (Some(lo), Some(hi)) => {
                    let clash: bool = tx.query_row(
                        "SELECT EXISTS (SELECT 1 FROM intents WHERE id BETWEEN ?1 AND ?2)",
                        params![lo.id, hi.id],
                        |r| r.get(0),
                    )?;
                    if clash {
                        let max: i64 =
                            tx.query_row("SELECT COALESCE(MAX(id), 0) FROM intents", [], |r| {
                                r.get(0)
                            })?;
                        max + 1 - lo.id
                    } else {
                        0
                    }
                }
                _ => 0,
            };
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO intents (id, session_id, parent, argv, cwd, uid, pid, ppid,
                                          start_ns, end_ns, exit_code, signal, source)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?;
                for i in &s.intents {
                    let argv: Vec<&[u8]> = i.argv.iter().map(Vec::as_slice).collect();
                    stmt.execute(params![
                        i.id + shift,
                        id,
                        i.parent.map(|p| p + shift),
                        encode_argv(&argv),
                        i.cwd,
                        i.uid,
                        i.pid,
                        i.ppid,
                        i.start_ns,
                        i.end_ns,
                        i.exit_code,
                        i.signal,
                        i.source.as_str()
                    ])?;
                }
            }
            let attributions: Vec<Attribution> = s
                .attributions
                .iter()
                .map(|a| Attribution {
                    intent: a.intent + shift,
                    ..a.clone()
                })
                .collect();
            replace_attributions(tx, id, &attributions)?;
            // One phase at a time keeps the order the store reads them in.
            for (phase, n) in &s.notices {
                insert_notices_raw(tx, id, *phase, std::slice::from_ref(n))?;
            }
            if shift != 0 {
                insert_notices_raw(tx, id, Phase::Finish, &[renumbered(shift)])?;
            }
            insert_events_raw(tx, id, &s.events)?;
            if let Some(data) = &system {
                tx.execute(
                    "INSERT INTO system_changes (session_id, data) VALUES (?1, ?2)",
                    params![id, data],
                )?;
            }
            let mut blobs = 0;
            while let Some((hash, data)) = next_blob()? {
                super::put_blob_raw(tx, &hash, &data)?;
                blobs += 1;
            }
            Ok((id, shift, blobs))
        })?;
        Ok(Imported {
            session: self.session_by_id(id)?,
            intent_shift,
            blobs,
        })
    }
}
