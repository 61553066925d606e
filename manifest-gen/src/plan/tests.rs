//! The planners' unit tests, one file per subject under `tests/`, and the
//! builders they share: entries and changes, and a [`Case`] to plan.

mod accounts;
mod dpkg_state;
mod files;
mod packages;
mod regenerated;
mod services;
mod site_params;
mod sources;

use super::catalog::{Param, ParamId, Value};
use super::outcome::{FileOutcome, LeftOut, Reason, Subject};
use super::{plan, Input, Part, Plan};
use crate::{Error, SiteParam};
use recorder::model::{
    Change, ChangeKind, ContentHash, Entry, EntryKind, Origin, PackageChange, PackageChangeKind,
    SystemChanges,
};
use std::collections::HashMap;

type Blobs = HashMap<ContentHash, Vec<u8>>;

/// Something to plan: a change set's files and system changes, and the
/// options of the module (named `web`).
struct Case {
    system: SystemChanges,
    changes: Vec<Change>,
    include_secrets: bool,
    pin_versions: bool,
    os: (&'static str, &'static str),
    /// Checked and sorted, as `generate` passes them.
    site: Vec<SiteParam>,
}

impl Case {
    fn new(system: SystemChanges) -> Case {
        Case {
            system,
            changes: Vec::new(),
            include_secrets: false,
            pin_versions: false,
            os: ("debian", "12"),
            site: Vec::new(),
        }
    }

    fn of(changes: Vec<Change>) -> Case {
        Case {
            changes,
            ..Case::new(SystemChanges::default())
        }
    }

    fn with_site(mut self, args: &[&str]) -> Case {
        let parsed: Vec<SiteParam> = args
            .iter()
            .map(|a| SiteParam::parse(a).expect("valid argument"))
            .collect();
        self.site = crate::site::check_all(&parsed).expect("consistent");
        self
    }

    fn try_run(&self, blobs: &Blobs) -> Result<Plan, Error> {
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
            site: &self.site,
        };
        plan(&input, blobs)
    }

    fn run(&self, blobs: &Blobs) -> Plan {
        self.try_run(blobs).expect("plan")
    }
}

fn entry(path: &[u8], kind: EntryKind, mode: u32) -> Entry {
    Entry {
        path: path.to_vec(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        owner: Some("root".into()),
        group: Some("root".into()),
        size: 0,
        mtime_ns: 0,
        hash: None,
        content_stored: false,
        link_target: None,
    }
}

/// A regular file with `content`, its blob in `blobs`.
fn file(path: &[u8], content: &[u8], blobs: &mut Blobs) -> Entry {
    let hash = ContentHash::of(content);
    blobs.insert(hash, content.to_vec());
    Entry {
        size: content.len() as u64,
        hash: Some(hash),
        content_stored: true,
        ..entry(path, EntryKind::File, 0o644)
    }
}

fn link(path: &[u8], target: &[u8]) -> Entry {
    Entry {
        link_target: Some(target.to_vec()),
        ..entry(path, EntryKind::Symlink, 0o777)
    }
}

fn change(kind: ChangeKind, before: Option<Entry>, after: Option<Entry>) -> Change {
    let path = after
        .as_ref()
        .or(before.as_ref())
        .map(|e| e.path.clone())
        .unwrap_or_default();
    Change {
        path,
        kind,
        before,
        after,
        secret: false,
        origin: Origin::Admin,
        package: None,
    }
}

/// The admin's new file with `content`.
fn created(path: &[u8], content: &[u8], blobs: &mut Blobs) -> Change {
    change(ChangeKind::Created, None, Some(file(path, content, blobs)))
}

/// The admin's new file with some content of its own.
fn file_change(path: &str, blobs: &mut Blobs) -> Change {
    let content = format!("content of {path}\n");
    created(path.as_bytes(), content.as_bytes(), blobs)
}

fn pkg(
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

impl Plan {
    /// `key=value` for every attribute of the `kind` resource titled `title`.
    fn attrs_of(&self, kind: &str, title: &str) -> Vec<String> {
        let r = self
            .catalog
            .resources
            .iter()
            .find(|r| r.kind == kind && r.title == title)
            .unwrap_or_else(|| panic!("no {kind} {title}: {self:#?}"));
        r.attrs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.show(&self.catalog.params)))
            .collect()
    }

    /// `kind title` of every resource of `part`, in order.
    fn titles(&self, part: Part) -> Vec<String> {
        self.catalog
            .in_part(part)
            .map(|r| format!("{} {}", r.kind, r.title))
            .collect()
    }

    /// What became of the file change at `path`.
    fn file_outcome(&self, path: &str) -> &FileOutcome {
        self.outcomes
            .files
            .changes
            .iter()
            .find(|c| c.path == path.as_bytes())
            .unwrap_or_else(|| panic!("no outcome for {path}"))
    }

    fn left_out(&self) -> &[LeftOut] {
        &self.outcomes.not_expressed.left_out
    }

    fn param_names(&self) -> Vec<&str> {
        self.catalog
            .params
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }
}

fn left_out(subject: Subject, reason: Reason) -> LeftOut {
    LeftOut { subject, reason }
}

impl Value {
    /// A compact form for assertions.
    fn show(&self, params: &[Param]) -> String {
        let name = |id: &ParamId| {
            params
                .iter()
                .find(|p| p.id() == *id)
                .map_or("?", |p| p.name.as_str())
        };
        match self {
            Value::Word(w) => w.to_string(),
            Value::Str(s) => format!("'{s}'"),
            Value::Mode(m) => format!("{m:04o}"),
            Value::Int(n) => n.to_string(),
            Value::Param(id) => format!("${}", name(id)),
            Value::Epp { rel, params: used } => format!(
                "epp:{rel}({})",
                used.iter().map(name).collect::<Vec<_>>().join(",")
            ),
            Value::Source(rel) => format!("source:{rel}"),
            Value::Sensitive(s) => format!("Sensitive('{s}')"),
            Value::Strs(v) => format!("[{}]", v.join(",")),
            Value::Cmds(v) => v
                .iter()
                .map(|c| format!("[{}]", c.join(",")))
                .collect::<Vec<_>>()
                .join(";"),
            Value::Refs(v) => v
                .iter()
                .map(|r| format!("{}['{}']", r.kind, r.title))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}
