//! Golden tests: one readable snapshot per scenario (init.pp, README.md and
//! the list of shipped files), plus the properties a snapshot cannot show
//! at a glance (determinism, exact bytes, no leaked secret).

mod common;

use common::Fixture;
use manifest_gen::{generate, Module, ModuleOptions};

fn module(f: &Fixture, include_secrets: bool) -> Module {
    let opts = ModuleOptions {
        include_secrets,
        ..ModuleOptions::new(manifest_gen::default_module_name(&f.name))
    };
    generate(&f.change_set(), &f.blobs, &opts).expect("generate")
}

/// The module as one text: whole files for the manifest, README (and
/// metadata when asked), then the `files/` tree with sizes. A carriage
/// return is shown as `␍` so the snapshot stays a plain text file.
fn snapshot_text(m: &Module, with_metadata: bool) -> String {
    let text = |rel: &str| {
        String::from_utf8(m.files[rel].clone())
            .expect("UTF-8")
            .replace('\r', "␍")
    };
    let mut out = String::new();
    let mut shown = vec!["manifests/init.pp", "README.md"];
    if with_metadata {
        shown.insert(0, "metadata.json");
    }
    for rel in shown {
        out.push_str(&format!("===== {rel}\n{}", text(rel)));
    }
    out.push_str("===== files/\n");
    for (rel, bytes) in m.files.iter().filter(|(k, _)| k.starts_with("files/")) {
        out.push_str(&format!("{rel} ({} bytes)\n", bytes.len()));
    }
    out
}

#[test]
fn a_basic_changes() {
    let m = module(&common::basic(), false);
    insta::assert_snapshot!("a_basic", snapshot_text(&m, true));
    assert_eq!(m.report.resources, 6);
    assert!(m.report.skipped.is_empty(), "{:?}", m.report.skipped);
}

#[test]
fn b_awkward_names_and_contents() {
    let f = common::awkward();
    let m = module(&f, false);
    insta::assert_snapshot!("b_awkward", snapshot_text(&m, false));

    // Content is shipped byte for byte, whatever it holds.
    let cs = f.change_set();
    for c in &cs.changes {
        let Some(hash) = c.after.as_ref().and_then(|a| a.hash) else {
            continue;
        };
        let Some(blob) = f.blobs.get(&hash) else {
            continue;
        };
        let Ok(path) = std::str::from_utf8(&c.path) else {
            continue;
        };
        let rel = manifest_gen::puppet::files_relpath(&c.path);
        assert_eq!(m.files.get(&format!("files/{rel}")), Some(blob), "{path}");
    }
    let skipped: Vec<&str> = m.report.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["/etc/awk/fifo", "/etc/awk/\\xff\\xfe"]);
    assert_eq!(m.report.incomplete.len(), 1, "the uncaptured file");
}

#[test]
fn c_secret_withheld() {
    let m = module(&common::secrets(), false);
    insta::assert_snapshot!("c_secret_withheld", snapshot_text(&m, false));
    for (rel, bytes) in &m.files {
        assert!(
            !bytes.windows(8).any(|w| w == &common::SECRET[..8])
                && !bytes.windows(8).any(|w| w == b"c2VjcmV0"),
            "secret leaked into {rel}"
        );
    }
    let names: Vec<&str> = m
        .report
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["etc_ssh_ssh_host_ed25519_key_content"]);
}

#[test]
fn c_secret_included() {
    let m = module(&common::secrets(), true);
    insta::assert_snapshot!("c_secret_included", snapshot_text(&m, false));
    assert!(m.report.parameters.is_empty());
    assert_eq!(
        m.files
            .get("files/etc/ssh/ssh_host_ed25519_key")
            .map(Vec::as_slice),
        Some(common::SECRET)
    );
}

#[test]
fn output_is_deterministic() {
    for f in [common::basic(), common::awkward(), common::secrets()] {
        let first = module(&f, false);
        // Input order must not matter either.
        let mut reversed = Fixture::new(&f.name);
        reversed.description = f.description.clone();
        reversed.changes = f.changes.iter().rev().cloned().collect();
        reversed.notices = f.notices.clone();
        reversed.blobs = f.blobs.clone();
        let opts = ModuleOptions::new(manifest_gen::default_module_name(&f.name));
        let cs = {
            let mut cs = reversed.change_set();
            cs.changes.reverse();
            cs
        };
        let second = generate(&cs, &reversed.blobs, &opts).expect("generate");
        assert_eq!(first, second, "{}", f.name);
    }
}

#[test]
fn carriage_return_switches_to_one_class_wide_lint_block() {
    let m = module(&common::carriage_return(), false);
    let pp = String::from_utf8(m.files["manifests/init.pp"].clone()).expect("UTF-8");
    assert_eq!(pp.matches("lint:ignore:140chars").count(), 1, "{pp}");
    assert!(
        pp.contains("lint:ignore:single_quote_string_with_variables"),
        "{pp}"
    );
}

#[test]
fn metadata_without_os_facts_omits_support() {
    let f = common::basic();
    let mut cs = f.change_set();
    cs.session.facts.os_id.clear();
    let m = generate(&cs, &f.blobs, &ModuleOptions::new("web")).expect("generate");
    let meta: serde_json::Value = serde_json::from_slice(&m.files["metadata.json"]).expect("JSON");
    assert!(meta.get("operatingsystem_support").is_none());
    assert_eq!(meta["name"], "cft-web");
}

#[test]
fn bad_options_are_refused_with_the_value_named() {
    let f = common::basic();
    let cs = f.change_set();
    let err = generate(&cs, &f.blobs, &ModuleOptions::new("Web")).expect_err("bad name");
    assert!(err.to_string().contains("'Web'"), "{err}");
    let opts = ModuleOptions {
        author: "me-too".into(),
        ..ModuleOptions::new("web")
    };
    let err = generate(&cs, &f.blobs, &opts).expect_err("bad author");
    assert!(err.to_string().contains("'me-too'"), "{err}");
}
