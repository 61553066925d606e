//! `manifest_gen::diff` on built change sets: the exact entries, in text
//! and in JSON, the filters, secrets and binary contents, and a session
//! against its own baseline.

use crate::common::Fixture;
use manifest_gen::diff::{self, text, ContentDiff, DiffOptions, Kind, Side};
use recorder::model::{
    AccountChangeKind, ChangeKind, Enable, PackageChange, PackageChangeKind, ServiceChange, User,
    UserChange,
};

fn pkg(name: &str, version: &str) -> PackageChange {
    PackageChange {
        name: name.into(),
        arch: "amd64".into(),
        kind: PackageChangeKind::Installed,
        before_version: None,
        after_version: Some(version.into()),
        explicit: true,
        hold: None,
    }
}

fn bob(hash: &str) -> UserChange {
    let u = User {
        name: "bob".into(),
        uid: 1001,
        gid: 1001,
        gecos: "Bob".into(),
        home: "/home/bob".into(),
        shell: "/bin/bash".into(),
        password: Some(hash.into()),
        groups: vec![],
    };
    UserChange {
        name: "bob".into(),
        kind: AccountChangeKind::Created,
        before: None,
        after: Some(u),
        home_created: true,
        password_changed: true,
        by_package: None,
    }
}

fn svc(enable: Enable) -> ServiceChange {
    ServiceChange {
        unit: "nginx.service".into(),
        before: None,
        after: None,
        enable: Some(enable),
        ensure: None,
        package: Some("nginx-common".into()),
        subscribe: vec![],
    }
}

/// The same web server twice: another port, an extra package, a user gone,
/// a service disabled, a secret changed and a binary file changed.
fn two() -> (Fixture, Fixture) {
    let mut a = Fixture::new("web-v1");
    a.created_file(
        b"/etc/nginx/conf.d/app.conf",
        b"server {\n  listen 8080;\n  root /srv;\n}\n",
        0o644,
    );
    a.created_file(b"/etc/app/same.conf", b"same\n", 0o644);
    a.created_file(b"/etc/app/tls.key", b"KEY ONE\n", 0o600)
        .secret = true;
    a.created_file(b"/srv/logo.bin", b"\x89PNG\0\x01", 0o644);
    a.system.packages = vec![pkg("nginx", "1.22")];
    a.system.users = vec![bob("$y$j9T$salt$one")];
    a.system.services = vec![svc(Enable::True)];
    let mut b = Fixture::new("web-v2");
    b.created_file(
        b"/etc/nginx/conf.d/app.conf",
        b"server {\n  listen 9090;\n  root /srv;\n}\n",
        0o640,
    );
    b.created_file(b"/etc/app/same.conf", b"same\n", 0o644);
    b.created_file(b"/etc/app/tls.key", b"KEY TWO\n", 0o600)
        .secret = true;
    b.created_file(b"/srv/logo.bin", b"\x89PNG\0\x02\x03", 0o644);
    b.system.packages = vec![pkg("nginx", "1.22"), pkg("jq", "1.6")];
    b.system.services = vec![svc(Enable::False)];
    (a, b)
}

fn run(a: &Fixture, b: &Fixture, opts: &DiffOptions) -> diff::Diff {
    diff::diff(&a.change_set(), &a.blobs, &b.change_set(), &b.blobs, opts).unwrap()
}

#[test]
fn two_sessions_differ_resource_by_resource() {
    let (a, b) = two();
    let d = run(&a, &b, &DiffOptions::default());
    let got = text::render(&d, text::Form::NameStatus, text::Paint(false));
    assert_eq!(
        got,
        "M\tfile\t/etc/app/tls.key\n\
         M\tfile\t/etc/nginx/conf.d/app.conf\n\
         M\tfile\t/srv/logo.bin\n\
         A\tpackage\tjq\n\
         D\tuser\tbob\n\
         M\tservice\tnginx\n"
    );
    let conf = d
        .entries
        .iter()
        .find(|e| e.title == "/etc/nginx/conf.d/app.conf")
        .unwrap();
    let attrs: Vec<(&str, Option<&str>, Option<&str>)> = conf
        .attributes
        .iter()
        .map(|a| (a.name.as_str(), a.a.as_deref(), a.b.as_deref()))
        .filter(|(n, _, _)| *n != "content")
        .collect();
    assert_eq!(attrs, vec![("mode", Some("0644"), Some("0640"))]);
    match &conf.content {
        Some(ContentDiff::Text {
            unified,
            added,
            removed,
            truncated,
        }) => {
            assert_eq!((*added, *removed, *truncated), (1, 1, false));
            assert!(
                unified.contains("-  listen 8080;\n+  listen 9090;\n"),
                "{unified}"
            );
        }
        other => panic!("{other:?}"),
    }
    let key = d
        .entries
        .iter()
        .find(|e| e.title == "/etc/app/tls.key")
        .unwrap();
    assert_eq!(key.content, Some(ContentDiff::Secret));
    let full = text::render(&d, text::Form::Full, text::Paint(false));
    assert!(
        full.contains("secret content differs") && !full.contains("KEY"),
        "{full}"
    );
    let logo = d
        .entries
        .iter()
        .find(|e| e.title == "/srv/logo.bin")
        .unwrap();
    assert!(
        matches!(
            logo.content,
            Some(ContentDiff::Binary {
                a_size: Some(6),
                b_size: Some(7),
                ..
            })
        ),
        "{:?}",
        logo.content
    );
    let svc = d.entries.iter().find(|e| e.kind == Kind::Service).unwrap();
    assert_eq!(svc.side, Side::Both);
    assert_eq!(svc.attributes[0].name, "enable");
    assert_eq!(
        (
            svc.attributes[0].a.as_deref(),
            svc.attributes[0].b.as_deref()
        ),
        (Some("true"), Some("false"))
    );
    let user = d.entries.iter().find(|e| e.kind == Kind::User).unwrap();
    let pw = user
        .attributes
        .iter()
        .find(|a| a.name == "password")
        .unwrap();
    assert!(
        pw.a.as_deref().unwrap().starts_with("set (fingerprint ") && !full.contains("$y$"),
        "a password hash never shows: {pw:?}"
    );
    let stat = text::render(&d, text::Form::Stat, text::Paint(false));
    assert!(
        stat.ends_with(" 6 resources differ: 1 only in a, 1 only in b, 4 changed\n"),
        "{stat}"
    );
}

#[test]
fn the_json_form_names_kind_identity_side_and_both_values() {
    let (a, b) = two();
    let d = run(&a, &b, &DiffOptions::default());
    let v: serde_json::Value = serde_json::to_value(&d).unwrap();
    assert_eq!(v["schema"], "cft-diff/1");
    assert_eq!(v["a"]["session"], "web-v1");
    let jq = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "jq")
        .unwrap();
    assert_eq!(jq["kind"], "package");
    assert_eq!(jq["side"], "only_b");
    assert_eq!(jq["attributes"][0]["name"], "ensure");
    assert_eq!(jq["attributes"][0]["b"], "installed");
    assert!(jq["attributes"][0]["a"].is_null());
    let key = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "/etc/app/tls.key")
        .unwrap();
    assert_eq!(key["content"]["type"], "secret");
}

#[test]
fn filters_by_kind_path_and_attribute() {
    let (a, b) = two();
    let only = |opts: DiffOptions| {
        run(&a, &b, &opts)
            .entries
            .iter()
            .map(|e| format!("{} {}", e.kind.as_str(), e.title))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        only(DiffOptions {
            kinds: Kind::parse_filter("account").unwrap(),
            ..Default::default()
        }),
        vec!["user bob"]
    );
    assert_eq!(
        only(DiffOptions {
            paths: vec![b"/etc/nginx".to_vec()],
            ..Default::default()
        }),
        vec!["file /etc/nginx/conf.d/app.conf"]
    );
    let d = run(
        &a,
        &b,
        &DiffOptions {
            ignore_attrs: vec!["mode".into(), "content".into()],
            ..Default::default()
        },
    );
    assert!(
        !d.entries.iter().any(|e| e.kind == Kind::File),
        "with mode and content ignored, the files are the same: {:?}",
        d.entries
    );
    let same = run(&a, &a, &DiffOptions::default());
    assert!(
        same.is_empty(),
        "a session against itself: {:?}",
        same.entries
    );
}

#[test]
fn with_secrets_the_content_diff_is_shown() {
    let (a, b) = two();
    let d = run(
        &a,
        &b,
        &DiffOptions {
            include_secrets: true,
            ..Default::default()
        },
    );
    let key = d
        .entries
        .iter()
        .find(|e| e.title == "/etc/app/tls.key")
        .unwrap();
    assert!(
        matches!(&key.content, Some(ContentDiff::Text { unified, .. }) if unified.contains("+KEY TWO"))
    );
}

#[test]
fn a_long_diff_is_cut_at_the_line_cap() {
    let mut a = Fixture::new("a");
    let mut b = Fixture::new("b");
    let text = |n: usize| (0..n).map(|i| format!("line {i}\n")).collect::<String>();
    a.created_file(b"/etc/big", text(500).as_bytes(), 0o644);
    b.created_file(
        b"/etc/big",
        text(500).replace("line ", "LINE ").as_bytes(),
        0o644,
    );
    let d = run(
        &a,
        &b,
        &DiffOptions {
            max_lines: 20,
            ..Default::default()
        },
    );
    match &d.entries[0].content {
        Some(ContentDiff::Text {
            unified,
            truncated,
            added,
            ..
        }) => {
            assert!(*truncated && *added == 500);
            assert_eq!(unified.lines().count(), 20);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_session_against_its_baseline_is_every_edit() {
    let mut f = Fixture::new("edit");
    let before = f.file_entry(b"/etc/app.conf", b"port = 80\n", 0o644);
    let after = f.file_entry(b"/etc/app.conf", b"port = 8080\n", 0o600);
    f.push(ChangeKind::Modified, Some(before), Some(after));
    f.created_file(b"/etc/new.conf", b"new\n", 0o644);
    f.removed(b"/etc/old.conf", recorder::model::EntryKind::File);
    f.system.packages = vec![pkg("jq", "1.6")];
    let d = diff::baseline(&f.change_set(), &f.blobs, &DiffOptions::default()).unwrap();
    assert_eq!(
        (d.a.what.as_str(), d.b.what.as_str()),
        ("baseline", "session")
    );
    let got = text::render(&d, text::Form::NameStatus, text::Paint(false));
    assert_eq!(
        got,
        "M\tfile\t/etc/app.conf\nA\tfile\t/etc/new.conf\nD\tfile\t/etc/old.conf\nA\tpackage\tjq\n"
    );
    let full = text::render(&d, text::Form::Full, text::Paint(false));
    assert!(
        full.contains("-port = 80\n") && full.contains("+port = 8080"),
        "{full}"
    );
    assert!(full.contains("mode: 0644 -> 0600"), "{full}");
}
