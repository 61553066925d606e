//! Attribution at `finish`: diff the probes' snapshots into packages,
//! accounts and services, and decide who made each file change.
//!
//! A file that is exactly what a package installed, a link a maintainer
//! script made while the package manager ran, an account database or a
//! service enablement link is not the admin's work as a file: the package,
//! user, group and service resources reproduce it. Timing comes from the
//! timeline: the daemon also watches the package managers' lock files,
//! which dpkg, apt and rpm hold open for exactly one run.

use crate::model::EventKind;
use crate::model::{is_within, parent, Change, ChangeKind, EntryKind, Origin};
use crate::model::{
    AccountChangeKind, AlternativeChange, DiversionChange, Enable, GroupChange, PackageChange,
    PackageChangeKind, Running, ServiceChange, SystemChanges, UserChange,
};
use crate::model::{
    Accounts, Enablement, PackageSnapshot, PackageState, Service, Services, SystemSnapshot,
};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Account databases: expressed as user and group resources.
const ACCOUNT_FILES: &[&[u8]] = &[
    b"/etc/passwd",
    b"/etc/group",
    b"/etc/shadow",
    b"/etc/gshadow",
    b"/etc/subuid",
    b"/etc/subgid",
];

/// Everything attribution looks at besides the two snapshots.
pub struct Inputs<'a> {
    pub target: &'a Target,
    /// The session's watched roots: only paths below them are changes.
    pub watched: &'a [Vec<u8>],
    /// (time, kind, path) of every event, oldest first.
    pub events: &'a [(i64, EventKind, Vec<u8>)],
    /// Who owns a path, and its stock md5, at finish.
    pub owner_of: &'a dyn Fn(&[u8]) -> Option<String>,
    pub stock_md5: &'a dyn Fn(&[u8]) -> Option<String>,
    /// Final contents of changed files, by path.
    pub contents: &'a HashMap<Vec<u8>, Vec<u8>>,
    /// The commands run during the session (shim and recording shell).
    pub intents: &'a [crate::model::Intent],
    /// Events may have been lost (a queue overflow, a dead daemon): a lock
    /// that never closed then proves nothing.
    pub events_lost: bool,
}

/// The file changes with their origins and packages, and the system
/// changes.
pub struct Attributed {
    pub changes: Vec<Change>,
    pub system: SystemChanges,
}

/// Diff the snapshots and decide who made each file change (its `origin`
/// and `package`); files a package made and the admin removed are added.
pub fn attribute(
    before: &SystemSnapshot,
    after: &SystemSnapshot,
    mut changes: Vec<Change>,
    inp: &Inputs,
) -> Attributed {
    let mut packages = diff_packages(&before.packages, &after.packages);
    // Named on an install command line: asked for, whatever apt's marks say.
    let named = crate::why::named_for_install(inp.intents);
    // `apt-get remove` or `purge` says absent or purged where the package
    // database cannot (rpm keeps no removed-with-configuration state).
    let removal = crate::why::asked_removal(inp.intents);
    for p in packages.iter_mut() {
        let base = p.name.split(':').next().unwrap_or(&p.name);
        match (p.kind, removal.get(base)) {
            (PackageChangeKind::Removed, Some(crate::intent::PackageOp::Purge)) => {
                p.kind = PackageChangeKind::Purged
            }
            (PackageChangeKind::Purged, Some(crate::intent::PackageOp::Remove)) => {
                p.kind = PackageChangeKind::Removed
            }
            _ => {}
        }
    }
    for p in packages.iter_mut() {
        let base = p.name.split(':').next().unwrap_or(&p.name);
        let present = !matches!(
            p.kind,
            PackageChangeKind::Removed | PackageChangeKind::Purged
        );
        if present && named.contains(base) {
            p.explicit = true;
        }
    }
    let touched: BTreeSet<&str> = packages
        .iter()
        .filter(|p| p.kind != PackageChangeKind::Removed && p.kind != PackageChangeKind::Purged)
        .map(|p| p.name.split(':').next().unwrap_or(&p.name))
        .collect();
    let gone: BTreeSet<&str> = packages
        .iter()
        .filter(|p| p.kind == PackageChangeKind::Removed || p.kind == PackageChangeKind::Purged)
        .map(|p| p.name.split(':').next().unwrap_or(&p.name))
        .collect();
    let windows = activity_windows(inp.events, !inp.events_lost);
    let seen = event_times(inp.events);

    for c in changes.iter_mut() {
        c.package = (inp.owner_of)(&c.path);
        c.origin = origin_of(c, &touched, &gone, &windows, &seen, inp);
    }
    let extra = removed_package_files(&changes, &touched, &windows, &seen, inp);
    if !extra.is_empty() {
        changes.extend(extra);
        changes.sort_by(|a, b| a.path.cmp(&b.path));
    }

    let installed: Vec<String> = touched.iter().map(|s| s.to_string()).collect();
    let (groups, users) = diff_accounts(
        &before.accounts,
        &after.accounts,
        &installed,
        &changes,
        inp.target,
    );
    homes_from_skel(&mut changes, &users, inp.target);
    let alternatives = diff_alternatives(&before.packages, &after.packages);
    let diversions = diff_diversions(&before.packages, &after.packages, inp.target);
    dpkg_state_files(&mut changes, &alternatives, &diversions);
    let services = diff_services(&before.services, &after.services, &touched, &changes, inp);
    let system = SystemChanges {
        family: after.packages.family.or(before.packages.family),
        packages,
        groups,
        users,
        services,
        alternatives,
        diversions,
    };
    Attributed { changes, system }
}

/// Alternatives the admin set by hand, or gave back to the priorities.
/// What the priorities chose as packages came and went is the package
/// manager's.
fn diff_alternatives(before: &PackageSnapshot, after: &PackageSnapshot) -> Vec<AlternativeChange> {
    let mut out = Vec::new();
    for (name, a) in &after.alternatives {
        let b = before.alternatives.get(name);
        let manual = match (b, a.manual) {
            (Some(b), true) if b.manual && b.value == a.value => continue,
            (_, true) => match &a.value {
                Some(v) => Some(v.clone()),
                None => continue,
            },
            (Some(b), false) if b.manual => None,
            _ => continue,
        };
        out.push(AlternativeChange {
            name: name.clone(),
            link: a.link.clone(),
            manual,
            slaves: a.slaves.clone(),
        });
    }
    out
}

/// Local diversions added or removed; those of packages are theirs.
fn diff_diversions(
    before: &PackageSnapshot,
    after: &PackageSnapshot,
    target: &Target,
) -> Vec<DiversionChange> {
    let local = |s: &PackageSnapshot| -> BTreeMap<Vec<u8>, Vec<u8>> {
        s.diversions
            .iter()
            .filter(|d| d.package.is_none())
            .map(|d| (d.from.clone(), d.to.clone()))
            .collect()
    };
    let (b, a) = (local(before), local(after));
    let exists = |p: &[u8]| std::fs::symlink_metadata(target.host_path(p)).is_ok();
    let mut out = Vec::new();
    for (from, to) in &a {
        if b.get(from) != Some(to) {
            out.push(DiversionChange {
                from: from.clone(),
                to: to.clone(),
                added: true,
                renamed: exists(to),
            });
        }
    }
    for (from, to) in &b {
        if !a.contains_key(from) {
            out.push(DiversionChange {
                from: from.clone(),
                to: to.clone(),
                added: false,
                renamed: !exists(to),
            });
        }
    }
    out.sort_by(|x, y| x.from.cmp(&y.from));
    out
}

/// The links in /etc/alternatives of a changed alternative, and the files
/// a diversion moved, are what the exec of that change does.
fn dpkg_state_files(
    changes: &mut [Change],
    alternatives: &[AlternativeChange],
    diversions: &[DiversionChange],
) {
    let mut paths: BTreeSet<Vec<u8>> = BTreeSet::new();
    for a in alternatives {
        for n in std::iter::once(&a.name).chain(&a.slaves) {
            paths.insert(crate::model::join(
                crate::probe::dpkg::state::ALTERNATIVES_LINKS,
                n.as_bytes(),
            ));
        }
    }
    for c in changes.iter_mut() {
        let moved = diversions.iter().any(|d| {
            // The renamed file: where it went, and, unless the admin put a
            // file of their own there, where it came from.
            d.renamed && (c.path == d.to || (c.path == d.from && c.after.is_none() == d.added))
        });
        if c.origin.is_admin() && (paths.contains(&c.path) || moved) {
            c.origin = Origin::DpkgState;
        }
    }
}

fn origin_of(
    c: &Change,
    touched: &BTreeSet<&str>,
    gone: &BTreeSet<&str>,
    windows: &[(i64, i64)],
    seen: &HashMap<&[u8], Vec<i64>>,
    inp: &Inputs,
) -> Origin {
    if ACCOUNT_FILES.contains(&&c.path[..]) {
        return Origin::Accounts;
    }
    if is_service_link(c) {
        return Origin::Service;
    }
    let owner = c
        .package
        .as_deref()
        .map(|p| p.split(':').next().unwrap_or(p));
    if let Some(p) = owner {
        if gone.contains(p) && c.after.is_none() {
            return Origin::Package(p.to_string());
        }
        if touched.contains(p) {
            match c.after.as_ref().map(|a| a.kind) {
                Some(EntryKind::File) => {
                    let stock = (inp.stock_md5)(&c.path);
                    let now = inp
                        .contents
                        .get(&c.path)
                        .map(|d| crate::probe::dpkg::md5_hex(d));
                    if stock.is_some() && stock == now {
                        return Origin::Package(p.to_string());
                    }
                }
                // Directories and links in a package's file list carry no
                // checksum: made by the package when it was installed.
                Some(_) if c.kind != ChangeKind::Metadata => return Origin::Package(p.to_string()),
                _ => {}
            }
        }
    }
    // Everything that happened to it happened while the package manager
    // ran: its maintainer scripts did it (a postinst's link, pam-auth-update).
    if !touched.is_empty() && all_in_windows(&c.path, windows, seen) {
        let names: Vec<&str> = touched.iter().copied().collect();
        return Origin::Package(names.join(", "));
    }
    Origin::Admin
}

/// `*.wants/`, `*.requires/` links and masks under /etc/systemd/system, and
/// SysV `/etc/rc?.d` links: service state, not files.
fn is_service_link(c: &Change) -> bool {
    let p = &c.path[..];
    let link_or_gone =
        |e: Option<&crate::model::Entry>| e.is_none_or(|e| e.kind == EntryKind::Symlink);
    if !(link_or_gone(c.before.as_ref()) && link_or_gone(c.after.as_ref())) {
        return false;
    }
    if let Some(dir) = parent(p) {
        let name = dir.rsplit(|&b| b == b'/').next().unwrap_or(dir);
        if is_within(dir, b"/etc/systemd/system")
            && (name.ends_with(b".wants") || name.ends_with(b".requires"))
        {
            return true;
        }
        if name.len() == 5
            && name.starts_with(b"rc")
            && b"0123456S".contains(&name[2])
            && name.ends_with(b".d")
            && parent(dir) == Some(b"/etc")
        {
            return true;
        }
        if dir == b"/etc/systemd/system" {
            let to_null = |e: Option<&crate::model::Entry>| {
                e.and_then(|e| e.link_target.as_deref()) == Some(b"/dev/null")
            };
            return to_null(c.before.as_ref()) || to_null(c.after.as_ref());
        }
    }
    false
}

/// Runs of the package manager: from the first open of one of its lock
/// files to the matching close (a lock still held at finish runs on).
fn activity_windows(events: &[(i64, EventKind, Vec<u8>)], keep_open: bool) -> Vec<(i64, i64)> {
    let mut open: HashMap<&[u8], (u32, i64)> = HashMap::new();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for (t, kind, path) in events {
        match kind {
            EventKind::LockOpened => {
                let e = open.entry(&path[..]).or_insert((0, *t));
                if e.0 == 0 {
                    e.1 = *t;
                }
                e.0 += 1;
            }
            EventKind::LockClosed => {
                if let Some(e) = open.get_mut(&path[..]) {
                    if e.0 > 0 {
                        e.0 -= 1;
                        if e.0 == 0 {
                            out.push((e.1, *t));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Still held at finish: a package manager is running. Unless its close
    // may have been lost, when claiming every later change for packages
    // would drop the admin's: those are kept as the admin's instead.
    if keep_open {
        out.extend(
            open.values()
                .filter(|(n, _)| *n > 0)
                .map(|(_, start)| (*start, i64::MAX)),
        );
    }
    out.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in out {
        match merged.last_mut() {
            Some((_, end)) if a <= *end => *end = (*end).max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Event times by path.
fn event_times(events: &[(i64, EventKind, Vec<u8>)]) -> HashMap<&[u8], Vec<i64>> {
    let mut m: HashMap<&[u8], Vec<i64>> = HashMap::new();
    for (t, kind, p) in events {
        if !matches!(kind, EventKind::LockOpened | EventKind::LockClosed) {
            m.entry(&p[..]).or_default().push(*t);
        }
    }
    m
}

/// Did every event of `path` fall in a package-manager window? A path with
/// no events of its own (found inside a new directory) goes by its nearest
/// ancestor that has some.
fn all_in_windows(path: &[u8], windows: &[(i64, i64)], seen: &HashMap<&[u8], Vec<i64>>) -> bool {
    let mut p = path;
    loop {
        if let Some(times) = seen.get(p) {
            return times
                .iter()
                .all(|t| windows.iter().any(|(a, b)| a <= t && t <= b));
        }
        match parent(p) {
            Some(up) if up != p => p = up,
            _ => return false,
        }
    }
}

/// Files a package installed in this session, or that its maintainer
/// scripts made while it ran, which the admin then deleted. They were
/// created and removed within the session, so the state difference shows
/// nothing, yet on a fresh machine the package makes them again: the module
/// must remove them after installing the package (nginx's
/// `sites-enabled/default`, apache's `000-default.conf`).
fn removed_package_files(
    changes: &[Change],
    touched: &BTreeSet<&str>,
    windows: &[(i64, i64)],
    seen: &HashMap<&[u8], Vec<i64>>,
    inp: &Inputs,
) -> Vec<Change> {
    let known: BTreeSet<&[u8]> = changes.iter().map(|c| &c.path[..]).collect();
    let in_window = |t: i64| windows.iter().any(|(a, b)| *a <= t && t <= *b);
    let base = |p: &str| p.split(':').next().unwrap_or(p).to_string();
    let mut gone: BTreeMap<&[u8], Option<String>> = BTreeMap::new();
    for (path, times) in seen {
        let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
            continue;
        };
        if known.contains(path)
            || in_window(*last)
            || !inp.watched.iter().any(|w| is_within(path, w))
            || std::fs::symlink_metadata(inp.target.host_path(path)).is_ok()
        {
            continue;
        }
        let package = match (inp.owner_of)(path) {
            Some(owner) if touched.contains(base(&owner).as_str()) => Some(owner),
            Some(_) => continue,
            // Not shipped, but made while the package manager ran: a
            // maintainer script's, credited to the package owning the
            // nearest directory above it.
            None if in_window(*first) && !touched.is_empty() => {
                owning_ancestor_where(path, inp.owner_of, &|o| touched.contains(base(o).as_str()))
            }
            None => continue,
        };
        gone.insert(path, package);
    }
    let paths: Vec<&[u8]> = gone.keys().copied().collect();
    gone.into_iter()
        .map(|(path, package)| {
            // Something removed below it was in it: it was a directory.
            let dir = paths
                .iter()
                .any(|p| p.len() > path.len() && is_within(p, path));
            Change {
                path: path.to_vec(),
                kind: if dir {
                    ChangeKind::DirRemoved
                } else {
                    ChangeKind::Removed
                },
                before: None,
                after: None,
                secret: false,
                origin: Origin::Admin,
                package,
            }
        })
        .collect()
}

/// Installed, removed, purged, upgraded and downgraded packages; only what
/// the admin asked for is explicit.
pub fn diff_packages(before: &PackageSnapshot, after: &PackageSnapshot) -> Vec<PackageChange> {
    let native = after
        .packages
        .values()
        .find(|p| p.name == "dpkg")
        .map(|p| p.arch.clone());
    let installed = |s: &PackageSnapshot, k: &str| {
        s.packages
            .get(k)
            .filter(|p| p.state == PackageState::Installed)
            .cloned()
    };
    let keys: BTreeSet<&String> = before
        .packages
        .keys()
        .chain(after.packages.keys())
        .collect();
    let mut out = Vec::new();
    let mut new_installs = Vec::new();
    for k in keys {
        let (b, a) = (installed(before, k), installed(after, k));
        let Some(any) = a.as_ref().or(b.as_ref()) else {
            continue;
        };
        let name = match &native {
            Some(n) if any.arch != *n && any.arch != "all" => format!("{}:{}", any.name, any.arch),
            _ => any.name.clone(),
        };
        let kind = match (&b, &a) {
            (None, Some(_)) => PackageChangeKind::Installed,
            (Some(_), None)
                if after
                    .packages
                    .get(k)
                    .is_some_and(|p| p.state == PackageState::ConfigFiles) =>
            {
                PackageChangeKind::Removed
            }
            (Some(_), None) => PackageChangeKind::Purged,
            (Some(b), Some(a)) if a.version != b.version => {
                if newer(&a.version, &b.version) {
                    PackageChangeKind::Upgraded
                } else {
                    PackageChangeKind::Downgraded
                }
            }
            (Some(b), Some(a)) if a.held != b.held => PackageChangeKind::Marked,
            _ => continue,
        };
        // `apt-mark hold` is the admin's, whatever else changed.
        let hold = match (&b, &a) {
            (_, Some(a)) if a.held != b.as_ref().is_some_and(|b| b.held) => Some(a.held),
            _ => None,
        };
        let explicit = match kind {
            PackageChangeKind::Installed => {
                if after.marks_known {
                    !a.as_ref().is_some_and(|p| p.auto)
                } else {
                    new_installs.push(a.clone().unwrap_or_else(|| any.clone()));
                    false // decided by the leaves below
                }
            }
            PackageChangeKind::Removed | PackageChangeKind::Purged => {
                !b.as_ref().is_some_and(|p| p.auto)
            }
            // apt upgrades what an install needs newer (`perl-base`,
            // `libssl3`): the package manager's business, unless a command
            // line named the package (set by the caller).
            PackageChangeKind::Upgraded => false,
            PackageChangeKind::Downgraded => !a.as_ref().is_some_and(|p| p.auto),
            PackageChangeKind::Marked => true,
        } || hold == Some(true);
        out.push(PackageChange {
            name,
            arch: any.arch.clone(),
            kind,
            before_version: b.map(|p| p.version),
            after_version: a.map(|p| p.version),
            explicit,
            hold,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if !new_installs.is_empty() {
        let leaves: BTreeSet<String> = crate::probe::leaves(&new_installs, after)
            .into_iter()
            .collect();
        for c in out
            .iter_mut()
            .filter(|c| c.kind == PackageChangeKind::Installed)
        {
            let plain = c.name.split(':').next().unwrap_or(&c.name);
            c.explicit = leaves.contains(plain) || c.hold == Some(true);
        }
    }
    out
}

fn newer(a: &str, b: &str) -> bool {
    match (
        a.parse::<debversion::Version>(),
        b.parse::<debversion::Version>(),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}

/// Is this a real password hash (not a locked or empty marker)?
fn is_hash(p: Option<&String>) -> bool {
    p.is_some_and(|h| h.starts_with('$') && h.len() > 3)
}

/// Created, changed and removed users and groups; system accounts that a
/// package's maintainer scripts made belong to the package.
fn diff_accounts(
    before: &Accounts,
    after: &Accounts,
    installed: &[String],
    changes: &[Change],
    target: &Target,
) -> (Vec<GroupChange>, Vec<UserChange>) {
    let scripts = maintainer_scripts(target, installed);
    let by_package = |name: &str, id: u32| -> Option<String> {
        if id >= 1000 {
            return None;
        }
        scripts
            .iter()
            .find(|(_, text)| contains_word(text, name))
            .map(|(pkg, _)| pkg.clone())
    };
    let kind = |b: bool, a: bool| match (b, a) {
        (false, true) => AccountChangeKind::Created,
        (true, false) => AccountChangeKind::Removed,
        _ => AccountChangeKind::Changed,
    };
    let mut groups = Vec::new();
    let names: BTreeSet<&String> = before.groups.keys().chain(after.groups.keys()).collect();
    for n in names {
        let (b, a) = (before.groups.get(n), after.groups.get(n));
        if b == a {
            continue;
        }
        let k = kind(b.is_some(), a.is_some());
        groups.push(GroupChange {
            name: n.clone(),
            kind: k,
            by_package: match (k, a) {
                (AccountChangeKind::Created, Some(g)) => by_package(n, g.gid),
                _ => None,
            },
            before: b.cloned(),
            after: a.cloned(),
        });
    }
    let mut users = Vec::new();
    let names: BTreeSet<&String> = before.users.keys().chain(after.users.keys()).collect();
    for n in names {
        let (b, a) = (before.users.get(n), after.users.get(n));
        if b == a {
            continue;
        }
        let k = kind(b.is_some(), a.is_some());
        // /home is not watched: a new user whose home exists now got it
        // from useradd -m (or the home was recorded as created).
        let home_created = a.is_some_and(|u| {
            changes
                .iter()
                .any(|c| c.kind == ChangeKind::DirCreated && c.path == u.home.as_bytes())
                || (k == AccountChangeKind::Created
                    && u.home.starts_with('/')
                    && u.home != "/"
                    && std::fs::symlink_metadata(target.host_path(u.home.as_bytes()))
                        .is_ok_and(|m| m.is_dir()))
        });
        users.push(UserChange {
            name: n.clone(),
            kind: k,
            home_created,
            password_changed: is_hash(a.and_then(|u| u.password.as_ref()))
                && a.and_then(|u| u.password.as_ref()) != b.and_then(|u| u.password.as_ref()),
            by_package: match (k, a) {
                (AccountChangeKind::Created, Some(u)) => by_package(n, u.uid),
                _ => None,
            },
            before: b.cloned(),
            after: a.cloned(),
        });
    }
    (groups, users)
}

/// A home that `useradd -m` made, and what it copied there from
/// `/etc/skel`, are the user resource's (`managehome`), not files: only
/// what the admin changed or added afterwards stays the admin's.
fn homes_from_skel(changes: &mut [Change], users: &[UserChange], target: &Target) {
    let defs = crate::probe::fs::read_target(target, b"/etc/login.defs").unwrap_or_default();
    let setting = |key: &str| {
        String::from_utf8_lossy(&defs).lines().find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(key))
                .then(|| {
                    w.next()
                        .and_then(|v| u32::from_str_radix(v.trim_start_matches("0o"), 8).ok())
                })
                .flatten()
        })
    };
    let home_mode = setting("HOME_MODE").unwrap_or(0o777 & !setting("UMASK").unwrap_or(0o022));
    for u in users {
        let Some(user) = u.after.as_ref().filter(|_| u.home_created) else {
            continue;
        };
        let home = user.home.as_bytes();
        if home.len() < 2 || !home.starts_with(b"/") {
            continue;
        }
        for c in changes
            .iter_mut()
            .filter(|c| c.origin.is_admin() && is_within(&c.path, home))
        {
            let Some(a) = c.after.as_ref() else {
                continue;
            };
            let rel = &c.path[home.len()..];
            let from_useradd = if rel.is_empty() {
                a.kind == EntryKind::Dir && a.uid == user.uid && a.mode == home_mode
            } else {
                let mut skel = b"/etc/skel".to_vec();
                skel.extend_from_slice(rel);
                match a.kind {
                    EntryKind::Dir => {
                        crate::probe::fs::read_dir(target, &skel).is_ok_and(|d| d.is_some())
                    }
                    EntryKind::File => crate::probe::fs::read_target(target, &skel)
                        .is_some_and(|data| a.hash == Some(crate::model::ContentHash::of(&data))),
                    _ => false,
                }
            };
            if from_useradd && c.kind != ChangeKind::Metadata {
                c.origin = Origin::Accounts;
            }
        }
    }
}

/// The maintainer scripts of these packages, as text.
fn maintainer_scripts(target: &Target, packages: &[String]) -> Vec<(String, String)> {
    let Ok(Some((dir, entries))) = crate::probe::fs::read_dir(target, b"/var/lib/dpkg/info") else {
        return Vec::new();
    };
    let names: Vec<String> = entries
        .into_iter()
        .filter(|e| e.file_type.is_file())
        .filter_map(|e| String::from_utf8(e.name).ok())
        .collect();
    let mut out = Vec::new();
    for n in names {
        let Some((stem, ext)) = n.rsplit_once('.') else {
            continue;
        };
        if !matches!(ext, "postinst" | "preinst") {
            continue;
        }
        let pkg = stem.split(':').next().unwrap_or(stem);
        if packages.iter().any(|p| p == pkg) {
            let path = crate::model::join(&dir, n.as_bytes());
            if let Some(text) = crate::probe::fs::read_target(target, &path) {
                out.push((pkg.to_string(), String::from_utf8_lossy(&text).into_owned()));
            }
        }
    }
    out
}

fn contains_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// The enablement Puppet can manage, if any.
fn enable_of(s: Option<&Service>) -> Option<Enable> {
    let s = s?;
    match s.enablement {
        Enablement::Enabled => Some(Enable::True),
        Enablement::Disabled => Some(Enable::False),
        Enablement::Masked => Some(Enable::Mask),
        Enablement::Generated => Some(if s.sysv_start_runlevels.is_empty() {
            Enable::False
        } else {
            Enable::True
        }),
        _ => None,
    }
}

/// Services whose enablement the admin changed. A unit that a package
/// installed in this session enabled by itself (deb-systemd-helper) is the
/// package's doing unless the admin changed it afterwards.
fn diff_services(
    before: &Services,
    after: &Services,
    touched: &BTreeSet<&str>,
    changes: &[Change],
    inp: &Inputs,
) -> Vec<ServiceChange> {
    let units: BTreeSet<&String> = before.units.keys().chain(after.units.keys()).collect();
    let live = inp.target.host_path(b"/") == std::path::Path::new("/")
        && std::path::Path::new("/run/systemd/system").is_dir();
    // Where no live systemd can tell, the admin's last start or stop does.
    let wanted = crate::why::wanted_running(inp.intents);
    let units: BTreeSet<&String> = units
        .into_iter()
        .chain(wanted.keys().filter(|u| after.units.contains_key(*u)))
        .collect();
    let mut out = Vec::new();
    for u in units {
        let (b, a) = (before.units.get(u), after.units.get(u));
        let (eb, ea) = (enable_of(b), enable_of(a));
        let package = unit_package(u, a.or(b), inp);
        let new_pkg = package.as_deref().is_some_and(|p| touched.contains(p));
        let enable = if new_pkg && b.is_none() {
            // The package's default is what its postinst did: enabled where
            // deb-systemd-helper recorded it.
            // A mask shipped below /lib (sudo masks its unit) is the
            // package's too; only one in /etc is the admin's.
            let default = if dsh_enabled(inp.target, u) {
                Enable::True
            } else if ea == Some(Enable::Mask) && !admin_mask(inp.target, u) {
                Enable::Mask
            } else {
                Enable::False
            };
            ea.filter(|e| *e != default)
        } else if eb != ea {
            ea
        } else {
            None
        };
        let asked = wanted.contains_key(u.as_str());
        // A service that runs (as its package left it, or as the admin set
        // it) restarts when the admin changes its configuration, even if
        // its enablement stays the package's.
        // Only a service restarts; a timer or socket would not reread it.
        let runs = u.ends_with(".service") && (asked || enable_of(a) == Some(Enable::True));
        let subscribe = if runs || enable.is_some() {
            subscriptions(u, package.as_deref(), changes, inp)
        } else {
            Vec::new()
        };
        if enable.is_none() && !asked && subscribe.is_empty() {
            continue;
        }
        let ensure = if live {
            running_state(u)
        } else {
            wanted.get(u.as_str()).copied()
        };
        out.push(ServiceChange {
            unit: u.clone(),
            before: b.cloned(),
            after: a.cloned(),
            enable,
            ensure,
            package,
            subscribe,
        });
    }
    out
}

fn unit_package(unit: &str, s: Option<&Service>, inp: &Inputs) -> Option<String> {
    let stem = unit.strip_suffix(".service").unwrap_or(unit);
    let mut candidates = vec![
        format!("/lib/systemd/system/{unit}"),
        format!("/usr/lib/systemd/system/{unit}"),
    ];
    if s.is_some_and(|s| s.has_init_script) {
        candidates.push(format!("/etc/init.d/{stem}"));
    }
    candidates
        .iter()
        .find_map(|p| (inp.owner_of)(p.as_bytes()))
        .map(|p| p.split(':').next().unwrap_or(&p).to_string())
}

/// Is `unit` masked in /etc (by the admin), rather than by its vendor?
fn admin_mask(target: &Target, unit: &str) -> bool {
    let path = format!("/etc/systemd/system/{unit}");
    std::fs::read_link(target.host_path(path.as_bytes()))
        .is_ok_and(|t| t == std::path::Path::new("/dev/null"))
}

fn dsh_enabled(target: &Target, unit: &str) -> bool {
    let dir = target.host_path(b"/var/lib/systemd/deb-systemd-helper-enabled");
    dir.join(format!("{unit}.dsh-also")).exists() || dir.join(unit).exists()
}

/// Emitted files that should restart the service: its package's changed
/// files, and files its unit file or init script names.
fn subscriptions(
    unit: &str,
    package: Option<&str>,
    changes: &[Change],
    inp: &Inputs,
) -> Vec<Vec<u8>> {
    let stem = unit.strip_suffix(".service").unwrap_or(unit);
    let mut text = Vec::new();
    for p in [
        format!("/etc/systemd/system/{unit}"),
        format!("/lib/systemd/system/{unit}"),
        format!("/usr/lib/systemd/system/{unit}"),
        format!("/etc/init.d/{stem}"),
        format!("/etc/default/{stem}"),
    ] {
        if let Some(t) = crate::probe::fs::read_target(inp.target, p.as_bytes()) {
            text.extend_from_slice(&t);
            text.push(b'\n');
        }
    }
    let drop_ins = format!("/etc/systemd/system/{unit}.d");
    let own_dir = format!("/etc/{}", stem.split('@').next().unwrap_or(stem));
    let mut out: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
    for c in changes {
        // What a file resource manages and a restart can depend on:
        // files, links and removals, not directories.
        let managed = match &c.after {
            Some(a) => matches!(a.kind, EntryKind::File | EntryKind::Symlink),
            None => c.kind == ChangeKind::Removed,
        };
        if !managed || !c.origin.is_admin() {
            continue;
        }
        // Its package's own files, and anything in the configuration
        // directory named after it (`/etc/nginx/sites-available/app`).
        let owned = package.is_some()
            && c.package
                .as_deref()
                .map(|p| p.split(':').next().unwrap_or(p))
                == package;
        let in_own_dir = is_within(&c.path, own_dir.as_bytes());
        let named = text.windows(c.path.len()).any(|w| w == &c.path[..]);
        let unit_file = c.path.ends_with(format!("/{unit}").as_bytes())
            || is_within(&c.path, drop_ins.as_bytes());
        if owned || in_own_dir || named || unit_file {
            out.insert(c.path.clone(), ());
        }
    }
    out.into_keys().collect()
}

/// The package owning the nearest directory above `path` that `accept`
/// takes, below the top level (`/etc` itself belongs to base-files and
/// says nothing).
fn owning_ancestor_where(
    path: &[u8],
    owner_of: &dyn Fn(&[u8]) -> Option<String>,
    accept: &dyn Fn(&str) -> bool,
) -> Option<String> {
    let mut up = parent(path);
    while let Some(dir) = up.filter(|d| d.len() > 1 && parent(d) != Some(b"/")) {
        if let Some(o) = owner_of(dir).filter(|o| accept(o)) {
            return Some(o);
        }
        up = parent(dir);
    }
    None
}

fn running_state(unit: &str) -> Option<Running> {
    let st = std::process::Command::new("systemctl")
        .args(["is-active", "--quiet", unit])
        .status()
        .ok()?;
    Some(if st.success() {
        Running::Running
    } else {
        Running::Stopped
    })
}

#[cfg(test)]
mod tests;
