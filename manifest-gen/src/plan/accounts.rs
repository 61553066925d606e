//! Groups and users: a `group` or `user` resource with the full desired
//! state of each account the admin created, changed or removed. Accounts a
//! package's maintainer scripts made are the package's (it makes them
//! again); password hashes are class parameters unless secrets are
//! included.

use super::{refs, Cell, Input, Param, ParamFor, Part, Plan, Resource, SysRow, Value};
use crate::Skipped;
use recorder::model::{AccountChangeKind, GroupChange, UserChange};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn plan_accounts(input: &Input<'_>, plan: &mut Plan) {
    let mut groups: Vec<&GroupChange> = Vec::new();
    for g in sorted(&input.system.groups, |g| &g.name) {
        match &g.by_package {
            Some(pkg) => plan.by_package.push(("group", g.name.clone(), pkg.clone())),
            None if groups.iter().any(|o| o.name == g.name) => twice(plan, "group", &g.name),
            None => groups.push(g),
        }
    }
    let mut users: Vec<&UserChange> = Vec::new();
    for u in sorted(&input.system.users, |u| &u.name) {
        match &u.by_package {
            Some(pkg) => plan.by_package.push(("user", u.name.clone(), pkg.clone())),
            None if users.iter().any(|o| o.name == u.name) => twice(plan, "user", &u.name),
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
        group(g, &users, plan);
    }
    for u in &users {
        user(u, &present, &by_gid, input.include_secrets, plan);
    }
}

fn sorted<T>(items: &[T], key: impl Fn(&T) -> &String) -> Vec<&T> {
    let mut v: Vec<&T> = items.iter().collect();
    v.sort_by(|a, b| key(a).cmp(key(b)));
    v
}

fn twice(plan: &mut Plan, what: &str, name: &str) {
    plan.skipped.push(Skipped {
        path: format!("{what} {name}"),
        reason: format!("the change set lists this {what} twice; only the first record is used"),
    });
}

fn no_state(plan: &mut Plan, what: &str, name: &str) {
    plan.skipped.push(Skipped {
        path: format!("{what} {name}"),
        reason: "its state after the session was not recorded".into(),
    });
}

fn kind_name(k: AccountChangeKind) -> &'static str {
    match k {
        AccountChangeKind::Created => "created",
        AccountChangeKind::Changed => "changed",
        AccountChangeKind::Removed => "removed",
    }
}

fn group(g: &GroupChange, users: &[&UserChange], plan: &mut Plan) {
    let mut attrs = Vec::new();
    let puppet;
    if g.kind == AccountChangeKind::Removed {
        attrs.push(("ensure", Value::Word("absent")));
        puppet = "absent".to_string();
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
    } else {
        let Some(after) = &g.after else {
            return no_state(plan, "group", &g.name);
        };
        attrs.push(("ensure", Value::Word("present")));
        attrs.push(("gid", Value::Int(after.gid)));
        puppet = format!("present; gid {}", after.gid);
    }
    plan.resources.push(Resource {
        part: Part::Accounts,
        kind: "group",
        title: g.name.clone(),
        attrs,
    });
    plan.accounts.push(SysRow {
        cells: vec![
            Cell::code(&g.name),
            Cell::text("group"),
            Cell::text(kind_name(g.kind)),
            Cell::text(puppet),
        ],
        param: None,
    });
}

fn user(
    u: &UserChange,
    present: &BTreeSet<&str>,
    by_gid: &BTreeMap<u32, &str>,
    include_secrets: bool,
    plan: &mut Plan,
) {
    let mut attrs = Vec::new();
    let mut said: Vec<String> = Vec::new();
    let mut param = None;
    if u.kind == AccountChangeKind::Removed {
        attrs.push(("ensure", Value::Word("absent")));
        said.push("absent".into());
    } else {
        let Some(after) = &u.after else {
            return no_state(plan, "user", &u.name);
        };
        let mut require: Vec<String> = Vec::new();
        attrs.push(("ensure", Value::Word("present")));
        attrs.push(("uid", Value::Int(after.uid)));
        said.push("present".into());
        said.push(format!("uid {}", after.uid));
        // A group name only when this module makes that group: otherwise
        // the number is what was recorded, whoever names it.
        match by_gid.get(&after.gid) {
            Some(name) => {
                attrs.push(("gid", Value::Str(name.to_string())));
                require.push(name.to_string());
                said.push(format!("primary group {name}"));
            }
            None => {
                attrs.push(("gid", Value::Int(after.gid)));
                said.push(format!("gid {}", after.gid));
            }
        }
        let mut groups = after.groups.clone();
        groups.sort();
        groups.dedup();
        // Puppet only adds supplementary groups unless told the list is
        // complete: say so when the user left one.
        let left_one = u.kind == AccountChangeKind::Changed
            && u.before
                .as_ref()
                .is_some_and(|b| b.groups.iter().any(|g| !groups.contains(g)));
        if !groups.is_empty() || left_one {
            said.push(if groups.is_empty() {
                "no supplementary groups".into()
            } else {
                format!("groups {}", groups.join(", "))
            });
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
            said.push("creates the home directory".into());
        }
        if u.password_changed {
            match after.password.as_ref().filter(|_| include_secrets) {
                Some(hash) => {
                    attrs.push(("password", Value::Sensitive(hash.clone())));
                    plan.secret_parts.insert(Part::Accounts);
                    said.push("password embedded (secret)".into());
                }
                None => {
                    let why = if after.password.is_some() {
                        "its password hash was set in the session and is withheld from the module (generate it with secrets included to embed it)"
                    } else {
                        "its password was set in the session but its hash was not recorded"
                    };
                    param = Some(plan.params.len());
                    attrs.push(("password", Value::Param(plan.params.len())));
                    plan.params.push(Param {
                        target: ParamFor::Password(u.name.clone()),
                        name: String::new(),
                        puppet_type: "Sensitive[String]",
                        why: why.into(),
                    });
                    said.push("password from parameter".into());
                }
            }
        }
        if !require.is_empty() {
            attrs.push(("require", refs("Group", require)));
        }
    }
    plan.resources.push(Resource {
        part: Part::Accounts,
        kind: "user",
        title: u.name.clone(),
        attrs,
    });
    plan.accounts.push(SysRow {
        cells: vec![
            Cell::code(&u.name),
            Cell::text("user"),
            Cell::text(kind_name(u.kind)),
            Cell::text(said.join("; ")),
        ],
        param,
    });
}
