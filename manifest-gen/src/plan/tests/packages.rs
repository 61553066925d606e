//! Packages: `ensure` for each kind of change, pinned or not,
//! dependencies counted and their version changes listed, holds as marks.

use super::*;
use crate::plan::outcome::{Ensure, PackageDecision};

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
        assert_eq!(plan.titles(Part::Packages).len(), 1, "{name}");
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
        plan.titles(Part::Packages),
        ["package curl", "package nginx"]
    );
    assert_eq!(plan.outcomes.packages.dependencies, 1);
    assert_eq!(plan.outcomes.packages.unpinned, 1);
}

#[test]
fn holds_are_marks_and_dependency_upgrades_are_listed_not_managed() {
    let mut held = pkg("jq", PackageChangeKind::Marked, Some("1.6"), Some("1.6"));
    held.hold = Some(true);
    let mut released = pkg("curl", PackageChangeKind::Marked, Some("7"), Some("7"));
    released.hold = Some(false);
    let mut gone_held = pkg("figlet", PackageChangeKind::Removed, Some("2"), None);
    gone_held.hold = Some(true);
    let mut dep = pkg(
        "perl-base",
        PackageChangeKind::Upgraded,
        Some("5.36.0-7"),
        Some("5.36.0-7+deb12u1"),
    );
    dep.explicit = false;
    let plan = Case::new(SystemChanges {
        packages: vec![held, released, gone_held, dep],
        ..SystemChanges::default()
    })
    .run(&HashMap::new());
    assert_eq!(
        plan.attrs_of("package", "jq"),
        ["ensure=installed", "mark='hold'"]
    );
    assert_eq!(
        plan.attrs_of("package", "curl"),
        ["ensure=installed", "mark='none'"]
    );
    assert_eq!(
        plan.attrs_of("package", "figlet"),
        ["ensure=absent"],
        "Puppet cannot mark what it removes"
    );
    assert!(
        !plan
            .catalog
            .resources
            .iter()
            .any(|r| r.title == "perl-base"),
        "a dependency upgrade is the package manager's"
    );
    let listed: Vec<(&str, &PackageDecision)> = plan
        .outcomes
        .packages
        .changes
        .iter()
        .map(|o| (o.change.name.as_str(), &o.became))
        .collect();
    let managed = |ensure, mark| PackageDecision::Managed { ensure, mark };
    assert_eq!(
        listed,
        [
            ("curl", &managed(Ensure::Installed, Some(false))),
            ("figlet", &managed(Ensure::Absent, None)),
            ("jq", &managed(Ensure::Installed, Some(true))),
            ("perl-base", &PackageDecision::ByPackageManager),
        ],
        "sorted, the dependency upgrade listed"
    );
}

#[test]
fn pinned_and_unpinned_version_changes() {
    use PackageChangeKind::*;
    let system = SystemChanges {
        packages: vec![
            pkg("a", Upgraded, Some("1"), Some("2")),
            pkg("b", Downgraded, Some("2"), Some("1")),
            pkg("c", Installed, None, Some("3")),
            pkg("d", Upgraded, Some("1"), None),
        ],
        ..Default::default()
    };
    let mut case = Case::new(system);
    let ensures = |plan: &Plan| -> Vec<Ensure> {
        plan.outcomes
            .packages
            .changes
            .iter()
            .map(|o| match o.became {
                PackageDecision::Managed { ensure, .. } => ensure,
                PackageDecision::ByPackageManager => panic!("{o:?}"),
            })
            .collect()
    };
    let plan = case.run(&HashMap::new());
    let any = Ensure::AnyVersion;
    assert_eq!(ensures(&plan), [any, any, Ensure::Installed, any]);
    assert_eq!(plan.outcomes.packages.unpinned, 3);
    case.pin_versions = true;
    let plan = case.run(&HashMap::new());
    let pinned = Ensure::Pinned;
    assert_eq!(ensures(&plan), [pinned, pinned, pinned, any]);
    assert_eq!(plan.outcomes.packages.unpinned, 1, "no version to pin");
}

#[test]
fn a_package_listed_twice_is_left_out() {
    let p = || pkg("jq", PackageChangeKind::Installed, None, Some("1"));
    let plan = Case::new(SystemChanges {
        packages: vec![p(), p()],
        ..Default::default()
    })
    .run(&HashMap::new());
    assert_eq!(plan.titles(Part::Packages), ["package jq"]);
    assert_eq!(
        plan.left_out(),
        [left_out(Subject::Package("jq".into()), Reason::ListedTwice)]
    );
}
