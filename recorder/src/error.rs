//! The recorder's error type: every variant names what it was working on.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path} is newer than this cft (schema version {found}, this cft knows up to {known}); upgrade cft")]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("no session named '{0}' (see `cft list`)")]
    NoSuchSession(String),
    #[error(
        "a session named '{0}' already exists (choose another name, or `cft erase {0}` first)"
    )]
    SessionExists(String),
    #[error("session '{active}' is already recording {root}; finish it with `cft finish {active}` or abort it with `cft abort {active}`")]
    AlreadyRecording { active: String, root: String },
    #[error("session '{name}' is {state}, not {expected}")]
    WrongState {
        name: String,
        state: String,
        expected: String,
    },
    #[error("no session is recording (start one with `cft begin NAME`)")]
    NoActiveSession,
    #[error("several sessions are recording ({0}); name the one you mean")]
    AmbiguousSession(String),
    #[error("invalid session name '{0}': use letters, digits, '.', '_' or '-', starting with a letter or digit (at most 64)")]
    BadSessionName(String),
    #[error("ignore pattern '{pattern}': {message}")]
    BadIgnore { pattern: String, message: String },
    #[error("{path}: {message}")]
    BadInput { path: PathBuf, message: String },
    #[error("the inotify watch limit was reached while watching {path}; raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=N)")]
    WatchLimit { path: PathBuf },
    #[error("recorder daemon: {0}")]
    Daemon(String),
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
