//! `cft diff` agrees with GitHub's octocatalog-diff: the two related web
//! sessions of `diff.rs` become modules, real Puppet compiles each one's
//! catalog, octocatalog-diff compares the catalogs, and the resources it
//! finds different (type, title, side and the parameters that differ) are
//! exactly the resources `cft diff --json` lists.
//!
//! octocatalog-diff compares file text only when it compiles the code
//! itself (`--compare-file-text`); given compiled catalogs, it compares
//! `source` locations, which are the same path in both modules. So each
//! catalog's `puppet:///modules/...` sources are first replaced by the
//! text they name, which is what that option does.

use crate::diff::two_sessions;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use testkit::tools::{require, tool};

/// Compile `include web` from this module path to a catalog (JSON), with
/// Puppet's own directories private to the test.
fn catalog(tmp: &Path, modules: &Path, tag: &str) -> serde_json::Value {
    let site = tmp.join("site.pp");
    std::fs::write(&site, "include web\n").unwrap();
    let conf = tmp.join(format!("puppet-{tag}"));
    let out = Command::new(tool("puppet"))
        .args(["catalog", "find", "testnode", "--terminus", "compiler"])
        .arg("--modulepath")
        .arg(modules)
        .arg("--manifest")
        .arg(&site)
        .arg("--confdir")
        .arg(conf.join("conf"))
        .arg("--vardir")
        .arg(conf.join("var"))
        .arg("--codedir")
        .arg(conf.join("code"))
        .args([
            "--render-as",
            "json",
            "--log_level",
            "err",
            "--color",
            "false",
        ])
        .output()
        .expect("run puppet catalog find");
    assert!(
        out.status.success(),
        "puppet catalog find failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cat: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "catalog JSON: {e}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    // Sources to text, as octocatalog-diff's --compare-file-text.
    for r in cat["resources"].as_array_mut().unwrap() {
        // (`r["parameters"]` would add a null to a resource without any.)
        let Some(params) = r.get_mut("parameters") else {
            continue;
        };
        let Some(src) = params.get("source").and_then(|s| s.as_str()) else {
            continue;
        };
        let rel = src.strip_prefix("puppet:///modules/web/").expect(src);
        let text = std::fs::read(modules.join("web/files").join(rel)).unwrap();
        params["content"] = String::from_utf8(text).unwrap().into();
        params.as_object_mut().unwrap().remove("source");
    }
    cat
}

/// The resource types a module is made of (not classes and stages).
const TYPES: &[(&str, &str)] = &[
    ("file", "File"),
    ("package", "Package"),
    ("user", "User"),
    ("group", "Group"),
    ("service", "Service"),
];

#[test]
fn cft_diff_agrees_with_octocatalog_diff() {
    require(&["puppet", "octocatalog-diff"]);
    let env = two_sessions();
    let tmp = tempfile::tempdir().unwrap();
    let mut cats = Vec::new();
    for (name, tag) in [("web-v1", "a"), ("web-v2", "b")] {
        let modules = tmp.path().join(format!("modules-{tag}"));
        env.ok([
            "manifest",
            name,
            "--module-name",
            "web",
            "-o",
            modules.join("web").to_str().unwrap(),
        ]);
        let cat = catalog(tmp.path(), &modules, tag);
        let file = tmp.path().join(format!("catalog-{tag}.json"));
        std::fs::write(&file, serde_json::to_vec(&cat).unwrap()).unwrap();
        cats.push(file);
    }
    let out = Command::new(tool("octocatalog-diff"))
        .args(["--output-format", "json", "-q", "--from-catalog"])
        .arg(&cats[0])
        .arg("--to-catalog")
        .arg(&cats[1])
        .output()
        .expect("run octocatalog-diff");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let octo: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "octocatalog-diff JSON: {e}:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });

    // (Type[title], side, differing parameters) from each tool.
    type Found = BTreeSet<(String, &'static str, Vec<String>)>;
    let mut theirs = Found::new();
    let mut changed: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    // Type[title] -> (side a's parameters, side b's), for comparing values.
    let mut values: std::collections::BTreeMap<String, (serde_json::Value, serde_json::Value)> =
        Default::default();
    for d in octo["diff"].as_array().unwrap() {
        let ty = d["type"].as_str().unwrap();
        if !TYPES.iter().any(|(_, t)| *t == ty) {
            continue;
        }
        let key = format!("{ty}[{}]", d["title"].as_str().unwrap());
        let params = |v: &serde_json::Value| v["parameters"].clone();
        match d["diff_type"].as_str().unwrap() {
            "+" | "-" => {
                values.insert(
                    key.clone(),
                    (params(&d["old_value"]), params(&d["new_value"])),
                );
            }
            _ => {}
        }
        match d["diff_type"].as_str().unwrap() {
            "+" => {
                theirs.insert((key, "only_b", Vec::new()));
            }
            "-" => {
                theirs.insert((key, "only_a", Vec::new()));
            }
            // One entry per changed parameter: ["parameters", NAME].
            "~" | "!" => {
                let s = d["structure"].as_array().unwrap();
                assert_eq!(s[0], "parameters", "{d}");
                let name = s[1].as_str().unwrap();
                let slot = values.entry(key.clone()).or_default();
                slot.0[name] = d["old_value"].clone();
                slot.1[name] = d["new_value"].clone();
                changed
                    .entry(key)
                    .or_default()
                    .insert(s[1].as_str().unwrap().to_string());
            }
            other => panic!("octocatalog-diff diff_type {other}: {d}"),
        }
    }
    for (key, params) in changed {
        theirs.insert((key, "both", params.into_iter().collect()));
    }

    let ours_out = env.run(["diff", "web-v1", "web-v2", "--json"]);
    let ours_json: serde_json::Value = serde_json::from_slice(&ours_out.stdout).unwrap();
    let mut ours = Found::new();
    let mut checked = 0;
    for e in ours_json["entries"].as_array().unwrap() {
        let kind = e["kind"].as_str().unwrap();
        let Some((_, ty)) = TYPES.iter().find(|(k, _)| *k == kind) else {
            panic!("cft diff lists a {kind}, which no module resource is: {e}");
        };
        let key = format!("{ty}[{}]", e["title"].as_str().unwrap());
        let side = match e["side"].as_str().unwrap() {
            "only_a" => "only_a",
            "only_b" => "only_b",
            _ => "both",
        };
        let params = if side == "both" {
            e["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["name"].as_str().unwrap().to_string())
                .collect()
        } else {
            Vec::new()
        };
        // Every value cft gives is the catalog's (content is shown as a
        // size and hash, and compared above by name only).
        let (pa, pb) = values.get(&key).cloned().unwrap_or_default();
        for a in e["attributes"].as_array().unwrap() {
            let name = a["name"].as_str().unwrap();
            if name == "content" {
                continue;
            }
            for (ours_v, theirs_p) in [(&a["a"], &pa), (&a["b"], &pb)] {
                let (Some(v), Some(t)) = (ours_v.as_str(), theirs_p.get(name)) else {
                    continue;
                };
                let t = t
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| t.to_string());
                assert_eq!(v, t, "{key} {name}: cft says {v}, the catalog {t}");
                checked += 1;
            }
        }
        ours.insert((key, side, params));
    }
    eprintln!("{checked} attribute values agree with the catalogs'");
    assert!(checked >= 4, "only {checked} values compared");
    eprintln!("octocatalog-diff and cft diff, resource by resource: {theirs:#?}");
    assert!(!ours.is_empty(), "the scenarios differ");
    assert_eq!(
        ours, theirs,
        "cft diff (left) and octocatalog-diff (right) disagree"
    );
}
