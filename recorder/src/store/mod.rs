//! The session store: one SQLite database on disk, the only module that
//! speaks SQL.
//!
//! The database is created 0600 inside a 0700 directory *before* SQLite
//! opens it, so its `-wal`/`-shm` companions inherit the private mode. WAL
//! lets `cft status` and `cft list` read while the daemon writes. Numbered
//! migrations are tracked in `PRAGMA user_version`.

use crate::clock::now_ns;
use crate::error::{Error, Result};
use crate::model::{
    Change, ChangeSet, Content, ContentHash, Entry, EntryKind, Facts, Session, SessionState, Stamp,
};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_system.sql"),
    include_str!("../../migrations/0003_intents.sql"),
    include_str!("../../migrations/0004_packs.sql"),
    include_str!("../../migrations/0005_attribution.sql"),
    include_str!("../../migrations/0006_imports.sql"),
    include_str!("../../migrations/0007_compressed.sql"),
    include_str!("../../migrations/0008_stamps_and_makers.sql"),
    include_str!("../../migrations/0009_entry_blocks.sql"),
    include_str!("../../migrations/0010_all_entries_in_blocks.sql"),
    include_str!("../../migrations/0011_change_blocks.sql"),
];

/// Which snapshot an entry belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Snapshot {
    Baseline = 0,
    Final = 1,
    /// What the daemon captured of changed files during the session, each
    /// with the stamp it had: finish takes a file whose stamp has not
    /// moved from here instead of reading it again. Provisional: finish
    /// deletes them once the final entries are stored.
    Seen = 2,
}

/// When a notice was raised: baseline notices survive a re-finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Begin,
    Finish,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Begin => "begin",
            Phase::Finish => "finish",
        }
    }

    pub fn parse(s: &str) -> Option<Phase> {
        match s {
            "begin" => Some(Phase::Begin),
            "finish" => Some(Phase::Finish),
            _ => None,
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
    /// Where each baseline content whose hash was computed is in the
    /// packs, by hash: a diff against a baseline reads the entries first,
    /// then their contents by hash.
    hashed: std::sync::Mutex<blocks::Hashed>,
    /// The last baseline blocks decoded.
    blocks: blocks::BlockCache,
    /// The last pack frame read, for the next content in it.
    frames: pack::FrameCache,
    /// Where each final (or captured) content is in the packs, by hash,
    /// from their rows: built by the first lookup that needs it.
    packed: std::sync::OnceLock<std::collections::HashMap<ContentHash, blobs::Packed>>,
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

/// What went wrong inside a store method, before the database's path is
/// added: SQL, a row that does not decode, or one of the recorder's own
/// errors (a session that exists already).
#[derive(Debug)]
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Decode {
        table: &'static str,
        key: String,
        message: String,
    },
    Other(Error),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Fail {
        Fail::Sql(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Other(e)
    }
}

impl Fail {
    pub(crate) fn decode(
        table: &'static str,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Fail {
        Fail::Decode {
            table,
            key: key.into(),
            message: message.into(),
        }
    }

    /// The error, naming the database at `path`.
    pub(crate) fn at(self, path: &Path) -> Error {
        match self {
            Fail::Sql(source) => Error::Db {
                path: path.to_path_buf(),
                source,
            },
            Fail::Decode {
                table,
                key,
                message,
            } => Error::Decode {
                path: path.to_path_buf(),
                table,
                key,
                message,
            },
            Fail::Other(e) => e,
        }
    }
}

pub(crate) type Sql<T> = std::result::Result<T, Fail>;

impl Store {
    /// Open (creating if needed) the database at `path` and bring its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Store> {
        create_private(path)?;
        let mut store = Store::connect(path)?;
        store.migrate()?;
        Ok(store)
    }

    /// Open a database that must exist already (readers never create one);
    /// an older schema is brought up to date like `open` does.
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !db_exists(path)? {
            return Err(Error::NoDatabase {
                path: path.to_path_buf(),
            });
        }
        let mut store = Store::connect(path)?;
        store.migrate()?;
        Ok(store)
    }

    fn connect(path: &Path) -> Result<Store> {
        #[allow(clippy::disallowed_methods)] // the store's one connection
        let conn = Connection::open(path).map_err(|e| Fail::from(e).at(path))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            hashed: std::sync::Mutex::default(),
            blocks: blocks::BlockCache::default(),
            frames: pack::FrameCache::default(),
            packed: std::sync::OnceLock::new(),
        };
        store.read(|c| {
            c.busy_timeout(Duration::from_secs(30))?;
            // A new database's page size (an existing one keeps its own):
            // every table and index takes at least one page, and cft has
            // 20, so 4 KiB pages made 80 KB of a small store's size before
            // any row. 1 KiB: since the baseline is in blocks (schema 9),
            // no table holds a row per baseline path, and the rows left
            // (final entries, changes, events) are few; one of more than
            // about 230 bytes (a WITHOUT ROWID row past a quarter of a
            // page) spills to overflow pages, which costs a read, not
            // correctness. Measured with `bench/store.sh`: a Debian base
            // root's store after begin, 59 KB of database at 2 KiB, 39 KB
            // at 1 KiB.
            // journal_size_limit: once a checkpoint has emptied the WAL, it
            // is cut back to 16 MiB rather than kept at its largest (SQLite
            // reuses a WAL from the start; it never shrinks one by itself).
            c.execute_batch(
                "PRAGMA page_size = 1024;
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA cache_size = -65536;
                 PRAGMA journal_size_limit = 16777216;",
            )?;
            Ok(())
        })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` on the connection; any failure names the database.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Sql<T>) -> Result<T> {
        f(&self.conn).map_err(|e| e.at(&self.path))
    }

    /// Run `f` in one immediate transaction, committed when it succeeds:
    /// one logical write, all or nothing.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&Transaction) -> Sql<T>) -> Result<T> {
        // Packs and blocks are written once and never changed, but a
        // finish deletes the blocks of its final and captured snapshots and
        // writes new ones, whose `seq` may be a deleted one's: what is
        // cached is forgotten. Which rows name which contents may change.
        self.frames = pack::FrameCache::default();
        self.packed = std::sync::OnceLock::new();
        self.blocks = Default::default();
        let path = self.path.clone();
        let run = || -> Sql<T> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        };
        run().map_err(|e| e.at(&path))
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 =
            self.read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::SchemaTooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            // Immediate: two processes migrating at once serialise here.
            self.write(|tx| {
                let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                if current <= i as i64 {
                    tx.execute_batch(sql)?;
                    if i == 9 {
                        // Schema 10 (9 did the baseline's alone, and is
                        // done here now): every entry row becomes blocks.
                        blocks::rows_to_blocks(tx)?;
                    }
                    if i == 10 {
                        change_blocks::rows_to_blocks(tx)?;
                    }
                    tx.pragma_update(None, "user_version", i as i64 + 1)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    // ----------------------------------------------------------- sessions

    pub fn create_session(&mut self, new: &NewSession) -> Result<Session> {
        let patterns = encode(&new.ignore_patterns, "sessions", &new.name)?;
        let facts = encode(&new.facts, "sessions", &new.name)?;
        let id = self.write(|tx| {
            let exists = tx
                .query_row(
                    "SELECT 1 FROM sessions WHERE name = ?1",
                    [&new.name],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if exists {
                return Err(Error::SessionExists(new.name.clone()).into());
            }
            let active: Option<String> = tx
                .query_row(
                    "SELECT name FROM sessions WHERE state = 'recording' AND root = ?1",
                    [&new.root],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(active) = active {
                return Err(Error::AlreadyRecording {
                    active,
                    root: crate::model::display_path(&new.root),
                }
                .into());
            }
            // Made by this process, not ready until its daemon says so
            // (`set_ready`): see `leftovers`.
            let maker = std::process::id() as i32;
            tx.execute(
                "INSERT INTO sessions (name, description, root, state, created_at, content_cap,
                                       ignore_patterns, facts, maker_pid, maker_start, ready)
                 VALUES (?1, ?2, ?3, 'recording', ?4, ?5, ?6, ?7, ?8, ?9, 0)",
                params![
                    new.name,
                    new.description,
                    new.root,
                    now_ns(),
                    new.content_cap as i64,
                    patterns,
                    facts,
                    maker,
                    crate::clock::process_start(maker).map(|s| s as i64),
                ],
            )?;
            let id = tx.last_insert_rowid();
            for w in &new.watched {
                tx.execute(
                    "INSERT OR IGNORE INTO watched_roots (session_id, path) VALUES (?1, ?2)",
                    params![id, w],
                )?;
            }
            Ok(id)
        })?;
        self.session_by_id(id)
    }

    pub fn session(&self, name: &str) -> Result<Session> {
        let id: Option<i64> = self.read(|c| {
            Ok(
                c.query_row("SELECT id FROM sessions WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })?;
        match id {
            Some(id) => self.session_by_id(id),
            None => Err(Error::NoSuchSession(name.to_string())),
        }
    }

    pub fn session_by_id(&self, id: i64) -> Result<Session> {
        self.read(|c| {
            let row = c.query_row(
                &format!("SELECT {SESSION_COLS} FROM sessions WHERE id = ?1"),
                [id],
                SessionRow::read,
            )?;
            let mut s = row.decode()?;
            let mut stmt = c.prepare_cached(
                "SELECT path FROM watched_roots WHERE session_id = ?1 ORDER BY path",
            )?;
            s.watched = stmt
                .query_map([id], |r| r.get::<_, Vec<u8>>(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(s)
        })
    }

    /// Every session, oldest first.
    pub fn sessions(&self) -> Result<Vec<Session>> {
        let ids: Vec<i64> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id FROM sessions ORDER BY created_at, id")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ids)
        })?;
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
        self.execute(
            "UPDATE sessions SET daemon_pid = ?2, daemon_start = ?3 WHERE id = ?1",
            params![id, pid, start.map(|s| s as i64)],
        )
    }

    /// Mark the session for a full rescan at finish (keeps the first reason).
    pub fn mark_rescan(&self, id: i64, reason: &str) -> Result<()> {
        self.execute(
            "UPDATE sessions SET rescan_reason = ?2 WHERE id = ?1 AND rescan_reason IS NULL",
            params![id, reason],
        )
    }

    pub fn set_recording(&self, id: i64) -> Result<()> {
        self.execute(
            "UPDATE sessions SET state = 'recording' WHERE id = ?1",
            params![id],
        )
    }

    /// Back to finished without touching the change set (a failed resume).
    pub fn set_finished(&self, id: i64) -> Result<()> {
        self.execute(
            "UPDATE sessions SET state = 'finished', daemon_pid = NULL, daemon_start = NULL
             WHERE id = ?1",
            params![id],
        )
    }

    /// One statement, outside any transaction of ours.
    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<()> {
        self.read(|c| {
            c.execute(sql, params)?;
            Ok(())
        })
    }

    /// Delete a session and every row that belongs to it, then the blobs no
    /// session refers to any more.
    pub fn erase_session(&mut self, id: i64) -> Result<()> {
        let pack = pack_name(&self.session_by_id(id)?);
        // The pack goes first: on a full disk its space is what lets the
        // database write the deletion.
        let file = pack::packs_dir(&self.path).join(&pack);
        let removed = match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(file, e)),
            _ => Ok(()),
        };
        self.hashed = std::sync::Mutex::default();
        self.blocks = blocks::BlockCache::default();
        self.write(|tx| {
            for sql in [
                "DELETE FROM entries WHERE session_id = ?1",
                "DELETE FROM entry_blocks WHERE session_id = ?1",
                "DELETE FROM events WHERE session_id = ?1",
                "DELETE FROM changes WHERE session_id = ?1",
                "DELETE FROM change_blocks WHERE session_id = ?1",
                "DELETE FROM notices WHERE session_id = ?1",
                "DELETE FROM watched_roots WHERE session_id = ?1",
                "DELETE FROM system_snapshots WHERE session_id = ?1",
                "DELETE FROM system_changes WHERE session_id = ?1",
                "DELETE FROM imports WHERE session_id = ?1",
                "DELETE FROM sessions WHERE id = ?1",
            ] {
                tx.execute(sql, [id])?;
            }
            gc::delete_unreferenced_blobs(tx)?;
            Ok(())
        })?;
        removed
    }

    /// Replace the session's change set, final entries, finish notices,
    /// system changes and attributions, and mark it finished, all in one
    /// transaction: a crash leaves either the old state or the new one.
    pub fn save_finished(&mut self, f: &crate::model::Finished) -> Result<()> {
        let (session, changes, finals, notices, attributions) = (
            f.session,
            &f.changes,
            &f.finals,
            &f.notices,
            &f.attributions,
        );
        let system = f.system.as_ref().map(|(c, s)| (c, s));
        let key = session.to_string();
        let system = system
            .map(|(c, s)| {
                Ok::<_, Error>((
                    system::compress_json(&encode(c, "system_changes", &key)?, "system_changes")?,
                    system::compress_json(
                        &encode(s, "system_snapshots", &key)?,
                        "system_snapshots",
                    )?,
                ))
            })
            .transpose()?;
        self.write(|tx| {
            tx.execute(
                "DELETE FROM entry_blocks WHERE session_id = ?1 AND snapshot IN (?2, ?3)",
                params![session, Snapshot::Final as i64, Snapshot::Seen as i64],
            )?;
            tx.execute(
                "DELETE FROM notices WHERE session_id = ?1 AND phase = 'finish'",
                [session],
            )?;
            insert_entries_raw(tx, session, Snapshot::Final, finals, Contents::Blobs)?;
            change_blocks::replace(tx, session, changes.iter().map(Into::into).collect())?;
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
        })
    }

    /// The stored change set of a session (empty until it is finished).
    pub fn change_set(&self, name: &str) -> Result<ChangeSet> {
        let session = self.session(name)?;
        let rows = self.read(|c| change_blocks::read(c, session.id))?;
        let mut changes = Vec::with_capacity(rows.len());
        for change_blocks::Row {
            path,
            kind,
            secret,
            origin,
            package,
        } in rows
        {
            changes.push(Change {
                before: self.entry(session.id, Snapshot::Baseline, &path)?,
                after: self.entry(session.id, Snapshot::Final, &path)?,
                path,
                kind,
                secret,
                origin,
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

/// A `sessions` row as stored; [`SessionRow::decode`] is the one place it
/// becomes a [`Session`], and a column it cannot read is an error.
struct SessionRow {
    id: i64,
    name: String,
    description: Option<String>,
    root: Vec<u8>,
    state: String,
    created_at_ns: i64,
    finished_at_ns: Option<i64>,
    daemon_pid: Option<i32>,
    daemon_start: Option<i64>,
    rescan_reason: Option<String>,
    content_cap: i64,
    ignore_patterns: String,
    facts: String,
}

impl SessionRow {
    fn read(r: &Row) -> rusqlite::Result<SessionRow> {
        Ok(SessionRow {
            id: r.get(0)?,
            name: r.get(1)?,
            description: r.get(2)?,
            root: r.get(3)?,
            state: r.get(4)?,
            created_at_ns: r.get(5)?,
            finished_at_ns: r.get(6)?,
            daemon_pid: r.get(7)?,
            daemon_start: r.get(8)?,
            rescan_reason: r.get(9)?,
            content_cap: r.get(10)?,
            ignore_patterns: r.get(11)?,
            facts: r.get(12)?,
        })
    }

    fn decode(self) -> Sql<Session> {
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Fail::decode("sessions", &self.name, format!("unreadable {what}: {e}"))
        };
        let state = SessionState::parse(&self.state)
            .ok_or_else(|| bad("state", &format!("'{}'", self.state)))?;
        let ignore_patterns =
            serde_json::from_str(&self.ignore_patterns).map_err(|e| bad("ignore patterns", &e))?;
        let facts = serde_json::from_str(&self.facts).map_err(|e| bad("facts", &e))?;
        Ok(Session {
            id: self.id,
            name: self.name,
            description: self.description,
            root: self.root,
            watched: Vec::new(),
            state,
            created_at_ns: self.created_at_ns,
            finished_at_ns: self.finished_at_ns,
            daemon_pid: self.daemon_pid,
            daemon_start: self.daemon_start.map(|v| v as u64),
            rescan_reason: self.rescan_reason,
            content_cap: self.content_cap as u64,
            ignore_patterns,
            facts,
        })
    }
}

/// JSON for a column; a value that cannot be encoded is an error naming it.
fn encode<T: serde::Serialize>(value: &T, table: &'static str, key: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::BadInput {
        path: PathBuf::from(table),
        message: format!("{key}: cannot encode for the database: {e}"),
    })
}

const ENTRY_COLS: &str = "path, kind, mode, uid, gid, owner, grp, size, mtime_ns, hash,
    content_stored, link_target";

/// Create the database's directory (0700) and file (0600) if missing, so
/// SQLite never creates them with the umask's mode.
/// Whether the database exists. A path cft may not even look at (another
/// user's database) is that error, never "nothing recorded yet".
pub fn db_exists(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        // (A parent cft may not search gives EACCES, not ENOENT.)
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

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
        } else if default_db_path().parent() == Some(dir) {
            // cft's own directory, made by an older cft or by hand: private
            // too. (Another directory, such as /tmp, is the user's choice.)
            let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::io(dir, e))?;
            if meta.is_dir() && meta.mode() & 0o077 != 0 {
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::io(dir, e))?;
            }
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

mod blobs;
mod blocks;
mod change_blocks;
mod entries;
pub use entries::{Seen, SweepRow};
mod gc;
mod leftovers;
pub use gc::GcReport;
pub use leftovers::Leftover;
pub mod import;
pub mod intents;
pub mod pack;
mod system;
mod timeline;
use blobs::put_blob_raw;
use entries::{insert_entries_raw, Contents};
use timeline::{insert_events_raw, insert_notices_raw};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blocks;
