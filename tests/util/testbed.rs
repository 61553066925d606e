//! The project's test bed from Rust: fresh Debian root filesystems that are
//! removed when dropped, commands run inside them, and the tool check that
//! fails (never skips) when set-up is missing.

use std::path::PathBuf;
use std::process::Command;

pub const SETUP: &str = "run scripts/setup-host.sh as root (installs puppet-agent, puppet-lint, debootstrap, zstd, libxml2-utils, libvirt-clients, zsh and the pykickstart venv, and builds the cached root filesystem)";

pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testbed")
        .join(name)
}

/// Fail, naming the set-up command, unless we are root with every tool.
pub fn require_tools() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the end-to-end tests need root (chroot, namespaces): {SETUP}"
    );
    for tool in ["puppet", "puppet-lint", "debootstrap", "zstd", "unshare"] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        assert!(found, "{tool} is missing: {SETUP}");
    }
}

/// A fresh copy of the cached Debian root filesystem (with Puppet).
pub struct Rootfs(pub PathBuf);

impl Rootfs {
    pub fn new() -> Rootfs {
        Rootfs::variant(&["--puppet"])
    }

    /// A fresh copy of the base root filesystem (no Puppet): a machine as
    /// an admin finds it.
    pub fn new_base() -> Rootfs {
        Rootfs::variant(&[])
    }

    fn variant(args: &[&str]) -> Rootfs {
        let out = Command::new(script("make-rootfs.sh"))
            .arg("new")
            .args(args)
            .output()
            .expect("make-rootfs.sh");
        assert!(
            out.status.success(),
            "make-rootfs.sh new {args:?} failed: {}\n{SETUP}",
            String::from_utf8_lossy(&out.stderr)
        );
        Rootfs(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    }

    /// A path where `puppet-apply-in-root.sh` extracts a root itself;
    /// unique within the process too, so a test may apply several times.
    pub fn empty() -> Rootfs {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::var("TESTBED_DIR").unwrap_or_else(|_| "/var/tmp/cft-testbed".into());
        let base = PathBuf::from(dir).join("roots");
        std::fs::create_dir_all(&base).unwrap();
        let p = base.join(format!("applied.{}.{n}", std::process::id()));
        let _ = std::fs::remove_dir(&p);
        Rootfs(p)
    }

    /// Run a shell script inside (chroot, private namespaces); returns stdout.
    pub fn sh(&self, script_text: &str) -> String {
        let out = Command::new(script("in-root.sh"))
            .arg(&self.0)
            .args(["sh", "-euc", script_text])
            .output()
            .expect("in-root.sh");
        assert!(
            out.status.success(),
            "in-root.sh failed:\n{script_text}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Host path of a target path given as bytes.
    pub fn host(&self, target: &[u8]) -> PathBuf {
        use std::os::unix::ffi::OsStrExt;
        let mut v = self.0.as_os_str().as_bytes().to_vec();
        v.extend_from_slice(target);
        PathBuf::from(std::ffi::OsStr::from_bytes(&v))
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        if self.0.exists() {
            let _ = Command::new(script("make-rootfs.sh"))
                .arg("remove")
                .arg(&self.0)
                .output();
        }
    }
}

/// Run cft with a private database; insists on success, returns stdout.
pub fn cft(db: &std::path::Path, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cft"))
        .arg("--db")
        .arg(db)
        .env("CFT_IGNORE_FILE", "/nonexistent")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cft {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Aborts the recording session of `db` if a test panics mid-recording.
pub struct AbortOnPanic(pub PathBuf);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new(env!("CARGO_BIN_EXE_cft"))
                .arg("--db")
                .arg(&self.0)
                .arg("abort")
                .output();
        }
    }
}

/// `puppet-check.sh` strict, then `puppet-apply-in-root.sh` (twice,
/// idempotent) of `module`'s class `class` with `manifest` into `root`.
/// Returns the apply output; panics with it on failure.
pub fn check_and_apply(
    module: &std::path::Path,
    class: &str,
    manifest: &str,
    root: &Rootfs,
    reports: &std::path::Path,
) -> String {
    check_and_apply_env(module, class, manifest, root, reports, &[])
}

/// [`check_and_apply`] with more environment for `puppet-apply-in-root.sh`
/// (`PUPPET_ARGS`...).
pub fn check_and_apply_env(
    module: &std::path::Path,
    class: &str,
    manifest: &str,
    root: &Rootfs,
    reports: &std::path::Path,
    env: &[(&str, &str)],
) -> String {
    let check = Command::new(script("puppet-check.sh"))
        .arg(module)
        .env("STRICT", "1")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "puppet-check.sh (parser validate, lint --fail-on-warnings, metadata, references):\n{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let apply = Command::new(script("puppet-apply-in-root.sh"))
        .arg(&root.0)
        .arg(module)
        .arg(class)
        .env("MANIFEST", manifest)
        .env("REPORT_DIR", reports)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let out = format!(
        "{}\n{}",
        String::from_utf8_lossy(&apply.stdout),
        String::from_utf8_lossy(&apply.stderr)
    );
    assert!(
        apply.status.success() && out.contains("RESULT: OK"),
        "puppet apply (twice, idempotent):\n{out}"
    );
    out
}

/// Compare one path on both systems with plain lstat/readlink/read.
pub fn compare_paths(a: &std::path::Path, b: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Err(_), Err(_)) => None,
        (Ok(_), Err(_)) => Some("missing on the applied system".into()),
        (Err(_), Ok(_)) => Some("still present on the applied system".into()),
        (Ok(ma), Ok(mb)) => {
            let ta = ma.file_type();
            let tb = mb.file_type();
            if (ta.is_file(), ta.is_dir(), ta.is_symlink())
                != (tb.is_file(), tb.is_dir(), tb.is_symlink())
            {
                return Some(format!("type {ta:?} vs {tb:?}"));
            }
            if ta.is_symlink() {
                let (la, lb) = (std::fs::read_link(a).ok(), std::fs::read_link(b).ok());
                return (la != lb).then(|| format!("link {la:?} vs {lb:?}"));
            }
            if ma.mode() & 0o7777 != mb.mode() & 0o7777 {
                return Some(format!(
                    "mode {:o} vs {:o}",
                    ma.mode() & 0o7777,
                    mb.mode() & 0o7777
                ));
            }
            if (ma.uid(), ma.gid()) != (mb.uid(), mb.gid()) {
                return Some(format!(
                    "owner {}:{} vs {}:{}",
                    ma.uid(),
                    ma.gid(),
                    mb.uid(),
                    mb.gid()
                ));
            }
            if ta.is_file() && std::fs::read(a).ok() != std::fs::read(b).ok() {
                return Some("content differs".into());
            }
            None
        }
    }
}

/// A tool on PATH, or a failure naming the set-up command.
pub fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} is missing: {SETUP}"))
}

/// The directory holding ksvalidator (pykickstart's venv, made by set-up).
pub fn ksvalidator_dir() -> PathBuf {
    let testbed = std::env::var_os("TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/cft-testbed"));
    let bin = testbed.join("venv-pykickstart/bin");
    assert!(
        bin.join("ksvalidator").is_file(),
        "{} is missing: {SETUP}",
        bin.join("ksvalidator").display()
    );
    bin
}

/// Every recorded path is the same on both systems (type, link target,
/// mode, owner, content); panics listing those that differ.
pub fn assert_same_paths(changes: &[recorder::model::Change], recorded: &Rootfs, applied: &Rootfs) {
    let mismatches: Vec<String> = changes
        .iter()
        .filter_map(|c| {
            compare_paths(&recorded.host(&c.path), &applied.host(&c.path))
                .map(|m| format!("{}: {m}", String::from_utf8_lossy(&c.path)))
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "the applied system differs:\n{}",
        mismatches.join("\n")
    );
}
