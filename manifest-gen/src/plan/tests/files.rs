//! File changes: one change of each kind and what it became, what is left
//! out and why, content not captured, secrets, removed trees, ordering,
//! which changes are the admin's, and packaged files.

use super::*;
use crate::plan::catalog::Supplies;
use crate::plan::outcome::{FileDecision, Uncaptured};

fn attrs(plan: &Plan, title: &str) -> Vec<String> {
    plan.attrs_of("file", title)
}

#[test]
fn one_change_of_each_kind() {
    let mut blobs = HashMap::new();
    let created = file(b"/etc/new", b"new\n", &mut blobs);
    let old = file(b"/etc/mod", b"old\n", &mut blobs);
    let new = file(b"/etc/mod", b"new\n", &mut blobs);
    let e600 = Entry {
        mode: 0o600,
        ..old.clone()
    };
    let mut numeric = entry(b"/srv/d", EntryKind::Dir, 0o2775);
    numeric.owner = None;
    numeric.uid = 1234;
    let empty = file(b"/etc/empty", b"", &mut blobs);
    let shipped = |rel: &str| FileDecision::Shipped {
        rel: rel.into(),
        secret: false,
    };
    let cases: Vec<(&str, Change, &str, Vec<&str>, FileDecision)> = vec![
        (
            "created file",
            change(ChangeKind::Created, None, Some(created)),
            "/etc/new",
            vec![
                "ensure=file",
                "owner='root'",
                "group='root'",
                "mode=0644",
                "source=source:etc/new",
            ],
            shipped("etc/new"),
        ),
        (
            "modified file",
            change(ChangeKind::Modified, Some(old.clone()), Some(new)),
            "/etc/mod",
            vec![
                "ensure=file",
                "owner='root'",
                "group='root'",
                "mode=0644",
                "source=source:etc/mod",
            ],
            shipped("etc/mod"),
        ),
        (
            "mode only",
            change(ChangeKind::Metadata, Some(old), Some(e600)),
            "/etc/mod",
            vec!["ensure=file", "owner='root'", "group='root'", "mode=0600"],
            FileDecision::Metadata,
        ),
        (
            "empty file",
            change(ChangeKind::Created, None, Some(empty)),
            "/etc/empty",
            vec![
                "ensure=file",
                "owner='root'",
                "group='root'",
                "mode=0644",
                "content=''",
            ],
            FileDecision::Empty { secret: false },
        ),
        (
            "dir with unknown owner and setgid",
            change(ChangeKind::DirCreated, None, Some(numeric)),
            "/srv/d",
            vec![
                "ensure=directory",
                "owner='1234'",
                "group='root'",
                "mode=2775",
            ],
            FileDecision::Directory,
        ),
        (
            "symlink",
            change(ChangeKind::Created, None, Some(link(b"/etc/l", b"../t"))),
            "/etc/l",
            vec!["ensure=link", "target='../t'"],
            FileDecision::Link("../t".into()),
        ),
        (
            "retargeted",
            change(
                ChangeKind::Retargeted,
                Some(link(b"/etc/l", b"a")),
                Some(link(b"/etc/l", b"b")),
            ),
            "/etc/l",
            vec!["ensure=link", "target='b'"],
            FileDecision::Link("b".into()),
        ),
        (
            "file replaced by a link",
            change(
                ChangeKind::TypeChanged,
                Some(entry(b"/etc/l", EntryKind::File, 0o644)),
                Some(link(b"/etc/l", b"b")),
            ),
            "/etc/l",
            vec!["ensure=link", "target='b'", "force=true"],
            FileDecision::Link("b".into()),
        ),
        (
            "removed file",
            change(
                ChangeKind::Removed,
                Some(entry(b"/etc/gone", EntryKind::File, 0o644)),
                None,
            ),
            "/etc/gone",
            vec!["ensure=absent"],
            FileDecision::Absent,
        ),
        (
            "removed fifo",
            change(
                ChangeKind::Removed,
                Some(entry(b"/run/p", EntryKind::Fifo, 0o644)),
                None,
            ),
            "/run/p",
            vec!["ensure=absent"],
            FileDecision::Absent,
        ),
        (
            "removed dir",
            change(
                ChangeKind::DirRemoved,
                Some(entry(b"/opt/x", EntryKind::Dir, 0o755)),
                None,
            ),
            "/opt/x",
            vec!["ensure=absent", "force=true"],
            FileDecision::AbsentTree,
        ),
    ];
    for (name, c, title, want, became) in cases {
        let kind = c.kind;
        let p = Case::of(vec![c]).run(&blobs);
        assert_eq!(attrs(&p, title), want, "{name}");
        let o = p.file_outcome(title);
        assert_eq!(
            (o.part, o.change, &o.became),
            (Part::Files, kind, &became),
            "{name}"
        );
        assert!(p.left_out().is_empty(), "{name}: {:?}", p.left_out());
    }
}

#[test]
fn what_cannot_be_expressed_is_left_out_with_a_reason() {
    let blobs = HashMap::new();
    let cases: Vec<(&str, Change, Reason)> = vec![
        (
            "non-UTF-8 path",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/etc/\xff", EntryKind::Dir, 0o755)),
            ),
            Reason::PathNotUtf8,
        ),
        (
            "fifo created",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/run/p", EntryKind::Fifo, 0o644)),
            ),
            Reason::SpecialFile(EntryKind::Fifo),
        ),
        (
            "device mode change",
            change(
                ChangeKind::Metadata,
                Some(entry(b"/dev/x", EntryKind::CharDevice, 0o600)),
                Some(entry(b"/dev/x", EntryKind::CharDevice, 0o666)),
            ),
            Reason::SpecialMetadata(EntryKind::CharDevice),
        ),
        (
            "non-UTF-8 link target",
            change(ChangeKind::Created, None, Some(link(b"/etc/l", b"\xfe"))),
            Reason::LinkTargetNotUtf8(b"\xfe".to_vec()),
        ),
        (
            "link without a target",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/etc/l", EntryKind::Symlink, 0o777)),
            ),
            Reason::NoLinkTarget,
        ),
        (
            "NUL in path",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/etc/a\0b", EntryKind::Dir, 0o755)),
            ),
            Reason::NulInPath,
        ),
        (
            "relative path",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"etc/x", EntryKind::Dir, 0o755)),
            ),
            Reason::RelativePath,
        ),
    ];
    for (name, c, reason) in cases {
        let path = c.path.clone();
        let p = Case::of(vec![c]).run(&blobs);
        assert!(p.catalog.resources.is_empty(), "{name}");
        assert!(p.outcomes.files.changes.is_empty(), "{name}");
        assert_eq!(
            p.left_out(),
            [left_out(Subject::Path(path), reason)],
            "{name}"
        );
    }
}

#[test]
fn content_not_captured_manages_metadata_only() {
    let blobs = HashMap::new();
    let mut big = entry(b"/var/big", EntryKind::File, 0o644);
    big.hash = Some(ContentHash::of(b"too big"));
    big.size = 7;
    let mut unread = entry(b"/var/unread", EntryKind::File, 0o644);
    unread.hash = None;
    let mut lost = big.clone();
    lost.path = b"/var/lost".to_vec();
    lost.content_stored = true;
    for (name, e, why) in [
        ("over the cap", big, Uncaptured::HashOnly { size: 7 }),
        ("unreadable", unread, Uncaptured::Unreadable),
        ("missing from store", lost, Uncaptured::MissingFromStore),
    ] {
        let title = String::from_utf8(e.path.clone()).expect("utf8");
        let p = Case::of(vec![change(ChangeKind::Created, None, Some(e))]).run(&blobs);
        assert_eq!(
            attrs(&p, &title),
            ["ensure=file", "owner='root'", "group='root'", "mode=0644"],
            "{name}: no source, no content"
        );
        assert!(p.content.files.is_empty(), "{name}");
        assert_eq!(p.file_outcome(&title).became, FileDecision::Uncaptured);
        assert_eq!(
            p.outcomes.not_expressed.partial,
            [(title.into_bytes(), why)],
            "{name}"
        );
    }
}

#[test]
fn corrupt_blob_is_not_shipped() {
    let mut blobs = HashMap::new();
    let e = file(b"/etc/x", b"right", &mut blobs);
    blobs.insert(e.hash.expect("hash"), b"wrong".to_vec());
    let p = Case::of(vec![change(ChangeKind::Created, None, Some(e))]).run(&blobs);
    assert!(p.content.files.is_empty());
    assert_eq!(
        p.outcomes.not_expressed.partial,
        [(b"/etc/x".to_vec(), Uncaptured::HashMismatch)]
    );
}

#[test]
fn removed_tree_collapses_into_its_top_directory() {
    let d = |p: &[u8]| entry(p, EntryKind::Dir, 0o755);
    let f = |p: &[u8]| entry(p, EntryKind::File, 0o644);
    let changes = vec![
        change(ChangeKind::Removed, Some(f(b"/opt/a/b/c")), None),
        change(ChangeKind::DirRemoved, Some(d(b"/opt/a/b")), None),
        change(ChangeKind::DirRemoved, Some(d(b"/opt/a")), None),
        change(ChangeKind::Removed, Some(f(b"/opt/a-sibling")), None),
        change(
            ChangeKind::TypeChanged,
            Some(d(b"/srv/x")),
            Some(f(b"/srv/x")),
        ),
        change(ChangeKind::Removed, Some(f(b"/srv/x/inner")), None),
    ];
    let p = Case::of(changes).run(&HashMap::new());
    let titles: Vec<&str> = p
        .catalog
        .resources
        .iter()
        .map(|r| r.title.as_str())
        .collect();
    assert_eq!(titles, ["/opt/a", "/opt/a-sibling", "/srv/x"]);
    assert_eq!(attrs(&p, "/opt/a"), ["ensure=absent", "force=true"]);
    let covered: Vec<(&[u8], &[u8])> = p
        .outcomes
        .files
        .changes
        .iter()
        .filter_map(|c| match &c.became {
            FileDecision::RemovedWith(dir) => Some((c.path.as_slice(), dir.as_slice())),
            _ => None,
        })
        .collect();
    assert_eq!(
        covered,
        [
            (&b"/opt/a/b"[..], &b"/opt/a"[..]),
            (b"/opt/a/b/c", b"/opt/a"),
            (b"/srv/x/inner", b"/srv/x")
        ]
    );
}

#[test]
fn resources_are_sorted_parents_first_whatever_the_input_order() {
    let d = |p: &[u8]| {
        change(
            ChangeKind::DirCreated,
            None,
            Some(entry(p, EntryKind::Dir, 0o755)),
        )
    };
    let changes = vec![d(b"/a/b/c"), d(b"/a-z"), d(b"/a/b"), d(b"/a")];
    let p = Case::of(changes).run(&HashMap::new());
    assert_eq!(
        p.titles(Part::Files),
        ["file /a", "file /a-z", "file /a/b", "file /a/b/c"]
    );
}

#[test]
fn secrets_become_parameters_unless_included() {
    let mut blobs = HashMap::new();
    let text = file(
        b"/etc/ssh/ssh_host_ed25519_key",
        b"-----BEGIN-----\n",
        &mut blobs,
    );
    let binary = file(b"/etc/krb5.keytab", b"\x05\x02\xff\x00", &mut blobs);
    let mut missing = entry(b"/etc/shadow", EntryKind::File, 0o640);
    missing.hash = Some(ContentHash::of(b"not stored"));
    missing.size = 10;
    let changes: Vec<Change> = [text, binary, missing]
        .into_iter()
        .map(|e| Change {
            secret: true,
            ..change(ChangeKind::Created, None, Some(e))
        })
        .collect();
    let mut case = Case::of(changes);

    let p = case.run(&blobs);
    assert!(
        p.content.files.is_empty(),
        "no secret content in the module"
    );
    let params: Vec<(&str, &str, &Supplies)> = p
        .catalog
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.puppet_type(), &p.supplies))
        .collect();
    let supplies = |path: &[u8], binary, uncaptured| Supplies::Content {
        path: path.to_vec(),
        binary,
        uncaptured,
    };
    assert_eq!(
        params,
        [
            (
                "etc_krb5_keytab_content",
                "Sensitive[Binary]",
                &supplies(b"/etc/krb5.keytab", true, None)
            ),
            (
                "etc_shadow_content",
                "Sensitive[String]",
                &supplies(
                    b"/etc/shadow",
                    false,
                    Some(Uncaptured::HashOnly { size: 10 })
                )
            ),
            (
                "etc_ssh_ssh_host_ed25519_key_content",
                "Sensitive[String]",
                &supplies(b"/etc/ssh/ssh_host_ed25519_key", false, None)
            ),
        ]
    );
    assert!(attrs(&p, "/etc/shadow").contains(&"content=$etc_shadow_content".to_string()));
    assert!(matches!(
        p.file_outcome("/etc/shadow").became,
        FileDecision::FromParam(_)
    ));

    case.include_secrets = true;
    let p = case.run(&blobs);
    assert_eq!(p.content.files.len(), 2, "captured secrets are shipped");
    assert_eq!(p.content.private.len(), 2, "and written owner-only");
    assert!(attrs(&p, "/etc/krb5.keytab").contains(&"show_diff=false".to_string()));
    assert_eq!(
        p.file_outcome("/etc/krb5.keytab").became,
        FileDecision::Shipped {
            rel: "etc/krb5.keytab".into(),
            secret: true
        }
    );
    assert_eq!(
        p.param_names(),
        ["etc_shadow_content"],
        "an uncaptured secret still needs a parameter"
    );
}

#[test]
fn metadata_change_of_a_secret_needs_no_parameter() {
    let mut blobs = HashMap::new();
    let before = file(b"/etc/shadow", b"x", &mut blobs);
    let after = Entry {
        mode: 0o600,
        ..before.clone()
    };
    let c = Change {
        secret: true,
        ..change(ChangeKind::Metadata, Some(before), Some(after))
    };
    let p = Case::of(vec![c]).run(&blobs);
    assert!(p.catalog.params.is_empty());
    assert_eq!(
        attrs(&p, "/etc/shadow"),
        ["ensure=file", "owner='root'", "group='root'", "mode=0600"]
    );
}

#[test]
fn clashing_parameter_names_are_disambiguated() {
    let mut blobs = HashMap::new();
    let changes: Vec<Change> = [b"/etc/a-b".as_slice(), b"/etc/a_b", b"/etc/c"]
        .into_iter()
        .map(|path| Change {
            secret: true,
            ..created(path, b"s", &mut blobs)
        })
        .collect();
    let p = Case::of(changes).run(&blobs);
    let names = p.param_names();
    assert_eq!(names.len(), 3);
    assert_ne!(names[0], names[1]);
    assert!(
        names[0].starts_with("etc_a_b_") && names[1].starts_with("etc_a_b_"),
        "{names:?}"
    );
    assert_eq!(
        names[2], "etc_c_content",
        "names without a clash stay plain"
    );
}

#[test]
fn duplicate_paths_are_reported() {
    let d = || {
        change(
            ChangeKind::DirCreated,
            None,
            Some(entry(b"/a", EntryKind::Dir, 0o755)),
        )
    };
    let p = Case::of(vec![d(), d()]).run(&HashMap::new());
    assert_eq!(p.catalog.resources.len(), 1);
    assert_eq!(
        p.left_out(),
        [left_out(Subject::Path(b"/a".to_vec()), Reason::ListedTwice)]
    );
}

#[test]
fn content_path_avoids_unsafe_uris() {
    let mut blobs = HashMap::new();
    let changes = vec![
        created(b"/etc/nginx/nginx.conf", b"a", &mut blobs),
        created(b"/etc/other/nginx.conf", b"b", &mut blobs),
        created(b"/etc/with space", b"c", &mut blobs),
    ];
    let p = Case::of(changes).run(&blobs);
    let keys: Vec<&str> = p.content.files.keys().map(String::as_str).collect();
    let hashed = format!("_cft/{}", ContentHash::of(b"/etc/with space").to_hex());
    assert_eq!(
        keys,
        [
            hashed.as_str(),
            "etc/nginx/nginx.conf",
            "etc/other/nginx.conf"
        ]
    );
    assert_eq!(p.content.files["etc/other/nginx.conf"], b"b");
}

#[test]
fn only_admin_changes_are_files() {
    let mut blobs = HashMap::new();
    let mut packaged = file_change("/usr/share/nginx/index.html", &mut blobs);
    packaged.origin = Origin::Package("nginx".into());
    let mut passwd = file_change("/etc/passwd", &mut blobs);
    passwd.origin = Origin::Accounts;
    let mut shadow = file_change("/etc/shadow", &mut blobs);
    shadow.origin = Origin::Accounts;
    shadow.secret = true;
    let mut wants = file_change(
        "/etc/systemd/system/multi-user.target.wants/app.service",
        &mut blobs,
    );
    wants.origin = Origin::Service;
    let admin = file_change("/etc/app.conf", &mut blobs);
    let plan = Case::of(vec![packaged, passwd, shadow, wants, admin]).run(&blobs);
    assert_eq!(plan.titles(Part::Files), ["file /etc/app.conf"]);
    assert!(
        plan.catalog.params.is_empty(),
        "a non-admin secret needs no parameter"
    );
    let elsewhere: Vec<(&Origin, &[u8])> = plan
        .outcomes
        .files
        .elsewhere
        .iter()
        .map(|(o, p)| (o, p.as_slice()))
        .collect();
    assert_eq!(
        elsewhere,
        [
            (&Origin::Accounts, &b"/etc/passwd"[..]),
            (&Origin::Accounts, b"/etc/shadow"),
            (
                &Origin::Service,
                b"/etc/systemd/system/multi-user.target.wants/app.service"
            ),
            (
                &Origin::Package("nginx".into()),
                b"/usr/share/nginx/index.html"
            ),
        ],
        "by path"
    );
    assert_eq!(
        plan.content.files.len(),
        1,
        "only the admin's content is shipped"
    );
}

#[test]
fn packaged_files_require_their_package_in_the_files_class_only() {
    let mut blobs = HashMap::new();
    let mut conf = file_change("/etc/nginx/nginx.conf", &mut blobs);
    conf.package = Some("nginx".into());
    let mut other = file_change("/etc/cron.d/x", &mut blobs);
    other.package = Some("cron".into());
    let mut source = file_change("/etc/apt/sources.list.d/nginx.list", &mut blobs);
    source.package = Some("nginx".into());
    let mut case = Case::new(SystemChanges {
        packages: vec![pkg("nginx", PackageChangeKind::Installed, None, Some("1"))],
        ..Default::default()
    });
    case.changes = vec![conf, other, source];
    let plan = case.run(&blobs);
    let has_require = |title: &str| {
        plan.attrs_of("file", title)
            .iter()
            .any(|a| a == "require=Package['nginx']")
    };
    assert!(has_require("/etc/nginx/nginx.conf"));
    assert!(!has_require("/etc/cron.d/x"), "cron is not in the module");
    assert!(
        !has_require("/etc/apt/sources.list.d/nginx.list"),
        "a source cannot wait for the packages class (dependency cycle)"
    );
}
