//! Helpers for driving the real `cft` binary against temporary trees
//! (ripgrep's `tests/util.rs` pattern). Every `Env` aborts its sessions and
//! kills their daemons when dropped, so a failing test leaves nothing
//! running.
#![allow(dead_code)]

pub mod testbed;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub tmp: tempfile::TempDir,
    /// Host path of the observed system.
    pub root: PathBuf,
    pub db: PathBuf,
    pub extra_env: Vec<(String, String)>,
}

impl Env {
    /// A fresh observed system with `/etc` and `/srv`, and a private database.
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        for d in ["etc", "srv", "opt"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").unwrap();
        std::fs::write(root.join("etc/hostname"), "testhost\n").unwrap();
        std::fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
        std::fs::write(
            root.join("etc/os-release"),
            "ID=debian\nVERSION_ID=\"12\"\nNAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        )
        .unwrap();
        let db = tmp.path().join("state/cft.db");
        Env {
            tmp,
            root,
            db,
            extra_env: Vec::new(),
        }
    }

    /// Host path of a target path.
    pub fn p(&self, target: &str) -> PathBuf {
        self.root.join(target.trim_start_matches('/'))
    }

    /// Host path of a target path given as bytes.
    pub fn pb(&self, target: &[u8]) -> PathBuf {
        let mut v = self.root.as_os_str().as_bytes().to_vec();
        v.extend_from_slice(target);
        PathBuf::from(OsStr::from_bytes(&v))
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cft"));
        c.arg("--db").arg(&self.db);
        c.env("CFT_IGNORE_FILE", self.tmp.path().join("no-rules-file"));
        c.env_remove("CFT_DB");
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    /// Run cft with these arguments; returns the output whatever the status.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd().args(args).output().expect("run cft")
    }

    /// Run cft and insist on success; returns stdout.
    pub fn ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "cft {:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            args,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `cft begin NAME --root ROOT --no-default-watch --watch /etc --watch /srv ...`
    pub fn begin(&self, name: &str, extra: &[&str]) -> String {
        let mut args: Vec<String> = vec![
            "begin".into(),
            name.into(),
            "--root".into(),
            self.root.display().to_string(),
            "--no-default-watch".into(),
            "--watch".into(),
            "/etc".into(),
            "--watch".into(),
            "/srv".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        self.ok(&args)
    }

    /// `cft begin NAME --root ROOT ARGS...`: the roots are the caller's.
    pub fn begin_with(&self, name: &str, args: &[&str]) -> String {
        let mut all: Vec<String> = vec![
            "begin".into(),
            name.into(),
            "--root".into(),
            self.root.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        self.ok(&all)
    }

    pub fn finish(&self, name: &str) -> String {
        self.ok(["finish", name])
    }

    pub fn store(&self) -> recorder::Store {
        recorder::Store::open_existing(&self.db).expect("open store")
    }

    /// The stored change set as (kind, path) pairs.
    pub fn changes(&self, name: &str) -> Vec<(String, Vec<u8>)> {
        self.store()
            .change_set(name)
            .unwrap()
            .changes
            .into_iter()
            .map(|c| (c.kind.as_str().to_string(), c.path))
            .collect()
    }

    pub fn change_set(&self, name: &str) -> recorder::model::ChangeSet {
        self.store().change_set(name).unwrap()
    }

    pub fn daemon_pid(&self, name: &str) -> i32 {
        self.store()
            .session(name)
            .unwrap()
            .daemon_pid
            .expect("daemon pid recorded")
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !self.db.exists() {
            return;
        }
        if let Ok(store) = recorder::Store::open_existing(&self.db) {
            if let Ok(sessions) = store.recording_sessions() {
                for s in sessions {
                    if let Some(pid) = s.daemon_pid {
                        if recorder::daemon::is_alive(Some(pid), s.daemon_start) {
                            let _ = nix::sys::signal::kill(
                                nix::unistd::Pid::from_raw(pid),
                                nix::sys::signal::Signal::SIGKILL,
                            );
                        }
                    }
                }
            }
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Does the change list hold (kind, path)?
pub fn has(changes: &[(String, Vec<u8>)], kind: &str, path: &[u8]) -> bool {
    changes.iter().any(|(k, p)| k == kind && p == path)
}

pub fn write(path: &Path, data: impl AsRef<[u8]>) {
    std::fs::write(path, data).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Run `cmd` with `input` on its stdin (then closed); returns whether it
/// succeeded, and its stdout followed by its stderr.
pub fn feed(mut cmd: Command, input: &str) -> (bool, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
