//! Intents: the commands run during a session, as recorded. `cft-shim`
//! records every wrapped tool it runs (argv); a recording shell's hooks
//! record every command line typed (the line). What a command means is
//! read by the `intent` module.

use serde::{Deserialize, Serialize};

/// What kind of thing an intent records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentSource {
    /// A program run through `cft-shim`; `argv` is its arguments.
    Tool,
    /// A command line typed in a recording shell; `argv[0]` is the line.
    Line,
}

impl IntentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentSource::Tool => "tool",
            IntentSource::Line => "line",
        }
    }

    pub fn parse(s: &str) -> Option<IntentSource> {
        match s {
            "tool" => Some(IntentSource::Tool),
            "line" => Some(IntentSource::Line),
            _ => None,
        }
    }
}

/// One recorded invocation of a wrapped tool, or one typed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    pub id: i64,
    pub source: IntentSource,
    /// The enclosing intent: the typed line that ran this tool, the
    /// package manager that ran this maintainer script's command.
    pub parent: Option<i64>,
    /// Every argument, `argv[0]` (the name the tool was called by) first;
    /// for a typed line, the line alone.
    pub argv: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    pub uid: u32,
    pub pid: i32,
    pub ppid: i32,
    pub start_ns: i64,
    /// None while the tool runs (or if its end could not be recorded).
    pub end_ns: Option<i64>,
    pub exit_code: Option<i32>,
    /// The signal that killed the tool.
    pub signal: Option<i32>,
}

impl Intent {
    /// Did it run to a zero exit status?
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && self.signal.is_none()
    }
}
