//! The EPP escaping judged by the real `puppet epp render`: text full of
//! `<%`, `%>`, `<%-`, `<%=`, `<%#`, `%%>` and line ends, with a site
//! parameter in it, renders back to exactly the captured content (with the
//! recorded value) or to the content with the site's value in every place
//! the literal was. Cases are a named table plus generated ones (proptest
//! strategies, a fixed seed), rendered in one Puppet run per batch because
//! Puppet takes a second to start; a mismatch is re-rendered alone to name
//! the case. Tier 2: a missing `puppet` fails with the set-up command.

use crate::tools::isolate;
use manifest_gen::epp::{split, template};
use manifest_gen::puppet::quote;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use std::path::Path;
use std::process::Command;
use testkit::tools::{tool, SETUP};

/// Named contents; `L` stands for the batch's literal.
const NAMED: &[(&str, &str)] = &[
    ("plain", "relayhost = L\n"),
    ("twice", "L\nfallback L:25\n"),
    ("only the literal", "L"),
    ("leading newline", "\nL\n"),
    ("leading blank line with spaces", "  \n\tL"),
    ("crlf", "\r\nL\r\n"),
    ("lone carriage return", "\rL\r"),
    (
        "erb and epp tags",
        "<% x %> <%= y %> <%- z -%> <%# c %>\nL\n",
    ),
    ("escaped tags", "<%% %%> <%%% %%%>L"),
    ("ends with an open tag", "L <%"),
    ("ends with an escaped open tag", "L<%%"),
    ("open tag before the literal", "<%L"),
    ("close tag after the literal", "L%>"),
    ("percent runs", "L%% %%% 100%>"),
    ("greater after literal", "L>"),
    ("puppet syntax", "$x ${y} '\\' \"q\" L"),
    ("no newline at the end", "a L b"),
    ("unicode", "caf\u{e9} \u{1f600} L \u{feff}"),
];

fn text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("<%".to_string()),
        Just("%>".to_string()),
        Just("<%-".to_string()),
        Just("-%>".to_string()),
        Just("<%=".to_string()),
        Just("<%#".to_string()),
        Just("<%%".to_string()),
        Just("%%>".to_string()),
        Just("%".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        Just(" \t".to_string()),
        "[a-z$'{}\\\\]{1,3}",
        // Any text but NUL: content with NUL is binary and never a template.
        "[^\\x00]{0,4}",
    ];
    prop::collection::vec(token, 0..10).prop_map(|v| v.concat())
}

/// `count` generated contents, each with the literal at least once.
fn generated(count: usize, literal: &str) -> Vec<(String, String)> {
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(text(), 2..5);
    (0..count)
        .map(|i| {
            let parts = strategy
                .new_tree(&mut runner)
                .expect("a generated case")
                .current();
            (format!("generated #{i}"), parts.join(literal))
        })
        .collect()
}

/// `puppet epp render` of `files` with `$site = value`, concatenated
/// exactly (`--no-header`, JSON so no newline is added).
fn render(dir: &Path, files: &[String], value: &str) -> String {
    let out = Command::new(tool("puppet"))
        .args(["epp", "render", "--no-header", "--render-as", "json"])
        .args(["--values", &format!("{{ site => {} }}", quote(value))])
        .args(isolate(dir))
        .args(files)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run puppet ({e}): {SETUP}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "puppet epp render failed ({})\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('"'))
        .unwrap_or_else(|| panic!("no JSON string in puppet's output:\n{stdout}"));
    serde_json::from_str(line).expect("puppet's JSON string")
}

/// Render every case's template with `value` in one run; each must give
/// its content with `literal` replaced by `value`.
fn check_batch(cases: &[(String, String)], literal: &str, value: &str) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    let mut want = String::new();
    for (i, (_, content)) in cases.iter().enumerate() {
        assert!(content.contains(literal), "case {i} holds the literal");
        let t = template(&["site"], &split(content, &[literal]));
        let file = format!("{i:03}.epp");
        std::fs::write(tmp.path().join(&file), &t).expect("write template");
        files.push(file);
        want.push_str(&content.replace(literal, value));
    }
    let got = render(tmp.path(), &files, value);
    if got == want {
        return;
    }
    for (i, (name, content)) in cases.iter().enumerate() {
        let one = render(tmp.path(), &files[i..=i], value);
        let expected = content.replace(literal, value);
        let t = std::fs::read_to_string(tmp.path().join(&files[i])).expect("template");
        assert_eq!(
            one, expected,
            "case '{name}': content {content:?}, template {t:?}"
        );
    }
    panic!("the batch differs but no case alone does:\n{got:?}\n{want:?}");
}

fn cases(literal: &str, generated_count: usize) -> Vec<(String, String)> {
    NAMED
        .iter()
        .map(|(name, c)| (name.to_string(), c.replace('L', literal)))
        .chain(generated(generated_count, literal))
        .collect()
}

#[test]
fn recorded_value_renders_the_captured_content_exactly() {
    let literal = "smtp.example.com";
    check_batch(&cases(literal, 200), literal, literal);
}

/// A literal made of EPP syntax, and a site value that looks like code:
/// both are plain text to the template.
#[test]
fn site_value_replaces_every_occurrence_verbatim() {
    let literal = "<%=x%>";
    check_batch(&cases(literal, 200), literal, "<%= $evil %> 'q' \\ %%>");
}
