//! Why each change happened: the attribution of every file, package,
//! account and service change to the command (typed line or wrapped tool)
//! during which it happened, computed at `finish`.
//!
//! Names first, time second. A package, account or service a command
//! names (and that command's kind of operation fits the change) is that
//! command's; apt's own history log maps the dependencies an `apt-get`
//! pulled in to that `apt-get`. Files go to the innermost command running
//! when the watcher last saw them change; a file a package or maintainer
//! script made goes to that package's command. What cannot be told apart
//! stays unattributed rather than guessed.

use crate::intent::{account_names, package_op, service_names, service_op, PackageOp};
use crate::model::EventKind;
use crate::model::{Change, Origin};
use crate::model::{Intent, IntentSource};
use crate::model::{PackageChangeKind, Running, SystemChanges};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod apt;
use crate::model::{Attribution, Subject, Why};
use apt::apt_history;
pub(crate) use apt::history_entries;

/// An event this long after a command's recorded end still counts as its
/// own: the watcher stamps events when it reads them, a little later.
const SLACK_NS: i64 = 300_000_000;

/// Package managers: what runs under them is a maintainer script's doing.
const PACKAGE_TOOLS: &[&str] = &["apt", "apt-get", "aptitude", "dpkg", "dnf", "yum", "rpm"];

impl Why {
    /// Top-level commands that succeeded, changed nothing cft recorded and
    /// are not merely looking around (`ls`, `systemctl status`, an editor
    /// that saved nothing): the candidates for `cft manifest --exec`.
    pub fn unexpressed(&self) -> Vec<&Intent> {
        self.top_level()
            .filter(|i| i.succeeded() && !is_read_only(i) && self.changes_of(i.id).is_empty())
            .collect()
    }
}

/// Commands that never change the system worth replaying.
fn is_read_only(i: &Intent) -> bool {
    const VIEWERS: &[&str] = &[
        "ls",
        "ll",
        "cat",
        "less",
        "more",
        "head",
        "tail",
        "grep",
        "egrep",
        "find",
        "cd",
        "pwd",
        "echo",
        "printf",
        "id",
        "whoami",
        "getent",
        "which",
        "type",
        "man",
        "history",
        "clear",
        "exit",
        "logout",
        "ps",
        "top",
        "htop",
        "df",
        "du",
        "free",
        "uname",
        "date",
        "true",
        "false",
        "test",
        "[",
        "diff",
        "stat",
        "file",
        "vi",
        "vim",
        "nano",
        "emacs",
        "view",
        "journalctl",
        "ss",
        "netstat",
        "ping",
        "wc",
        "sort",
        "tree",
        "readlink",
        "realpath",
        "apt-cache",
        "dpkg-query",
        "lsblk",
        "mount",
        "w",
        "who",
        "uptime",
        "env",
        "set",
        "export",
        "alias",
        "source",
        ".",
        "sleep",
        // cft's own commands and hooks.
        "cft",
        "cft_unhook",
    ];
    let commands = i.commands();
    !commands.is_empty()
        && commands.iter().all(|c| {
            let tool = c[0].as_str();
            if c[1..].iter().any(|w| w == "--version" || w == "--help") {
                return true;
            }
            let verb = c[1..]
                .iter()
                .find(|w| !w.starts_with('-'))
                .map(String::as_str);
            VIEWERS.contains(&tool)
                || match tool {
                    "systemctl" => matches!(
                        verb,
                        None | Some(
                            "status"
                                | "is-active"
                                | "is-enabled"
                                | "is-failed"
                                | "show"
                                | "cat"
                                | "list-units"
                                | "list-unit-files"
                                | "list-timers"
                                | "daemon-reload"
                        )
                    ),
                    "apt" | "apt-get" | "aptitude" => matches!(
                        verb,
                        Some("update" | "search" | "show" | "list" | "policy" | "download")
                    ),
                    "dpkg" => c[1..]
                        .iter()
                        .any(|w| matches!(w.as_str(), "-l" | "-L" | "-s" | "-S" | "--list")),
                    "rpm" => c[1..].iter().any(|w| w.starts_with("-q")),
                    "dnf" | "yum" => {
                        matches!(
                            verb,
                            Some("search" | "info" | "list" | "repolist" | "makecache")
                        )
                    }
                    _ => false,
                }
        })
}

/// What attribution looks at.
pub struct Inputs<'a> {
    pub target: &'a Target,
    pub intents: &'a [Intent],
    /// (time, kind, path) of every event, oldest first.
    pub events: &'a [(i64, EventKind, Vec<u8>)],
    pub changes: &'a [Change],
    pub system: &'a SystemChanges,
}

/// Attribute every change of the session.
pub fn attribute(inp: &Inputs) -> Vec<Attribution> {
    if inp.intents.is_empty() {
        return Vec::new();
    }
    let ctx = Ctx::new(inp.intents);
    let mut last_seen: HashMap<&[u8], i64> = HashMap::new();
    for (t, _, p) in inp.events {
        let e = last_seen.entry(&p[..]).or_insert(*t);
        *e = (*e).max(*t);
    }
    let at = |p: &[u8]| last_seen.get(p).and_then(|t| ctx.running_at(*t));
    let mut out: BTreeMap<(Subject, Vec<u8>), i64> = BTreeMap::new();

    let history = apt_history(inp.target, &ctx);
    let mut packages: HashMap<&str, i64> = HashMap::new();
    for p in &inp.system.packages {
        let base = p.name.split(':').next().unwrap_or(&p.name);
        let removal = matches!(
            p.kind,
            PackageChangeKind::Removed | PackageChangeKind::Purged
        );
        let named = ctx.last_naming(|words| {
            package_op(words).is_some_and(|(op, names)| {
                (op != PackageOp::Install) == removal && names.iter().any(|n| n == base)
            })
        });
        let by_files = || {
            let ids: BTreeSet<i64> = inp
                .changes
                .iter()
                .filter(|c| c.package.as_deref().map(|o| o.split(':').next()) == Some(Some(base)))
                .filter_map(|c| at(&c.path))
                .filter_map(|id| ctx.outer_package_tool(id))
                .collect();
            (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
        };
        let id = named
            .or_else(|| history.get(base).copied())
            .or_else(by_files)
            .or_else(|| ctx.only_package_tool(removal));
        if let Some(id) = id {
            packages.insert(base, id);
            out.insert((Subject::Package, p.name.as_bytes().to_vec()), id);
        }
    }
    let package_of = |p: &str| packages.get(p.split(':').next().unwrap_or(p)).copied();

    for c in inp.changes {
        let id = match &c.origin {
            Origin::Package(p) => package_of(p).or_else(|| at(&c.path)),
            _ => at(&c.path),
        };
        if let Some(id) = id {
            out.insert((Subject::File, c.path.clone()), id);
        }
    }

    let account_file = |file: &[u8]| -> Option<i64> {
        let ids: BTreeSet<i64> = inp
            .events
            .iter()
            .filter(|(_, _, p)| p == file)
            .filter_map(|(t, _, _)| ctx.running_at(*t))
            .collect();
        (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
    };
    for u in &inp.system.users {
        let id = u
            .by_package
            .as_deref()
            .and_then(package_of)
            .or_else(|| {
                ctx.last_admin_naming(|w| account_names(w).contains(&(false, u.name.clone())))
            })
            .or_else(|| account_file(b"/etc/passwd"));
        if let Some(id) = id {
            out.insert((Subject::User, u.name.as_bytes().to_vec()), id);
        }
    }
    for g in &inp.system.groups {
        let id = g
            .by_package
            .as_deref()
            .and_then(package_of)
            .or_else(|| {
                ctx.last_admin_naming(|w| account_names(w).contains(&(true, g.name.clone())))
            })
            .or_else(|| account_file(b"/etc/group"));
        if let Some(id) = id {
            out.insert((Subject::Group, g.name.as_bytes().to_vec()), id);
        }
    }
    for s in &inp.system.services {
        let links = || {
            let ids: BTreeSet<i64> = inp
                .changes
                .iter()
                .filter(|c| c.origin == Origin::Service && c.path.ends_with(s.unit.as_bytes()))
                .filter_map(|c| at(&c.path))
                .collect();
            (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
        };
        let id = ctx
            .last_admin_naming(|w| service_names(w).contains(&s.unit))
            .or_else(links)
            .or_else(|| s.package.as_deref().and_then(package_of));
        if let Some(id) = id {
            out.insert((Subject::Service, s.unit.as_bytes().to_vec()), id);
        }
    }
    out.into_iter()
        .map(|((subject, name), intent)| Attribution {
            subject,
            name,
            intent,
        })
        .collect()
}

/// Packages an admin's install command named: explicit whatever the
/// package database's marks say.
pub fn named_for_install(intents: &[Intent]) -> BTreeSet<String> {
    let ctx = Ctx::new(intents);
    let mut out = BTreeSet::new();
    for (i, words) in ctx.admin_commands() {
        if !i.succeeded() {
            continue;
        }
        if let Some((PackageOp::Install, names)) = package_op(words) {
            out.extend(names);
        }
    }
    out
}

/// How the admin last asked each package to go: removed (configuration
/// kept) or purged.
pub fn asked_removal(intents: &[Intent]) -> BTreeMap<String, PackageOp> {
    let ctx = Ctx::new(intents);
    let mut out = BTreeMap::new();
    for (i, words) in ctx.admin_commands() {
        if !i.succeeded() {
            continue;
        }
        if let Some((op @ (PackageOp::Remove | PackageOp::Purge), names)) = package_op(words) {
            for n in names {
                out.insert(n, op);
            }
        }
    }
    out
}

/// The running state the admin last asked each unit to be in.
pub fn wanted_running(intents: &[Intent]) -> BTreeMap<String, Running> {
    let ctx = Ctx::new(intents);
    let mut out = BTreeMap::new();
    for (i, words) in ctx.admin_commands() {
        if !i.succeeded() {
            continue;
        }
        if let Some((state, units)) = service_op(words) {
            for u in units {
                out.insert(u, state);
            }
        }
    }
    out
}

struct Ctx<'a> {
    /// Sorted by start.
    intents: Vec<&'a Intent>,
    /// Ends inferred for typed lines whose end was not logged.
    ends: HashMap<i64, i64>,
    by_id: HashMap<i64, &'a Intent>,
    /// Intents that ran a wrapped tool (their lines' words are not read
    /// again: the tool's argv is exact).
    has_tool_child: BTreeSet<i64>,
    words: HashMap<i64, Vec<Vec<String>>>,
}

impl<'a> Ctx<'a> {
    fn new(intents: &'a [Intent]) -> Ctx<'a> {
        let mut sorted: Vec<&Intent> = intents.iter().collect();
        sorted.sort_by_key(|i| (i.start_ns, i.id));
        // A typed line whose end was never logged (`exit`, a shell that was
        // killed) ended when its shell read the next line.
        let mut ends: HashMap<i64, i64> = HashMap::new();
        for (n, i) in sorted.iter().enumerate() {
            if i.source != IntentSource::Line || i.end_ns.is_some() {
                continue;
            }
            let next = sorted[n + 1..]
                .iter()
                .find(|j| j.source == IntentSource::Line && j.pid == i.pid);
            if let Some(next) = next {
                ends.insert(i.id, next.start_ns);
            }
        }
        let by_id = intents.iter().map(|i| (i.id, i)).collect();
        let has_tool_child = intents
            .iter()
            .filter(|i| i.source == IntentSource::Tool)
            .filter_map(|i| i.parent)
            .collect();
        let words = intents.iter().map(|i| (i.id, i.commands())).collect();
        Ctx {
            intents: sorted,
            ends,
            by_id,
            has_tool_child,
            words,
        }
    }

    /// The innermost intent running at `t`: the latest one started by
    /// then that had not ended (give or take the watcher's lag).
    fn running_at(&self, t: i64) -> Option<i64> {
        self.intents
            .iter()
            .rev()
            .filter(|i| i.start_ns <= t)
            .find(|i| {
                i.end_ns
                    .or_else(|| self.ends.get(&i.id).copied())
                    .is_none_or(|e| t <= e.saturating_add(SLACK_NS))
            })
            .map(|i| i.id)
    }

    fn is_package_tool(&self, i: &Intent) -> bool {
        i.source == IntentSource::Tool
            && self.words[&i.id]
                .first()
                .and_then(|w| w.first())
                .is_some_and(|t| PACKAGE_TOOLS.contains(&t.as_str()))
    }

    /// Run by a package manager (a maintainer script's command)?
    fn under_package_tool(&self, i: &Intent) -> bool {
        let mut cur = i.parent;
        for _ in 0..64 {
            let Some(p) = cur.and_then(|p| self.by_id.get(&p)) else {
                return false;
            };
            if self.is_package_tool(p) {
                return true;
            }
            cur = p.parent;
        }
        false
    }

    /// The outermost package-manager intent at or above `id`.
    fn outer_package_tool(&self, id: i64) -> Option<i64> {
        let mut found = None;
        let mut cur = Some(id);
        for _ in 0..64 {
            let Some(i) = cur.and_then(|c| self.by_id.get(&c)) else {
                break;
            };
            if self.is_package_tool(i) {
                found = Some(i.id);
            }
            cur = i.parent;
        }
        found
    }

    /// The commands whose words say what they mean: wrapped tools, and
    /// typed lines that ran no wrapped tool (the shim was not in front).
    fn commands(&self) -> impl Iterator<Item = (&'a Intent, &Vec<String>)> + '_ {
        self.intents
            .iter()
            .filter(|i| i.source == IntentSource::Tool || !self.has_tool_child.contains(&i.id))
            .flat_map(|i| self.words[&i.id].iter().map(move |w| (*i, w)))
    }

    fn admin_commands(&self) -> impl Iterator<Item = (&'a Intent, &Vec<String>)> + '_ {
        self.commands().filter(|(i, _)| !self.under_package_tool(i))
    }

    fn last_naming(&self, names: impl Fn(&[String]) -> bool) -> Option<i64> {
        let mut found: Vec<&Intent> = self
            .commands()
            .filter(|(_, w)| names(w))
            .map(|(i, _)| i)
            .collect();
        found.sort_by_key(|i| (i.succeeded(), i.start_ns, i.id));
        found.last().map(|i| i.id)
    }

    fn last_admin_naming(&self, names: impl Fn(&[String]) -> bool) -> Option<i64> {
        let mut found: Vec<&Intent> = self
            .admin_commands()
            .filter(|(_, w)| names(w))
            .map(|(i, _)| i)
            .collect();
        found.sort_by_key(|i| (i.succeeded(), i.start_ns, i.id));
        found.last().map(|i| i.id)
    }

    /// The one top-level package command of this kind, if there was one.
    fn only_package_tool(&self, removal: bool) -> Option<i64> {
        let ids: BTreeSet<i64> = self
            .admin_commands()
            .filter(|(_, w)| {
                package_op(w).is_some_and(|(op, _)| (op != PackageOp::Install) == removal)
            })
            .map(|(i, _)| i.id)
            .collect();
        (ids.len() == 1).then(|| ids.into_iter().next()).flatten()
    }
}

#[cfg(test)]
mod tests;
