//! `cft show`: one session, made to be read. A summary by kind first; the
//! admin's file changes one per line, a removed tree as one line with its
//! count; what packages made folded to a line per package (`--all`
//! unfolds); then packages, accounts, services, notices and commands.
//! Filters pick sections. `--json` is the same content as data
//! (`cft-show/1`), with password hashes never in it.

use crate::output::{commands, notices, roots, system, when};
use anyhow::Result;
use clap::Args;
use recorder::model::{
    display_path, is_within, Change, ChangeKind, ChangeSet, Origin, SessionState, Subject,
};
use recorder::Store;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Args, Clone)]
pub struct ShowArgs {
    /// The session [default: the last one finished]
    pub name: Option<String>,
    /// List every file change: those packages made, and each entry of a removed tree
    #[arg(long)]
    all: bool,
    /// Only the file changes (sections combine)
    #[arg(long)]
    files: bool,
    /// Only the packages
    #[arg(long)]
    packages: bool,
    /// Only the users and groups
    #[arg(long)]
    accounts: bool,
    /// Only the services
    #[arg(long)]
    services: bool,
    /// Only the commands run, and what each one changed
    #[arg(long)]
    commands: bool,
    /// Also print the timeline of watcher events
    #[arg(long)]
    events: bool,
    /// The cft-show/1 JSON form: the session, its summary and every change (never a password
    /// hash or secret content)
    #[arg(long, conflicts_with = "events")]
    json: bool,
}

impl ShowArgs {
    fn wants(&self, section: bool) -> bool {
        let any = self.files || self.packages || self.accounts || self.services || self.commands;
        !any || section
    }
}

pub fn show(store: &Store, args: &ShowArgs) -> Result<()> {
    let name = args.name.as_deref().unwrap_or_default();
    let cs = store.change_set(name)?;
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&json(&cs, args))?;
        s.push('\n');
        s
    } else {
        let mut s = render(&cs, args);
        if args.events {
            s.push_str(&timeline(store, cs.session.id)?);
        }
        s
    };
    crate::output::write_stdout(text.as_bytes())
}

/// The file changes as they are read: the admin's one per line, each
/// removed tree under its top, and the rest counted by who made them.
struct Files<'a> {
    admin: Vec<(&'a Change, usize)>,
    by_package: BTreeMap<&'a str, Vec<&'a Change>>,
    /// Accounts, service state, dpkg state: expressed by other resources.
    other: BTreeMap<&'static str, Vec<&'a Change>>,
}

fn files<'a>(cs: &'a ChangeSet, all: bool) -> Files<'a> {
    let mut f = Files {
        admin: Vec::new(),
        by_package: BTreeMap::new(),
        other: BTreeMap::new(),
    };
    // Changes are sorted by path, so a tree's entries follow its top.
    let mut tree: Option<&[u8]> = None;
    for c in &cs.changes {
        match &c.origin {
            Origin::Admin => {
                let removed = matches!(c.kind, ChangeKind::Removed | ChangeKind::DirRemoved);
                if let Some(top) = tree {
                    if removed && is_within(&c.path, top) && c.path != top {
                        if let Some(last) = f.admin.last_mut() {
                            last.1 += 1;
                        }
                        continue;
                    }
                    tree = None;
                }
                if !all && c.kind == ChangeKind::DirRemoved {
                    tree = Some(&c.path);
                }
                f.admin.push((c, 0));
            }
            Origin::Package(p) => f.by_package.entry(p.as_str()).or_default().push(c),
            Origin::Accounts => f.other.entry("accounts").or_default().push(c),
            Origin::Service => f.other.entry("service state").or_default().push(c),
            Origin::DpkgState => f.other.entry("dpkg state").or_default().push(c),
        }
    }
    f
}

fn detail(cs: &ChangeSet, c: &Change) -> String {
    let mut detail = String::new();
    if let Some(a) = &c.after {
        detail = a.summary();
        if let Some(t) = &a.link_target {
            detail.push_str(&format!(" -> {}", display_path(t)));
        }
    }
    if c.secret {
        detail.push_str(" [secret]");
    }
    if let Some(i) = cs.why.of(Subject::File, &c.path) {
        detail.push_str(&format!("  <- #{}", i.id));
    }
    detail
}

fn line(cs: &ChangeSet, c: &Change) -> String {
    format!(
        "  {:<13} {}  {}\n",
        c.kind.as_str(),
        display_path(&c.path),
        detail(cs, c)
    )
}

/// `3 created, 1 modified`: the kinds present, in their own order.
fn count_kinds<'a>(changes: impl Iterator<Item = &'a Change>) -> String {
    let mut n: BTreeMap<ChangeKind, usize> = BTreeMap::new();
    for c in changes {
        *n.entry(c.kind).or_default() += 1;
    }
    n.iter()
        .map(|(k, n)| format!("{n} {}", k.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(cs: &ChangeSet, f: &Files) -> String {
    let admin: usize = f.admin.iter().map(|(_, n)| 1 + n).sum();
    let by_pkg: usize = f.by_package.values().map(Vec::len).sum();
    let other: usize = f.other.values().map(Vec::len).sum();
    let sys = &cs.system;
    let explicit = sys.packages.iter().filter(|p| p.explicit).count();
    let mut out = String::from("summary:\n");
    out.push_str(&format!(
        "  files     {} by the admin",
        plural(admin, "change", "changes")
    ));
    if admin > 0 {
        out.push_str(&format!(
            " ({})",
            count_kinds(cs.changes.iter().filter(|c| c.origin.is_admin()))
        ));
    }
    out.push_str(&format!(
        ", {} by {}, {other} expressed as other resources\n",
        by_pkg,
        plural(f.by_package.len(), "package", "packages")
    ));
    out.push_str(&format!(
        "  packages  {} ({explicit} asked for)\n",
        sys.packages.len()
    ));
    out.push_str(&format!(
        "  accounts  {}, {}\n",
        plural(sys.users.len(), "user", "users"),
        plural(sys.groups.len(), "group", "groups")
    ));
    out.push_str(&format!("  services  {}\n", sys.services.len()));
    out.push_str(&format!(
        "  commands  {} ({} typed or run at the top)\n",
        cs.why.intents.len(),
        cs.why.top_level().count()
    ));
    out
}

fn render(cs: &ChangeSet, args: &ShowArgs) -> String {
    let s = &cs.session;
    let mut out = format!("session '{}' ({})\n", s.name, s.state.as_str());
    if let Some(d) = &s.description {
        out.push_str(&format!("  about:    {d}\n"));
    }
    out.push_str(&format!("  host:     {}\n", s.facts.hostname));
    out.push_str(&format!("  root:     {}\n", display_path(&s.root)));
    out.push_str(&format!("  watching: {}\n", roots(&s.watched)));
    if s.state == SessionState::Recording {
        out.push_str("  (still recording: the change set is stored by `cft finish`)\n");
    }
    let f = files(cs, args.all);
    out.push_str(&summary(cs, &f));
    if args.wants(args.files) {
        if !f.admin.is_empty() {
            out.push_str(&format!(
                "files changed by the admin ({}):\n",
                f.admin.len()
            ));
            for (c, beneath) in &f.admin {
                let mut l = line(cs, c);
                if *beneath > 0 {
                    l.pop();
                    l.push_str(&format!(
                        "  (and {} beneath it, removed; --all lists them)\n",
                        beneath
                    ));
                }
                out.push_str(&l);
            }
        }
        if !f.by_package.is_empty() {
            let n: usize = f.by_package.values().map(Vec::len).sum();
            let hint = if args.all { "" } else { "; --all lists them" };
            out.push_str(&format!(
                "files the packages made ({n}: their package resources reproduce them{hint}):\n"
            ));
            let width = f.by_package.keys().map(|p| p.len()).max().unwrap_or(0);
            for (p, cs_) in &f.by_package {
                out.push_str(&format!(
                    "  {p:<width$}  {} ({})\n",
                    plural(cs_.len(), "file", "files"),
                    count_kinds(cs_.iter().copied())
                ));
                if args.all {
                    for c in cs_ {
                        out.push_str(&format!("  {}", line(cs, c)));
                    }
                }
            }
        }
        for (what, list) in &f.other {
            out.push_str(&format!(
                "files of the {what} ({}: expressed by their own resources):\n",
                list.len()
            ));
            for c in list {
                out.push_str(&line(cs, c));
            }
        }
    }
    let sys = &cs.system;
    let mut pick = recorder::model::SystemChanges::default();
    if args.wants(args.packages) {
        pick.packages.clone_from(&sys.packages);
    }
    if args.wants(args.accounts) {
        pick.users.clone_from(&sys.users);
        pick.groups.clone_from(&sys.groups);
    }
    if args.wants(args.services) {
        pick.services.clone_from(&sys.services);
    }
    let sys_text = system(&pick);
    if !sys_text.is_empty() {
        out.push_str("system:\n");
        out.push_str(&sys_text);
    }
    if args.wants(args.files) {
        out.push_str(&notices(&cs.notices));
    }
    if args.wants(args.commands) && !cs.why.intents.is_empty() {
        out.push_str(&commands(&cs.why));
    }
    out
}

fn timeline(store: &Store, session: i64) -> Result<String> {
    let mut out = String::from("timeline:\n");
    for e in store.events(session)? {
        let mut p = e.path.as_deref().map(display_path).unwrap_or_default();
        if let Some(to) = &e.path_to {
            p.push_str(&format!(" -> {}", display_path(to)));
        }
        out.push_str(&format!(
            "  {} {:<11} {:<8} {p}\n",
            when(e.time_ns),
            e.kind.as_str(),
            e.source.as_str()
        ));
    }
    Ok(out)
}

/// The JSON form's name and version.
pub const SHOW_SCHEMA: &str = "cft-show/1";

#[derive(Serialize)]
struct JsonShow {
    schema: &'static str,
    session: JsonSession,
    files: Vec<JsonFile>,
    packages: Vec<recorder::model::PackageChange>,
    users: Vec<JsonUser>,
    groups: Vec<JsonGroup>,
    services: Vec<JsonService>,
    notices: Vec<JsonNotice>,
    commands: Vec<JsonCommand>,
}

#[derive(Serialize)]
pub struct JsonSession {
    pub name: String,
    pub state: &'static str,
    pub description: Option<String>,
    pub host: String,
    pub root: String,
    pub watched: Vec<String>,
    pub created_at_ns: i64,
    pub finished_at_ns: Option<i64>,
}

impl JsonSession {
    pub fn of(s: &recorder::model::Session) -> JsonSession {
        JsonSession {
            name: s.name.clone(),
            state: s.state.as_str(),
            description: s.description.clone(),
            host: s.facts.hostname.clone(),
            root: display_path(&s.root),
            watched: s.watched.iter().map(|w| display_path(w)).collect(),
            created_at_ns: s.created_at_ns,
            finished_at_ns: s.finished_at_ns,
        }
    }
}

#[derive(Serialize)]
struct JsonEntry {
    #[serde(rename = "type")]
    kind: String,
    mode: String,
    owner: String,
    group: String,
    size: u64,
    target: Option<String>,
}

#[derive(Serialize)]
struct JsonFile {
    path: String,
    change: ChangeKind,
    origin: Origin,
    package: Option<String>,
    secret: bool,
    before: Option<JsonEntry>,
    after: Option<JsonEntry>,
    /// The id of the command that made it, if one is known.
    intent: Option<i64>,
}

#[derive(Serialize)]
struct JsonUser {
    name: String,
    change: recorder::model::AccountChangeKind,
    uid: Option<u32>,
    home: Option<String>,
    shell: Option<String>,
    groups: Vec<String>,
    password_changed: bool,
    by_package: Option<String>,
}

#[derive(Serialize)]
struct JsonGroup {
    name: String,
    change: recorder::model::AccountChangeKind,
    gid: Option<u32>,
    members: Vec<String>,
    by_package: Option<String>,
}

#[derive(Serialize)]
struct JsonService {
    unit: String,
    enable: Option<recorder::model::Enable>,
    ensure: Option<recorder::model::Running>,
    package: Option<String>,
    subscribe: Vec<String>,
}

#[derive(Serialize)]
struct JsonNotice {
    kind: &'static str,
    path: Option<String>,
    message: String,
}

#[derive(Serialize)]
struct JsonCommand {
    id: i64,
    parent: Option<i64>,
    command: String,
    exit_code: Option<i32>,
    signal: Option<i32>,
    start_ns: i64,
    end_ns: Option<i64>,
}

fn entry(e: &recorder::model::Entry) -> JsonEntry {
    JsonEntry {
        kind: e.kind.to_string(),
        mode: format!("{:04o}", e.mode),
        owner: e.owner_name(),
        group: e.group_name(),
        size: e.size,
        target: e.link_target.as_deref().map(display_path),
    }
}

fn json(cs: &ChangeSet, args: &ShowArgs) -> JsonShow {
    let sys = &cs.system;
    let pick = |on: bool| args.wants(on);
    JsonShow {
        schema: SHOW_SCHEMA,
        session: JsonSession::of(&cs.session),
        files: if pick(args.files) {
            cs.changes
                .iter()
                .map(|c| JsonFile {
                    path: display_path(&c.path),
                    change: c.kind,
                    origin: c.origin.clone(),
                    package: c.package.clone(),
                    secret: c.secret,
                    before: c.before.as_ref().map(entry),
                    after: c.after.as_ref().map(entry),
                    intent: cs.why.of(Subject::File, &c.path).map(|i| i.id),
                })
                .collect()
        } else {
            Vec::new()
        },
        packages: if pick(args.packages) {
            sys.packages.clone()
        } else {
            Vec::new()
        },
        users: if pick(args.accounts) {
            sys.users
                .iter()
                .map(|u| {
                    let now = u.after.as_ref().or(u.before.as_ref());
                    JsonUser {
                        name: u.name.clone(),
                        change: u.kind,
                        uid: now.map(|x| x.uid),
                        home: now.map(|x| x.home.clone()),
                        shell: now.map(|x| x.shell.clone()),
                        groups: now.map(|x| x.groups.clone()).unwrap_or_default(),
                        password_changed: u.password_changed,
                        by_package: u.by_package.clone(),
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
        groups: if pick(args.accounts) {
            sys.groups
                .iter()
                .map(|g| {
                    let now = g.after.as_ref().or(g.before.as_ref());
                    JsonGroup {
                        name: g.name.clone(),
                        change: g.kind,
                        gid: now.map(|x| x.gid),
                        members: now.map(|x| x.members.clone()).unwrap_or_default(),
                        by_package: g.by_package.clone(),
                    }
                })
                .collect()
        } else {
            Vec::new()
        },
        services: if pick(args.services) {
            sys.services
                .iter()
                .map(|s| JsonService {
                    unit: s.unit.clone(),
                    enable: s.enable,
                    ensure: s.ensure,
                    package: s.package.clone(),
                    subscribe: s.subscribe.iter().map(|p| display_path(p)).collect(),
                })
                .collect()
        } else {
            Vec::new()
        },
        notices: cs
            .notices
            .iter()
            .map(|n| JsonNotice {
                kind: n.kind.as_str(),
                path: n.path.as_deref().map(display_path),
                message: n.message.clone(),
            })
            .collect(),
        commands: if pick(args.commands) {
            cs.why
                .intents
                .iter()
                .map(|i| JsonCommand {
                    id: i.id,
                    parent: i.parent,
                    command: i.text(),
                    exit_code: i.exit_code,
                    signal: i.signal,
                    start_ns: i.start_ns,
                    end_ns: i.end_ns,
                })
                .collect()
        } else {
            Vec::new()
        },
    }
}

#[derive(Serialize)]
struct JsonListed {
    #[serde(flatten)]
    session: JsonSession,
    changes: usize,
}

/// `cft list --json`: `{"schema": "cft-list/1", "sessions": [...]}`.
pub fn list_json(store: &Store) -> Result<()> {
    let mut sessions = Vec::new();
    for s in store.sessions()? {
        sessions.push(JsonListed {
            changes: store.changed_paths(s.id)?.len(),
            session: JsonSession::of(&s),
        });
    }
    let v = serde_json::json!({ "schema": "cft-list/1", "sessions": sessions });
    let mut s = serde_json::to_string_pretty(&v)?;
    s.push('\n');
    crate::output::write_stdout(s.as_bytes())
}

#[derive(Serialize)]
struct JsonRecording {
    #[serde(flatten)]
    session: JsonSession,
    daemon_pid: Option<i32>,
    daemon_alive: bool,
    /// Why `finish` will rescan every root, if it will.
    rescan: Option<String>,
    events: u64,
    paths: u64,
    baseline_entries: u64,
}

/// `cft status --json`: `{"schema": "cft-status/1", "recording": [...]}`.
pub fn status_json(st: &[recorder::session::Status]) -> Result<()> {
    let recording: Vec<JsonRecording> = st
        .iter()
        .map(|s| JsonRecording {
            session: JsonSession::of(&s.session),
            daemon_pid: s.session.daemon_pid,
            daemon_alive: s.daemon_alive,
            rescan: s
                .session
                .rescan_reason
                .clone()
                .or_else(|| (!s.daemon_alive).then(|| "the daemon is not running".to_string())),
            events: s.activity.events,
            paths: s.activity.paths,
            baseline_entries: s.activity.baseline_entries,
        })
        .collect();
    let v = serde_json::json!({ "schema": "cft-status/1", "recording": recording });
    let mut s = serde_json::to_string_pretty(&v)?;
    s.push('\n');
    crate::output::write_stdout(s.as_bytes())
}
