//! Users and groups created, changed and removed; the system accounts a
//! package's maintainer scripts made; and the home a `useradd -m` filled
//! from `/etc/skel`, which the user resource makes again.

use crate::model::{
    is_within, AccountChangeKind, Accounts, Change, ChangeKind, EntryKind, GroupChange, Origin,
    UserChange,
};
use crate::target::Target;
use std::collections::BTreeSet;

/// Is this a real password hash (not a locked or empty marker)?
pub(super) fn is_hash(p: Option<&String>) -> bool {
    p.is_some_and(|h| h.starts_with('$') && h.len() > 3)
}

/// Created, changed and removed users and groups; system accounts that a
/// package's maintainer scripts made belong to the package.
pub(super) fn diff_accounts(
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
pub(super) fn homes_from_skel(changes: &mut [Change], users: &[UserChange], target: &Target) {
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
pub(super) fn maintainer_scripts(target: &Target, packages: &[String]) -> Vec<(String, String)> {
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

pub(super) fn contains_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}
