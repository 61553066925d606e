//! Services: enablement and running state as they changed, restarts only
//! for files of the module, and a service with nothing to manage.

use super::*;
use crate::plan::outcome::ServiceOutcome;
use recorder::model::{Enable, Enablement, Running, Service, ServiceChange};

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
        let title = crate::plan::service_title(&unit);
        assert_eq!(plan.attrs_of("service", &title), want, "{name}");
    }
}

#[test]
fn service_with_nothing_to_manage_is_reported() {
    let case = Case::new(SystemChanges {
        services: vec![svc("a.service", None, None, &["/etc/not-in-module"])],
        ..Default::default()
    });
    let plan = case.run(&HashMap::new());
    assert!(plan.catalog.resources.is_empty());
    assert_eq!(
        plan.left_out(),
        [left_out(
            Subject::Service("a.service".into()),
            Reason::NothingToManage
        )]
    );
}

#[test]
fn service_outcomes_say_what_is_managed() {
    let mut blobs = HashMap::new();
    let mut case = Case::new(SystemChanges {
        services: vec![
            svc("b.service", None, None, &["/etc/b.conf"]),
            svc("a.service", Some(Enable::Mask), Some(Running::Stopped), &[]),
            svc("a.service", Some(Enable::True), None, &[]),
        ],
        ..Default::default()
    });
    case.changes = vec![file_change("/etc/b.conf", &mut blobs)];
    let plan = case.run(&blobs);
    assert_eq!(
        plan.outcomes.services,
        [
            ServiceOutcome {
                unit: "a.service".into(),
                enable: Some(Enable::Mask),
                ensure: Some(Running::Stopped),
                restarts: vec![],
            },
            ServiceOutcome {
                unit: "b.service".into(),
                enable: None,
                ensure: None,
                restarts: vec!["/etc/b.conf".into()],
            },
        ]
    );
    assert_eq!(
        plan.left_out(),
        [left_out(
            Subject::Service("a.service".into()),
            Reason::ListedTwice
        )]
    );
}

/// Puppet users write `service { 'cron': }`: a `.service` unit's title is
/// its bare name; other unit types, and a bare name that would read as
/// one, keep their suffix.
#[test]
fn service_titles_are_bare_names() {
    let cases = [
        ("a service", "cron.service", "cron"),
        ("a template instance", "getty@tty1.service", "getty@tty1"),
        (
            "dots in the name",
            "systemd-fsck@dev-sda1.x.service",
            "systemd-fsck@dev-sda1.x",
        ),
        ("a timer", "apt-daily.timer", "apt-daily.timer"),
        ("a socket", "ssh.socket", "ssh.socket"),
        (
            "would read as a timer",
            "odd.timer.service",
            "odd.timer.service",
        ),
        ("only the suffix", ".service", ".service"),
        ("no suffix", "cron", "cron"),
    ];
    for (name, unit, want) in cases {
        assert_eq!(crate::plan::service_title(unit), want, "{name}");
    }
}
