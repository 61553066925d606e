//! The session store: one SQLite database on disk, the only module that
//! speaks SQL.
//!
//! The database is created 0600 inside a 0700 directory *before* SQLite
//! opens it, so its `-wal`/`-shm` companions inherit the private mode. WAL
//! lets `cft status` and `cft list` read while the daemon writes. Numbered
//! migrations are tracked in `PRAGMA user_version`.

use crate::changeset::{BlobSource, ChangeSet};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::model::{
    Change, ChangeKind, ContentHash, Entry, EntryKind, Facts, Notice, NoticeKind, Session,
    SessionState,
};
use crate::probe::SystemSnapshot;
use crate::system::SystemChanges;
use crate::why::Attribution;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_system.sql"),
    include_str!("../../migrations/0003_intents.sql"),
    include_str!("../../migrations/0004_packs.sql"),
    include_str!("../../migrations/0005_attribution.sql"),
];

/// Which snapshot an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshot {
    Baseline = 0,
    Final = 1,
}

/// When a notice was raised: baseline notices survive a re-finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Begin,
    Finish,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Begin => "begin",
            Phase::Finish => "finish",
        }
    }
}

/// What a new session starts with.
#[derive(Clone, Debug)]
pub struct NewSession {
    pub name: String,
    pub description: Option<String>,
    pub root: Vec<u8>,
    pub watched: Vec<Vec<u8>>,
    pub content_cap: u64,
    pub ignore_patterns: Vec<String>,
    pub facts: Facts,
}

/// Counters shown by `cft status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub events: u64,
    pub paths: u64,
    pub baseline_entries: u64,
}

/// An entry plus the content to store with it (if captured).
#[derive(Debug)]
pub struct EntryWithContent {
    pub entry: Entry,
    pub content: Option<Vec<u8>>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Default database location: `/var/lib/cft/cft.db` for root, the XDG state
/// directory otherwise.
pub fn default_db_path() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/cft/cft.db");
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    state.join("cft").join("cft.db")
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Store> {
        create_private(path)?;
        let mut store = Store::connect(path)?;
        store.migrate()?;
        Ok(store)
    }

    /// Open an existing database without migrating it; for readers that must
    /// not create anything.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(Error::BadInput {
                path: path.to_path_buf(),
                message:
                    "no cft database here yet (nothing recorded: start with `cft begin NAME`, \
                          or name the database with --db)"
                        .into(),
            });
        }
        let mut store = Store::connect(path)?;
        store.migrate()?;
        Ok(store)
    }

    fn connect(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| db_err(path, e))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store
            .conn
            .busy_timeout(Duration::from_secs(30))
            .map_err(|e| store.err(e))?;
        store
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -65536;",
            )
            .map_err(|e| store.err(e))?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_err(&self.path, e)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::SchemaTooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        let path = self.path.clone();
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            // Immediate: two processes migrating at once serialise here.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db_err(&path, e))?;
            let current: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| db_err(&path, e))?;
            if current > i as i64 {
                continue;
            }
            tx.execute_batch(sql).map_err(|e| db_err(&path, e))?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(|e| db_err(&path, e))?;
            tx.commit().map_err(|e| db_err(&path, e))?;
        }
        Ok(())
    }

    // ----------------------------------------------------------- sessions

    pub fn create_session(&mut self, new: &NewSession) -> Result<Session> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM sessions WHERE name = ?1",
                [&new.name],
                |_| Ok(true),
            )
            .optional()
            .map_err(|e| db_err(&path, e))?
            .unwrap_or(false);
        if exists {
            return Err(Error::SessionExists(new.name.clone()));
        }
        let active: Option<String> = tx
            .query_row(
                "SELECT name FROM sessions WHERE state = 'recording' AND root = ?1",
                [&new.root],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| db_err(&path, e))?;
        if let Some(active) = active {
            return Err(Error::AlreadyRecording {
                active,
                root: crate::model::display_path(&new.root),
            });
        }
        let patterns = serde_json::to_string(&new.ignore_patterns).unwrap_or_default();
        let facts = serde_json::to_string(&new.facts).unwrap_or_default();
        tx.execute(
            "INSERT INTO sessions (name, description, root, state, created_at, content_cap,
                                   ignore_patterns, facts)
             VALUES (?1, ?2, ?3, 'recording', ?4, ?5, ?6, ?7)",
            params![
                new.name,
                new.description,
                new.root,
                now_ns(),
                new.content_cap as i64,
                patterns,
                facts
            ],
        )
        .map_err(|e| db_err(&path, e))?;
        let id = tx.last_insert_rowid();
        for w in &new.watched {
            tx.execute(
                "INSERT OR IGNORE INTO watched_roots (session_id, path) VALUES (?1, ?2)",
                params![id, w],
            )
            .map_err(|e| db_err(&path, e))?;
        }
        tx.commit().map_err(|e| db_err(&path, e))?;
        self.session_by_id(id)
    }

    pub fn session(&self, name: &str) -> Result<Session> {
        let id: Option<i64> = self
            .conn
            .query_row("SELECT id FROM sessions WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        match id {
            Some(id) => self.session_by_id(id),
            None => Err(Error::NoSuchSession(name.to_string())),
        }
    }

    pub fn session_by_id(&self, id: i64) -> Result<Session> {
        let mut s = self
            .conn
            .query_row(
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE id = ?1"),
                [id],
                session_from_row,
            )
            .map_err(|e| self.err(e))?;
        s.watched = self.watched_of(id)?;
        Ok(s)
    }

    fn watched_of(&self, id: i64) -> Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM watched_roots WHERE session_id = ?1 ORDER BY path")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Every session, oldest first.
    pub fn sessions(&self) -> Result<Vec<Session>> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM sessions ORDER BY created_at, id")
                .map_err(|e| self.err(e))?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        ids.into_iter().map(|id| self.session_by_id(id)).collect()
    }

    pub fn recording_sessions(&self) -> Result<Vec<Session>> {
        Ok(self
            .sessions()?
            .into_iter()
            .filter(|s| s.state == SessionState::Recording)
            .collect())
    }

    pub fn set_daemon(&self, id: i64, pid: Option<i32>, start: Option<u64>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE sessions SET daemon_pid = ?2, daemon_start = ?3 WHERE id = ?1",
                params![id, pid, start.map(|s| s as i64)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Mark the session for a full rescan at finish (keeps the first reason).
    pub fn mark_rescan(&self, id: i64, reason: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE sessions SET rescan_reason = ?2 WHERE id = ?1 AND rescan_reason IS NULL",
                params![id, reason],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_recording(&self, id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE sessions SET state = 'recording' WHERE id = ?1",
                [id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Back to finished without touching the change set (a failed resume).
    pub fn set_finished(&self, id: i64) -> Result<()> {
        self.conn
            .execute(
                "UPDATE sessions SET state = 'finished', daemon_pid = NULL, daemon_start = NULL
                 WHERE id = ?1",
                [id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Delete a session and every row that belongs to it, then the blobs no
    /// session refers to any more.
    pub fn erase_session(&mut self, id: i64) -> Result<()> {
        let path = self.path.clone();
        let pack = pack_name(&self.session_by_id(id)?);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        for sql in [
            "DELETE FROM entries WHERE session_id = ?1",
            "DELETE FROM events WHERE session_id = ?1",
            "DELETE FROM changes WHERE session_id = ?1",
            "DELETE FROM notices WHERE session_id = ?1",
            "DELETE FROM watched_roots WHERE session_id = ?1",
            "DELETE FROM system_snapshots WHERE session_id = ?1",
            "DELETE FROM system_changes WHERE session_id = ?1",
            "DELETE FROM sessions WHERE id = ?1",
        ] {
            tx.execute(sql, [id]).map_err(|e| db_err(&path, e))?;
        }
        tx.execute(
            "DELETE FROM blobs WHERE hash NOT IN
               (SELECT hash FROM entries WHERE hash IS NOT NULL AND content_stored = 1)",
            [],
        )
        .map_err(|e| db_err(&path, e))?;
        tx.commit().map_err(|e| db_err(&path, e))?;
        let file = pack::packs_dir(&path).join(&pack);
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(file, e)),
            _ => Ok(()),
        }
    }

    // ------------------------------------------------------------ entries

    /// Store a batch of entries (and their contents) in one transaction.
    pub fn insert_entries(
        &mut self,
        session: i64,
        snapshot: Snapshot,
        batch: &[EntryWithContent],
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        insert_entries_raw(&tx, session, snapshot, batch, Contents::Blobs)
            .map_err(|e| db_err(&path, e))?;
        tx.commit().map_err(|e| db_err(&path, e))
    }

    /// A new pack file for this session's baseline contents.
    pub fn pack_writer(&self, session: &Session) -> Result<pack::PackWriter> {
        pack::PackWriter::create(&self.path, pack_name(session))
    }

    /// Like `insert_entries`, with contents appended to `pack` instead of
    /// the database.
    pub fn insert_entries_packed(
        &mut self,
        session: i64,
        snapshot: Snapshot,
        batch: &[EntryWithContent],
        pack: &mut pack::PackWriter,
    ) -> Result<()> {
        let path = self.path.clone();
        let mut offsets = Vec::with_capacity(batch.len());
        for item in batch {
            offsets.push(match (&item.content, &item.entry.hash) {
                (Some(data), Some(h)) => Some(pack.append(h, data)?),
                _ => None,
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        insert_entries_raw(&tx, session, snapshot, batch, Contents::Packed(&offsets))
            .map_err(|e| db_err(&path, e))?;
        tx.commit().map_err(|e| db_err(&path, e))
    }

    /// The entry at `path`, if the snapshot has one.
    pub fn entry(&self, session: i64, snapshot: Snapshot, path: &[u8]) -> Result<Option<Entry>> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {ENTRY_COLS} FROM entries
                     WHERE session_id = ?1 AND snapshot = ?2 AND path = ?3"
                ),
                params![session, snapshot as i64, path],
                entry_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// `dir` itself and every entry below it, sorted by path.
    pub fn entries_under(
        &self,
        session: i64,
        snapshot: Snapshot,
        dir: &[u8],
    ) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        if let Some(e) = self.entry(session, snapshot, dir)? {
            out.push(e);
        }
        // Children sort between "dir/" and "dir0" ('0' follows '/').
        let (lo, hi) = if dir == b"/" {
            (b"/".to_vec(), b"0".to_vec())
        } else {
            let mut lo = dir.to_vec();
            lo.push(b'/');
            let mut hi = dir.to_vec();
            hi.push(b'0');
            (lo, hi)
        };
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLS} FROM entries
                 WHERE session_id = ?1 AND snapshot = ?2 AND path >= ?3 AND path < ?4
                 ORDER BY path"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![session, snapshot as i64, lo, hi], entry_from_row)
            .map_err(|e| self.err(e))?;
        for r in rows {
            let e = r.map_err(|e| self.err(e))?;
            if e.path != dir {
                out.push(e);
            }
        }
        Ok(out)
    }

    pub fn entry_count(&self, session: i64, snapshot: Snapshot) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT count(*) FROM entries WHERE session_id = ?1 AND snapshot = ?2",
                params![session, snapshot as i64],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    // ------------------------------------------------------------- events

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
                        "watcher" => crate::event::EventSource::Watcher,
                        "rescan" => crate::event::EventSource::Rescan,
                        _ => crate::event::EventSource::Daemon,
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

    // ------------------------------------------------------------ changes

    /// Replace the session's change set, final entries and finish notices,
    /// and mark it finished, all in one transaction: a crash leaves either
    /// the old state or the new one.
    pub fn store_change_set(
        &mut self,
        session: i64,
        changes: &[Change],
        finals: &[EntryWithContent],
        notices: &[Notice],
        system: Option<(&SystemChanges, &SystemSnapshot)>,
        attributions: &[Attribution],
    ) -> Result<()> {
        let path = self.path.clone();
        let system = system
            .map(|(c, s)| {
                Ok::<_, serde_json::Error>((serde_json::to_string(c)?, serde_json::to_string(s)?))
            })
            .transpose()
            .map_err(|e| Error::BadInput {
                path: path.clone(),
                message: format!("cannot encode the system changes: {e}"),
            })?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_err(&path, e))?;
        let run = |tx: &Transaction| -> rusqlite::Result<()> {
            tx.execute("DELETE FROM changes WHERE session_id = ?1", [session])?;
            tx.execute(
                "DELETE FROM entries WHERE session_id = ?1 AND snapshot = ?2",
                params![session, Snapshot::Final as i64],
            )?;
            tx.execute(
                "DELETE FROM notices WHERE session_id = ?1 AND phase = 'finish'",
                [session],
            )?;
            insert_entries_raw(tx, session, Snapshot::Final, finals, Contents::Blobs)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO changes (session_id, path, kind, secret, origin, package)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for c in changes {
                    let origin = serde_json::to_string(&c.origin).unwrap_or_default();
                    stmt.execute(params![
                        session,
                        c.path,
                        c.kind.as_str(),
                        c.secret,
                        origin,
                        c.package
                    ])?;
                }
            }
            insert_notices_raw(tx, session, Phase::Finish, notices)?;
            intents::replace_attributions(tx, session, attributions)?;
            tx.execute(
                "DELETE FROM system_changes WHERE session_id = ?1",
                [session],
            )?;
            if let Some((changes, snapshot)) = &system {
                tx.execute(
                    "INSERT INTO system_changes (session_id, data) VALUES (?1, ?2)",
                    params![session, changes],
                )?;
                tx.execute(
                    "INSERT OR REPLACE INTO system_snapshots (session_id, snapshot, data)
                     VALUES (?1, ?2, ?3)",
                    params![session, Snapshot::Final as i64, snapshot],
                )?;
            }
            tx.execute(
                "UPDATE sessions SET state = 'finished', finished_at = ?2,
                        daemon_pid = NULL, daemon_start = NULL, rescan_reason = NULL
                 WHERE id = ?1",
                params![session, now_ns()],
            )?;
            Ok(())
        };
        run(&tx).map_err(|e| db_err(&path, e))?;
        tx.commit().map_err(|e| db_err(&path, e))
    }

    /// The stored change set of a session (empty until it is finished).
    pub fn change_set(&self, name: &str) -> Result<ChangeSet> {
        let session = self.session(name)?;
        type Row = (Vec<u8>, String, bool, String, Option<String>);
        let kinds: Vec<Row> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT path, kind, secret, origin, package FROM changes
                     WHERE session_id = ?1 ORDER BY path",
                )
                .map_err(|e| self.err(e))?;
            let rows = stmt
                .query_map([session.id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(|e| self.err(e))?;
            rows.collect::<rusqlite::Result<_>>()
                .map_err(|e| self.err(e))?
        };
        let mut changes = Vec::with_capacity(kinds.len());
        for (path, kind, secret, origin, package) in kinds {
            let kind = ChangeKind::parse(&kind).ok_or_else(|| Error::BadInput {
                path: self.path.clone(),
                message: format!("unknown change kind '{kind}' in the database"),
            })?;
            changes.push(Change {
                before: self.entry(session.id, Snapshot::Baseline, &path)?,
                after: self.entry(session.id, Snapshot::Final, &path)?,
                path,
                kind,
                secret,
                origin: serde_json::from_str(&origin).map_err(|e| Error::BadInput {
                    path: self.path.clone(),
                    message: format!("unreadable change origin '{origin}' in the database: {e}"),
                })?,
                package,
            });
        }
        let notices = self.notices(session.id)?;
        let system = self.system_changes(session.id)?.unwrap_or_default();
        let why = crate::why::Why {
            intents: self.intents(session.id)?,
            attributions: self.attributions(session.id)?,
        };
        Ok(ChangeSet {
            system,
            session,
            changes,
            notices,
            why,
        })
    }
}

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

impl BlobSource for Store {
    fn blob(&self, hash: &ContentHash) -> Result<Option<Vec<u8>>> {
        let data: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT data FROM blobs WHERE hash = ?1",
                [&hash.0[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        if data.is_some() {
            return Ok(data);
        }
        // Baseline contents: a scan, as no index is kept by hash (that cost
        // more at begin than it saves here; generators read final contents).
        let at: Option<(i64, i64, i64, i64)> = self
            .conn
            .query_row(
                "SELECT s.id, s.created_at, e.pack_offset, e.size
                 FROM entries e JOIN sessions s ON s.id = e.session_id
                 WHERE e.hash = ?1 AND e.pack_offset IS NOT NULL LIMIT 1",
                [&hash.0[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        at.map(|(id, created, off, size)| {
            let name = pack_name_of(id, created);
            pack::read(&self.path, &name, off as u64, size as u64, hash)
        })
        .transpose()
    }
}

/// The pack file name of a session: unique even if a session id is reused.
fn pack_name(session: &Session) -> String {
    pack_name_of(session.id, session.created_at_ns)
}

fn pack_name_of(id: i64, created_at_ns: i64) -> String {
    format!("s{id}-{created_at_ns}.pack")
}

// ------------------------------------------------------------------ raw SQL

const SESSION_COLS: &str = "id, name, description, root, state, created_at, finished_at,
    daemon_pid, daemon_start, rescan_reason, content_cap, ignore_patterns, facts";

fn session_from_row(r: &Row) -> rusqlite::Result<Session> {
    let state: String = r.get(4)?;
    let patterns: String = r.get(11)?;
    let facts: String = r.get(12)?;
    Ok(Session {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        root: r.get(3)?,
        watched: Vec::new(),
        state: SessionState::parse(&state).unwrap_or(SessionState::Finished),
        created_at_ns: r.get(5)?,
        finished_at_ns: r.get(6)?,
        daemon_pid: r.get(7)?,
        daemon_start: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        rescan_reason: r.get(9)?,
        content_cap: r.get::<_, i64>(10)? as u64,
        ignore_patterns: serde_json::from_str(&patterns).unwrap_or_default(),
        facts: serde_json::from_str(&facts).unwrap_or_default(),
    })
}

const ENTRY_COLS: &str = "path, kind, mode, uid, gid, owner, grp, size, mtime_ns, hash,
    content_stored, link_target";

fn entry_from_row(r: &Row) -> rusqlite::Result<Entry> {
    let kind: String = r.get(1)?;
    let hash: Option<Vec<u8>> = r.get(9)?;
    Ok(Entry {
        path: r.get(0)?,
        kind: EntryKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("unknown entry kind '{kind}'").into(),
            )
        })?,
        mode: r.get(2)?,
        uid: r.get(3)?,
        gid: r.get(4)?,
        owner: r.get(5)?,
        group: r.get(6)?,
        size: r.get::<_, i64>(7)? as u64,
        mtime_ns: r.get(8)?,
        hash: hash.as_deref().and_then(ContentHash::from_slice),
        content_stored: r.get(10)?,
        link_target: r.get(11)?,
    })
}

/// Where the contents of a batch of entries go.
enum Contents<'a> {
    /// Into the `blobs` table.
    Blobs,
    /// Already appended to the session's pack, at these offsets.
    Packed(&'a [Option<u64>]),
}

fn insert_entries_raw(
    tx: &Transaction,
    session: i64,
    snapshot: Snapshot,
    batch: &[EntryWithContent],
    contents: Contents,
) -> rusqlite::Result<()> {
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO entries
           (session_id, snapshot, path, kind, mode, uid, gid, owner, grp, size, mtime_ns,
            hash, content_stored, link_target, pack_offset)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    let mut blob = tx.prepare_cached(
        "INSERT INTO blobs (hash, size, data) VALUES (?1, ?2, ?3) ON CONFLICT (hash) DO NOTHING",
    )?;
    for (i, item) in batch.iter().enumerate() {
        let e = &item.entry;
        let mut pack_offset = None;
        let stored = match (&item.content, &e.hash, &contents) {
            (Some(data), Some(h), Contents::Blobs) => {
                blob.execute(params![&h.0[..], data.len() as i64, data])?;
                true
            }
            (Some(_), Some(_), Contents::Packed(offsets)) => {
                pack_offset = offsets.get(i).copied().flatten();
                pack_offset.is_some()
            }
            _ => false,
        };
        ins.execute(params![
            session,
            snapshot as i64,
            e.path,
            e.kind.as_str(),
            e.mode,
            e.uid,
            e.gid,
            e.owner,
            e.group,
            e.size as i64,
            e.mtime_ns,
            e.hash.as_ref().map(|h| &h.0[..]),
            stored,
            e.link_target,
            pack_offset.map(|o| o as i64),
        ])?;
    }
    Ok(())
}

fn insert_notices_raw(
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

fn db_err(path: &Path, source: rusqlite::Error) -> Error {
    Error::Db {
        path: path.to_path_buf(),
        source,
    }
}

/// Create the database's directory (0700) and file (0600) if missing, so
/// SQLite never creates them with the umask's mode.
fn create_private(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io(dir, e))?;
            // `recursive` applies the mode to the last component only after
            // umask; make it exact.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(dir, e))?;
        }
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A path stored as bytes, for error messages and host file access.
pub fn os_path(bytes: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(bytes))
}

pub mod intents;
pub mod pack;

#[cfg(test)]
mod tests;
