//! manifest-gen's integration tests, one binary, two tiers.
//!
//! Tier 1 (plain `cargo test`, any user, nothing but Rust): golden
//! snapshots of the module, the appliance outputs and the recipe bundle,
//! determinism, refusals, hostile archives. No test of this tier runs an
//! external program.
//!
//! Tier 2 (`CFT_TESTBED=1` at build time, which `build.rs` turns into
//! `cfg(testbed)`): the same outputs judged by the real tools: Puppet,
//! puppet-lint, xmllint, virt-xml-validate and pykickstart's ksvalidator.
//! A missing tool fails the test with the set-up command
//! (`testkit::tools::SETUP`); nothing is skipped.

// Tests run the binaries under test and the tools that judge them.
#![allow(clippy::disallowed_methods)]

mod appliance;
mod common;
mod diff;
mod golden;
mod recipe;
mod report;

#[cfg(testbed)]
mod appliance_tools;
#[cfg(testbed)]
mod epp_render;
#[cfg(testbed)]
mod puppet_tools;
#[cfg(testbed)]
mod recipe_tools;
#[cfg(testbed)]
mod tools;

/// Compare `text` with the golden file `tests/snapshots/<name>.snap`. The
/// names keep the form they had when every test file was its own binary
/// (`golden__a_basic`), so the reviewed snapshots stay where they are.
#[track_caller]
pub fn assert_golden(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}
