//! Tier 2 of the tests (real Puppet, puppet-lint, xmllint, virt-xml-validate
//! and ksvalidator) is compiled only when `CFT_TESTBED=1` at build time: it
//! becomes `cfg(testbed)`. Plain `cargo test` needs nothing but Rust.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(testbed)");
    println!("cargo::rerun-if-env-changed=CFT_TESTBED");
    if std::env::var_os("CFT_TESTBED").is_some_and(|v| v == "1") {
        println!("cargo::rustc-cfg=testbed");
    }
}
