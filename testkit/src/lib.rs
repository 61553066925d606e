//! What cft's tests share and no user of cft needs: the whole-system
//! comparison of a recorded root with an applied one (`system`), tier 2's
//! preconditions (`tools`), the fixture that drives the real `cft` binary
//! on temporary `--root` trees (`cli`), a pseudo-terminal for what cft
//! shows only on one (`pty`), the test bed's Debian roots with real
//! Puppet (`rootfs`), and a real Puppet server (`server`).
//!
//! Nothing here links against cft's own crates: a judge that used cft's
//! probes would share their bugs, and a fixture that used its store would
//! hide them. The `cft` binary is the test's (`env!("CARGO_BIN_EXE_cft")`),
//! passed in.

// Tests run the binaries under test and the test bed's scripts by the
// paths they are given or `tools` found.
#![allow(clippy::disallowed_methods)]

pub mod cli;
pub mod pty;
pub mod rootfs;
pub mod server;
pub mod system;
pub mod tools;
