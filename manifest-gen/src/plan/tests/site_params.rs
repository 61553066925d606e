//! Site parameters: which files become templates with which parameters,
//! and every way a parameter cannot be honoured (an error naming it).

use super::*;
use crate::plan::catalog::{ParamId, Supplies};
use crate::plan::outcome::FileDecision;

#[test]
fn two_parameters_in_two_files() {
    let mut blobs = HashMap::new();
    let changes = vec![
        created(
            b"/etc/app/mail.conf",
            b"relay smtp.example.com\n<% not a tag %>\nfallback smtp.example.com:25\n",
            &mut blobs,
        ),
        created(
            b"/etc/app/app.ini",
            b"mailhub=smtp.example.com\nport=2525\n",
            &mut blobs,
        ),
        created(b"/etc/app/other.conf", b"smtp.example.com\n", &mut blobs),
    ];
    let args = [
        "port=/etc/app/app.ini:2525",
        "mailhub=/etc/app/mail.conf:*:smtp.example.com",
        "mailhub=/etc/app/app.ini:smtp.example.com",
    ];
    let plan = Case::of(changes).with_site(&args).run(&blobs);

    let names: Vec<(&str, &Supplies)> = plan
        .catalog
        .params
        .iter()
        .map(|p| (p.name.as_str(), &p.supplies))
        .collect();
    let site = |literal: &str, paths: &[&[u8]]| Supplies::Site {
        literal: literal.into(),
        paths: paths.iter().map(|p| p.to_vec()).collect(),
    };
    assert_eq!(
        names,
        [
            (
                "mailhub",
                &site(
                    "smtp.example.com",
                    &[b"/etc/app/app.ini", b"/etc/app/mail.conf"]
                )
            ),
            ("port", &site("2525", &[b"/etc/app/app.ini"])),
        ]
    );
    let content = |title: &str| {
        attrs(&plan, title)
            .into_iter()
            .find(|a| a.starts_with("content=") || a.starts_with("source="))
    };
    assert_eq!(
        content("/etc/app/mail.conf").as_deref(),
        Some("content=epp:etc/app/mail.conf.epp(mailhub)")
    );
    assert_eq!(
        content("/etc/app/app.ini").as_deref(),
        Some("content=epp:etc/app/app.ini.epp(mailhub,port)")
    );
    assert_eq!(
        content("/etc/app/other.conf").as_deref(),
        Some("source=source:etc/app/other.conf"),
        "a file without a site parameter keeps its source"
    );
    assert_eq!(
        plan.content.templates.keys().collect::<Vec<_>>(),
        ["etc/app/app.ini.epp", "etc/app/mail.conf.epp"]
    );
    assert_eq!(
        String::from_utf8_lossy(&plan.content.templates["etc/app/mail.conf.epp"]),
        "<%- | String $mailhub | -%>\nrelay <%= $mailhub %>\n<%% not a tag %>\nfallback <%= $mailhub %>:25\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&plan.content.templates["etc/app/app.ini.epp"]),
        "<%- | String $mailhub, String $port | -%>\nmailhub=<%= $mailhub %>\nport=<%= $port %>\n"
    );
    assert!(
        !plan.content.files.contains_key("etc/app/mail.conf"),
        "not shipped twice"
    );
    assert_eq!(
        plan.file_outcome("/etc/app/app.ini").became,
        FileDecision::Template {
            rel: "etc/app/app.ini.epp".into(),
            params: vec![
                ParamId::Site("mailhub".into()),
                ParamId::Site("port".into())
            ],
        }
    );
}

fn attrs(plan: &Plan, title: &str) -> Vec<String> {
    plan.attrs_of("file", title)
}

#[test]
fn a_package_source_can_carry_a_parameter() {
    let mut blobs = HashMap::new();
    let changes = vec![created(
        b"/etc/apt/sources.list.d/site.list",
        b"deb http://mirror.example.com/debian bookworm main\n",
        &mut blobs,
    )];
    let args = ["mirror=/etc/apt/sources.list.d/site.list:mirror.example.com"];
    let plan = Case::of(changes).with_site(&args).run(&blobs);
    let r = &plan.catalog.resources[0];
    assert_eq!(r.part, Part::Sources);
    assert!(
        r.attrs
            .iter()
            .any(|(k, v)| *k == "content"
                && matches!(v, Value::Epp { params, .. } if params == &[ParamId::Site("mirror".into())])),
        "{r:?}"
    );
}

/// Every refusal names the argument and says why.
#[test]
fn refusals_name_the_argument_and_the_reason() {
    let mut blobs = HashMap::new();
    let mut secret = created(b"/etc/app/key", b"KEY smtp\n", &mut blobs);
    secret.secret = true;
    let mut packaged = created(b"/usr/share/app/x", b"smtp\n", &mut blobs);
    packaged.origin = Origin::Package("app".into());
    let mut uncaptured = file(b"/etc/app/big", b"smtp big\n", &mut blobs);
    uncaptured.content_stored = false;
    let before = file(b"/etc/app/mode", b"smtp\n", &mut blobs);
    let after = Entry {
        mode: 0o600,
        ..before.clone()
    };
    let changes = vec![
        created(b"/etc/app/plain", b"relay smtp.example.com\n", &mut blobs),
        created(b"/etc/app/binary", b"\xff\xfe smtp\n", &mut blobs),
        created(b"/etc/app/nul", b"smtp\0\n", &mut blobs),
        created(b"/etc/app/empty", b"", &mut blobs),
        secret,
        packaged,
        change(ChangeKind::Created, None, Some(uncaptured)),
        change(ChangeKind::Metadata, Some(before), Some(after)),
        change(
            ChangeKind::Removed,
            Some(file(b"/etc/app/gone", b"smtp", &mut blobs)),
            None,
        ),
        change(
            ChangeKind::DirCreated,
            None,
            Some(entry(b"/etc/app/dir", EntryKind::Dir, 0o755)),
        ),
    ];
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "not recorded",
            &["h=/etc/app/nothere:smtp"],
            "/etc/app/nothere is not among the files the session changed",
        ),
        (
            "literal absent",
            &["h=/etc/app/plain:mail.example.org"],
            "'mail.example.org' does not occur in the recorded content of /etc/app/plain",
        ),
        (
            "literal inside a longer one",
            &[
                "h=/etc/app/plain:smtp.example.com",
                "d=/etc/app/plain:example",
            ],
            "every occurrence of 'example' in /etc/app/plain is inside the longer value",
        ),
        (
            "empty file",
            &["h=/etc/app/empty:smtp"],
            "does not occur in the recorded content of /etc/app/empty",
        ),
        (
            "not UTF-8",
            &["h=/etc/app/binary:smtp"],
            "not UTF-8 text: an EPP template is text",
        ),
        ("NUL bytes", &["h=/etc/app/nul:smtp"], "holds NUL bytes"),
        (
            "secret",
            &["h=/etc/app/key:smtp"],
            "/etc/app/key is a secret",
        ),
        (
            "package's file",
            &["h=/usr/share/app/x:smtp"],
            "belongs to package app",
        ),
        (
            "content not captured",
            &["h=/etc/app/big:smtp"],
            "/etc/app/big: its content was not captured",
        ),
        (
            "mode only",
            &["h=/etc/app/mode:smtp"],
            "only the ownership or mode of /etc/app/mode changed",
        ),
        (
            "removed",
            &["h=/etc/app/gone:smtp"],
            "was removed in the session",
        ),
        (
            "directory",
            &["h=/etc/app/dir:smtp"],
            "/etc/app/dir is a directory",
        ),
        (
            "name of a secret's parameter",
            &["etc_app_key_content=/etc/app/plain:smtp"],
            "already the class parameter carrying a secret (/etc/app/key)",
        ),
    ];
    for (name, args, want) in cases {
        let err = Case::of(changes.clone())
            .with_site(args)
            .try_run(&blobs)
            .err()
            .unwrap_or_else(|| panic!("{name}: no error"))
            .to_string();
        assert!(err.starts_with("site parameter '"), "{name}: {err}");
        assert!(
            args.iter().any(|a| err.contains(&format!("'{a}'"))),
            "{name}: names the argument: {err}"
        );
        assert!(err.contains(want), "{name}: {err}");
    }
}

#[test]
fn without_site_parameters_nothing_is_a_template() {
    let mut blobs = HashMap::new();
    let changes = vec![created(b"/etc/x", b"<%= evaluated? %>\n", &mut blobs)];
    let plan = Case::of(changes).run(&blobs);
    assert!(plan.content.templates.is_empty());
    assert_eq!(
        plan.content.files.get("etc/x").and_then(crate::Body::bytes),
        Some(&b"<%= evaluated? %>\n"[..])
    );
}
