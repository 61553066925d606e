//! The project's test bed (`testbed/`) from Rust, for tier 2: fresh Debian
//! root filesystems that are removed when dropped, commands run inside
//! them, a module checked and applied with real Puppet, and a path compared
//! on two systems. Needs root and what `scripts/setup-host.sh` installs
//! ([`crate::tools::require_testbed`]).

use crate::tools::{testbed_dir, SETUP};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One of the test bed's scripts, from the repository this crate is in.
pub fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testbed")
        .join(name)
}

/// A Debian root filesystem at a host path; removed when dropped.
pub struct Rootfs(pub PathBuf);

impl Rootfs {
    /// A fresh copy of the cached Debian root filesystem with Puppet.
    // No `Default`: making one extracts a whole root filesystem.
    #[allow(clippy::new_without_default)]
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
        let base = testbed_dir().join("roots");
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
        let mut v = self.0.as_os_str().as_bytes().to_vec();
        v.extend_from_slice(target);
        PathBuf::from(OsStr::from_bytes(&v))
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

/// `puppet-check.sh` strict, then `puppet-apply-in-root.sh` (twice,
/// idempotent) of `module`'s class `class` with `manifest` into `root`.
/// Returns the apply output; panics with it on failure.
pub fn check_and_apply(
    module: &Path,
    class: &str,
    manifest: &str,
    root: &Rootfs,
    reports: &Path,
) -> String {
    check_and_apply_env(module, class, manifest, root, reports, &[])
}

/// [`check_and_apply`] with more environment for `puppet-apply-in-root.sh`
/// (`PUPPET_ARGS`...).
pub fn check_and_apply_env(
    module: &Path,
    class: &str,
    manifest: &str,
    root: &Rootfs,
    reports: &Path,
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
pub fn compare_paths(a: &Path, b: &Path) -> Option<String> {
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

/// Every one of these target paths is the same on both systems (type,
/// link target, mode, owner, content); panics listing those that differ.
pub fn assert_same_paths<'a>(
    paths: impl IntoIterator<Item = &'a [u8]>,
    recorded: &Rootfs,
    applied: &Rootfs,
) {
    let mismatches: Vec<String> = paths
        .into_iter()
        .filter_map(|p| {
            compare_paths(&recorded.host(p), &applied.host(p))
                .map(|m| format!("{}: {m}", String::from_utf8_lossy(p)))
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "the applied system differs:\n{}",
        mismatches.join("\n")
    );
}
