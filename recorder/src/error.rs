//! The recorder's one error type. Every variant names what it was working
//! on (the path, the session, the table and key); none gives advice in
//! terms of the command line: the binary knows its flags and says what to
//! do next. A variant with a source does not repeat the source's text (the
//! binary prints the chain).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing a stored content out failed (the caller names where to).
    #[error("writing a stored content out")]
    WriteOut(#[source] std::io::Error),
    #[error("database {}", path.display())]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// A row the database holds that this cft cannot read: never replaced
    /// by a default.
    #[error("database {}: {table} {key}: {message}", path.display())]
    Decode {
        path: PathBuf,
        table: &'static str,
        key: String,
        message: String,
    },
    #[error("database {} is newer than this cft (schema version {found}, this cft knows up to {known})", path.display())]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("no cft database at {} (nothing has been recorded with it)", path.display())]
    NoDatabase { path: PathBuf },
    #[error("no session named '{0}'")]
    NoSuchSession(String),
    #[error("a session named '{0}' already exists")]
    SessionExists(String),
    #[error("session '{active}' is already recording {root}")]
    AlreadyRecording { active: String, root: String },
    #[error(
        "session '{name}' is being finished or aborted by another cft (pid {pid}): wait for it \
         to end, then look with `cft status`"
    )]
    Claimed { name: String, pid: i32 },
    #[error("session '{name}' is {state}, not {expected}")]
    WrongState {
        name: String,
        state: String,
        expected: String,
    },
    #[error("no session is recording in {}", db.display())]
    NoActiveSession { db: PathBuf },
    #[error("several sessions are recording ({})", .0.join(", "))]
    AmbiguousSession(Vec<String>),
    #[error("invalid session name '{0}': use letters, digits, '.', '_' or '-', starting with a letter or digit (at most 64)")]
    BadSessionName(String),
    #[error("ignore pattern '{pattern}': {message}")]
    BadIgnore { pattern: String, message: String },
    /// The observed system's root (`--root` to the binary).
    #[error("root {}: {reason}", path.display())]
    BadRoot { path: PathBuf, reason: String },
    /// A root to watch (`--watch` to the binary).
    #[error("watched root {}: {reason}", path.display())]
    BadWatch { path: PathBuf, reason: String },
    #[error("{}: {message}", path.display())]
    BadInput { path: PathBuf, message: String },
    #[error("the inotify watch limit was reached while watching {}; raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=N)", path.display())]
    WatchLimit { path: PathBuf },
    /// A file given to `import` that is no portable session at all.
    #[error("{}: not a cft session export (it does not start with CFTX)", path.display())]
    NotAnExport { path: PathBuf },
    #[error("{}: truncated: a complete export of this one is {expected} bytes long, the file has {found}", path.display())]
    ExportTruncated {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error("{}: checksum mismatch: the file was altered or damaged after it was exported", path.display())]
    ExportChecksum { path: PathBuf },
    #[error("{}: made by a newer cft (export format version {found}, this cft reads up to {known})", path.display())]
    ExportTooNew {
        path: PathBuf,
        found: u32,
        known: u32,
    },
    /// A well-formed export whose content this cft refuses (a path that
    /// is not absolute, a size past the limits, a dangling reference).
    #[error("{}: invalid export: {message}", path.display())]
    BadExport { path: PathBuf, message: String },
    #[error("session '{name}' was imported from {source_file}: it has no baseline in this database to record against")]
    Imported { name: String, source_file: String },
    #[error("recorder daemon: {0}")]
    Daemon(String),
    #[error("interrupted: the recorder daemon was stopped and nothing was recorded")]
    Cancelled,
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
