//! Tier 2 of the tests: `CFT_TESTBED=1` at build time compiles them in, as
//! `cfg(testbed)` (real Debian roots, real Puppet, the validators, root).
//! Plain `cargo test` leaves them out and needs nothing but Rust.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(testbed)");
    println!("cargo::rerun-if-env-changed=CFT_TESTBED");
    if std::env::var_os("CFT_TESTBED").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=testbed");
    }
}
