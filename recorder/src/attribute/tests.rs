use super::*;
use crate::model::Entry;
use crate::model::{
    Enablement, PackageChangeKind, PackageSnapshot, PackageState, Service, Services,
};
use crate::model::{Package, PackageFamily};
use accounts::contains_word;

fn pkg(name: &str, version: &str, state: PackageState, auto: bool) -> Package {
    Package {
        name: name.into(),
        arch: "amd64".into(),
        version: version.into(),
        state,
        auto,
        held: false,
        priority: None,
        depends: vec![],
        provides: vec![],
    }
}

fn snap(pkgs: Vec<Package>) -> PackageSnapshot {
    PackageSnapshot {
        family: Some(PackageFamily::Dpkg),
        packages: pkgs.into_iter().map(|p| (p.key(), p)).collect(),
        marks_known: true,
        ..PackageSnapshot::default()
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
        pkg("jq", "1.6", Installed, false),
        pkg("released", "1.0", Installed, false),
    ]);
    let mut jq = pkg("jq", "1.6", Installed, false);
    jq.held = true;
    let mut held_new = pkg("held-new", "1.0", Installed, true);
    held_new.held = true;
    let mut released = before.packages["released:amd64"].clone();
    released.held = false;
    let mut before = before;
    before.packages.get_mut("released:amd64").unwrap().held = true;
    let after = snap(vec![
        pkg("dpkg", "1.21", Installed, false),
        pkg("old", "1.0", ConfigFiles, false),
        pkg("up", "1:1.0-2", Installed, false),
        pkg("down", "1.9~rc1", Installed, false),
        pkg("nginx", "1.22", Installed, false),
        pkg("nginx-common", "1.22", Installed, true),
        jq,
        held_new,
        released,
    ]);
    let got: Vec<(String, PackageChangeKind, bool, Option<bool>)> = diff_packages(&before, &after)
        .into_iter()
        .map(|c| (c.name, c.kind, c.explicit, c.hold))
        .collect();
    use PackageChangeKind as K;
    assert_eq!(
        got,
        vec![
            ("autodep".into(), K::Purged, false, None),
            ("down".into(), K::Downgraded, true, None),
            ("held-new".into(), K::Installed, true, Some(true)),
            ("jq".into(), K::Marked, true, Some(true)),
            ("nginx".into(), K::Installed, true, None),
            ("nginx-common".into(), K::Installed, false, None),
            ("old".into(), K::Removed, true, None),
            ("purged".into(), K::Purged, true, None),
            ("released".into(), K::Marked, true, Some(false)),
            // Issue 9: apt upgrading perl-base or libssl3 for an install is
            // not the admin asking for them, manual mark or not.
            ("up".into(), K::Upgraded, false, None),
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

/// Issue 9: nginx's postinst makes `sites-enabled/default` (no package
/// ships it) and the admin removes it; a fresh machine's postinst makes it
/// again, so the module must remove it. A file the admin made and removed,
/// or one the package manager made and removed, is no change.
#[test]
fn removed_after_the_package_made_it() {
    use EventKind::*;
    let tmp = tempfile::tempdir().unwrap();
    let target = Target::new(tmp.path().as_os_str().as_encoded_bytes());
    let s = 1_000_000_000;
    let ev = |t: i64, k: EventKind, p: &str| (t, k, p.as_bytes().to_vec());
    let events = vec![
        ev(10 * s, LockOpened, "/var/lib/dpkg/lock"),
        ev(11 * s, Created, "/etc/nginx/sites-enabled/default"),
        ev(11 * s, Created, "/etc/nginx/koi-utf"),
        ev(11 * s, Created, "/etc/nginx/tmp.conf"),
        ev(11 * s, Removed, "/etc/nginx/tmp.conf"),
        ev(11 * s, Created, "/etc/nginx/modules-enabled"),
        ev(11 * s, Created, "/etc/nginx/modules-enabled/50-x.conf"),
        ev(12 * s, LockClosed, "/var/lib/dpkg/lock"),
        ev(13 * s, Removed, "/etc/nginx/sites-enabled/default"),
        ev(13 * s, Removed, "/etc/nginx/koi-utf"),
        ev(13 * s, Removed, "/etc/nginx/modules-enabled/50-x.conf"),
        ev(13 * s, Removed, "/etc/nginx/modules-enabled"),
        ev(14 * s, Created, "/etc/scratch"),
        ev(15 * s, Removed, "/etc/scratch"),
    ];
    let windows = activity_windows(&events, true);
    let seen = event_times(&events);
    let owner_of = |p: &[u8]| -> Option<String> {
        match p {
            b"/etc/nginx/koi-utf" | b"/etc/nginx/sites-enabled" | b"/etc/nginx" => {
                Some("nginx-common".into())
            }
            b"/etc" => Some("base-files".into()),
            _ => None,
        }
    };
    let none = |_: &[u8]| None;
    let watched = vec![b"/etc".to_vec()];
    let inp = Inputs {
        target: &target,
        watched: &watched,
        events: &events,
        owner_of: &owner_of,
        stock_md5: &none,
        final_md5: &|_| None,
        intents: &[],
        events_lost: false,
    };
    let touched: BTreeSet<&str> = ["nginx", "nginx-common"].into();
    let got: Vec<(String, ChangeKind, Option<String>)> =
        removed_package_files(&[], &touched, &windows, &seen, &inp)
            .into_iter()
            .map(|c| (String::from_utf8(c.path).unwrap(), c.kind, c.package))
            .collect();
    let nc = Some("nginx-common".to_string());
    assert_eq!(
        got,
        vec![
            ("/etc/nginx/koi-utf".into(), ChangeKind::Removed, nc.clone()),
            (
                "/etc/nginx/modules-enabled".into(),
                ChangeKind::DirRemoved,
                nc.clone()
            ),
            (
                "/etc/nginx/modules-enabled/50-x.conf".into(),
                ChangeKind::Removed,
                nc.clone()
            ),
            (
                "/etc/nginx/sites-enabled/default".into(),
                ChangeKind::Removed,
                nc
            ),
        ]
    );
    let nothing_new: BTreeSet<&str> = BTreeSet::new();
    assert!(
        removed_package_files(&[], &nothing_new, &windows, &seen, &inp).is_empty(),
        "no package was installed: nothing to make them again"
    );
}

fn file_change(path: &[u8], package: Option<&str>) -> Change {
    let mut c = link(path, b"");
    let a = c.after.as_mut().unwrap();
    a.kind = EntryKind::File;
    a.link_target = None;
    c.kind = ChangeKind::Modified;
    c.package = package.map(str::to_string);
    c
}

/// Issue 9: editing `nginx.conf` of a service its package enabled gave no
/// `service` to restart. It now subscribes to its package's edited files,
/// new files in its package's directories and its drop-ins; `ensure` stays
/// unset where nothing tells it.
#[test]
fn a_package_enabled_service_restarts_for_the_admins_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let target = Target::new(tmp.path().as_os_str().as_encoded_bytes());
    let svc = |unit: &str, enablement: Enablement| Service {
        unit: unit.into(),
        enablement,
        wanted_by: vec!["multi-user.target".into()],
        sysv_start_runlevels: vec![],
        has_unit_file: true,
        has_init_script: false,
    };
    let mut after = Services::default();
    after.units.insert(
        "nginx.service".into(),
        svc("nginx.service", Enablement::Enabled),
    );
    after.units.insert(
        "idle.service".into(),
        svc("idle.service", Enablement::Disabled),
    );
    let owner_of = |p: &[u8]| -> Option<String> {
        match p {
            b"/lib/systemd/system/nginx.service"
            | b"/etc/nginx/nginx.conf"
            | b"/etc/nginx/sites-available"
            | b"/etc/nginx" => Some("nginx-common".into()),
            b"/lib/systemd/system/idle.service" | b"/etc/idle/idle.conf" => Some("idle".into()),
            _ => None,
        }
    };
    let none = |_: &[u8]| None;
    let inp = Inputs {
        target: &target,
        watched: &[],
        events: &[],
        owner_of: &owner_of,
        stock_md5: &none,
        final_md5: &|_| None,
        intents: &[],
        events_lost: false,
    };
    let changes = vec![
        file_change(b"/etc/idle/idle.conf", Some("idle")),
        file_change(b"/etc/nginx/nginx.conf", Some("nginx-common")),
        file_change(b"/etc/nginx/sites-available/app", None),
        file_change(b"/etc/systemd/system/nginx.service.d/limits.conf", None),
        file_change(b"/srv/unrelated", None),
    ];
    let touched: BTreeSet<&str> = BTreeSet::new();
    let got = diff_services(&after, &after, &touched, &changes, &inp);
    assert_eq!(
        got.len(),
        1,
        "a disabled unit restarts for nothing: {got:#?}"
    );
    let nginx = &got[0];
    assert_eq!(nginx.unit, "nginx.service");
    assert_eq!((nginx.enable, nginx.ensure), (None, None));
    let subs: Vec<&[u8]> = nginx.subscribe.iter().map(Vec::as_slice).collect();
    assert_eq!(
        subs,
        [
            &b"/etc/nginx/nginx.conf"[..],
            b"/etc/nginx/sites-available/app",
            b"/etc/systemd/system/nginx.service.d/limits.conf"
        ]
    );
}

fn alt(manual: bool, value: &str) -> crate::model::Alternative {
    crate::model::Alternative {
        manual,
        link: "/usr/bin/editor".into(),
        slaves: vec!["editor.1.gz".into()],
        value: Some(value.into()),
        choices: vec!["/bin/nano".into(), "/usr/bin/vim.tiny".into()],
    }
}

/// Issue 9: `update-alternatives --set` and `dpkg-divert` are dpkg's state:
/// the admin's choices become changes of their own, and the links and
/// moved files are theirs, not the admin's files.
#[test]
fn alternatives_and_diversions_the_admin_made() {
    let mut before = snap(vec![]);
    let mut after = snap(vec![]);
    before
        .alternatives
        .insert("pager".into(), alt(false, "/bin/more"));
    after
        .alternatives
        .insert("pager".into(), alt(false, "/usr/bin/less"));
    after
        .alternatives
        .insert("editor".into(), alt(true, "/usr/bin/vim.tiny"));
    before
        .alternatives
        .insert("awk".into(), alt(true, "/usr/bin/gawk"));
    after
        .alternatives
        .insert("awk".into(), alt(false, "/usr/bin/mawk"));
    before.alternatives.insert("same".into(), alt(true, "/x"));
    after.alternatives.insert("same".into(), alt(true, "/x"));
    let got: Vec<(String, Option<String>)> = diff_alternatives(&before, &after)
        .into_iter()
        .map(|a| (a.name, a.manual))
        .collect();
    assert_eq!(
        got,
        vec![
            ("awk".into(), None),
            ("editor".into(), Some("/usr/bin/vim.tiny".into())),
        ],
        "a priority's new choice (pager) is the package manager's"
    );

    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("etc")).unwrap();
    std::fs::write(tmp.path().join("etc/issue.distrib"), "stock").unwrap();
    let target = Target::new(tmp.path().as_os_str().as_encoded_bytes());
    let div = |from: &str, to: &str, package: Option<&str>| crate::model::Diversion {
        from: from.into(),
        to: to.into(),
        package: package.map(str::to_string),
    };
    before.diversions = vec![div("/etc/gone", "/etc/gone.real", None)];
    after.diversions = vec![
        div("/bin/sh", "/bin/sh.distrib", Some("dash")),
        div("/etc/issue", "/etc/issue.distrib", None),
    ];
    let d = diff_diversions(&before, &after, &target);
    let got: Vec<(&[u8], bool, bool)> = d
        .iter()
        .map(|d| (&d.from[..], d.added, d.renamed))
        .collect();
    assert_eq!(
        got,
        vec![
            (&b"/etc/gone"[..], false, true),
            (b"/etc/issue", true, true)
        ],
        "a package's diversion is the package's"
    );

    let alts = diff_alternatives(&before, &after);
    let mut changes = vec![
        link(b"/etc/alternatives/editor", b"/usr/bin/vim.tiny"),
        link(
            b"/etc/alternatives/editor.1.gz",
            b"/usr/share/man/man1/vim.1.gz",
        ),
        link(b"/etc/alternatives/pager", b"/usr/bin/less"),
        file_change(b"/etc/issue", None),
        file_change(b"/etc/issue.distrib", None),
    ];
    dpkg_state_files(&mut changes, &alts, &d);
    let origins: Vec<(String, bool)> = changes
        .iter()
        .map(|c| {
            (
                String::from_utf8(c.path.clone()).unwrap(),
                c.origin.is_admin(),
            )
        })
        .collect();
    assert_eq!(
        origins,
        vec![
            ("/etc/alternatives/editor".into(), false),
            ("/etc/alternatives/editor.1.gz".into(), false),
            ("/etc/alternatives/pager".into(), true),
            ("/etc/issue".into(), true),
            ("/etc/issue.distrib".into(), false),
        ],
        "the admin's new /etc/issue stays the admin's"
    );
}
