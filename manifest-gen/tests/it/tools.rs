//! Tier 2's way of running the real tools: by the path `testkit::tools`
//! finds (a missing one fails with the set-up command), Puppet's state kept
//! in the test's own directory, and a validator's output returned for the
//! failure message.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testkit::tools::{ksvalidator_dir, tool, SETUP};

/// Puppet's options that keep its state in `dir`, not the host's.
pub fn isolate(dir: &Path) -> Vec<String> {
    let state = dir.join("puppet-state").to_string_lossy().into_owned();
    ["--vardir", "--confdir", "--codedir", "--logdir"]
        .iter()
        .flat_map(|o| [o.to_string(), state.clone()])
        .collect()
}

/// `program` (found on `PATH`) with `args`, run in `dir`.
pub fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(tool(program))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {SETUP}"))
}

/// Fail with the tool's output unless it exited 0.
#[track_caller]
pub fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run a validator; Err(its output) unless it exits 0.
pub fn validate(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}): {SETUP}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} exited {}:\n{text}", out.status))
    }
}

/// pykickstart's `ksvalidator`, from the test bed's venv.
pub fn ksvalidator() -> PathBuf {
    ksvalidator_dir().join("ksvalidator")
}

/// The workspace root (the virt-image grammar is in `schemas/`).
pub fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}
