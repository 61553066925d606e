//! Groups and users: a `group` or `user` resource with the full desired
//! state of each account the admin created, changed or removed. Accounts a
//! package's maintainer scripts made are the package's (it makes them
//! again); password hashes are class parameters unless secrets are
//! included.

use super::catalog::{refs, Param, ParamId, Resource, Supplies, Value};
use super::outcome::{
    AccountDecision, AccountKind, AccountOutcome, AccountOutcomes, PackagedAccount, Password,
    PrimaryGroup, Reason, Subject, UserState,
};
use super::{Part, Planned};
use recorder::model::{AccountChangeKind, GroupChange, SystemChanges, UserChange};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn plan(system: &SystemChanges, include_secrets: bool) -> Planned<AccountOutcomes> {
    let mut out: Planned<AccountOutcomes> = Planned::default();
    let mut groups: Vec<&GroupChange> = Vec::new();
    for g in sorted(&system.groups, |g| &g.name) {
        match &g.by_package {
            Some(pkg) => out.outcome.by_package.push(PackagedAccount {
                kind: AccountKind::Group,
                name: g.name.clone(),
                package: pkg.clone(),
            }),
            None if groups.iter().any(|o| o.name == g.name) => {
                out.leave_out(Subject::Group(g.name.clone()), Reason::ListedTwice)
            }
            None => groups.push(g),
        }
    }
    let mut users: Vec<&UserChange> = Vec::new();
    for u in sorted(&system.users, |u| &u.name) {
        match &u.by_package {
            Some(pkg) => out.outcome.by_package.push(PackagedAccount {
                kind: AccountKind::User,
                name: u.name.clone(),
                package: pkg.clone(),
            }),
            None if users.iter().any(|o| o.name == u.name) => {
                out.leave_out(Subject::User(u.name.clone()), Reason::ListedTwice)
            }
            None => users.push(u),
        }
    }
    // Groups this module makes present, by name and by gid (the first name
    // for a gid, in name order).
    let mut present: BTreeSet<&str> = BTreeSet::new();
    let mut by_gid: BTreeMap<u32, &str> = BTreeMap::new();
    for g in &groups {
        if let (false, Some(after)) = (g.kind == AccountChangeKind::Removed, &g.after) {
            present.insert(&g.name);
            by_gid.entry(after.gid).or_insert(&g.name);
        }
    }
    for g in &groups {
        group(g, &users, &mut out);
    }
    for u in &users {
        user(u, &present, &by_gid, include_secrets, &mut out);
    }
    out
}

fn sorted<T>(items: &[T], key: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by(|a, b| key(a).cmp(key(b)));
    v
}

fn group(g: &GroupChange, users: &[&UserChange], out: &mut Planned<AccountOutcomes>) {
    let mut attrs = Vec::new();
    let became = if g.kind == AccountChangeKind::Removed {
        attrs.push(("ensure", Value::Word("absent")));
        // groupdel refuses to remove a user's primary group: the users of
        // this module that leave it go first.
        if let Some(gid) = g.before.as_ref().map(|b| b.gid) {
            let leaving: Vec<String> = users
                .iter()
                .filter(|u| u.before.as_ref().is_some_and(|b| b.gid == gid))
                .filter(|u| {
                    u.kind == AccountChangeKind::Removed
                        || u.after.as_ref().is_some_and(|a| a.gid != gid)
                })
                .map(|u| u.name.clone())
                .collect();
            if !leaving.is_empty() {
                attrs.push(("require", refs("User", leaving)));
            }
        }
        AccountDecision::GroupAbsent
    } else {
        let Some(after) = &g.after else {
            return out.leave_out(Subject::Group(g.name.clone()), Reason::NoStateAfter);
        };
        attrs.push(("ensure", Value::Word("present")));
        attrs.push(("gid", Value::Int(after.gid)));
        AccountDecision::GroupPresent { gid: after.gid }
    };
    out.resources.push(Resource {
        part: Part::Accounts,
        kind: "group",
        title: g.name.clone(),
        attrs,
    });
    out.outcome.changes.push(AccountOutcome {
        name: g.name.clone(),
        kind: g.kind,
        became,
    });
}

fn user(
    u: &UserChange,
    present: &BTreeSet<&str>,
    by_gid: &BTreeMap<u32, &str>,
    include_secrets: bool,
    out: &mut Planned<AccountOutcomes>,
) {
    let mut attrs = Vec::new();
    let became = if u.kind == AccountChangeKind::Removed {
        attrs.push(("ensure", Value::Word("absent")));
        AccountDecision::UserAbsent
    } else {
        let Some(after) = &u.after else {
            return out.leave_out(Subject::User(u.name.clone()), Reason::NoStateAfter);
        };
        let mut require: Vec<String> = Vec::new();
        attrs.push(("ensure", Value::Word("present")));
        attrs.push(("uid", Value::Int(after.uid)));
        // A group name only when this module makes that group: otherwise
        // the number is what was recorded, whoever names it.
        let primary = match by_gid.get(&after.gid) {
            Some(name) => {
                attrs.push(("gid", Value::Str(name.to_string())));
                require.push(name.to_string());
                PrimaryGroup::Named(name.to_string())
            }
            None => {
                attrs.push(("gid", Value::Int(after.gid)));
                PrimaryGroup::Gid(after.gid)
            }
        };
        let mut groups = after.groups.clone();
        groups.sort();
        groups.dedup();
        // Puppet only adds supplementary groups unless told the list is
        // complete: say so when the user left one.
        let left_one = u.kind == AccountChangeKind::Changed
            && u.before
                .as_ref()
                .is_some_and(|b| b.groups.iter().any(|g| !groups.contains(g)));
        let managed_groups = (!groups.is_empty() || left_one).then(|| groups.clone());
        if managed_groups.is_some() {
            require.extend(
                groups
                    .iter()
                    .filter(|g| present.contains(g.as_str()))
                    .cloned(),
            );
            attrs.push(("groups", Value::Strs(groups)));
        }
        if left_one {
            attrs.push(("membership", Value::Word("inclusive")));
        }
        for (key, value) in [
            ("home", &after.home),
            ("shell", &after.shell),
            ("comment", &after.gecos),
        ] {
            if !value.is_empty() {
                attrs.push((key, Value::Str(value.clone())));
            }
        }
        if u.home_created {
            attrs.push(("managehome", Value::Word("true")));
        }
        let password =
            u.password_changed.then(
                || match after.password.as_ref().filter(|_| include_secrets) {
                    Some(hash) => {
                        attrs.push(("password", Value::Sensitive(hash.clone())));
                        Password::Embedded
                    }
                    None => {
                        let id = ParamId::Password(u.name.clone());
                        attrs.push(("password", Value::Param(id.clone())));
                        out.params.push(Param {
                            name: String::new(),
                            supplies: Supplies::Password {
                                user: u.name.clone(),
                                recorded: after.password.is_some(),
                            },
                        });
                        Password::FromParam(id)
                    }
                },
            );
        if !require.is_empty() {
            attrs.push(("require", refs("Group", require)));
        }
        AccountDecision::UserPresent(UserState {
            uid: after.uid,
            primary,
            groups: managed_groups,
            creates_home: u.home_created,
            password,
        })
    };
    out.resources.push(Resource {
        part: Part::Accounts,
        kind: "user",
        title: u.name.clone(),
        attrs,
    });
    out.outcome.changes.push(AccountOutcome {
        name: u.name.clone(),
        kind: u.kind,
        became,
    });
}
