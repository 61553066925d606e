//! Services: a `service` resource for each recorded service change, with
//! the enablement and running state that changed, restarted when a file of
//! this module it depends on changes.

use super::catalog::{Ref, Resource, Value};
use super::outcome::{Reason, ServiceOutcome, Subject};
use super::{Part, Planned};
use recorder::model::{Enable, Running, ServiceChange};
use std::collections::BTreeSet;

/// The unit types systemd knows, by suffix: a name ending in one of these
/// is taken as that type, so its `.service` must stay.
const UNIT_TYPES: &[&str] = &[
    ".service",
    ".socket",
    ".device",
    ".mount",
    ".automount",
    ".swap",
    ".target",
    ".path",
    ".timer",
    ".slice",
    ".scope",
];

/// The `service` resource's title for a unit, as Puppet users write it:
/// `cron` for `cron.service` (Puppet's systemd provider, and systemctl,
/// add `.service` to a bare name); other types keep their suffix
/// (`apt-daily.timer`, `ssh.socket`), and so does a service whose bare
/// name would read as another type.
pub fn title(unit: &str) -> String {
    match unit.strip_suffix(".service") {
        Some(bare) if !bare.is_empty() && !UNIT_TYPES.iter().any(|t| bare.ends_with(t)) => {
            bare.to_string()
        }
        _ => unit.to_string(),
    }
}

/// `files` are the titles of the module's `file` resources: a service
/// restarts only for those (a reference to anything else would not
/// compile).
pub(super) fn plan(services: &[ServiceChange], files: &[String]) -> Planned<Vec<ServiceOutcome>> {
    let files: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    let mut out: Planned<Vec<ServiceOutcome>> = Planned::default();
    let mut services: Vec<&ServiceChange> = services.iter().collect();
    services.sort_by(|a, b| a.unit.cmp(&b.unit));
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for s in services {
        if !seen.insert(&s.unit) {
            out.leave_out(Subject::Service(s.unit.clone()), Reason::ListedTwice);
            continue;
        }
        let mut attrs = Vec::new();
        match s.ensure {
            Some(Running::Running) => attrs.push(("ensure", Value::Word("running"))),
            Some(Running::Stopped) => attrs.push(("ensure", Value::Word("stopped"))),
            None => {}
        }
        match s.enable {
            Some(Enable::True) => attrs.push(("enable", Value::Word("true"))),
            Some(Enable::False) => attrs.push(("enable", Value::Word("false"))),
            Some(Enable::Mask) => attrs.push(("enable", Value::Str("mask".into()))),
            None => {}
        }
        let subscribed: BTreeSet<String> = s
            .subscribe
            .iter()
            .filter_map(|p| String::from_utf8(p.clone()).ok())
            .filter(|p| files.contains(p.as_str()))
            .collect();
        if !subscribed.is_empty() {
            let refs = subscribed.iter().map(|title| Ref {
                kind: "File",
                title: title.clone(),
            });
            attrs.push(("subscribe", Value::Refs(refs.collect())));
        }
        if attrs.is_empty() {
            out.leave_out(Subject::Service(s.unit.clone()), Reason::NothingToManage);
            continue;
        }
        out.resources.push(Resource {
            part: Part::Services,
            kind: "service",
            title: title(&s.unit),
            attrs,
        });
        out.outcome.push(ServiceOutcome {
            unit: s.unit.clone(),
            enable: s.enable,
            ensure: s.ensure,
            restarts: subscribed.into_iter().collect(),
        });
    }
    out
}
