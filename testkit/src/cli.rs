//! Driving the real `cft` binary from a test (ripgrep's `tests/util.rs`
//! pattern): [`Env`], an observed system under a temporary `--root` tree
//! with a private database; [`cft`], one run that must succeed; and
//! [`AbortOnPanic`]. The binary is the test's own (`env!("CARGO_BIN_EXE_cft")`,
//! which only a test of the `cft` package can name), passed in.
//!
//! Everything goes through the binary's command line, never through cft's
//! crates: a test that wants the store opens it itself.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `bin --db db`, with no site ignore rules and no `CFT_DB` from the
/// caller's environment: what every run of cft in a test starts from.
pub fn command(bin: impl AsRef<Path>, db: &Path) -> Command {
    let mut c = Command::new(bin.as_ref());
    c.arg("--db").arg(db);
    c.env("CFT_IGNORE_FILE", "/nonexistent");
    c.env_remove("CFT_DB");
    c
}

/// Run cft with a private database; insists on success, returns stdout.
pub fn cft(bin: impl AsRef<Path>, db: &Path, args: &[&OsStr]) -> String {
    let out = command(bin, db).args(args).output().expect("run cft");
    assert!(
        out.status.success(),
        "cft {args:?}: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// Aborts the recording session of a database if the test panics while it
/// records, so its daemon does not outlive the test.
pub struct AbortOnPanic {
    pub bin: PathBuf,
    pub db: PathBuf,
}

impl AbortOnPanic {
    pub fn new(bin: impl Into<PathBuf>, db: impl Into<PathBuf>) -> AbortOnPanic {
        AbortOnPanic {
            bin: bin.into(),
            db: db.into(),
        }
    }
}

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = command(&self.bin, &self.db).arg("abort").output();
        }
    }
}

/// An observed system (`root`, with `/etc`, `/srv` and `/opt` and a few
/// identity files) and a private database, in one temporary directory.
/// Dropping it kills the daemons of its recording sessions, so a failing
/// test leaves nothing running.
pub struct Env {
    /// The `cft` binary under test.
    pub bin: PathBuf,
    pub tmp: tempfile::TempDir,
    /// Host path of the observed system.
    pub root: PathBuf,
    pub db: PathBuf,
    pub extra_env: Vec<(String, String)>,
}

impl Env {
    /// A fresh observed system with `/etc` and `/srv`, and a private database.
    pub fn new(bin: impl Into<PathBuf>) -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        for d in ["etc", "srv", "opt"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        write(
            &root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        );
        write(&root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
        write(&root.join("etc/hostname"), "testhost\n");
        write(&root.join("etc/hosts"), "127.0.0.1 localhost\n");
        write(
            &root.join("etc/os-release"),
            "ID=debian\nVERSION_ID=\"12\"\nNAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        );
        let db = tmp.path().join("state/cft.db");
        Env {
            bin: bin.into(),
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
        let mut c = command(&self.bin, &self.db);
        c.env("CFT_IGNORE_FILE", self.tmp.path().join("no-rules-file"));
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
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.run(&args);
        assert!(
            out.status.success(),
            "cft {:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            args,
            out.status,
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// `cft begin NAME --root ROOT --no-default-watch --watch /etc --watch /srv ...`
    pub fn begin(&self, name: &str, extra: &[&str]) -> String {
        let mut args: Vec<OsString> = vec![
            "begin".into(),
            name.into(),
            "--root".into(),
            self.root.clone().into(),
            "--no-default-watch".into(),
            "--watch".into(),
            "/etc".into(),
            "--watch".into(),
            "/srv".into(),
        ];
        args.extend(extra.iter().map(OsString::from));
        self.ok(&args)
    }

    /// `cft begin NAME --root ROOT ARGS...`: the roots are the caller's.
    pub fn begin_with(&self, name: &str, args: &[&str]) -> String {
        let mut all: Vec<OsString> = vec![
            "begin".into(),
            name.into(),
            "--root".into(),
            self.root.clone().into(),
        ];
        all.extend(args.iter().map(OsString::from));
        self.ok(&all)
    }

    pub fn finish(&self, name: &str) -> String {
        self.ok(["finish", name])
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if !self.db.exists() {
            return;
        }
        // `cft status` names each recording session's live daemon.
        let Ok(out) = self.cmd().arg("status").output() else {
            return;
        };
        for pid in daemon_pids(&stdout(&out)) {
            // SAFETY: kill has no memory preconditions; the pid is one cft
            // reports alive for a session of this test's private database.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// The pids of `daemon:      running (pid N)` lines in `cft status`.
fn daemon_pids(status: &str) -> Vec<i32> {
    status
        .lines()
        .filter_map(|l| l.trim().strip_prefix("daemon:"))
        .filter_map(|l| l.trim().strip_prefix("running (pid "))
        .filter_map(|l| l.strip_suffix(')')?.parse().ok())
        .collect()
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

/// Write a file, making its missing parent directories first.
pub fn write(path: &Path, data: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
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
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_pids_come_from_running_lines_only() {
        let status = "session 'a': recording for 2s (since 10:00)\n  root:        /tmp/r\n  daemon:      running (pid 4242)\n\
                      session 'b': recording for 1s (since 10:01)\n  daemon:      NOT RUNNING: `cft finish` will rescan every watched root\n";
        assert_eq!(daemon_pids(status), [4242]);
        assert!(daemon_pids("no session is recording\n").is_empty());
    }
}
