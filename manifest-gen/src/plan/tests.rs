//! File planning: one change of each kind, what is skipped and why,
//! secrets, ordering and naming.

use super::*;
use recorder::model::{Change, ContentHash, Entry, EntryKind};

pub(super) fn entry(path: &[u8], kind: EntryKind, mode: u32) -> Entry {
    Entry {
        path: path.to_vec(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        owner: Some("root".into()),
        group: Some("root".into()),
        size: 0,
        mtime_ns: 0,
        hash: None,
        content_stored: false,
        link_target: None,
    }
}

pub(super) fn file(
    path: &[u8],
    content: &[u8],
    blobs: &mut HashMap<ContentHash, Vec<u8>>,
) -> Entry {
    let hash = ContentHash::of(content);
    blobs.insert(hash, content.to_vec());
    Entry {
        size: content.len() as u64,
        hash: Some(hash),
        content_stored: true,
        ..entry(path, EntryKind::File, 0o644)
    }
}

fn link(path: &[u8], target: &[u8]) -> Entry {
    Entry {
        link_target: Some(target.to_vec()),
        ..entry(path, EntryKind::Symlink, 0o777)
    }
}

pub(super) fn change(kind: ChangeKind, before: Option<Entry>, after: Option<Entry>) -> Change {
    let path = after
        .as_ref()
        .or(before.as_ref())
        .map(|e| e.path.clone())
        .unwrap_or_default();
    Change {
        path,
        kind,
        before,
        after,
        secret: false,
        origin: Default::default(),
        package: None,
    }
}

/// `key=value` for every attribute of the file resource titled `title`.
fn attrs(plan: &Plan, title: &str) -> Vec<String> {
    plan.attrs_of("file", title)
}

fn run(changes: &[Change], blobs: &HashMap<ContentHash, Vec<u8>>, include_secrets: bool) -> Plan {
    let system = SystemChanges::default();
    let input = Input {
        module: "m",
        changes,
        system: &system,
        os_id: "debian",
        os_version_id: "12",
        include_secrets,
        pin_versions: false,
        why: &Default::default(),
        execs: &[],
        site: &[],
    };
    plan(&input, blobs).expect("plan")
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
    let cases: Vec<(&str, Change, &str, Vec<&str>)> = vec![
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
        ),
        (
            "mode only",
            change(ChangeKind::Metadata, Some(old), Some(e600)),
            "/etc/mod",
            vec!["ensure=file", "owner='root'", "group='root'", "mode=0600"],
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
        ),
        (
            "symlink",
            change(ChangeKind::Created, None, Some(link(b"/etc/l", b"../t"))),
            "/etc/l",
            vec!["ensure=link", "target='../t'"],
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
        ),
    ];
    for (name, c, title, want) in cases {
        let p = run(&[c], &blobs, false);
        assert_eq!(attrs(&p, title), want, "{name}");
        assert!(p.skipped.is_empty(), "{name}: {:?}", p.skipped);
    }
}

#[test]
fn what_cannot_be_expressed_is_skipped_with_a_reason() {
    let blobs = HashMap::new();
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "non-UTF-8 path",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/etc/\xff", EntryKind::Dir, 0o755)),
            ),
            "not valid UTF-8",
        ),
        (
            "fifo created",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/run/p", EntryKind::Fifo, 0o644)),
            ),
            "cannot create fifos",
        ),
        (
            "device mode change",
            change(
                ChangeKind::Metadata,
                Some(entry(b"/dev/x", EntryKind::CharDevice, 0o600)),
                Some(entry(b"/dev/x", EntryKind::CharDevice, 0o666)),
            ),
            "does not manage special files",
        ),
        (
            "non-UTF-8 link target",
            change(ChangeKind::Created, None, Some(link(b"/etc/l", b"\xfe"))),
            "target",
        ),
        (
            "NUL in path",
            change(
                ChangeKind::Created,
                None,
                Some(entry(b"/etc/a\0b", EntryKind::Dir, 0o755)),
            ),
            "NUL",
        ),
    ];
    for (name, c, why) in cases {
        let p = run(&[c], &blobs, false);
        assert!(p.resources.is_empty(), "{name}");
        assert_eq!(p.skipped.len(), 1, "{name}");
        assert!(
            p.skipped[0].reason.contains(why),
            "{name}: {}",
            p.skipped[0].reason
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
        ("over the cap", big, "only its hash"),
        ("unreadable", unread, "could not be read"),
        ("missing from store", lost, "missing from the store"),
    ] {
        let title = String::from_utf8(e.path.clone()).expect("utf8");
        let p = run(&[change(ChangeKind::Created, None, Some(e))], &blobs, false);
        assert_eq!(
            attrs(&p, &title),
            ["ensure=file", "owner='root'", "group='root'", "mode=0644"],
            "{name}: no source, no content"
        );
        assert!(p.files.is_empty(), "{name}");
        assert_eq!(p.incomplete.len(), 1, "{name}");
        assert!(
            p.incomplete[0].reason.contains(why),
            "{name}: {}",
            p.incomplete[0].reason
        );
    }
}

#[test]
fn corrupt_blob_is_not_shipped() {
    let mut blobs = HashMap::new();
    let e = file(b"/etc/x", b"right", &mut blobs);
    blobs.insert(e.hash.expect("hash"), b"wrong".to_vec());
    let p = run(&[change(ChangeKind::Created, None, Some(e))], &blobs, false);
    assert!(p.files.is_empty());
    assert!(
        p.incomplete[0].reason.contains("does not match"),
        "{:?}",
        p.incomplete
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
    let p = run(&changes, &HashMap::new(), false);
    let titles: Vec<&str> = p.resources.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["/opt/a", "/opt/a-sibling", "/srv/x"]);
    assert_eq!(attrs(&p, "/opt/a"), ["ensure=absent", "force=true"]);
    let covered: Vec<(&str, Option<&str>)> = p
        .rows
        .iter()
        .filter(|r| r.puppet == "removed with")
        .map(|r| (r.path.as_str(), r.detail.as_deref()))
        .collect();
    assert_eq!(
        covered,
        [
            ("/opt/a/b", Some("/opt/a")),
            ("/opt/a/b/c", Some("/opt/a")),
            ("/srv/x/inner", Some("/srv/x"))
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
    let p = run(&changes, &HashMap::new(), false);
    let titles: Vec<&str> = p.resources.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["/a", "/a-z", "/a/b", "/a/b/c"]);
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
    let changes: Vec<Change> = [text, binary, missing]
        .into_iter()
        .map(|e| Change {
            secret: true,
            ..change(ChangeKind::Created, None, Some(e))
        })
        .collect();

    let p = run(&changes, &blobs, false);
    assert!(p.files.is_empty(), "no secret content in the module");
    let names: Vec<(&str, &str)> = p
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.puppet_type))
        .collect();
    assert_eq!(
        names,
        [
            ("etc_krb5_keytab_content", "Sensitive[Binary]"),
            ("etc_shadow_content", "Sensitive[String]"),
            ("etc_ssh_ssh_host_ed25519_key_content", "Sensitive[String]"),
        ]
    );
    assert!(attrs(&p, "/etc/shadow").contains(&"content=$etc_shadow_content".to_string()));

    let p = run(&changes, &blobs, true);
    assert_eq!(p.files.len(), 2, "captured secrets are shipped");
    assert!(attrs(&p, "/etc/krb5.keytab").contains(&"show_diff=false".to_string()));
    let names: Vec<&str> = p.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
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
    let p = run(&[c], &blobs, false);
    assert!(p.params.is_empty());
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
            ..change(
                ChangeKind::Created,
                None,
                Some(file(path, b"s", &mut blobs)),
            )
        })
        .collect();
    let p = run(&changes, &blobs, false);
    let names: Vec<&str> = p.params.iter().map(|p| p.name.as_str()).collect();
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
    let p = run(&[d(), d()], &HashMap::new(), false);
    assert_eq!(p.resources.len(), 1);
    assert!(p.skipped[0].reason.contains("twice"));
}

#[test]
fn content_path_avoids_unsafe_uris() {
    let mut blobs = HashMap::new();
    let changes = vec![
        change(
            ChangeKind::Created,
            None,
            Some(file(b"/etc/nginx/nginx.conf", b"a", &mut blobs)),
        ),
        change(
            ChangeKind::Created,
            None,
            Some(file(b"/etc/other/nginx.conf", b"b", &mut blobs)),
        ),
        change(
            ChangeKind::Created,
            None,
            Some(file(b"/etc/with space", b"c", &mut blobs)),
        ),
    ];
    let p = run(&changes, &blobs, false);
    let keys: Vec<&str> = p.files.keys().map(String::as_str).collect();
    let hashed = format!("_cft/{}", ContentHash::of(b"/etc/with space").to_hex());
    assert_eq!(
        keys,
        [
            hashed.as_str(),
            "etc/nginx/nginx.conf",
            "etc/other/nginx.conf"
        ]
    );
    assert_eq!(p.files["etc/other/nginx.conf"], b"b");
}
