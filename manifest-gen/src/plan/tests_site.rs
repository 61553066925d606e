//! Site parameters in the plan: which files become templates with which
//! parameters, and every way a parameter cannot be honoured.

use super::tests::{change, entry, file};
use super::*;
use recorder::model::{Change, ContentHash, Entry, EntryKind, Origin};

fn site(args: &[&str]) -> Vec<SiteParam> {
    let parsed: Vec<SiteParam> = args
        .iter()
        .map(|a| SiteParam::parse(a).expect("valid argument"))
        .collect();
    crate::site::check_all(&parsed).expect("consistent")
}

fn run(
    changes: &[Change],
    blobs: &HashMap<ContentHash, Vec<u8>>,
    site: &[SiteParam],
) -> Result<Plan, Error> {
    let system = SystemChanges::default();
    let input = Input {
        module: "m",
        changes,
        system: &system,
        os_id: "debian",
        os_version_id: "12",
        include_secrets: false,
        pin_versions: false,
        site,
        why: &Default::default(),
        execs: &[],
    };
    plan(&input, blobs)
}

fn created(path: &[u8], content: &[u8], blobs: &mut HashMap<ContentHash, Vec<u8>>) -> Change {
    change(ChangeKind::Created, None, Some(file(path, content, blobs)))
}

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
        "mailhub=/etc/app/mail.conf:smtp.example.com",
        "mailhub=/etc/app/app.ini:smtp.example.com",
    ];
    let plan = run(&changes, &blobs, &site(&args)).expect("plan");

    let names: Vec<(&str, Option<&str>, String)> = plan
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.default(), p.subject()))
        .collect();
    assert_eq!(
        names,
        [
            (
                "mailhub",
                Some("smtp.example.com"),
                "/etc/app/app.ini, /etc/app/mail.conf".to_string()
            ),
            ("port", Some("2525"), "/etc/app/app.ini".to_string()),
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
        "a file without --param keeps its source"
    );
    assert_eq!(
        plan.templates.keys().collect::<Vec<_>>(),
        ["etc/app/app.ini.epp", "etc/app/mail.conf.epp"]
    );
    assert_eq!(
        String::from_utf8_lossy(&plan.templates["etc/app/mail.conf.epp"]),
        "<%- | String $mailhub | -%>\nrelay <%= $mailhub %>\n<%% not a tag %>\nfallback <%= $mailhub %>:25\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&plan.templates["etc/app/app.ini.epp"]),
        "<%- | String $mailhub, String $port | -%>\nmailhub=<%= $mailhub %>\nport=<%= $port %>\n"
    );
    assert!(
        !plan.files.contains_key("etc/app/mail.conf"),
        "not shipped twice"
    );
    let row = plan
        .rows
        .iter()
        .find(|r| r.path == "/etc/app/app.ini")
        .expect("row");
    assert_eq!(row.puppet, "file: template");
    assert_eq!(row.detail.as_deref(), Some("templates/etc/app/app.ini.epp"));
    assert_eq!(row.params, [0, 1]);
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
    let plan = run(&changes, &blobs, &site(&args)).expect("plan");
    let r = &plan.resources[0];
    assert_eq!(r.part, Part::Sources);
    assert!(
        r.attrs
            .iter()
            .any(|(k, v)| *k == "content"
                && matches!(v, Value::Epp { params, .. } if params == &[0])),
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
        let err = run(&changes, &blobs, &site(args))
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
    let plan = run(&changes, &blobs, &[]).expect("plan");
    assert!(plan.templates.is_empty());
    assert_eq!(
        plan.files.get("etc/x").map(Vec::as_slice),
        Some(&b"<%= evaluated? %>\n"[..])
    );
}
