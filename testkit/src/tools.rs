//! Tier 2's preconditions: root, and the tools `scripts/setup-host.sh`
//! installs. Tier 2 tests are compiled only when `CFT_TESTBED=1` (each
//! crate's `build.rs` turns it into `cfg(testbed)`); once there, a missing
//! tool fails the test with the set-up command. Nothing is skipped.

use std::path::PathBuf;

/// What to run when something is missing.
pub const SETUP: &str = "run scripts/setup-host.sh as root (installs puppet-agent, puppet-lint, debootstrap, zstd, libxml2-utils, libvirt-clients, zsh, octocatalog-diff, chromium, puppetserver, curl and the pykickstart venv, and builds the cached root filesystem)";

/// Fail, naming the set-up command, unless we are root.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert!(
        euid == 0,
        "this test needs root (chroot, namespaces): {SETUP}"
    );
}

/// A tool on `PATH`, or a failure naming the set-up command.
pub fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} is missing: {SETUP}"))
}

/// Root and every tool named.
pub fn require(tools: &[&str]) {
    require_root();
    for t in tools {
        tool(t);
    }
}

/// Root and the tools every test in a Debian root needs: Puppet to check
/// and apply, debootstrap and zstd to make roots, unshare to enter them.
pub fn require_testbed() {
    require(&["puppet", "puppet-lint", "debootstrap", "zstd", "unshare"]);
}

/// Where the test bed keeps its roots, caches and reports.
pub fn testbed_dir() -> PathBuf {
    std::env::var_os("TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/cft-testbed"))
}

/// The directory holding `ksvalidator` (pykickstart's venv, made by set-up).
pub fn ksvalidator_dir() -> PathBuf {
    let bin = testbed_dir().join("venv-pykickstart/bin");
    assert!(
        bin.join("ksvalidator").is_file(),
        "{} is missing: {SETUP}",
        bin.join("ksvalidator").display()
    );
    bin
}
