//! Attribution at `finish`: diff the probes' snapshots into packages,
//! accounts and services, and decide who made each file change.
//!
//! A file that is exactly what a package installed, a link a maintainer
//! script made while the package manager ran, an account database or a
//! service enablement link is not the admin's work as a file: the package,
//! user, group and service resources reproduce it. Timing comes from the
//! timeline: the daemon also watches the package managers' lock files,
//! which dpkg, apt and rpm hold open for exactly one run.
//!
//! Here: the origin of each file change. `packages`, `accounts`,
//! `services` and `dpkg` diff the snapshots into their system changes.

use crate::model::EventKind;
use crate::model::SystemSnapshot;
use crate::model::{is_within, parent, Change, ChangeKind, EntryKind, Origin};
use crate::model::{PackageChangeKind, SystemChanges};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
    /// The md5 of a changed file's final content, by path (read back from
    /// the store as it streams: contents are never all held at once).
    pub final_md5: &'a dyn Fn(&[u8]) -> Option<String>,
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
    // Event times only ever decide for a package the session touched.
    let seen = if touched.is_empty() {
        HashMap::new()
    } else {
        event_times(inp.events)
    };

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

mod accounts;
mod dpkg;
mod packages;
mod services;

pub(crate) use accounts::made_by_packages;
use accounts::{diff_accounts, homes_from_skel};
use dpkg::{diff_alternatives, diff_diversions, dpkg_state_files};
pub use packages::diff_packages;
use services::diff_services;
pub(crate) use services::{admin_mask, dsh_enabled};

pub(super) fn origin_of(
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
                    let now = (inp.final_md5)(&c.path);
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
pub(super) fn is_service_link(c: &Change) -> bool {
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
pub(super) fn activity_windows(
    events: &[(i64, EventKind, Vec<u8>)],
    keep_open: bool,
) -> Vec<(i64, i64)> {
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
pub(super) fn event_times(events: &[(i64, EventKind, Vec<u8>)]) -> HashMap<&[u8], Vec<i64>> {
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
pub(super) fn all_in_windows(
    path: &[u8],
    windows: &[(i64, i64)],
    seen: &HashMap<&[u8], Vec<i64>>,
) -> bool {
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
pub(super) fn removed_package_files(
    changes: &[Change],
    touched: &BTreeSet<&str>,
    windows: &[(i64, i64)],
    seen: &HashMap<&[u8], Vec<i64>>,
    inp: &Inputs,
) -> Vec<Change> {
    // Each path found below is a touched package's, or made while one was
    // installed.
    if touched.is_empty() {
        return Vec::new();
    }
    let known: HashSet<&[u8]> = changes.iter().map(|c| &c.path[..]).collect();
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
            let mut c = Change {
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
            };
            // An enablement link the admin removed (`systemctl disable`) is
            // the service resource's to express.
            if is_service_link(&c) {
                c.origin = Origin::Service;
            }
            c
        })
        .collect()
}

/// The package owning the nearest directory above `path` that `accept`
/// takes, below the top level (`/etc` itself belongs to base-files and
/// says nothing).
pub(super) fn owning_ancestor_where(
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

#[cfg(test)]
mod tests;
