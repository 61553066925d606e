//! Services: a `service` resource for each recorded service change, with
//! the enablement and running state that changed, restarted when a file of
//! this module it depends on changes.

use super::{Cell, Input, Part, Plan, Ref, Resource, SysRow, Value};
use crate::Skipped;
use recorder::model::display_path;
use recorder::model::{Enable, Running, ServiceChange};
use std::collections::BTreeSet;

pub(super) fn plan_services(input: &Input<'_>, plan: &mut Plan) {
    let files: BTreeSet<String> = plan.file_titles().into_iter().map(String::from).collect();
    let mut services: Vec<&ServiceChange> = input.system.services.iter().collect();
    services.sort_by(|a, b| a.unit.cmp(&b.unit));
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for s in services {
        if !seen.insert(&s.unit) {
            plan.skipped.push(Skipped {
                path: format!("service {}", s.unit),
                reason: "the change set lists this service twice; only the first record is used"
                    .into(),
            });
            continue;
        }
        let mut attrs = Vec::new();
        let running = match s.ensure {
            Some(Running::Running) => "running",
            Some(Running::Stopped) => "stopped",
            None => "",
        };
        if !running.is_empty() {
            attrs.push(("ensure", Value::Word(running)));
        }
        let enable = match s.enable {
            Some(Enable::True) => Some(("true", Value::Word("true"))),
            Some(Enable::False) => Some(("false", Value::Word("false"))),
            Some(Enable::Mask) => Some(("mask", Value::Str("mask".into()))),
            None => None,
        };
        let enable = enable.map(|(said, value)| {
            attrs.push(("enable", value));
            said
        });
        // Only files this module manages: a reference to anything else
        // would not compile.
        let subscribed: BTreeSet<String> = s
            .subscribe
            .iter()
            .filter_map(|p| String::from_utf8(p.clone()).ok())
            .filter(|p| files.contains(p))
            .collect();
        if !subscribed.is_empty() {
            let refs = subscribed.iter().map(|title| Ref {
                kind: "File",
                title: title.clone(),
            });
            attrs.push(("subscribe", Value::Refs(refs.collect())));
        }
        if attrs.is_empty() {
            plan.skipped.push(Skipped {
                path: format!("service {}", s.unit),
                reason: "nothing to manage: neither its enablement nor its running state changed, and none of its files is in this module".into(),
            });
            continue;
        }
        plan.resources.push(Resource {
            part: Part::Services,
            kind: "service",
            title: s.unit.clone(),
            attrs,
        });
        plan.services.push(SysRow {
            cells: vec![
                Cell::code(&s.unit),
                Cell::text(enable.unwrap_or("unchanged")),
                Cell::text(if running.is_empty() {
                    "not managed"
                } else {
                    running
                }),
                Cell::Code(
                    subscribed
                        .iter()
                        .map(|p| display_path(p.as_bytes()))
                        .collect(),
                ),
            ],
            param: None,
        });
    }
}
