//! The machine against what its packages shipped, when no reference root
//! is given: a file a package shipped is changed when its content no
//! longer has the shipped md5 and removed when it is gone; a file no
//! package owns was made after the system's own installation when its
//! mtime says so. And the system "before": what the packages and the
//! installer set, as far as the package database and the logs tell.

use super::logs::{Logs, Verb};
use crate::attribute::{admin_mask, dsh_enabled, made_by_packages};
use crate::ignore_rules::Ignore;
use crate::model::{
    ChangeKind, Content, Enablement, EntryKind, Notice, NoticeKind, Package, PackageState,
    SystemSnapshot,
};
use crate::probe::dpkg::{md5_hex, DpkgFiles};
use crate::progress::Progress;
use crate::reconcile::{push_change, FileDiff};
use crate::snapshot::Scanner;
use crate::target::Target;
use std::collections::BTreeSet;

/// How many entries were taken for the installer's (unowned, and older
/// than the boundary), for the summary.
pub struct Diffed {
    pub files: FileDiff,
    pub older: usize,
}

/// Compare the watched roots with what the packages shipped.
pub fn file_diff(
    target: &Target,
    watched: &[Vec<u8>],
    ignore: &Ignore,
    cap: u64,
    files: &DpkgFiles,
    boundary: Option<i64>,
    progress: &dyn Progress,
) -> Diffed {
    let scanner = Scanner {
        target,
        ignore,
        content_cap: cap,
        progress,
    };
    let mut out = FileDiff::default();
    let mut scan_notices = Vec::new();
    let mut older = 0usize;
    let old = |mtime_ns: i64| boundary.is_some_and(|b| mtime_ns <= b);
    let mut found = Vec::new();
    for root in watched {
        scanner.walk(root, &mut scan_notices, |_, _| {}, |s| found.push(s));
    }
    found.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
    for s in found {
        let path = s.entry.path.clone();
        let owned = files.owner_of(&path).is_some();
        let kind = match s.entry.kind {
            EntryKind::File => match files.stock_md5(&path) {
                Some(stock) => match &s.content {
                    Some(Content::Bytes(data)) if md5_hex(data) == stock => continue,
                    Some(Content::Stream)
                        if streamed_md5(&scanner, &s).as_deref() == Some(stock) =>
                    {
                        continue
                    }
                    Some(_) => ChangeKind::Modified,
                    None => {
                        out.notices.push(Notice {
                            path: Some(path.clone()),
                            kind: NoticeKind::TooLarge,
                            message: "too large to compare with what its package shipped".into(),
                        });
                        continue;
                    }
                },
                // Owned without a checksum: nothing to compare with.
                None if owned => continue,
                // Made before the boundary and written since: changed.
                None if old(made_at(target, &s.entry)) && !old(s.entry.mtime_ns) => {
                    ChangeKind::Modified
                }
                None if old(made_at(target, &s.entry)) => {
                    older += 1;
                    continue;
                }
                None => ChangeKind::Created,
            },
            // dpkg keeps no modes or link targets: an owned directory or
            // link is the package's.
            _ if owned => continue,
            _ if old(made_at(target, &s.entry)) => {
                older += 1;
                continue;
            }
            EntryKind::Dir => ChangeKind::DirCreated,
            _ => ChangeKind::Created,
        };
        push_change(&mut out, path, kind, None, Some(s), cap, false);
    }
    // Shipped and gone.
    let present: BTreeSet<Vec<u8>> = out.changes.iter().map(|c| c.path.clone()).collect();
    for root in watched {
        for (path, owner) in files.shipped_under(root) {
            if present.contains(&path)
                || ignore.is_ignored(&path, false)
                || std::fs::symlink_metadata(target.host_path(&path)).is_ok()
            {
                continue;
            }
            push_change(
                &mut out,
                path.clone(),
                ChangeKind::Removed,
                None,
                None,
                cap,
                false,
            );
            if let Some(c) = out.changes.last_mut() {
                c.package = Some(owner.to_string());
            }
        }
    }
    out.changes.sort_by(|a, b| a.path.cmp(&b.path));
    out.examined = out.changes.len();
    scan_notices.sort_by(|a, b| a.path.cmp(&b.path));
    out.notices.extend(scan_notices);
    Diffed { files: out, older }
}

/// When an entry was made: its creation time where the filesystem keeps
/// one (`statx`'s btime: a directory's mtime moves whenever something is
/// added to it), else its mtime.
pub fn made_at(target: &Target, e: &crate::model::Entry) -> i64 {
    std::fs::symlink_metadata(target.host_path(&e.path))
        .and_then(|m| m.created())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(e.mtime_ns, |d| d.as_nanos() as i64)
}

/// What the system looked like after its installation, as far as the
/// package database and the logs say: packages installed after the
/// boundary were not there, removed ones were, upgraded ones had their
/// older version; services enabled as their packages enable them;
/// alternatives automatic; no local diversion; the accounts of the base
/// system and of packages. Each assumption it has to make is a notice.
pub fn before(
    target: &Target,
    files: &DpkgFiles,
    after: &SystemSnapshot,
    logs: &Logs,
    boundary: Option<i64>,
    notices: &mut Vec<Notice>,
) -> SystemSnapshot {
    let mut before = after.clone();
    let note = |notices: &mut Vec<Notice>, message: String| {
        notices.push(Notice {
            path: None,
            kind: NoticeKind::Other,
            message,
        })
    };
    let pkgs = &mut before.packages.packages;
    match boundary {
        Some(b) if !logs.actions.is_empty() => {
            let mut seen = BTreeSet::new();
            for a in logs.actions.iter().filter(|a| a.time_ns > b) {
                // The first operation after the boundary says how it was.
                if !seen.insert(a.package.clone()) {
                    continue;
                }
                let keys: Vec<String> = pkgs
                    .iter()
                    .filter(|(_, p)| p.name == a.package)
                    .map(|(k, _)| k.clone())
                    .collect();
                match a.verb {
                    Verb::Install => {
                        for k in keys {
                            pkgs.remove(&k);
                        }
                    }
                    Verb::Upgrade => {
                        for k in keys {
                            if let (Some(p), Some(v)) = (pkgs.get_mut(&k), &a.from) {
                                p.version = v.clone();
                            }
                        }
                    }
                    Verb::Remove | Verb::Purge => {
                        let mut p = keys
                            .first()
                            .and_then(|k| pkgs.get(k).cloned())
                            .unwrap_or_else(|| Package {
                                name: a.package.clone(),
                                arch: native_arch(after),
                                version: String::new(),
                                state: PackageState::Installed,
                                auto: false,
                                depends: vec![],
                                provides: vec![],
                                held: false,
                                priority: None,
                            });
                        p.state = PackageState::Installed;
                        if let Some(v) = &a.from {
                            p.version = v.clone();
                        }
                        pkgs.insert(p.key(), p);
                    }
                }
            }
        }
        _ => {
            // No logs to go by: the installer's base set is what its
            // priorities put there; everything else marked manual is the
            // admin's.
            pkgs.retain(|_, p| {
                p.auto
                    || matches!(
                        p.priority.as_deref(),
                        Some("required" | "important" | "standard")
                    )
            });
            note(
                notices,
                "no package logs: the packages of priority required, important and standard \
                 were taken as the installed system, the other manually marked ones as the \
                 admin's, and no removal could be found"
                    .into(),
            );
        }
    }
    for p in before.packages.packages.values_mut() {
        p.held = false;
    }
    for a in before.packages.alternatives.values_mut() {
        a.manual = false;
    }
    before.packages.diversions.retain(|d| d.package.is_some());
    let everyone: Vec<String> = after
        .packages
        .packages
        .values()
        .map(|p| p.name.clone())
        .collect();
    let by_packages = made_by_packages(target, &everyone);
    let master = base_accounts(target);
    before
        .accounts
        .users
        .retain(|name, u| master.0.contains(name) || (u.uid < 1000 && by_packages.contains(name)));
    before
        .accounts
        .groups
        .retain(|name, g| master.1.contains(name) || (g.gid < 1000 && by_packages.contains(name)));
    // What the installation and the packages set: deb-systemd-helper's
    // record of the units postinsts enabled; else disabled for a unit of a
    // package installed later (or of no package: the admin's own unit);
    // else, for the base system's units, what the installer left, which an
    // enablement link made after the boundary says the admin changed.
    // (debootstrap applies no presets, so they are not a guide.)
    let later: BTreeSet<&str> = logs
        .actions
        .iter()
        .filter(|a| a.verb == Verb::Install && boundary.is_none_or(|b| a.time_ns > b))
        .map(|a| a.package.as_str())
        .collect();
    for (unit, s) in before.services.units.iter_mut() {
        let masked_here = s.enablement == Enablement::Masked && admin_mask(target, unit);
        if !(matches!(s.enablement, Enablement::Enabled | Enablement::Disabled) || masked_here) {
            continue;
        }
        s.enablement = if dsh_enabled(target, unit) {
            Enablement::Enabled
        } else {
            match unit_owner(files, unit) {
                None => Enablement::Disabled,
                Some(p) if later.contains(p.as_str()) => Enablement::Disabled,
                Some(_) if masked_here => Enablement::Disabled,
                Some(_) => {
                    let made_later = s.wanted_by.iter().any(|t| {
                        let link = format!("/etc/systemd/system/{t}.wants/{unit}");
                        newer_than(target, link.as_bytes(), boundary)
                    });
                    if s.enablement == Enablement::Enabled && made_later {
                        Enablement::Disabled
                    } else {
                        s.enablement
                    }
                }
            }
        };
    }
    before
}

/// The package shipping `unit`, without its architecture.
fn unit_owner(files: &DpkgFiles, unit: &str) -> Option<String> {
    // An instance (`getty@tty1.service`) is its template's.
    let template = unit.split_once('@').and_then(|(base, rest)| {
        let ext = rest.rsplit_once('.').map(|(_, e)| e)?;
        Some(format!("{base}@.{ext}"))
    });
    let names = std::iter::once(unit.to_string()).chain(template);
    names
        .flat_map(|n| {
            ["/lib/systemd/system/", "/usr/lib/systemd/system/"].map(|d| format!("{d}{n}"))
        })
        .find_map(|p| files.owner_of(p.as_bytes()).map(str::to_string))
        .map(|p| p.split(':').next().unwrap_or(&p).to_string())
}

/// Was the entry at `path` (not followed) changed after the boundary?
fn newer_than(target: &Target, path: &[u8], boundary: Option<i64>) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(b) = boundary else {
        return false;
    };
    std::fs::symlink_metadata(target.host_path(path))
        .is_ok_and(|m| m.mtime() * 1_000_000_000 + m.mtime_nsec() > b)
}

fn native_arch(s: &SystemSnapshot) -> String {
    s.packages
        .packages
        .values()
        .find(|p| p.name == "dpkg")
        .map(|p| p.arch.clone())
        .unwrap_or_default()
}

/// The users and groups of base-passwd's master files: the base system's.
fn base_accounts(target: &Target) -> (BTreeSet<String>, BTreeSet<String>) {
    let names = |path: &[u8]| -> BTreeSet<String> {
        crate::probe::fs::read_target(target, path)
            .map(|d| {
                String::from_utf8_lossy(&d)
                    .lines()
                    .filter_map(|l| l.split(':').next())
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    (
        names(b"/usr/share/base-passwd/passwd.master"),
        names(b"/usr/share/base-passwd/group.master"),
    )
}

/// The MD5 of a file too large to hold, read again as it streams; `None`
/// if it cannot be read now (it is then a change).
fn streamed_md5(scanner: &Scanner, s: &crate::model::EntryWithContent) -> Option<String> {
    let mut md5 = crate::probe::dpkg::Md5Writer::default();
    scanner.copy_file(s, &mut md5).ok()?;
    Some(md5.hex())
}
