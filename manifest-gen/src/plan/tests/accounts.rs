//! Groups and users: the state each resource says, primary and
//! supplementary groups, removal order, accounts packages made, and
//! password hashes as parameters unless secrets are included.

use super::*;
use crate::plan::catalog::{ParamId, Supplies};
use crate::plan::outcome::{
    AccountDecision, AccountKind, PackagedAccount, Password, PrimaryGroup, UserState,
};
use recorder::model::{AccountChangeKind, Group, GroupChange, User, UserChange};

const HASH: &str = "$6$salt$0123456789abcdef";

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
        assert!(plan.left_out().is_empty(), "{name}: {:?}", plan.left_out());
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
    assert!(
        plan.catalog.resources.is_empty(),
        "{:?}",
        plan.catalog.resources
    );
    let packaged = |kind| PackagedAccount {
        kind,
        name: "www-data".into(),
        package: "nginx".into(),
    };
    assert_eq!(
        plan.outcomes.accounts.by_package,
        [packaged(AccountKind::Group), packaged(AccountKind::User)]
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
    let names = plan.param_names();
    assert_eq!(names.len(), 3);
    assert!(
        names[0].starts_with("a_b_") && names[1].starts_with("a_b_"),
        "{names:?}"
    );
    assert_ne!(names[0], names[1]);
    assert_eq!(names[2], "alice_password");
    assert_eq!(
        plan.catalog.params[2].supplies,
        Supplies::Password {
            user: "alice".into(),
            recorded: true
        }
    );
    assert!(plan.catalog.secret_parts().is_empty());
    assert!(!format!("{plan:?}").contains(HASH), "no hash in the plan");

    case.include_secrets = true;
    let plan = case.run(&HashMap::new());
    assert!(plan
        .attrs_of("user", "alice")
        .contains(&format!("password=Sensitive('{HASH}')")));
    let names = plan.param_names();
    assert_eq!(
        names,
        ["a_b_password"],
        "a hash that was not recorded stays a parameter"
    );
    assert!(plan.catalog.secret_parts().contains(&Part::Accounts));
}

/// What the README is told about a user: the decisions behind the cells.
#[test]
fn user_decisions() {
    let mut alice = uc(
        AccountChangeKind::Created,
        None,
        Some(user("alice", 1001, 1001, &["web", "adm"])),
    );
    alice.home_created = true;
    alice.password_changed = true;
    let bob = uc(
        AccountChangeKind::Changed,
        Some(user("bob", 1002, 100, &["adm"])),
        Some(user("bob", 1002, 100, &[])),
    );
    let plan = Case::new(SystemChanges {
        groups: vec![gc(
            AccountChangeKind::Created,
            None,
            Some(group("web", 1001)),
        )],
        users: vec![alice, bob],
        ..Default::default()
    })
    .run(&HashMap::new());
    let became: Vec<(&str, &AccountDecision)> = plan
        .outcomes
        .accounts
        .changes
        .iter()
        .map(|a| (a.name.as_str(), &a.became))
        .collect();
    assert_eq!(
        became,
        [
            ("web", &AccountDecision::GroupPresent { gid: 1001 }),
            (
                "alice",
                &AccountDecision::UserPresent(UserState {
                    uid: 1001,
                    primary: PrimaryGroup::Named("web".into()),
                    groups: Some(vec!["adm".into(), "web".into()]),
                    creates_home: true,
                    password: Some(Password::FromParam(ParamId::Password("alice".into()))),
                })
            ),
            (
                "bob",
                &AccountDecision::UserPresent(UserState {
                    uid: 1002,
                    primary: PrimaryGroup::Gid(100),
                    groups: Some(Vec::new()),
                    creates_home: false,
                    password: None,
                })
            ),
        ]
    );
}

#[test]
fn accounts_without_a_recorded_state_are_left_out() {
    let plan = Case::new(SystemChanges {
        groups: vec![
            gc(AccountChangeKind::Created, None, None),
            gc(AccountChangeKind::Created, None, Some(group("g", 5))),
            gc(AccountChangeKind::Created, None, Some(group("g", 5))),
        ],
        users: vec![uc(AccountChangeKind::Changed, None, None)],
        ..Default::default()
    })
    .run(&HashMap::new());
    assert_eq!(
        plan.left_out(),
        [
            left_out(Subject::Group("g".into()), Reason::ListedTwice),
            left_out(Subject::Group(String::new()), Reason::NoStateAfter),
            left_out(Subject::User(String::new()), Reason::NoStateAfter),
        ]
    );
}
