use super::*;
use crate::model::Entry;
use crate::probe::{Package, PackageFamily};

fn pkg(name: &str, version: &str, state: PackageState, auto: bool) -> Package {
    Package {
        name: name.into(),
        arch: "amd64".into(),
        version: version.into(),
        state,
        auto,
        depends: vec![],
        provides: vec![],
    }
}

fn snap(pkgs: Vec<Package>) -> PackageSnapshot {
    PackageSnapshot {
        family: Some(PackageFamily::Dpkg),
        packages: pkgs.into_iter().map(|p| (p.key(), p)).collect(),
        marks_known: true,
    }
}

#[test]
fn package_diff_kinds_and_explicitness() {
    use PackageState::*;
    let before = snap(vec![
        pkg("dpkg", "1.21", Installed, false),
        pkg("old", "1.0", Installed, false),
        pkg("purged", "1.0", Installed, false),
        pkg("up", "1:1.0-1", Installed, false),
        pkg("down", "2.0", Installed, false),
        pkg("autodep", "1.0", Installed, true),
    ]);
    let after = snap(vec![
        pkg("dpkg", "1.21", Installed, false),
        pkg("old", "1.0", ConfigFiles, false),
        pkg("up", "1:1.0-2", Installed, false),
        pkg("down", "1.9~rc1", Installed, false),
        pkg("nginx", "1.22", Installed, false),
        pkg("nginx-common", "1.22", Installed, true),
    ]);
    let got: Vec<(String, PackageChangeKind, bool)> = diff_packages(&before, &after)
        .into_iter()
        .map(|c| (c.name, c.kind, c.explicit))
        .collect();
    use PackageChangeKind as K;
    assert_eq!(
        got,
        vec![
            ("autodep".into(), K::Purged, false),
            ("down".into(), K::Downgraded, true),
            ("nginx".into(), K::Installed, true),
            ("nginx-common".into(), K::Installed, false),
            ("old".into(), K::Removed, true),
            ("purged".into(), K::Purged, true),
            ("up".into(), K::Upgraded, true),
        ]
    );
}

#[test]
fn without_marks_only_leaves_are_explicit() {
    let mut nginx = pkg("nginx", "1", PackageState::Installed, false);
    nginx.depends = vec!["nginx-common".into()];
    let mut after = snap(vec![
        nginx,
        pkg("nginx-common", "1", PackageState::Installed, false),
    ]);
    after.marks_known = false;
    let got: Vec<(String, bool)> = diff_packages(&snap(vec![]), &after)
        .into_iter()
        .map(|c| (c.name, c.explicit))
        .collect();
    assert_eq!(
        got,
        vec![("nginx".into(), true), ("nginx-common".into(), false)]
    );
}

fn link(path: &[u8], target: &[u8]) -> Change {
    Change {
        path: path.to_vec(),
        kind: ChangeKind::Created,
        before: None,
        after: Some(Entry {
            path: path.to_vec(),
            kind: EntryKind::Symlink,
            mode: 0o777,
            uid: 0,
            gid: 0,
            owner: None,
            group: None,
            size: 0,
            mtime_ns: 0,
            hash: None,
            content_stored: false,
            link_target: Some(target.to_vec()),
        }),
        secret: false,
        origin: Origin::Admin,
        package: None,
    }
}

#[test]
fn service_links_are_service_state() {
    let cases: &[(&str, Change, bool)] = &[
        (
            "wants link",
            link(
                b"/etc/systemd/system/multi-user.target.wants/nginx.service",
                b"/lib/systemd/system/nginx.service",
            ),
            true,
        ),
        (
            "mask",
            link(b"/etc/systemd/system/foo.service", b"/dev/null"),
            true,
        ),
        (
            "sysv link",
            link(b"/etc/rc2.d/S01nginx", b"../init.d/nginx"),
            true,
        ),
        (
            "alias is a file of the admin",
            link(
                b"/etc/systemd/system/web.service",
                b"/etc/systemd/system/app.service",
            ),
            false,
        ),
        (
            "ordinary link",
            link(b"/etc/nginx/sites-enabled/app", b"../sites-available/app"),
            false,
        ),
        ("rc.local-like name", link(b"/etc/rcx.d/S01x", b"y"), false),
    ];
    for (name, c, want) in cases {
        assert_eq!(is_service_link(c), *want, "{name}");
    }
}

#[test]
fn lock_windows_and_paths_that_inherit_from_parents() {
    use EventKind::*;
    let ev = |t: i64, k: EventKind, p: &str| (t, k, p.as_bytes().to_vec());
    let s = 1_000_000_000;
    let events = vec![
        ev(10 * s, LockOpened, "/var/lib/dpkg/lock-frontend"),
        ev(10 * s, LockOpened, "/var/lib/dpkg/lock"),
        ev(11 * s, Created, "/etc/nginx"),
        ev(12 * s, LockClosed, "/var/lib/dpkg/lock"),
        ev(12 * s, LockOpened, "/var/lib/dpkg/lock"),
        ev(13 * s, LockClosed, "/var/lib/dpkg/lock"),
        ev(14 * s, LockClosed, "/var/lib/dpkg/lock-frontend"),
        // the admin, a second after apt finished
        ev(15 * s, Modified, "/etc/nginx/nginx.conf"),
        ev(16 * s, LockOpened, "/var/lib/dpkg/lock"),
        ev(17 * s, Modified, "/etc/mixed"),
        ev(18 * s, LockClosed, "/var/lib/dpkg/lock"),
        ev(19 * s, Modified, "/etc/mixed"),
        ev(20 * s, LockOpened, "/var/lib/dpkg/lock"),
        ev(21 * s, Created, "/etc/still-running"),
    ];
    assert_eq!(
        activity_windows(&events, false),
        vec![(10 * s, 14 * s), (16 * s, 18 * s)],
        "events may be lost: an unclosed lock proves nothing"
    );
    let w = activity_windows(&events, true);
    assert_eq!(
        w,
        vec![(10 * s, 14 * s), (16 * s, 18 * s), (20 * s, i64::MAX)]
    );
    let seen = event_times(&events);
    assert!(all_in_windows(b"/etc/nginx", &w, &seen));
    assert!(
        all_in_windows(b"/etc/nginx/sites-enabled/default", &w, &seen),
        "inherits /etc/nginx"
    );
    assert!(
        !all_in_windows(b"/etc/nginx/nginx.conf", &w, &seen),
        "edited after apt finished"
    );
    assert!(
        !all_in_windows(b"/etc/mixed", &w, &seen),
        "one event outside is the admin's"
    );
    assert!(all_in_windows(b"/etc/still-running", &w, &seen));
    assert!(!all_in_windows(b"/srv/never", &w, &seen));
}

#[test]
fn words_in_maintainer_scripts() {
    let text = "adduser --system --group www-data\nuseradd postgres-x\n";
    assert!(contains_word(text, "www-data"));
    assert!(!contains_word(text, "www"));
    assert!(!contains_word(text, "postgres"));
    assert!(contains_word(text, "postgres-x"));
}
