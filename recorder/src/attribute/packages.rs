//! Package changes: installed, removed, purged, upgraded, downgraded and
//! held, with which of them the admin asked for (only those become
//! resources).

use crate::model::{PackageChange, PackageChangeKind, PackageSnapshot, PackageState};
use std::collections::BTreeSet;

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

pub(super) fn newer(a: &str, b: &str) -> bool {
    match (
        a.parse::<debversion::Version>(),
        b.parse::<debversion::Version>(),
    ) {
        (Ok(a), Ok(b)) => a > b,
        _ => a > b,
    }
}
