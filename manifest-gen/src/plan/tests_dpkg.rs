//! Planning of dpkg's state (holds, alternatives, diversions) and of the
//! commands that regenerate what managed files feed.

use super::tests_system::{file_change, pkg, Case};
use super::*;
use recorder::model::{AlternativeChange, DiversionChange, PackageChangeKind};

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
        !plan.resources.iter().any(|r| r.title == "perl-base"),
        "a dependency upgrade is the package manager's"
    );
    let rows: Vec<&Cell> = plan.packages.iter().map(|r| &r.cells[0]).collect();
    assert_eq!(
        rows,
        [
            &Cell::code("curl"),
            &Cell::code("figlet"),
            &Cell::code("jq"),
            &Cell::code("perl-base")
        ],
        "sorted, the dependency upgrade listed"
    );
    let perl = &plan.packages[3].cells;
    assert_eq!(
        perl[3],
        Cell::text("not managed: changed by apt for another package")
    );
}

#[test]
fn alternatives_and_diversions_are_execs_of_dpkgs_tools() {
    let plan = Case::new(SystemChanges {
        alternatives: vec![
            AlternativeChange {
                name: "editor".into(),
                link: "/usr/bin/editor".into(),
                manual: Some("/usr/bin/vim.tiny".into()),
                slaves: vec![],
            },
            AlternativeChange {
                name: "awk".into(),
                link: "/usr/bin/awk".into(),
                manual: None,
                slaves: vec![],
            },
        ],
        diversions: vec![
            DiversionChange {
                from: b"/etc/issue".to_vec(),
                to: b"/etc/issue.distrib".to_vec(),
                added: true,
                renamed: true,
            },
            DiversionChange {
                from: b"/etc/old".to_vec(),
                to: b"/etc/old.real".to_vec(),
                added: false,
                renamed: false,
            },
            DiversionChange {
                from: b"/etc/\xff".to_vec(),
                to: b"/etc/x".to_vec(),
                added: true,
                renamed: false,
            },
        ],
        ..SystemChanges::default()
    })
    .run(&HashMap::new());
    let path = "path=[/usr/local/sbin,/usr/local/bin,/usr/sbin,/usr/bin,/sbin,/bin]";
    assert_eq!(
        plan.attrs_of(
            "exec",
            "web update-alternatives --set editor /usr/bin/vim.tiny"
        ),
        [
            "command=[/usr/bin/update-alternatives,--set,editor,/usr/bin/vim.tiny]",
            &format!(
                "unless=[/bin/sh,-c,{},sh,editor,/usr/bin/vim.tiny]",
                super::dpkg::SET_BY_HAND
            ),
            path,
        ]
    );
    assert_eq!(
        plan.attrs_of("exec", "web update-alternatives --auto awk"),
        [
            "command=[/usr/bin/update-alternatives,--auto,awk]",
            &format!("unless=[/bin/sh,-c,{},sh,awk]", super::dpkg::AUTOMATIC),
            path,
        ]
    );
    assert_eq!(
        plan.attrs_of(
            "exec",
            "web dpkg-divert --local --rename --divert /etc/issue.distrib --add /etc/issue"
        )[..2],
        [
            "command=[/usr/bin/dpkg-divert,--local,--rename,--divert,/etc/issue.distrib,--add,/etc/issue]".to_string(),
            format!(
                "unless=[/bin/sh,-c,{},sh,/etc/issue,/etc/issue.distrib]",
                super::dpkg::DIVERTED_TO
            ),
        ]
    );
    assert_eq!(
        plan.attrs_of("exec", "web dpkg-divert --local --remove /etc/old")[1],
        format!("onlyif=[/bin/sh,-c,{},sh,/etc/old]", super::dpkg::DIVERTED)
    );
    let parts: Vec<(Part, &str)> = plan
        .resources
        .iter()
        .map(|r| (r.part, r.title.split(' ').nth(1).unwrap_or("")))
        .collect();
    assert!(
        parts.iter().all(|(p, tool)| match *tool {
            "dpkg-divert" => *p == Part::Sources,
            "update-alternatives" => *p == Part::Files,
            _ => true,
        }),
        "diversions before any package or file, alternatives after the packages: {parts:?}"
    );
    assert!(
        plan.skipped
            .iter()
            .any(|s| s.path == "diversion /etc/\\xff"),
        "{:?}",
        plan.skipped
    );
    assert_eq!(plan.dpkg.len(), 4);
}

#[test]
fn files_that_feed_a_generated_one_regenerate_it() {
    let mut blobs = HashMap::new();
    let mut case = Case::new(SystemChanges::default());
    case.changes = vec![
        file_change("/etc/locale.gen", &mut blobs),
        file_change("/etc/ld.so.conf.d/app.conf", &mut blobs),
        file_change("/etc/unrelated.conf", &mut blobs),
    ];
    let plan = case.run(&blobs);
    assert_eq!(
        plan.attrs_of("exec", "web locale-gen"),
        [
            "command=[/usr/sbin/locale-gen]",
            "refreshonly=true",
            "onlyif=[/usr/bin/test,-x,/usr/sbin/locale-gen]",
            "path=[/usr/local/sbin,/usr/local/bin,/usr/sbin,/usr/bin,/sbin,/bin]",
            "subscribe=File['/etc/locale.gen']",
        ]
    );
    assert_eq!(
        plan.attrs_of("exec", "web ldconfig").last().unwrap(),
        "subscribe=File['/etc/ld.so.conf.d/app.conf']"
    );
    assert_eq!(
        plan.resources.iter().filter(|r| r.kind == "exec").count(),
        2,
        "nothing feeds from /etc/unrelated.conf"
    );
}
