//! The generated modules judged by the real tools: `puppet parser validate`,
//! `puppet-lint --fail-on-warnings`, and `puppet parser dump`, which shows
//! that every title and string Puppet reads back is exactly the recorded
//! path or value. Missing tools fail the test: they are part of the test
//! bed (`scripts/setup-host.sh` installs them).

mod common;

use common::Fixture;
use manifest_gen::{generate, write_module, ModuleOptions};
use std::path::Path;
use std::process::{Command, Output};

fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}); install the test bed's tools with scripts/setup-host.sh (as root)")
        })
}

fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Puppet's reading of the manifest, via `puppet parser dump --format json`:
/// every resource title and every `attribute => 'string'` pair.
struct Parsed {
    titles: Vec<String>,
    strings: Vec<(String, String)>,
}

fn walk(v: &serde_json::Value, p: &mut Parsed) {
    match v {
        serde_json::Value::Array(items) => {
            // `{"#": [k, v, k, v...]}` holds a resource body's title; an
            // `{"^": ["=>", attr, value]}` holds one attribute.
            for pair in items.windows(2) {
                if pair[0] == "title" {
                    if let Some(t) = pair[1].as_str() {
                        p.titles.push(t.to_string());
                    }
                }
            }
            if items.len() == 3 && items[0] == "=>" {
                if let (Some(k), Some(s)) = (items[1].as_str(), items[2].as_str()) {
                    p.strings.push((k.to_string(), s.to_string()));
                }
            }
            items.iter().for_each(|i| walk(i, p));
        }
        serde_json::Value::Object(map) => map.values().for_each(|i| walk(i, p)),
        _ => {}
    }
}

/// Generate `f`'s module, write it into a directory named like the module
/// (Puppet and puppet-lint's autoloader check need that), and judge it.
fn check(f: &Fixture, include_secrets: bool) -> Parsed {
    let name = manifest_gen::default_module_name(&f.name);
    let opts = ModuleOptions {
        include_secrets,
        ..ModuleOptions::new(name.clone())
    };
    let module = generate(&f.change_set(), &f.blobs, &opts).expect("generate");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(&name);
    write_module(&module, &dir).expect("write");
    // Keep puppet's state out of the host's directories.
    let state = tmp.path().join("puppet-state");
    let state = state.to_str().expect("UTF-8 temp path");
    let isolate = [
        "--vardir",
        state,
        "--confdir",
        state,
        "--codedir",
        state,
        "--logdir",
        state,
    ];

    let mut args = vec!["parser", "validate"];
    args.extend(isolate);
    args.push("manifests/init.pp");
    assert_ok("puppet parser validate", &run(&dir, "puppet", &args));

    assert_ok(
        "puppet-lint",
        &run(
            &dir,
            "puppet-lint",
            &["--fail-on-warnings", "--with-filename", "--relative", "."],
        ),
    );

    let mut args = vec!["parser", "dump", "--format", "json"];
    args.extend(isolate);
    args.push("manifests/init.pp");
    let out = run(&dir, "puppet", &args);
    assert_ok("puppet parser dump", &out);
    let json = String::from_utf8_lossy(&out.stdout);
    // The JSON is the last line; Facter may warn before it.
    let line = json
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("JSON output");
    let tree: serde_json::Value = serde_json::from_str(line).expect("puppet's JSON");
    let mut parsed = Parsed {
        titles: Vec::new(),
        strings: Vec::new(),
    };
    walk(&tree, &mut parsed);

    // What puppet-check.sh checks too: every source has its file.
    let prefix = format!("puppet:///modules/{name}/");
    for (attr, value) in &parsed.strings {
        if attr == "source" {
            let rel = value
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("foreign source {value}"));
            assert!(dir.join("files").join(rel).is_file(), "missing files/{rel}");
        }
    }
    parsed
}

/// Puppet reads back exactly the recorded paths (all those that are UTF-8).
fn assert_titles(f: &Fixture, parsed: &Parsed, skipped: &[&[u8]]) {
    let mut want: Vec<String> = f
        .changes
        .iter()
        .filter(|c| !skipped.contains(&c.path.as_slice()))
        .map(|c| String::from_utf8(c.path.clone()).expect("UTF-8 path"))
        .collect();
    want.sort();
    let mut got = parsed.titles.clone();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn basic_module_passes_puppet_and_lint() {
    let f = common::basic();
    let parsed = check(&f, false);
    assert_titles(&f, &parsed, &[]);
}

#[test]
fn awkward_module_passes_puppet_and_lint_and_round_trips() {
    let f = common::awkward();
    let parsed = check(&f, false);
    assert_titles(&f, &parsed, &[b"/etc/awk/fifo", b"/etc/awk/\xff\xfe"]);
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/new\nline"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/tab\there"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/it's"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/back\\slash"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/${x}"));
    let target = parsed
        .strings
        .iter()
        .find(|(k, _)| k == "target")
        .map(|(_, v)| v.as_str());
    assert_eq!(target, Some("it's $target"));
}

#[test]
fn secret_modules_pass_puppet_and_lint() {
    let f = common::secrets();
    for include in [false, true] {
        let parsed = check(&f, include);
        assert_titles(&f, &parsed, &[]);
    }
}

#[test]
fn carriage_return_module_passes_lint() {
    let f = common::carriage_return();
    let parsed = check(&f, false);
    assert_titles(&f, &parsed, &[]);
    let target = parsed
        .strings
        .iter()
        .find(|(k, _)| k == "target")
        .map(|(_, v)| v.as_str());
    assert_eq!(target, Some("x\ry"));
}
