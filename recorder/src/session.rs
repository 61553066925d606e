//! Session lifecycle: begin (baseline + detached daemon + ready handshake),
//! finish (stop, reconcile, store), resume, abort, erase, status.
//!
//! The daemon is this same program re-executed with a hidden subcommand
//! (`daemon::Invocation`), in its own session (setsid), its output going to a
//! private log file next to the database.

use crate::daemon::{self, Ready};
use crate::error::{Error, Result};
/// The user's ignore rules, one gitignore pattern a line (`--ignore-file`).
pub use crate::ignore_rules::RULES_FILE;
use crate::ignore_rules::{read_rules_file, Ignore};
use crate::model::{display_path, Session, SessionState};
use crate::progress::Progress;
use crate::store::{Activity, NewSession, Store};
use crate::target::Target;
use crate::watcher::{root_state, RootState};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Roots watched unless `--no-default-watch`; those that do not exist at
/// `begin` are recorded once they appear.
pub const DEFAULT_ROOTS: &[&str] = &[
    "/etc",
    "/home",
    "/root",
    "/srv",
    "/opt",
    "/usr/local",
    "/var/www",
    "/var/spool/cron",
];

/// Default size cap for baseline contents.
pub const DEFAULT_CONTENT_CAP: u64 = 4 << 20;

#[derive(Clone, Debug)]
pub struct BeginOptions {
    pub name: String,
    pub description: Option<String>,
    /// Host path of the observed system's `/`.
    pub root: PathBuf,
    /// Extra roots to watch (target-system paths).
    pub watch: Vec<PathBuf>,
    pub default_watch: bool,
    pub ignore: Vec<String>,
    /// The user's rules file (default `/etc/cft/ignore` on the host).
    pub rules_file: PathBuf,
    pub content_cap: u64,
}

impl BeginOptions {
    pub fn new(name: &str) -> BeginOptions {
        BeginOptions {
            name: name.to_string(),
            description: None,
            root: PathBuf::from("/"),
            watch: Vec::new(),
            default_watch: true,
            ignore: Vec::new(),
            rules_file: PathBuf::from(RULES_FILE),
            content_cap: DEFAULT_CONTENT_CAP,
        }
    }
}

#[derive(Clone, Debug)]
pub struct BeginReport {
    pub session: Session,
    pub ready: Ready,
    pub log: PathBuf,
}

/// How to start the daemon: the program and any arguments that come before
/// the daemon subcommand.
#[derive(Clone, Debug)]
pub struct Launcher {
    pub program: PathBuf,
}

/// Start a new session: record it, start the daemon and wait until it
/// watches every root and holds the baseline. The daemon's walks report to
/// `progress` as they go.
pub fn begin(
    db: &Path,
    opts: &BeginOptions,
    launcher: &Launcher,
    progress: &dyn Progress,
) -> Result<BeginReport> {
    let new = new_session(db, opts)?;
    let mut store = Store::open(db)?;
    repair(&mut store)?;
    let session = store.create_session(&new)?;
    match start_daemon(db, &session, false, launcher, progress) {
        Ok((ready, log)) => Ok(BeginReport {
            session: store.session_by_id(session.id)?,
            ready,
            log,
        }),
        Err(e) => {
            // Nothing was recorded yet: leave no half-made session behind.
            // On a full disk the erase may fail too; the session never got
            // ready, so the next command erases it (`repair`). Either way
            // the one message is why begin failed.
            if let Ok(s) = store.session_by_id(session.id) {
                stop_daemon(&store, &s);
                wait_gone(&s);
            }
            if let Err(cleanup) = store.erase_session(session.id) {
                tracing::info!("erasing the failed session: {cleanup}; the next command will");
            }
            Err(e)
        }
    }
}

/// Erase what a failed `begin` could not: recording sessions that never
/// got ready and whose maker and daemon are both gone. Every command that
/// opens a store to begin, resume, finish, abort or list runs it first.
/// Returns the names erased.
pub fn repair(store: &mut Store) -> Result<Vec<String>> {
    let mut erased = Vec::new();
    for l in store.leftovers()? {
        if daemon::is_alive(l.maker.0, l.maker.1) || daemon::is_alive(l.daemon.0, l.daemon.1) {
            continue; // a begin still under way
        }
        store.erase_session(l.id)?;
        erased.push(l.name);
    }
    Ok(erased)
}

/// The store at `db`, with a failed begin's leftovers erased.
pub fn open_repaired(db: &Path) -> Result<Store> {
    let mut store = Store::open_existing(db)?;
    repair(&mut store)?;
    Ok(store)
}

/// A session as `opts` describe it, checked: its name, its root, its
/// watched roots, its ignore rules (the rules file, the patterns given,
/// and the database's own directory), and the machine's facts. Nothing is
/// stored yet.
pub(crate) fn new_session(db: &Path, opts: &BeginOptions) -> Result<NewSession> {
    validate_name(&opts.name)?;
    let root = canonical_root(&opts.root)?;
    let watched = watched_roots(&root, &opts.watch, opts.default_watch)?;
    let mut patterns = read_rules_file(&opts.rules_file)?;
    patterns.extend(opts.ignore.iter().cloned());
    // Never record cft's own database if it lives in a watched root.
    if let Some(dir) = db.parent().and_then(|d| std::fs::canonicalize(d).ok()) {
        if let Some(t) = Target::new(&root).target_path(&dir) {
            if t != b"/" {
                if let Ok(s) = std::str::from_utf8(&t) {
                    patterns.push(format!("{}/", glob_escape(s)));
                }
            }
        }
    }
    Ignore::new(&patterns)?; // reject bad patterns before anything is stored
    let facts = crate::facts::facts(&Target::new(&root));
    Ok(NewSession {
        name: opts.name.clone(),
        description: opts.description.clone(),
        root,
        watched,
        content_cap: opts.content_cap,
        ignore_patterns: patterns,
        facts,
    })
}

/// Continue a finished session: watch again, keep the baseline; the next
/// finish reconciles everything since the original begin.
/// The walk of the gap (what changed while nothing watched) reports to
/// `progress`.
pub fn resume(
    db: &Path,
    name: &str,
    launcher: &Launcher,
    progress: &dyn Progress,
) -> Result<BeginReport> {
    let store = open_repaired(db)?;
    let session = store.session(name)?;
    if session.state != SessionState::Finished {
        return Err(Error::WrongState {
            name: name.into(),
            state: session.state.as_str().into(),
            expected: "finished".into(),
        });
    }
    if let Some(origin) = store.import_origin(session.id)? {
        return Err(Error::Imported {
            name: name.into(),
            source_file: origin.source,
        });
    }
    if let Some(active) = store
        .recording_sessions()?
        .into_iter()
        .find(|s| s.root == session.root)
    {
        return Err(Error::AlreadyRecording {
            active: active.name,
            root: display_path(&session.root),
        });
    }
    store.set_recording(session.id)?;
    match start_daemon(db, &session, true, launcher, progress) {
        Ok((ready, log)) => Ok(BeginReport {
            session: store.session_by_id(session.id)?,
            ready,
            log,
        }),
        Err(e) => {
            // The session was fine before: make it finished again (its
            // change set is untouched) and leave no daemon behind.
            let s = store.session_by_id(session.id)?;
            stop_daemon(&store, &s);
            wait_gone(&s);
            store.set_finished(session.id)?;
            Err(e)
        }
    }
}

fn start_daemon(
    db: &Path,
    session: &Session,
    resume: bool,
    launcher: &Launcher,
    progress: &dyn Progress,
) -> Result<(Ready, PathBuf)> {
    let db_dir = db.parent().unwrap_or(Path::new("."));
    let log = db_dir.join(format!("daemon-{}.log", session.name));
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&log)
        .map_err(|e| Error::io(&log, e))?;
    let (read_end, write_end): (OwnedFd, OwnedFd) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| Error::Daemon(format!("pipe: {e}")))?;
    let db_abs = std::fs::canonicalize(db).map_err(|e| Error::io(db, e))?;
    let invocation = daemon::Invocation {
        db: db_abs,
        session: session.name.clone(),
        resume,
        // The write end of the pipe, put there by `pre_exec` below.
        ready_fd: Some(3),
    };
    #[allow(clippy::disallowed_methods)] // this executable (current_exe), as the daemon
    let mut cmd = Command::new(&launcher.program);
    cmd.args(invocation.to_args())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| Error::io(&log, e))?)
        .stderr(log_file)
        .current_dir("/");
    let wfd = write_end.as_raw_fd();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::umask(0o077);
            Ok(())
        });
    }
    let cancel = crate::stop_keys::Cancel::catch();
    let mut child = cmd.spawn().map_err(|e| Error::io(&launcher.program, e))?;
    drop(write_end);
    // Wait for the ready line, passing on the progress lines before it,
    // or for Ctrl-C: the daemon is in its own session, so the key reaches
    // only us, and we must stop it.
    let mut pipe = std::fs::File::from(read_end);
    let mut pending: Vec<u8> = Vec::new();
    let line = loop {
        let mut fds = [nix::poll::PollFd::new(
            pipe.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let n = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).unwrap_or(0);
        if cancel.cancelled() {
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Cancelled);
        }
        if n == 0 {
            continue;
        }
        let mut buf = [0u8; 8192];
        let got = match pipe.read(&mut buf) {
            Ok(0) | Err(_) => break String::from_utf8_lossy(&pending).into_owned(),
            Ok(got) => got,
        };
        pending.extend_from_slice(&buf[..got]);
        let mut ready = None;
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let text: Vec<u8> = pending.drain(..=nl).collect();
            match serde_json::from_slice::<daemon::WalkedLine>(&text) {
                Ok(w) => progress.walked(&w.walked),
                Err(_) => {
                    ready = Some(String::from_utf8_lossy(&text).into_owned());
                    break;
                }
            }
        }
        if let Some(line) = ready {
            break line;
        }
    };
    drop(cancel);
    // The child is detached; its exit is noticed through /proc, not wait().
    drop(child);
    let ready: Ready = serde_json::from_str(line.trim()).unwrap_or_else(|_| Ready {
        ok: false,
        error: Some(format!(
            "the recorder daemon exited before it was ready (see {})",
            log.display()
        )),
        ..Ready::default()
    });
    if !ready.ok {
        return Err(Error::Daemon(
            ready.error.unwrap_or_else(|| "failed to start".into()),
        ));
    }
    Ok((ready, log))
}

pub use crate::finish::FinishReport;

/// Stop the daemon, reconcile and store the change set; the walks of what
/// is re-read report to `progress`.
pub fn finish(db: &Path, name: Option<&str>, progress: &dyn Progress) -> Result<FinishReport> {
    let mut store = open_repaired(db)?;
    let session = pick_recording(&store, name)?;
    // One finish or abort at a time; the other is told so, by name.
    store.claim(session.id, &session.name)?;
    let id = session.id;
    let done = finish_claimed(&mut store, session, progress);
    if done.is_err() {
        let _ = store.release(id);
    }
    done
}

fn finish_claimed(
    store: &mut Store,
    session: Session,
    progress: &dyn Progress,
) -> Result<FinishReport> {
    let t = Instant::now();
    let extra = if daemon::is_alive(session.daemon_pid, session.daemon_start) {
        if stop_daemon(store, &session) {
            None
        } else {
            Some("the recorder daemon did not stop in time and was killed".to_string())
        }
    } else {
        Some("the recorder daemon was not running (killed or crashed)".to_string())
    };
    // A pid that is gone says nothing of how it went: only the daemon's
    // own stop, committed last, says nothing was lost.
    let extra = match extra {
        None if !store.stopped_cleanly(session.id)? => Some(
            "the recorder daemon ended without recording its clean stop (killed, crashed, or \
             its last write failed)"
                .to_string(),
        ),
        other => other,
    };
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "the daemon stopped");
    // The daemon may have marked a rescan while stopping (its reason wins).
    let session = store.session_by_id(session.id)?;
    let report = crate::finish::run(store, &session, extra.as_deref(), progress);
    // Long gone by now: what finish returns, no daemon of it outlives.
    wait_gone(&session);
    report
}

/// Stop recording and throw the session away.
pub fn abort(db: &Path, name: Option<&str>) -> Result<Session> {
    let mut store = Store::open_existing(db)?;
    let session = pick_recording(&store, name)?;
    store.claim(session.id, &session.name)?;
    stop_daemon(&store, &session);
    store.erase_session(session.id)?;
    wait_gone(&session);
    Ok(session)
}

/// Delete a session that is not recording, and give its space back
/// (`Store::gc`).
pub fn erase(db: &Path, name: &str) -> Result<crate::store::GcReport> {
    let mut store = Store::open_existing(db)?;
    let session = store.session(name)?;
    if session.state == SessionState::Recording {
        return Err(Error::WrongState {
            name: name.into(),
            state: "recording".into(),
            expected: "finished".into(),
        });
    }
    store.erase_session(session.id)?;
    let log = db
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("daemon-{name}.log"));
    let _ = std::fs::remove_file(log);
    store.gc()
}

/// Give back the space of what no session refers to (`cft gc`).
pub fn gc(db: &Path) -> Result<crate::store::GcReport> {
    Store::open_existing(db)?.gc()
}

/// A recording session as `cft status` shows it.
#[derive(Clone, Debug)]
pub struct Status {
    pub session: Session,
    pub daemon_alive: bool,
    pub activity: Activity,
}

pub fn status(db: &Path) -> Result<Vec<Status>> {
    if !crate::store::db_exists(db)? {
        return Ok(Vec::new());
    }
    let mut store = Store::open(db)?;
    repair(&mut store)?;
    store
        .recording_sessions()?
        .into_iter()
        .map(|s| {
            Ok(Status {
                daemon_alive: daemon::is_alive(s.daemon_pid, s.daemon_start),
                activity: store.activity(s.id)?,
                session: s,
            })
        })
        .collect()
}

/// The session `name`, or the only recording one; it must be recording.
fn pick_recording(store: &Store, name: Option<&str>) -> Result<Session> {
    let session = match name {
        Some(n) => store.session(n)?,
        None => {
            let mut active = store.recording_sessions()?;
            match active.len() {
                0 => {
                    return Err(Error::NoActiveSession {
                        db: store.path().to_path_buf(),
                    })
                }
                1 => active.remove(0),
                _ => {
                    let names: Vec<String> = active.into_iter().map(|s| s.name).collect();
                    return Err(Error::AmbiguousSession(names));
                }
            }
        }
    };
    if session.state != SessionState::Recording {
        return Err(Error::WrongState {
            name: session.name,
            state: session.state.as_str().into(),
            expected: "recording".into(),
        });
    }
    Ok(session)
}

/// SIGTERM the daemon and wait until it has stopped writing, by itself
/// (gone, or its clean stop committed): true; SIGKILL after a grace
/// period: false. `wait_gone` waits for the exit.
fn stop_daemon(store: &Store, session: &Session) -> bool {
    let (Some(pid), Some(start)) = (session.daemon_pid, session.daemon_start) else {
        return true;
    };
    if !daemon::is_alive(Some(pid), Some(start)) {
        return true;
    }
    // A clean stop is this daemon's only if committed after the signal (a
    // resumed session holds an earlier daemon's).
    let before = store
        .last_event(session.id)
        .ok()
        .flatten()
        .map(|(id, _)| id);
    let npid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(npid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if !daemon::is_alive(Some(pid), Some(start)) {
            return true;
        }
        // Its clean stop is the last thing it writes: finish need not wait
        // for the exit too, which the kernel's teardown of many watches
        // makes tens of milliseconds longer.
        if let Ok(Some((id, true))) = store.last_event(session.id) {
            if before.is_none_or(|b| id > b) {
                return true;
            }
        }
        // The daemon's last flush takes milliseconds: finish waits in
        // steps of that size, not of its own whole run.
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = nix::sys::signal::kill(npid, nix::sys::signal::Signal::SIGKILL);
    false
}

/// Wait for a daemon that has stopped writing to be gone, and kill one
/// that is still there after a while.
fn wait_gone(session: &Session) {
    let (Some(pid), Some(start)) = (session.daemon_pid, session.daemon_start) else {
        return;
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon::is_alive(Some(pid), Some(start)) {
        if Instant::now() >= deadline {
            let npid = nix::unistd::Pid::from_raw(pid);
            let _ = nix::sys::signal::kill(npid, nix::sys::signal::Signal::SIGKILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::BadSessionName(name.to_string()))
    }
}

pub(crate) fn canonical_root(root: &Path) -> Result<Vec<u8>> {
    let c = std::fs::canonicalize(root).map_err(|e| Error::BadRoot {
        path: root.to_path_buf(),
        reason: e.to_string(),
    })?;
    if !c.is_dir() {
        return Err(Error::BadRoot {
            path: root.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    Ok(c.as_os_str().as_bytes().to_vec())
}

/// Normalise the watched roots: absolute target paths, no `.`/`..`, no
/// duplicates or roots nested in others. A root that does not exist yet is
/// kept (the daemon waits for it to appear); one that is there must be a
/// directory reached without following a link.
fn watched_roots(root: &[u8], extra: &[PathBuf], defaults: bool) -> Result<Vec<Vec<u8>>> {
    let target = Target::new(root);
    let mut out: Vec<Vec<u8>> = Vec::new();
    if defaults {
        for d in DEFAULT_ROOTS {
            // A default root that is a link or a file here is not this
            // system's idea of that directory: leave it out.
            if !matches!(root_state(&target, d.as_bytes()), RootState::Blocked { .. }) {
                out.push(d.as_bytes().to_vec());
            }
        }
    }
    for w in extra {
        let bytes = w.as_os_str().as_bytes();
        let bad = |msg: &str| Error::BadWatch {
            path: w.clone(),
            reason: msg.to_string(),
        };
        if !bytes.starts_with(b"/") {
            return Err(bad("must be an absolute path in the observed system"));
        }
        let mut norm: Vec<u8> = Vec::new();
        for comp in bytes
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
        {
            if comp == b".." {
                return Err(bad("must not contain '..'"));
            }
            norm.push(b'/');
            norm.extend_from_slice(comp);
        }
        if norm.is_empty() {
            norm.push(b'/');
        }
        if let RootState::Blocked { at, what } = root_state(&target, &norm) {
            return Err(bad(&format!("{} is {what}", display_path(&at))));
        }
        out.push(norm);
    }
    if out.is_empty() {
        return Err(Error::BadRoot {
            path: PathBuf::from(std::ffi::OsStr::from_bytes(root)),
            reason: "nothing to watch: no default roots and no other root was named".into(),
        });
    }
    out.sort();
    out.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for p in out {
        if !kept.iter().any(|k| crate::model::is_within(&p, k)) {
            kept.push(p);
        }
    }
    Ok(kept)
}

fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '!' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names() {
        for ok in ["web", "db-1", "a.b_c", "9lives"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a/b", "a b", "../x", ".hidden", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn watched_roots_are_normalised() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("etc/x")).unwrap();
        std::fs::create_dir_all(r.join("data")).unwrap();
        std::os::unix::fs::symlink("/data", r.join("link")).unwrap();
        let root = r.as_os_str().as_bytes();
        let got = watched_roots(
            root,
            &[
                PathBuf::from("/data/"),
                PathBuf::from("/etc/./x"),
                PathBuf::from("/data"),
            ],
            true,
        )
        .unwrap();
        assert_eq!(
            got,
            [
                "/data",
                "/etc",
                "/home",
                "/opt",
                "/root",
                "/srv",
                "/usr/local",
                "/var/spool/cron",
                "/var/www"
            ]
            .map(|p| p.as_bytes().to_vec()),
            "default roots are kept whether they exist yet or not"
        );
        let later = watched_roots(root, &[PathBuf::from("/missing/deeper")], false).unwrap();
        assert_eq!(
            later,
            vec![b"/missing/deeper".to_vec()],
            "a root may appear later"
        );
        std::fs::write(r.join("file"), "x").unwrap();
        for bad in [
            "relative",
            "/etc/../x",
            "/link",
            "/link/below",
            "/file/below",
        ] {
            let err = watched_roots(root, &[PathBuf::from(bad)], false).unwrap_err();
            assert!(matches!(err, Error::BadWatch { .. }), "{bad}: {err}");
        }
    }
}
