//! The `cft` package's integration tests: one binary, one module per area.
//!
//! Tier 1 (always): the real `cft` binary on temporary `--root` trees, with
//! real inotify and a real SQLite database, as any user, with nothing
//! installed but Rust. Tier 2 (`CFT_TESTBED=1` at build time, which
//! `build.rs` turns into `cfg(testbed)`): real Debian roots (debootstrap,
//! chroot), real Puppet and the validators, as root; a missing tool fails
//! the test with the set-up command (`testkit::tools`), nothing is skipped.
//! `scripts/test.sh` runs both.
//!
//! The fixtures are `testkit::cli` and `testkit::rootfs`; what needs cft's
//! own store is in `util`.

// Tests run the binaries under test and the tools that judge them.
#![allow(clippy::disallowed_methods)]

mod util;

mod appliance;
mod beneath;
mod cli;
mod cli_params;
mod diff;
mod e2e_corpus;
mod fuzz;
mod gc;
mod locks;
mod manners;
mod outputs;
mod port;
mod progress;
mod recipe;
mod report;
mod robust;
mod secrets;
mod serve;
mod shell;
mod shim;
mod show;

#[cfg(testbed)]
mod e2e;
#[cfg(testbed)]
mod e2e_diff;
#[cfg(testbed)]
mod e2e_extract;
#[cfg(testbed)]
mod e2e_params;
#[cfg(testbed)]
mod e2e_readme;
#[cfg(testbed)]
mod e2e_recipe;
#[cfg(testbed)]
mod e2e_report;
#[cfg(testbed)]
mod e2e_server;
#[cfg(testbed)]
mod e2e_shell;
#[cfg(testbed)]
mod e2e_system;
