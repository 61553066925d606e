//! Recording the intent, and never letting that get in the way.
//!
//! Every failure (database missing its directory, locked, read-only,
//! corrupt, disk full) is appended to `shim.log` next to the database and
//! otherwise ignored: nothing reaches the terminal, the real tool runs with
//! the same result. With no database, or no session recording, nothing is
//! recorded and nothing is logged.

use recorder::store::intents::{IntentEnd, IntentLog, IntentSource, IntentStart};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// Names the session to record into (default: the one recording `/`).
pub const SESSION_ENV: &str = "CFT_SESSION";
/// The enclosing intent's id, passed to the real tool's environment.
pub const PARENT_ENV: &str = "CFT_INTENT_PARENT";
/// The database (default: `recorder::store::default_db_path`).
pub const DB_ENV: &str = "CFT_DB";

/// An intent being recorded (or not).
pub struct Recording {
    db: PathBuf,
    tool: OsString,
    open: Option<(IntentLog, i64)>,
}

impl Recording {
    /// Record the start of `argv` (as the real tool receives it).
    pub fn start(argv: &[OsString]) -> Recording {
        let db = std::env::var_os(DB_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(recorder::store::default_db_path);
        let tool = argv.first().cloned().unwrap_or_default();
        let mut rec = Recording {
            db,
            tool,
            open: None,
        };
        match rec.try_start(argv) {
            Ok(open) => rec.open = open,
            Err(e) => rec.log("cannot record the start", &e),
        }
        rec
    }

    fn try_start(&self, argv: &[OsString]) -> recorder::Result<Option<(IntentLog, i64)>> {
        let Some(log) = IntentLog::open(&self.db)? else {
            return Ok(None);
        };
        let session = std::env::var(SESSION_ENV).ok().filter(|s| !s.is_empty());
        let parent = std::env::var(PARENT_ENV)
            .ok()
            .and_then(|v| v.parse::<i64>().ok());
        let cwd = std::env::current_dir()
            .map(|d| d.into_os_string().into_vec())
            .unwrap_or_default();
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let start = IntentStart {
            source: IntentSource::Tool,
            session: session.as_deref(),
            parent,
            argv: &args,
            cwd: &cwd,
            uid: nix::unistd::getuid().as_raw(),
            pid: std::process::id() as i32,
            ppid: nix::unistd::getppid().as_raw(),
            start_ns: now_ns(),
        };
        Ok(log.start(&start)?.map(|id| (log, id)))
    }

    /// The id to hand to the real tool as its children's parent.
    pub fn id(&self) -> Option<i64> {
        self.open.as_ref().map(|(_, id)| *id)
    }

    /// Record how the tool ended.
    pub fn end(self, exit_code: Option<i32>, signal: Option<i32>) {
        let Some((log, id)) = &self.open else {
            return;
        };
        let end = IntentEnd {
            end_ns: now_ns(),
            exit_code,
            signal,
        };
        if let Err(e) = log.end(*id, &end) {
            self.log("cannot record the end", &e);
        }
    }

    /// Append one line to `shim.log` beside the database; silently give up
    /// if even that is impossible.
    pub fn log(&self, what: &str, err: &dyn std::error::Error) {
        log_line(&self.db, &self.tool, what, err);
    }
}

pub use recorder::store::intents::log_failure as log_line;

use recorder::clock::now_ns;
