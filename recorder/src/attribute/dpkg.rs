//! dpkg's own state: alternatives the admin set by hand or gave back to
//! the priorities, local diversions added or removed, and the files in
//! `/etc/alternatives` or moved by a diversion that those changes make.

use crate::model::{AlternativeChange, Change, DiversionChange, Origin, PackageSnapshot};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet};

/// Alternatives the admin set by hand, or gave back to the priorities.
/// What the priorities chose as packages came and went is the package
/// manager's.
pub(super) fn diff_alternatives(
    before: &PackageSnapshot,
    after: &PackageSnapshot,
) -> Vec<AlternativeChange> {
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
pub(super) fn diff_diversions(
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
pub(super) fn dpkg_state_files(
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
