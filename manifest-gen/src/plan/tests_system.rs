//! Planning of packages, package sources, accounts and services, and which
//! file changes stay out of the files class.

use super::*;
use recorder::model::{
    AccountChangeKind, Enable, GroupChange, PackageChange, PackageChangeKind, Running,
    ServiceChange, UserChange,
};
use recorder::model::{Change, ContentHash, Entry, EntryKind, Origin};
use recorder::model::{Enablement, Group, PackageFamily, Service, User};

const HASH: &str = "$6$salt$0123456789abcdef";

pub(super) struct Case {
    pub(super) system: SystemChanges,
    pub(super) changes: Vec<Change>,
    include_secrets: bool,
    pin_versions: bool,
    os: (&'static str, &'static str),
}

impl Case {
    pub(super) fn new(system: SystemChanges) -> Case {
        Case {
            system,
            changes: Vec::new(),
            include_secrets: false,
            pin_versions: false,
            os: ("debian", "12"),
        }
    }

    pub(super) fn run(&self, blobs: &HashMap<ContentHash, Vec<u8>>) -> Plan {
        let input = Input {
            module: "web",
            changes: &self.changes,
            system: &self.system,
            os_id: self.os.0,
            os_version_id: self.os.1,
            include_secrets: self.include_secrets,
            pin_versions: self.pin_versions,
            why: &Default::default(),
            execs: &[],
            site: &[],
        };
        plan(&input, blobs).expect("plan")
    }
}

pub(super) fn pkg(
    name: &str,
    kind: PackageChangeKind,
    before: Option<&str>,
    after: Option<&str>,
) -> PackageChange {
    PackageChange {
        hold: None,
        name: name.into(),
        arch: "amd64".into(),
        kind,
        before_version: before.map(String::from),
        after_version: after.map(String::from),
        explicit: true,
    }
}

fn user(name: &str, uid: u32, gid: u32, groups: &[&str]) -> User {
    User {
        name: name.into(),
        uid,
        gid,
        gecos: String::new(),
        home: format!("/home/{name}"),
        shell: "/bin/bash".into(),
        password: Some(HASH.into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

fn group(name: &str, gid: u32) -> Group {
    Group {
        name: name.into(),
        gid,
        members: Vec::new(),
        password: None,
    }
}

fn uc(kind: AccountChangeKind, before: Option<User>, after: Option<User>) -> UserChange {
    let name = after.as_ref().or(before.as_ref()).map(|u| u.name.clone());
    UserChange {
        name: name.unwrap_or_default(),
        kind,
        before,
        after,
        home_created: false,
        password_changed: false,
        by_package: None,
    }
}

fn gc(kind: AccountChangeKind, before: Option<Group>, after: Option<Group>) -> GroupChange {
    let name = after.as_ref().or(before.as_ref()).map(|g| g.name.clone());
    GroupChange {
        name: name.unwrap_or_default(),
        kind,
        before,
        after,
        by_package: None,
    }
}

fn svc(
    unit: &str,
    enable: Option<Enable>,
    ensure: Option<Running>,
    subscribe: &[&str],
) -> ServiceChange {
    let state = Service {
        unit: unit.into(),
        enablement: Enablement::Enabled,
        wanted_by: vec!["multi-user.target".into()],
        sysv_start_runlevels: Vec::new(),
        has_unit_file: true,
        has_init_script: false,
    };
    ServiceChange {
        unit: unit.into(),
        before: Some(state.clone()),
        after: Some(state),
        enable,
        ensure,
        package: None,
        subscribe: subscribe.iter().map(|p| p.as_bytes().to_vec()).collect(),
    }
}

/// An admin's new regular file with content, its blob in `blobs`.
pub(super) fn file_change(path: &str, blobs: &mut HashMap<ContentHash, Vec<u8>>) -> Change {
    let content = format!("content of {path}\n").into_bytes();
    let hash = ContentHash::of(&content);
    blobs.insert(hash, content.clone());
    Change {
        path: path.as_bytes().to_vec(),
        kind: ChangeKind::Created,
        before: None,
        after: Some(Entry {
            path: path.as_bytes().to_vec(),
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: Some("root".into()),
            group: Some("root".into()),
            size: content.len() as u64,
            mtime_ns: 0,
            hash: Some(hash),
            content_stored: true,
            link_target: None,
        }),
        secret: false,
        origin: Origin::Admin,
        package: None,
    }
}

fn titles(p: &Plan, part: Part) -> Vec<String> {
    p.resources
        .iter()
        .filter(|r| r.part == part)
        .map(|r| format!("{} {}", r.kind, r.title))
        .collect()
}

#[test]
fn package_ensure_cases() {
    use PackageChangeKind::*;
    let cases: Vec<(&str, PackageChange, bool, &str)> = vec![
        (
            "installed",
            pkg("nginx", Installed, None, Some("1.22-9")),
            false,
            "ensure=installed",
        ),
        (
            "installed, pinned",
            pkg("nginx", Installed, None, Some("1.22-9")),
            true,
            "ensure='1.22-9'",
        ),
        (
            "upgraded",
            pkg("curl", Upgraded, Some("7.1"), Some("7.2")),
            false,
            "ensure=installed",
        ),
        (
            "upgraded, pinned",
            pkg("curl", Upgraded, Some("7.1"), Some("7.2")),
            true,
            "ensure='7.2'",
        ),
        (
            "downgraded, pinned",
            pkg("curl", Downgraded, Some("7.2"), Some("7.1")),
            true,
            "ensure='7.1'",
        ),
        (
            "pinned without a version",
            pkg("x", Installed, None, None),
            true,
            "ensure=installed",
        ),
        (
            "removed",
            pkg("cowsay", Removed, Some("3.03"), None),
            false,
            "ensure=absent",
        ),
        (
            "removed, pinned",
            pkg("cowsay", Removed, Some("3.03"), None),
            true,
            "ensure=absent",
        ),
        (
            "purged",
            pkg("cowsay", Purged, Some("3.03"), None),
            false,
            "ensure=purged",
        ),
        (
            "multiarch title",
            pkg("libc6:i386", Installed, None, Some("2.36")),
            false,
            "ensure=installed",
        ),
    ];
    for (name, p, pin, want) in cases {
        let title = p.name.clone();
        let mut case = Case::new(SystemChanges {
            packages: vec![p],
            ..Default::default()
        });
        case.pin_versions = pin;
        let plan = case.run(&HashMap::new());
        assert_eq!(plan.attrs_of("package", &title), [want], "{name}");
        assert_eq!(titles(&plan, Part::Packages).len(), 1, "{name}");
    }
}

#[test]
fn dependencies_are_counted_not_emitted_and_unpinned_upgrades_noted() {
    let mut dep = pkg(
        "nginx-common",
        PackageChangeKind::Installed,
        None,
        Some("1"),
    );
    dep.explicit = false;
    let system = SystemChanges {
        packages: vec![
            dep,
            pkg("nginx", PackageChangeKind::Installed, None, Some("1")),
            pkg("curl", PackageChangeKind::Upgraded, Some("1"), Some("2")),
        ],
        ..Default::default()
    };
    let plan = Case::new(system).run(&HashMap::new());
    assert_eq!(
        titles(&plan, Part::Packages),
        ["package curl", "package nginx"]
    );
    assert_eq!(plan.dependencies, 1);
    assert_eq!(plan.unpinned_version_changes, 1);
}

#[test]
fn account_cases() {
    use AccountChangeKind::*;
    let created = |u: User| uc(Created, None, Some(u));
    let with_home = |mut c: UserChange| {
        c.home_created = true;
        c
    };
    let by_pkg = |mut c: UserChange| {
        c.by_package = Some("nginx".into());
        c
    };
    let mut alice_full = user("alice", 1001, 1001, &["web", "adm", "docker"]);
    alice_full.gecos = "Alice Admin".into();
    type AccountCase = (
        &'static str,
        Vec<GroupChange>,
        Vec<UserChange>,
        &'static str,
        &'static str,
        Vec<&'static str>,
    );
    let cases: Vec<AccountCase> = vec![
        (
            "primary group created in the same module",
            vec![gc(Created, None, Some(group("web", 1001)))],
            vec![with_home(created(user("alice", 1001, 1001, &[])))],
            "user",
            "alice",
            vec![
                "ensure=present",
                "uid=1001",
                "gid='web'",
                "home='/home/alice'",
                "shell='/bin/bash'",
                "managehome=true",
                "require=Group['web']",
            ],
        ),
        (
            "primary group not in the module: its number",
            vec![],
            vec![created(user("alice", 1001, 100, &[]))],
            "user",
            "alice",
            vec![
                "ensure=present",
                "uid=1001",
                "gid=100",
                "home='/home/alice'",
                "shell='/bin/bash'",
            ],
        ),
        (
            "supplementary groups sorted, required when in the module",
            vec![gc(Created, None, Some(group("docker", 999)))],
            vec![created(alice_full)],
            "user",
            "alice",
            vec![
                "ensure=present",
                "uid=1001",
                "gid=1001",
                "groups=[adm,docker,web]",
                "home='/home/alice'",
                "shell='/bin/bash'",
                "comment='Alice Admin'",
                "require=Group['docker']",
            ],
        ),
        (
            "changed user who left a group",
            vec![],
            vec![uc(
                Changed,
                Some(user("bob", 1002, 1002, &["adm", "web"])),
                Some(user("bob", 1002, 1002, &["web"])),
            )],
            "user",
            "bob",
            vec![
                "ensure=present",
                "uid=1002",
                "gid=1002",
                "groups=[web]",
                "membership=inclusive",
                "home='/home/bob'",
                "shell='/bin/bash'",
            ],
        ),
        (
            "changed user who left every group",
            vec![],
            vec![uc(
                Changed,
                Some(user("bob", 1002, 1002, &["adm"])),
                Some(user("bob", 1002, 1002, &[])),
            )],
            "user",
            "bob",
            vec![
                "ensure=present",
                "uid=1002",
                "gid=1002",
                "groups=[]",
                "membership=inclusive",
                "home='/home/bob'",
                "shell='/bin/bash'",
            ],
        ),
        (
            "removed user",
            vec![],
            vec![uc(Removed, Some(user("carol", 1003, 1003, &["adm"])), None)],
            "user",
            "carol",
            vec!["ensure=absent"],
        ),
        (
            "created group",
            vec![gc(Created, None, Some(group("web", 1001)))],
            vec![],
            "group",
            "web",
            vec!["ensure=present", "gid=1001"],
        ),
        (
            "removed group after the users leaving it",
            vec![gc(Removed, Some(group("old", 1005)), None)],
            vec![
                uc(Removed, Some(user("dave", 1005, 1005, &[])), None),
                uc(
                    Changed,
                    Some(user("erin", 1006, 1005, &[])),
                    Some(user("erin", 1006, 100, &[])),
                ),
                uc(Removed, Some(user("frank", 1007, 1007, &["old"])), None),
            ],
            "group",
            "old",
            vec!["ensure=absent", "require=User['dave'],User['erin']"],
        ),
        (
            "a package's user is skipped",
            vec![],
            vec![
                by_pkg(created(user("www-data", 33, 33, &[]))),
                created(user("z", 1, 1, &[])),
            ],
            "user",
            "z",
            vec![
                "ensure=present",
                "uid=1",
                "gid=1",
                "home='/home/z'",
                "shell='/bin/bash'",
            ],
        ),
    ];
    for (name, groups, users, kind, title, want) in cases {
        let plan = Case::new(SystemChanges {
            groups,
            users,
            ..Default::default()
        })
        .run(&HashMap::new());
        assert_eq!(plan.attrs_of(kind, title), want, "{name}");
        assert!(plan.skipped.is_empty(), "{name}: {:?}", plan.skipped);
    }
}

#[test]
fn accounts_of_packages_are_listed_not_emitted() {
    let mut u = uc(
        AccountChangeKind::Created,
        None,
        Some(user("www-data", 33, 33, &[])),
    );
    u.by_package = Some("nginx".into());
    let mut g = gc(
        AccountChangeKind::Created,
        None,
        Some(group("www-data", 33)),
    );
    g.by_package = Some("nginx".into());
    let plan = Case::new(SystemChanges {
        users: vec![u],
        groups: vec![g],
        ..Default::default()
    })
    .run(&HashMap::new());
    assert!(plan.resources.is_empty(), "{:?}", plan.resources);
    assert_eq!(
        plan.by_package,
        [
            ("group", "www-data".to_string(), "nginx".to_string()),
            ("user", "www-data".to_string(), "nginx".to_string())
        ]
    );
}

#[test]
fn password_is_a_parameter_unless_secrets_are_included() {
    let mut alice = uc(
        AccountChangeKind::Created,
        None,
        Some(user("alice", 1001, 1001, &[])),
    );
    alice.password_changed = true;
    let mut nohash = uc(
        AccountChangeKind::Created,
        None,
        Some(user("a-b", 1002, 1002, &[])),
    );
    nohash.password_changed = true;
    if let Some(u) = nohash.after.as_mut() {
        u.password = None;
    }
    let mut clash = uc(
        AccountChangeKind::Created,
        None,
        Some(user("a_b", 1003, 1003, &[])),
    );
    clash.password_changed = true;
    let untouched = uc(
        AccountChangeKind::Created,
        None,
        Some(user("bob", 1004, 1004, &[])),
    );
    let mut case = Case::new(SystemChanges {
        users: vec![alice, nohash, clash, untouched],
        ..Default::default()
    });

    let plan = case.run(&HashMap::new());
    let alice_attrs = plan.attrs_of("user", "alice");
    assert_eq!(
        alice_attrs.last().map(String::as_str),
        Some("password=$alice_password")
    );
    assert!(!plan
        .attrs_of("user", "bob")
        .iter()
        .any(|a| a.starts_with("password")));
    let names: Vec<&str> = plan.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 3);
    assert!(
        names[0].starts_with("a_b_") && names[1].starts_with("a_b_"),
        "{names:?}"
    );
    assert_ne!(names[0], names[1]);
    assert_eq!(names[2], "alice_password");
    assert_eq!(plan.params[2].subject(), "user alice");
    assert!(plan.secret_parts.is_empty());
    assert!(!format!("{plan:?}").contains(HASH), "no hash in the plan");

    case.include_secrets = true;
    let plan = case.run(&HashMap::new());
    assert!(plan
        .attrs_of("user", "alice")
        .contains(&format!("password=Sensitive('{HASH}')")));
    let names: Vec<&str> = plan.params.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["a_b_password"],
        "a hash that was not recorded stays a parameter"
    );
    assert!(plan.secret_parts.contains(&Part::Accounts));
}

#[test]
fn service_cases() {
    let mut blobs = HashMap::new();
    let conf = file_change("/etc/nginx/nginx.conf", &mut blobs);
    let cases: Vec<(&str, ServiceChange, Vec<&str>)> = vec![
        (
            "enabled and running",
            svc(
                "nginx.service",
                Some(Enable::True),
                Some(Running::Running),
                &[],
            ),
            vec!["ensure=running", "enable=true"],
        ),
        (
            "disabled, state unknown",
            svc("e2scrub_reap.service", Some(Enable::False), None, &[]),
            vec!["enable=false"],
        ),
        (
            "masked and stopped",
            svc("x.service", Some(Enable::Mask), Some(Running::Stopped), &[]),
            vec!["ensure=stopped", "enable='mask'"],
        ),
        (
            "only restarts: subscribes to files of the module only",
            svc(
                "nginx.service",
                None,
                None,
                &["/etc/nginx/nginx.conf", "/etc/nginx/mime.types"],
            ),
            vec!["subscribe=File['/etc/nginx/nginx.conf']"],
        ),
    ];
    for (name, s, want) in cases {
        let unit = s.unit.clone();
        let mut case = Case::new(SystemChanges {
            services: vec![s],
            ..Default::default()
        });
        case.changes = vec![conf.clone()];
        let plan = case.run(&blobs);
        assert_eq!(plan.attrs_of("service", &unit), want, "{name}");
    }
}

#[test]
fn service_with_nothing_to_manage_is_reported() {
    let case = Case::new(SystemChanges {
        services: vec![svc("a.service", None, None, &["/etc/not-in-module"])],
        ..Default::default()
    });
    let plan = case.run(&HashMap::new());
    assert!(plan.resources.is_empty());
    assert_eq!(plan.skipped[0].path, "service a.service");
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
    let mut case = Case::new(SystemChanges::default());
    case.changes = vec![packaged, passwd, shadow, wants, admin];
    let plan = case.run(&blobs);
    assert_eq!(titles(&plan, Part::Files), ["file /etc/app.conf"]);
    assert!(
        plan.params.is_empty(),
        "a non-admin secret needs no parameter"
    );
    let elsewhere: Vec<(&str, usize)> = plan
        .elsewhere
        .iter()
        .map(|(k, v)| (k.as_str(), v.len()))
        .collect();
    assert_eq!(
        elsewhere,
        [
            ("accounts (user and group resources)", 2),
            ("package nginx", 1),
            ("service state (service resources)", 1)
        ]
    );
    assert_eq!(plan.files.len(), 1, "only the admin's content is shipped");
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

#[test]
fn sources_refresh_the_package_index() {
    let mut blobs = HashMap::new();
    let list = file_change("/etc/apt/sources.list.d/nginx.list", &mut blobs);
    let key = file_change("/etc/apt/keyrings/nginx.gpg", &mut blobs);
    let repo = file_change("/etc/yum.repos.d/epel.repo", &mut blobs);
    let conf = file_change("/etc/nginx/nginx.conf", &mut blobs);
    type SourceCase = (
        &'static str,
        Vec<Change>,
        Option<PackageFamily>,
        (&'static str, &'static str),
        Option<&'static str>,
    );
    let cases: Vec<SourceCase> = vec![
        (
            "dpkg",
            vec![list.clone(), key.clone(), conf.clone()],
            Some(PackageFamily::Dpkg),
            ("debian", "12"),
            Some("/usr/bin/apt-get update"),
        ),
        (
            "rpm",
            vec![repo.clone()],
            Some(PackageFamily::Rpm),
            ("fedora", "40"),
            Some("/usr/bin/dnf makecache"),
        ),
        (
            "el7",
            vec![repo.clone()],
            Some(PackageFamily::Rpm),
            ("centos", "7"),
            Some("/usr/bin/yum makecache"),
        ),
        (
            "no database, apt paths",
            vec![list.clone()],
            None,
            ("", ""),
            Some("/usr/bin/apt-get update"),
        ),
        (
            "no database, yum paths",
            vec![repo.clone()],
            None,
            ("", ""),
            Some("/usr/bin/dnf makecache"),
        ),
        (
            "no source changed",
            vec![conf.clone()],
            Some(PackageFamily::Dpkg),
            ("debian", "12"),
            None,
        ),
    ];
    for (name, changes, family, os, command) in cases {
        let mut case = Case::new(SystemChanges {
            family,
            ..Default::default()
        });
        case.changes = changes;
        case.os = os;
        let plan = case.run(&blobs);
        let Some(command) = command else {
            assert!(!plan.has_part(Part::Sources), "{name}");
            assert_eq!(plan.refresh, None, "{name}");
            continue;
        };
        let sources: Vec<String> = plan
            .resources
            .iter()
            .filter(|r| r.part == Part::Sources && r.kind == "file")
            .map(|r| format!("File['{}']", r.title))
            .collect();
        let title = plan.refresh.clone().expect("an exec");
        assert!(title.starts_with("web "), "{name}: {title}");
        assert_eq!(
            plan.attrs_of("exec", &title),
            [
                format!("command='{command}'"),
                "refreshonly=true".to_string(),
                format!("subscribe={}", sources.join(",")),
            ],
            "{name}"
        );
        assert!(
            !titles(&plan, Part::Files)
                .iter()
                .any(|t| t.contains("/etc/apt/")),
            "{name}"
        );
    }
}
