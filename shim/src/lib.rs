//! `cft-shim`: a multi-call wrapper (uutils' `coreutils` pattern). Called
//! through a link named after a tool (`apt-get`, `systemctl`, `useradd`…,
//! made by `cft shim install DIR`), or as `cft-shim TOOL ARGS…`, it records
//! an *intent* (argv, cwd, uid, pids, times, outcome, enclosing intent) in
//! the recording session, then runs the real tool and ends exactly as it
//! did.
//!
//! The wrapped command must behave as if unwrapped: the real tool is found
//! on `PATH` skipping the shim (`resolve`), run as a child with everything
//! inherited (stdio, terminal, process group, environment plus
//! `CFT_INTENT_PARENT`), never through a shell. While it runs the shim
//! ignores SIGINT and SIGQUIT (the terminal delivers them to the tool, like
//! `time` does); afterwards it exits with the tool's code or re-raises the
//! signal that killed it. Recording failures go to `shim.log` beside the
//! database (`record`), never to the terminal.
//!
//! Known differences from running the tool directly: the Rust runtime
//! resets SIGPIPE to default and clears the signal mask in the child; a
//! signal sent to the shim's pid alone (not to the process group) is not
//! forwarded.
//!
//! Exit codes: the real tool's; 127 when it is not found on `PATH`, 126
//! when it cannot be executed, 2 for `cft-shim` without a TOOL.
//!
//! A library so that `cft` itself is the shim too when it is called by a
//! tool's name ([`run`]): one `cargo install` then gives everything.

mod record;
mod resolve;

use recorder::stop_keys::StopKeys;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::Command;

const SELF_NAME: &str = "cft-shim";

/// Be the shim for this process's arguments; never returns.
pub fn run() -> ! {
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    let name = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.as_bytes().starts_with(SELF_NAME.as_bytes()))
        .unwrap_or(true);
    if name {
        // `cft-shim TOOL ARGS…`: the tool sees itself called TOOL.
        if argv.len() < 2 {
            eprintln!("usage: {SELF_NAME} TOOL [ARGS…]  (or call it through a link named after TOOL; see `cft shim install`)");
            std::process::exit(2);
        }
        argv.remove(0);
    }
    let argv0 = argv[0].clone();
    let tool = if argv0.as_bytes().contains(&b'/') && !name {
        Path::new(&argv0)
            .file_name()
            .map(OsStr::to_os_string)
            .unwrap_or_default()
    } else {
        argv0.clone()
    };
    let path = std::env::var_os("PATH");
    let Some(real) = resolve::find_real(&tool, &argv0, path.as_deref(), resolve::self_id()) else {
        eprintln!("{}: command not found", tool.to_string_lossy());
        std::process::exit(127);
    };

    let rec = record::Recording::start(&argv);
    #[allow(clippy::disallowed_methods)] // the real tool, by the path resolve found
    let mut cmd = Command::new(&real);
    cmd.arg0(&argv0).args(&argv[1..]);
    if let Some(id) = rec.id() {
        cmd.env(record::PARENT_ENV, id.to_string());
    }
    if rec.id().is_none() {
        // Nothing to record the end into: become the tool, no extra process.
        let err = cmd.exec();
        let code = if err.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        };
        eprintln!("{}: {err}", real.display());
        std::process::exit(code);
    }
    // Ctrl-C and Ctrl-\ reach the tool, not the shim: caught by a handler
    // that does nothing, set before the spawn so no signal can kill the
    // shim first. exec resets caught signals to their default, so the
    // tool starts as if run directly (and keeps an ignored one ignored).
    let _stop_keys = StopKeys::catch();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                127
            } else {
                126
            };
            eprintln!("{}: {e}", real.display());
            rec.end(Some(code), None);
            std::process::exit(code);
        }
    };
    let status = match child.wait() {
        Ok(s) => s,
        Err(e) => {
            // Cannot happen for our own child; do not guess an outcome.
            rec.log("cannot wait for the tool", &e);
            std::process::exit(1);
        }
    };
    rec.end(status.code(), status.signal());
    match (status.code(), status.signal()) {
        (Some(code), _) => std::process::exit(code),
        (None, Some(sig)) => die_of(sig),
        _ => std::process::exit(1),
    }
}

/// End the way the tool did: by the same signal, so the caller's shell sees
/// (and reports) it. No core file of the shim's own: that would overwrite
/// the tool's `core`.
fn die_of(sig: i32) -> ! {
    // SAFETY: plain libc calls on our own process; SIG_DFL installs no code.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::signal(sig, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(sig);
    }
    // A signal whose default action is not to terminate.
    std::process::exit(128 + sig)
}
