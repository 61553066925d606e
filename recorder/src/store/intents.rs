//! Intents: the commands `cft-shim` saw run during a recording session
//! (`apt-get install nginx`, the `systemctl enable` its maintainer script
//! ran), so that later steps can say *why* a file changed.
//!
//! Two halves. The shim's hot path ([`IntentLog`]) opens an existing
//! database directly, never creates or migrates it, waits at most
//! [`SHIM_BUSY_TIMEOUT`] for a lock, and records nothing when the schema
//! predates intents or no session is recording. The reader half
//! ([`Store::intents`]) decodes rows for the generator, in one place.
//!
//! `argv` is stored as one BLOB: every argument's bytes followed by a NUL
//! (arguments cannot contain NUL, so this is unambiguous and byte-exact).

use super::{Fail, Sql, Store};
use crate::error::Result;
use crate::model::{Attribution, Subject};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long the shim waits for another writer before giving up on recording
/// (the real tool runs regardless).
pub const SHIM_BUSY_TIMEOUT: Duration = Duration::from_millis(200);

/// The first schema version that has the `intents` table.
const INTENTS_SCHEMA: i64 = 3;
/// The first schema version that records typed lines (`intents.source`).
const LINES_SCHEMA: i64 = 5;

pub use crate::model::{Intent, IntentSource};

/// What the shim knows when it launches the real tool.
#[derive(Clone, Debug)]
pub struct IntentStart<'a> {
    pub source: IntentSource,
    /// The session named by `CFT_SESSION`; None means the session
    /// recording the root `/`.
    pub session: Option<&'a str>,
    /// `CFT_INTENT_PARENT` as passed down by an enclosing shim; ignored
    /// unless it names an intent of the same session.
    pub parent: Option<i64>,
    pub argv: &'a [&'a [u8]],
    pub cwd: &'a [u8],
    pub uid: u32,
    pub pid: i32,
    pub ppid: i32,
    pub start_ns: i64,
}

/// How the tool ended: an exit code or the signal that killed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntentEnd {
    pub end_ns: i64,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

/// Record a start in the recording session (`?8` names it, else the one
/// recording `/`), with the parent only if it belongs to that session.
const START_SQL: &str =
    "INSERT INTO intents (session_id, parent, argv, cwd, uid, pid, ppid, start_ns, source)
     SELECT s.id,
            (SELECT i.id FROM intents i WHERE i.id = ?1 AND i.session_id = s.id),
            ?2, ?3, ?4, ?5, ?6, ?7, ?10
     FROM sessions s
     WHERE s.state = 'recording'
       AND CASE WHEN ?8 IS NULL THEN s.root = ?9 ELSE s.name = ?8 END
     ORDER BY s.id LIMIT 1";

/// The same for schemas 3 and 4, which have no `source` (always a tool
/// there; `?10` is only bound so both statements take the same parameters).
const START_SQL_V3: &str =
    "INSERT INTO intents (session_id, parent, argv, cwd, uid, pid, ppid, start_ns)
     SELECT s.id,
            (SELECT i.id FROM intents i WHERE i.id = ?1 AND i.session_id = s.id),
            ?2, ?3, ?4, ?5, ?6, ?7
     FROM sessions s
     WHERE s.state = 'recording'
       AND CASE WHEN ?8 IS NULL THEN s.root = ?9 ELSE s.name = ?8 END
       AND ?10 = 'tool'
     ORDER BY s.id LIMIT 1";

/// The shim's connection: no migration, short busy timeout.
pub struct IntentLog {
    conn: Connection,
    path: PathBuf,
    version: i64,
}

impl IntentLog {
    /// Open the database at `db` for recording intents. `Ok(None)` when
    /// there is nothing to record into: no database file, or a schema that
    /// predates intents (an older cft made it; never migrated from here).
    pub fn open(db: &Path) -> Result<Option<IntentLog>> {
        if !db.exists() {
            return Ok(None);
        }
        let open = || -> Sql<Option<IntentLog>> {
            // The shim's own connection: read-write, never created, never
            // migrated (its hot path must stay a few milliseconds).
            #[allow(clippy::disallowed_methods)]
            let conn = Connection::open_with_flags(
                db,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(SHIM_BUSY_TIMEOUT)?;
            // Per connection; FULL would fsync the WAL on every commit.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version < INTENTS_SCHEMA {
                return Ok(None);
            }
            Ok(Some(IntentLog {
                conn,
                path: db.to_path_buf(),
                version,
            }))
        };
        open().map_err(|e| e.at(db))
    }

    /// Record the start of an invocation in the selected recording session,
    /// in one statement. `Ok(None)` when no such session is recording.
    pub fn start(&self, s: &IntentStart) -> Result<Option<i64>> {
        let argv = encode_argv(s.argv);
        if s.source == IntentSource::Line && self.version < LINES_SCHEMA {
            // An older cft made this database; its schema has no typed lines.
            return Ok(None);
        }
        let run = || -> Sql<Option<i64>> {
            // A read first: with no session recording, the shim never takes
            // the write lock (the daemon may be flushing a burst of events).
            let recording: Option<i64> = self
                .conn
                .query_row(
                    "SELECT s.id FROM sessions s
                     WHERE s.state = 'recording'
                       AND CASE WHEN ?1 IS NULL THEN s.root = ?2 ELSE s.name = ?1 END
                     LIMIT 1",
                    params![s.session, &b"/"[..]],
                    |r| r.get(0),
                )
                .optional()?;
            if recording.is_none() {
                return Ok(None);
            }
            let n = self.conn.execute(
                if self.version >= LINES_SCHEMA {
                    START_SQL
                } else {
                    START_SQL_V3
                },
                params![
                    s.parent,
                    argv,
                    s.cwd,
                    s.uid,
                    s.pid,
                    s.ppid,
                    s.start_ns,
                    s.session,
                    &b"/"[..],
                    s.source.as_str()
                ],
            )?;
            Ok((n == 1).then(|| self.conn.last_insert_rowid()))
        };
        run().map_err(|e| e.at(&self.path))
    }

    /// Record how the invocation `id` ended.
    /// Is the session named `name` recording? A shell's hooks turn
    /// themselves off once it is not (finished, aborted or erased).
    pub fn is_recording(&self, name: &str) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sessions WHERE name = ?1 AND state = 'recording')",
                [name],
                |r| r.get(0),
            )
            .map_err(|e| Fail::from(e).at(&self.path))
    }

    pub fn end(&self, id: i64, end: &IntentEnd) -> Result<()> {
        self.conn
            .execute(
                "UPDATE intents SET end_ns = ?2, exit_code = ?3, signal = ?4 WHERE id = ?1",
                params![id, end.end_ns, end.exit_code, end.signal],
            )
            .map_err(|e| Fail::from(e).at(&self.path))?;
        Ok(())
    }
}

/// Replace a session's attributions (inside `store_change_set`'s
/// transaction).
pub(super) fn replace_attributions(
    tx: &rusqlite::Transaction,
    session: i64,
    attributions: &[Attribution],
) -> Sql<()> {
    tx.execute("DELETE FROM attributions WHERE session_id = ?1", [session])?;
    let mut stmt = tx.prepare_cached(
        "INSERT OR REPLACE INTO attributions (session_id, subject, name, intent)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for a in attributions {
        stmt.execute(params![session, a.subject.as_str(), a.name, a.intent])?;
    }
    Ok(())
}

impl Store {
    /// Which intent each change of a session happened during, sorted by
    /// subject and name.
    pub fn attributions(&self, session: i64) -> Result<Vec<Attribution>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT subject, name, intent FROM attributions WHERE session_id = ?1",
            )?;
            let rows = stmt.query_map([session], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get(2)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (subject, name, intent) = row?;
                let subject = Subject::parse(&subject).ok_or_else(|| {
                    Fail::decode(
                        "attributions",
                        format!("session {session}"),
                        format!("unknown subject '{subject}'"),
                    )
                })?;
                out.push(Attribution {
                    subject,
                    name,
                    intent,
                });
            }
            out.sort();
            Ok(out)
        })
    }

    /// Every intent of a session, in the order they started.
    pub fn intents(&self, session: i64) -> Result<Vec<Intent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, parent, argv, cwd, uid, pid, ppid, start_ns, end_ns, exit_code, signal,
                        source
                 FROM intents WHERE session_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([session], IntentRow::read)?;
            let mut out = Vec::new();
            for r in rows {
                out.push(r?.decode()?);
            }
            Ok(out)
        })
    }
}

/// An `intents` row as stored; decoded in one place.
struct IntentRow(Intent, String);

impl IntentRow {
    fn read(r: &Row) -> rusqlite::Result<IntentRow> {
        Ok(IntentRow(
            Intent {
                id: r.get(0)?,
                parent: r.get(1)?,
                argv: decode_argv(&r.get::<_, Vec<u8>>(2)?),
                cwd: r.get(3)?,
                uid: r.get(4)?,
                pid: r.get(5)?,
                ppid: r.get(6)?,
                start_ns: r.get(7)?,
                end_ns: r.get(8)?,
                exit_code: r.get(9)?,
                signal: r.get(10)?,
                source: IntentSource::Tool,
            },
            r.get(11)?,
        ))
    }

    fn decode(self) -> Sql<Intent> {
        let IntentRow(mut intent, source) = self;
        intent.source = IntentSource::parse(&source).ok_or_else(|| {
            Fail::decode(
                "intents",
                intent.id.to_string(),
                format!("unknown source '{source}'"),
            )
        })?;
        Ok(intent)
    }
}

/// Append one line to `shim.log` beside the database `db` (0600, never
/// through a symlink): where the shim and the shell hooks report what they
/// could not record, instead of the terminal. Gives up silently.
pub fn log_failure(db: &Path, tool: &std::ffi::OsStr, what: &str, err: &dyn std::error::Error) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let Some(dir) = db.parent() else { return };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join("shim.log"))
    else {
        return;
    };
    // The whole chain: the cause ("database is locked") is a source.
    let mut err_text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        err_text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    let line = format!(
        "{} pid {} {}: {what}: {err_text}\n",
        crate::clock::now_ns() / 1_000_000_000,
        std::process::id(),
        tool.to_string_lossy()
    );
    let _ = f.write_all(line.as_bytes());
}

/// Every argument followed by a NUL byte.
pub fn encode_argv(argv: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(argv.iter().map(|a| a.len() + 1).sum());
    for a in argv {
        out.extend_from_slice(a);
        out.push(0);
    }
    out
}

/// The inverse of [`encode_argv`]; a missing final NUL (a row written by
/// something else) still yields the last argument.
pub fn decode_argv(blob: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = blob.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    if blob.last().is_none_or(|&b| b == 0) {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Facts;
    use crate::store::NewSession;

    #[test]
    fn argv_round_trips() {
        let cases: &[(&str, &[&[u8]])] = &[
            ("empty", &[]),
            ("one", &[b"true"]),
            ("empty args", &[b"", b"x", b""]),
            ("non-utf8", &[b"\xff\xfe", b"a b", b"'\"$(x)"]),
        ];
        for (name, argv) in cases {
            let back = decode_argv(&encode_argv(argv));
            let want: Vec<Vec<u8>> = argv.iter().map(|a| a.to_vec()).collect();
            assert_eq!(back, want, "{name}");
        }
        assert_eq!(decode_argv(b"a\0b"), vec![b"a".to_vec(), b"b".to_vec()]);
    }

    fn session(store: &mut Store, name: &str, root: &[u8]) -> i64 {
        store
            .create_session(&NewSession {
                name: name.into(),
                description: None,
                root: root.to_vec(),
                watched: vec![],
                content_cap: 1,
                ignore_patterns: vec![],
                facts: Facts::default(),
            })
            .unwrap()
            .id
    }

    fn start<'a>(
        session: Option<&'a str>,
        parent: Option<i64>,
        argv: &'a [&'a [u8]],
    ) -> IntentStart<'a> {
        IntentStart {
            source: IntentSource::Tool,
            session,
            parent,
            argv,
            cwd: b"/tmp",
            uid: 0,
            pid: 10,
            ppid: 9,
            start_ns: 100,
        }
    }

    #[test]
    fn records_into_the_session_recording_slash_or_the_named_one() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("cft.db");
        assert!(
            IntentLog::open(&db).unwrap().is_none(),
            "no database: nothing"
        );
        let mut store = Store::open(&db).unwrap();
        let log = IntentLog::open(&db).unwrap().unwrap();
        assert_eq!(log.start(&start(None, None, &[b"apt-get"])).unwrap(), None);

        let chroot = session(&mut store, "chroot", b"/srv/chroot");
        let host = session(&mut store, "host", b"/");
        let top = log
            .start(&start(None, None, &[b"apt-get", b"install", b"\xff"]))
            .unwrap()
            .unwrap();
        let child = log
            .start(&start(None, Some(top), &[b"systemctl", b"enable", b"x"]))
            .unwrap()
            .unwrap();
        // A parent from another session is not this one's parent.
        let named = log
            .start(&start(Some("chroot"), Some(top), &[b"useradd", b"u"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            log.start(&start(Some("nope"), None, &[b"x"])).unwrap(),
            None
        );
        log.end(
            child,
            &IntentEnd {
                end_ns: 200,
                exit_code: None,
                signal: Some(15),
            },
        )
        .unwrap();

        let got = store.intents(host).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, top);
        assert_eq!(got[0].parent, None);
        assert_eq!(
            got[0].argv,
            vec![b"apt-get".to_vec(), b"install".to_vec(), b"\xff".to_vec()]
        );
        assert_eq!((got[0].end_ns, got[0].exit_code), (None, None));
        assert_eq!(got[1].parent, Some(top));
        assert_eq!((got[1].end_ns, got[1].signal), (Some(200), Some(15)));
        assert_eq!(
            (got[1].cwd.as_slice(), got[1].pid, got[1].ppid),
            (&b"/tmp"[..], 10, 9)
        );
        let c = store.intents(chroot).unwrap();
        assert_eq!((c.len(), c[0].id, c[0].parent), (1, named, None));

        // Erasing a session takes its intents with it.
        store.set_finished(host).unwrap();
        store.erase_session(host).unwrap();
        assert!(store.intents(host).unwrap().is_empty());
    }

    #[test]
    fn an_old_schema_records_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("old.db");
        #[allow(clippy::disallowed_methods)] // a database of the first schema, by hand
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        assert!(IntentLog::open(&db).unwrap().is_none());
    }
}
