//! A change set as the resources a module made from it would manage, each
//! with its attributes as plain strings: what the diff compares. The same
//! rules as the module's: only the admin's file changes, only the
//! packages asked for, no account a package made.

use super::DiffOptions;
use recorder::model::{
    display_path, is_within, Change, ChangeKind, ChangeSet, ContentHash, Enable, Entry, EntryKind,
    Group, PackageChange, PackageChangeKind, Running, Service, User,
};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a resource is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    File,
    Package,
    Group,
    User,
    Service,
    Alternative,
    Diversion,
    Command,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::File,
        Kind::Package,
        Kind::Group,
        Kind::User,
        Kind::Service,
        Kind::Alternative,
        Kind::Diversion,
        Kind::Command,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Package => "package",
            Kind::Group => "group",
            Kind::User => "user",
            Kind::Service => "service",
            Kind::Alternative => "alternative",
            Kind::Diversion => "diversion",
            Kind::Command => "command",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// `account` covers users and groups.
    pub fn parse_filter(s: &str) -> Option<Vec<Kind>> {
        match s {
            "account" => Some(vec![Kind::User, Kind::Group]),
            other => Kind::parse(other).map(|k| vec![k]),
        }
    }
}

/// Every attribute a resource can have, for checking `--ignore-attr`.
pub const ATTRIBUTES: &[&str] = &[
    "comment",
    "content",
    "enable",
    "enablement",
    "ensure",
    "gid",
    "group",
    "groups",
    "home",
    "mark",
    "members",
    "mode",
    "owner",
    "password",
    "rename",
    "shell",
    "state",
    "status",
    "subscribe",
    "target",
    "to",
    "uid",
    "value",
    "version",
];

/// One resource: its attributes, and for a file where its content is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    pub title: String,
    pub attrs: BTreeMap<String, String>,
    pub hash: Option<ContentHash>,
    pub captured: bool,
    pub secret: bool,
}

type Items = BTreeMap<(Kind, String), Item>;

fn wanted(opts: &DiffOptions, kind: Kind) -> bool {
    (opts.kinds.is_empty() || opts.kinds.contains(&kind))
        && (opts.paths.is_empty() || kind == Kind::File)
}

fn in_paths(opts: &DiffOptions, path: &[u8]) -> bool {
    opts.paths.is_empty() || opts.paths.iter().any(|p| is_within(path, p))
}

/// Everything a module of this session would manage.
pub fn of_session(cs: &ChangeSet, opts: &DiffOptions) -> Items {
    let mut out = Items::new();
    if wanted(opts, Kind::File) {
        for c in admin_files(cs, opts) {
            out.insert(
                (Kind::File, display_path(&c.path)),
                file(c, c.after.as_ref()),
            );
        }
    }
    let s = &cs.system;
    if wanted(opts, Kind::Package) {
        for p in s.packages.iter().filter(|p| p.explicit) {
            out.insert((Kind::Package, p.name.clone()), package(p, true));
        }
    }
    if wanted(opts, Kind::User) {
        for u in s.users.iter().filter(|u| u.by_package.is_none()) {
            let a = user(u.after.as_ref(), opts);
            out.insert((Kind::User, u.name.clone()), a);
        }
    }
    if wanted(opts, Kind::Group) {
        for g in s.groups.iter().filter(|g| g.by_package.is_none()) {
            out.insert((Kind::Group, g.name.clone()), group(g.after.as_ref()));
        }
    }
    if wanted(opts, Kind::Service) {
        for sc in &s.services {
            let mut a = Item::default();
            let enable = match sc.enable {
                Some(Enable::True) => "true",
                Some(Enable::False) => "false",
                Some(Enable::Mask) => "mask",
                None => "not managed",
            };
            a.attrs.insert("enable".into(), enable.into());
            let ensure = match sc.ensure {
                Some(Running::Running) => "running",
                Some(Running::Stopped) => "stopped",
                None => "not managed",
            };
            a.attrs.insert("ensure".into(), ensure.into());
            if !sc.subscribe.is_empty() {
                let paths: Vec<String> = sc.subscribe.iter().map(|p| display_path(p)).collect();
                a.attrs.insert("subscribe".into(), paths.join(", "));
            }
            out.insert((Kind::Service, crate::plan::service_title(&sc.unit)), a);
        }
    }
    if wanted(opts, Kind::Alternative) {
        for alt in &s.alternatives {
            let mut a = Item::default();
            let v = alt.manual.clone().unwrap_or_else(|| "automatic".into());
            a.attrs.insert("value".into(), v);
            out.insert((Kind::Alternative, alt.name.clone()), a);
        }
    }
    if wanted(opts, Kind::Diversion) {
        for d in &s.diversions {
            let mut a = Item::default();
            a.attrs.insert("to".into(), display_path(&d.to));
            let state = if d.added { "added" } else { "removed" };
            a.attrs.insert("state".into(), state.into());
            a.attrs.insert("rename".into(), d.renamed.to_string());
            out.insert((Kind::Diversion, display_path(&d.from)), a);
        }
    }
    if wanted(opts, Kind::Command) {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for i in cs.why.top_level() {
            let text = i.text();
            let n = seen.entry(text.clone()).or_default();
            *n += 1;
            let title = if *n == 1 {
                text
            } else {
                format!("{text} (#{n})")
            };
            let mut a = Item::default();
            let status = match (i.exit_code, i.signal) {
                (_, Some(sig)) => format!("killed by signal {sig}"),
                (Some(c), _) => format!("exit {c}"),
                _ => "did not end".into(),
            };
            a.attrs.insert("status".into(), status);
            out.insert((Kind::Command, title), a);
        }
    }
    for (k, item) in out.iter_mut() {
        item.title.clone_from(&k.1);
    }
    out
}

/// The session's own start and end, for a diff of a session with its
/// baseline: the baseline's entry against the final one for every file
/// the admin changed, and the state before and after of every system
/// change the module manages.
pub fn before_after(cs: &ChangeSet, opts: &DiffOptions) -> (Items, Items) {
    let (mut before, mut after) = (Items::new(), Items::new());
    if wanted(opts, Kind::File) {
        for c in admin_files(cs, opts) {
            let key = (Kind::File, display_path(&c.path));
            if c.before.is_some() {
                before.insert(key.clone(), file(c, c.before.as_ref()));
            }
            if c.after.is_some() {
                after.insert(key, file(c, c.after.as_ref()));
            }
        }
    }
    let s = &cs.system;
    if wanted(opts, Kind::Package) {
        for p in s.packages.iter().filter(|p| p.explicit) {
            let key = (Kind::Package, p.name.clone());
            if p.before_version.is_some() {
                before.insert(key.clone(), package(p, false));
            }
            if !matches!(
                p.kind,
                PackageChangeKind::Removed | PackageChangeKind::Purged
            ) {
                after.insert(key, package(p, true));
            }
        }
    }
    if wanted(opts, Kind::User) {
        for u in s.users.iter().filter(|u| u.by_package.is_none()) {
            let key = (Kind::User, u.name.clone());
            if u.before.is_some() {
                before.insert(key.clone(), user(u.before.as_ref(), opts));
            }
            if u.after.is_some() {
                after.insert(key, user(u.after.as_ref(), opts));
            }
        }
    }
    if wanted(opts, Kind::Group) {
        for g in s.groups.iter().filter(|g| g.by_package.is_none()) {
            let key = (Kind::Group, g.name.clone());
            if g.before.is_some() {
                before.insert(key.clone(), group(g.before.as_ref()));
            }
            if g.after.is_some() {
                after.insert(key, group(g.after.as_ref()));
            }
        }
    }
    if wanted(opts, Kind::Service) {
        for sc in &s.services {
            let key = (Kind::Service, crate::plan::service_title(&sc.unit));
            for (side, svc) in [(&mut before, &sc.before), (&mut after, &sc.after)] {
                if let Some(svc) = svc {
                    side.insert(key.clone(), service(svc));
                }
            }
        }
    }
    for side in [&mut before, &mut after] {
        for (k, item) in side.iter_mut() {
            item.title.clone_from(&k.1);
        }
    }
    (before, after)
}

/// The file changes a module manages, within the paths asked for.
fn admin_files<'a>(cs: &'a ChangeSet, opts: &'a DiffOptions) -> impl Iterator<Item = &'a Change> {
    cs.changes
        .iter()
        .filter(|c| c.origin.is_admin())
        .filter(move |c| in_paths(opts, &c.path))
}

fn file(c: &Change, e: Option<&Entry>) -> Item {
    let mut a = Item {
        secret: c.secret,
        ..Item::default()
    };
    let Some(e) = e else {
        a.attrs.insert("ensure".into(), "absent".into());
        return a;
    };
    let ensure = match e.kind {
        EntryKind::File => "file",
        EntryKind::Dir => "directory",
        EntryKind::Symlink => "link",
        other => other.as_str(),
    };
    a.attrs.insert("ensure".into(), ensure.into());
    if e.kind != EntryKind::Symlink {
        a.attrs.insert("mode".into(), format!("{:04o}", e.mode));
    }
    a.attrs.insert("owner".into(), e.owner_name());
    a.attrs.insert("group".into(), e.group_name());
    if let Some(t) = &e.link_target {
        a.attrs.insert("target".into(), display_path(t));
    }
    // A metadata-only change: the module does not manage the content.
    if e.kind == EntryKind::File && c.kind != ChangeKind::Metadata {
        a.hash = e.hash;
        a.captured = e.content_stored;
        let shown = match e.hash {
            Some(h) => format!("{} bytes, blake3 {}", e.size, &h.to_hex()[..16]),
            None => format!("{} bytes, unreadable", e.size),
        };
        a.attrs.insert("content".into(), shown);
    }
    a
}

fn package(p: &PackageChange, after: bool) -> Item {
    let mut a = Item::default();
    let ensure = if !after {
        "installed"
    } else {
        match p.kind {
            PackageChangeKind::Removed => "absent",
            PackageChangeKind::Purged => "purged",
            _ => "installed",
        }
    };
    a.attrs.insert("ensure".into(), ensure.into());
    let version = if after {
        &p.after_version
    } else {
        &p.before_version
    };
    if let Some(v) = version {
        a.attrs.insert("version".into(), v.clone());
    }
    if let (true, Some(h)) = (after, p.hold) {
        a.attrs
            .insert("mark".into(), if h { "hold" } else { "none" }.into());
    }
    a
}

/// A password shows only that it is set and a fingerprint of its hash
/// (equal hashes, equal fingerprints; nothing else about it), unless
/// secrets are asked for.
fn user(u: Option<&User>, opts: &DiffOptions) -> Item {
    let mut a = Item::default();
    let Some(u) = u else {
        a.attrs.insert("ensure".into(), "absent".into());
        return a;
    };
    a.attrs.insert("ensure".into(), "present".into());
    a.attrs.insert("uid".into(), u.uid.to_string());
    a.attrs.insert("gid".into(), u.gid.to_string());
    a.attrs.insert("home".into(), u.home.clone());
    a.attrs.insert("shell".into(), u.shell.clone());
    a.attrs.insert("comment".into(), u.gecos.clone());
    a.attrs.insert("groups".into(), u.groups.join(","));
    let set = |p: &Option<String>| p.as_ref().is_some_and(|h| h.starts_with('$'));
    if set(&u.password) {
        let hash = u.password.clone().unwrap_or_default();
        let value = if opts.include_secrets {
            hash
        } else {
            let print = ContentHash::of(format!("cft password {hash}").as_bytes()).to_hex();
            format!("set (fingerprint {})", &print[..8])
        };
        a.attrs.insert("password".into(), value);
    }
    a
}

fn group(g: Option<&Group>) -> Item {
    let mut a = Item::default();
    let Some(g) = g else {
        a.attrs.insert("ensure".into(), "absent".into());
        return a;
    };
    a.attrs.insert("ensure".into(), "present".into());
    a.attrs.insert("gid".into(), g.gid.to_string());
    a.attrs.insert("members".into(), g.members.join(","));
    a
}

fn service(s: &Service) -> Item {
    let mut a = Item::default();
    a.attrs.insert(
        "enablement".into(),
        format!("{:?}", s.enablement).to_lowercase(),
    );
    a
}
