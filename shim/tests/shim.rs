//! The real `cft-shim` binary wrapping real tools: exit codes, signals,
//! stdin and terminals pass through; intents land in a real SQLite store;
//! a broken store never changes the tool's outcome or reaches the terminal.

// Tests run the binaries under test and the tools that judge them.
#![allow(clippy::disallowed_methods)]

use recorder::store::NewSession;
use recorder::Store;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const SHIM: &str = env!("CARGO_BIN_EXE_cft-shim");

/// A temp dir with `shims/` (links to cft-shim), `tools/` (the real
/// tools, after the shims on PATH) and `state/cft.db`.
struct Env {
    tmp: tempfile::TempDir,
    db: PathBuf,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        // Traversable by `nobody` for the read-only test.
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["shims", "tools", "work"] {
            std::fs::create_dir(tmp.path().join(d)).unwrap();
        }
        let db = tmp.path().join("state/cft.db");
        Env { tmp, db }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// A real tool `name` (a sh script), reachable through a shim link.
    fn tool(&self, name: &str, script: &str) {
        let path = self.p("tools").join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.link(name);
    }

    fn link(&self, name: &str) {
        symlink(SHIM, self.p("shims").join(name)).unwrap();
    }

    fn path_var(&self) -> String {
        format!(
            "{}:{}:/usr/bin:/bin",
            self.p("shims").display(),
            self.p("tools").display()
        )
    }

    /// The command `name ARGS` as a shell would run it: argv[0] is the bare
    /// name, found through PATH.
    fn cmd(&self, name: &str, args: &[&str]) -> Command {
        let mut c = Command::new(self.p("shims").join(name));
        c.arg0(name)
            .args(args)
            .current_dir(self.p("work"))
            .env("PATH", self.path_var())
            .env("CFT_DB", &self.db)
            .env_remove("CFT_SESSION")
            .env_remove("CFT_INTENT_PARENT")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, name: &str, args: &[&str]) -> Output {
        self.cmd(name, args).output().unwrap()
    }

    fn store(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    /// A recording session (as `cft begin` leaves it) whose root is `root`.
    fn session(&self, name: &str, root: &[u8]) -> i64 {
        self.store()
            .create_session(&NewSession {
                name: name.into(),
                description: None,
                root: root.to_vec(),
                watched: vec![],
                content_cap: 0,
                ignore_patterns: vec![],
                facts: Default::default(),
            })
            .unwrap()
            .id
    }

    fn intents(&self, session: i64) -> Vec<recorder::store::intents::Intent> {
        self.store().intents(session).unwrap()
    }

    fn shim_log(&self) -> String {
        std::fs::read_to_string(self.p("state/shim.log")).unwrap_or_default()
    }
}

fn args_of(i: &recorder::store::intents::Intent) -> Vec<String> {
    i.argv
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[test]
fn exit_codes_are_the_tools() {
    let env = Env::new();
    env.tool("mytool", r#"exit "$1""#);
    for code in [0, 1, 100] {
        let out = env.run("mytool", &[&code.to_string()]);
        assert_eq!(out.status.code(), Some(code), "exit {code}");
        assert!(out.stderr.is_empty(), "{out:?}");
        // The `cft-shim TOOL ARGS…` form too.
        let out = Command::new(SHIM)
            .args(["mytool", &code.to_string()])
            .env("PATH", env.path_var())
            .env("CFT_DB", &env.db)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "cft-shim mytool {code}");
    }
    // Not on PATH at all: like a shell, 127.
    env.link("nosuchtool");
    let out = env.run("nosuchtool", &[]);
    assert_eq!(out.status.code(), Some(127));
}

#[test]
fn a_tool_killed_by_a_signal_kills_the_shim_with_it() {
    let env = Env::new();
    let sid = env.session("host", b"/");
    env.tool("killme", r#"kill -"$1" $$"#);
    for (name, sig) in [
        ("TERM", libc::SIGTERM),
        ("KILL", libc::SIGKILL),
        ("INT", libc::SIGINT),
    ] {
        let out = env.run("killme", &[name]);
        assert_eq!(out.status.signal(), Some(sig), "SIG{name}: {out:?}");
        assert_eq!(out.status.code(), None);
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    let got = env.intents(sid);
    let sigs: Vec<_> = got.iter().map(|i| (i.exit_code, i.signal)).collect();
    assert_eq!(
        sigs,
        vec![
            (None, Some(libc::SIGTERM)),
            (None, Some(libc::SIGKILL)),
            (None, Some(libc::SIGINT))
        ]
    );
}

#[test]
fn stdin_and_stdout_pass_through() {
    let env = Env::new();
    env.link("cat");
    let input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let mut child = env
        .cmd("cat", &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = input.clone();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&data).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout == input,
        "cat through the shim changed its input"
    );
}

#[test]
fn a_tool_reading_the_terminal_works_under_a_pty() {
    let env = Env::new();
    env.tool(
        "asktty",
        r#"[ -t 0 ] && echo stdin-is-a-tty
read answer </dev/tty
echo "got:$answer"
exit 3"#,
    );
    // script(1) runs the command on a new pty as its controlling terminal,
    // in the foreground process group: a shim that left the group would
    // be stopped by SIGTTIN here.
    let mut child = Command::new("script")
        .args(["-qec", "asktty", "/dev/null"])
        .current_dir(env.p("work"))
        .env("PATH", env.path_var())
        .env("CFT_DB", &env.db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux (see scripts/setup-host.sh)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"yes please\n").unwrap();
        // Keep stdin open a moment so script does not hang up first.
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    // A stopped (SIGTTIN) tool would hang here: fail instead.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            // Closing the pty hangs up (and so ends) the stopped group.
            let _ = child.kill();
            let _ = child.wait();
            panic!("the tool under the shim did not finish: stopped reading the terminal?");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("stdin-is-a-tty"), "{text}");
    assert!(text.contains("got:yes please"), "{text}");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn nested_invocations_record_their_parent() {
    let env = Env::new();
    let sid = env.session("host", b"/");
    env.tool(
        "inner",
        r#"echo "inner sees parent $CFT_INTENT_PARENT"; exit 4"#,
    );
    env.tool("outer", "inner enable 'x y'; echo inner=$?; exit 0");
    let out = env.run("outer", &["install", "\u{e9}"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inner=4"), "{text}");

    let got = env.intents(sid);
    assert_eq!(got.len(), 2, "{got:?}");
    let (outer, inner) = (&got[0], &got[1]);
    assert_eq!(args_of(outer), ["outer", "install", "\u{e9}"]);
    assert_eq!(args_of(inner), ["inner", "enable", "x y"]);
    assert_eq!(outer.parent, None);
    assert_eq!(inner.parent, Some(outer.id));
    assert!(
        text.contains(&format!("inner sees parent {}", inner.id)),
        "{text}"
    );
    assert_eq!((outer.exit_code, outer.signal), (Some(0), None));
    assert_eq!((inner.exit_code, inner.signal), (Some(4), None));
    let work = std::fs::canonicalize(env.p("work")).unwrap();
    assert_eq!(outer.cwd, work.as_os_str().as_encoded_bytes());
    assert_eq!(outer.uid, nix::unistd::getuid().as_raw());
    // inner's caller is outer's real tool, itself the outer shim's child.
    assert_ne!(inner.ppid, outer.pid);
    assert!(outer.start_ns <= inner.start_ns);
    assert!(inner.end_ns.unwrap() <= outer.end_ns.unwrap());
    assert!(env.shim_log().is_empty(), "{}", env.shim_log());
}

#[test]
fn records_only_into_the_session_recording_slash_or_the_named_one() {
    let env = Env::new();
    env.tool("t", "exit 0");
    // No session recording: nothing recorded, nothing logged.
    Store::open(&env.db).unwrap();
    assert!(env.run("t", &[]).status.success());
    let chroot = env.session("chroot", b"/srv/chroot");
    assert!(env.run("t", &["a"]).status.success());
    assert!(env.intents(chroot).is_empty());
    let out = env
        .cmd("t", &["b"])
        .env("CFT_SESSION", "chroot")
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = env.intents(chroot);
    assert_eq!(got.len(), 1);
    assert_eq!(args_of(&got[0]), ["t", "b"]);
    assert!(env.shim_log().is_empty(), "{}", env.shim_log());
}

#[test]
fn shim_directory_twice_in_path_does_not_recurse() {
    let env = Env::new();
    let sid = env.session("host", b"/");
    env.tool("twice", "exit 5");
    let path = format!(
        "{s}:{s}:{t}",
        s = env.p("shims").display(),
        t = env.p("tools").display()
    );
    let out = env.cmd("twice", &[]).env("PATH", &path).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(env.intents(sid).len(), 1, "the shim ran itself");
    // Only shims on PATH: not found, no loop.
    let only = format!("{s}:{s}", s = env.p("shims").display());
    let out = env.cmd("twice", &[]).env("PATH", &only).output().unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(env.intents(sid).len(), 1);
}

#[test]
fn a_locked_store_delays_but_never_changes_the_tool() {
    let env = Env::new();
    let sid = env.session("host", b"/");
    env.tool("t", "echo ran; exit 7");
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch("BEGIN EXCLUSIVE; INSERT INTO sessions (name, root, state, created_at, content_cap) VALUES ('x', X'00', 'finished', 0, 0);")
        .unwrap();
    let t = std::time::Instant::now();
    let out = env.run("t", &[]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(out.stdout, b"ran\n");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    conn.execute_batch("ROLLBACK").unwrap();
    assert!(env.intents(sid).is_empty());
    assert!(env.shim_log().contains("locked"), "{}", env.shim_log());
}

#[test]
fn a_missing_store_records_nothing_and_creates_nothing() {
    let env = Env::new();
    env.tool("t", "exit 0");
    let out = env.run("t", &[]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(!env.p("state").exists(), "the shim created the store");
}

#[test]
fn a_corrupt_store_is_logged_not_shown() {
    let env = Env::new();
    env.tool("t", "exit 9");
    std::fs::create_dir_all(env.p("state")).unwrap();
    std::fs::write(&env.db, vec![0x5a; 8192]).unwrap();
    let out = env.run("t", &[]);
    assert_eq!(out.status.code(), Some(9));
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(
        env.shim_log().contains("cannot record"),
        "{}",
        env.shim_log()
    );
}

#[test]
fn a_read_only_store_never_changes_the_tool() {
    let env = Env::new();
    let sid = env.session("host", b"/");
    env.tool("t", "echo ran; exit 6");
    let state = env.p("state");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    let mut cmd = env.cmd("t", &[]);
    if nix::unistd::geteuid().is_root() {
        // Root writes through file modes: run as `nobody`, who can read
        // the store but not write it (or its -shm).
        cmd.uid(65534).gid(65534);
    } else {
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let out = cmd.output().unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&env.db, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    assert_eq!(out.stdout, b"ran\n");
    assert!(out.stderr.is_empty(), "{out:?}");
    assert!(env.intents(sid).is_empty());
}

#[test]
fn an_old_schema_records_nothing() {
    let env = Env::new();
    env.tool("t", "exit 0");
    std::fs::create_dir_all(env.p("state")).unwrap();
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.execute_batch("CREATE TABLE sessions (id INTEGER PRIMARY KEY); PRAGMA user_version = 2;")
        .unwrap();
    drop(conn);
    assert!(env.run("t", &[]).status.success());
    assert!(env.shim_log().is_empty(), "{}", env.shim_log());
}

#[test]
fn usage_without_a_tool() {
    let out = Command::new(SHIM).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}

#[test]
fn ctrl_c_reaches_the_tool_and_the_shim_waits_for_it() {
    use std::io::BufRead;
    let env = Env::new();
    env.tool(
        "trapper",
        "trap 'exit 42' INT; echo ready; while :; do sleep 0.05; done",
    );
    // Its own process group, standing in for the terminal's foreground
    // group: Ctrl-C signals every process in it.
    let mut child = env
        .cmd("trapper", &[])
        .process_group(0)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(42), "{status:?}");
}
