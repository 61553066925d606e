//! dpkg's own state: alternatives chosen by hand (or set back to
//! automatic) and local diversions, as guarded execs of dpkg's tools in
//! the parts where they must run.

use super::*;
use crate::plan::outcome::DpkgOutcome;
use recorder::model::{AlternativeChange, DiversionChange};

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
                crate::plan::dpkg::SET_BY_HAND
            ),
            path,
        ]
    );
    assert_eq!(
        plan.attrs_of("exec", "web update-alternatives --auto awk"),
        [
            "command=[/usr/bin/update-alternatives,--auto,awk]",
            &format!(
                "unless=[/bin/sh,-c,{},sh,awk]",
                crate::plan::dpkg::AUTOMATIC
            ),
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
                crate::plan::dpkg::DIVERTED_TO
            ),
        ]
    );
    assert_eq!(
        plan.attrs_of("exec", "web dpkg-divert --local --remove /etc/old")[1],
        format!(
            "onlyif=[/bin/sh,-c,{},sh,/etc/old]",
            crate::plan::dpkg::DIVERTED
        )
    );
    let parts: Vec<(Part, &str)> = plan
        .catalog
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
    assert_eq!(
        plan.left_out(),
        [left_out(
            Subject::Diversion(b"/etc/\xff".to_vec()),
            Reason::DiversionNotUtf8
        )]
    );
    assert_eq!(
        plan.outcomes.dpkg,
        [
            DpkgOutcome::Alternative {
                name: "editor".into(),
                choice: Some("/usr/bin/vim.tiny".into())
            },
            DpkgOutcome::Alternative {
                name: "awk".into(),
                choice: None
            },
            DpkgOutcome::Diversion {
                from: "/etc/issue".into(),
                to: "/etc/issue.distrib".into(),
                added: true,
                renamed: true
            },
            DpkgOutcome::Diversion {
                from: "/etc/old".into(),
                to: "/etc/old.real".into(),
                added: false,
                renamed: false
            },
        ]
    );
}
