//! Tier 2: recipe bundles judged by the real validators: `recipe::verify`
//! with xmllint, ksvalidator and Puppet passes every check of a built
//! bundle, and the complete kickstart `instantiate` makes from it passes
//! ksvalidator.

use crate::common;
use crate::recipe::{build, instantiated, opts, write};
use crate::tools::{ksvalidator, validate};
use manifest_gen::recipe::{self, Outcome, Tools};
use std::process::Command;
use testkit::tools::tool;

fn tools() -> Tools {
    Tools {
        xmllint: Some(tool("xmllint")),
        ksvalidator: Some(ksvalidator()),
        puppet: Some(tool("puppet")),
    }
}

#[test]
fn a_built_bundle_passes_every_check() {
    let tools = tools();
    let tmp = tempfile::tempdir().unwrap();
    for f in [common::basic(), common::awkward()] {
        let b = build(&f, &opts("m"));
        let file = write(tmp.path(), &format!("{}.tar.gz", f.name), &b.bytes);
        let r = recipe::verify_with(&file, &tools).expect("verifies");
        let lines: Vec<String> = r
            .checks
            .iter()
            .map(|c| format!("{:?} {}: {}", c.outcome, c.name, c.detail))
            .collect();
        assert!(r.passed(), "{}:\n{}", f.name, lines.join("\n"));
        assert!(
            r.checks.iter().all(|c| c.outcome == Outcome::Ok),
            "{lines:#?}"
        );
        assert_eq!(r.checks.len(), 6, "{lines:#?}");
    }
}

#[test]
fn the_instantiated_kickstart_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let full = instantiated(tmp.path());
    let out = write(tmp.path(), "full.ks", full.as_bytes());
    validate(Command::new(ksvalidator()).arg(&out)).unwrap_or_else(|e| panic!("{e}\n{full}"));
}
