//! The session store: one SQLite database on disk, the only module that
//! speaks SQL.
//!
//! The database is created 0600 inside a 0700 directory *before* SQLite
//! opens it, so its `-wal`/`-shm` companions inherit the private mode. WAL
//! lets `cft status` and `cft list` read while the daemon writes. Numbered
//! migrations are tracked in `PRAGMA user_version`.

use crate::error::{Error, Result};
use crate::model::Attribution;
use crate::model::SystemChanges;
use crate::model::SystemSnapshot;
use crate::model::{BlobSource, ChangeSet};
use crate::model::{
    Change, ChangeKind, ContentHash, Entry, EntryKind, Facts, Notice, Session, SessionState,
};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
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

pub use crate::model::EntryWithContent;

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

use crate::clock::now_ns;

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
        let why = crate::model::Why {
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

pub use crate::model::os_path;

mod entries;
pub mod intents;
pub mod pack;
mod system;
mod timeline;
use entries::{insert_entries_raw, Contents};
use timeline::insert_notices_raw;

#[cfg(test)]
mod tests;
