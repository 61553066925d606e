//! apt's history log (`/var/log/apt/history.log`): which packages each
//! `apt-get` run changed, dependencies included, matched to the session's
//! apt intents by their command line.

use super::Ctx;
use crate::intent::package_op;
use crate::model::{Intent, IntentSource};
use crate::target::Target;
use std::collections::HashMap;

/// apt's history log maps each `apt-get` run to every package it changed,
/// dependencies included. Runs are matched to the session's apt intents
/// by their command line, from the newest backwards (the session's runs
/// are the log's last ones).
pub(super) fn apt_history(target: &Target, ctx: &Ctx) -> HashMap<String, i64> {
    let mut out = HashMap::new();
    let apt: Vec<(&Intent, String)> = ctx
        .admin_commands()
        .filter(|(i, w)| {
            i.source == IntentSource::Tool
                && i.succeeded()
                && matches!(
                    w.first().map(String::as_str),
                    Some("apt" | "apt-get" | "aptitude")
                )
                && package_op(w).is_some()
        })
        .map(|(i, w)| (i, w.join(" ")))
        .collect();
    if apt.is_empty() {
        return out;
    }
    let Some(text) = crate::probe::fs::read_target(target, b"/var/log/apt/history.log") else {
        return out;
    };
    let text = String::from_utf8_lossy(&text);
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Start-Date:") {
            blocks.push((String::new(), Vec::new()));
        } else if let Some(b) = blocks.last_mut() {
            if let Some(cmd) = line.strip_prefix("Commandline: ") {
                // apt logs argv as given; the intents' words have argv[0]
                // reduced to its file name.
                let cmd = cmd.trim();
                let (first, rest) = cmd.split_once(' ').unwrap_or((cmd, ""));
                let first = first.rsplit('/').next().unwrap_or(first);
                b.0 = format!("{first} {rest}").trim_end().to_string();
            } else if let Some((field, list)) = line.split_once(": ") {
                if matches!(
                    field,
                    "Install" | "Upgrade" | "Downgrade" | "Remove" | "Purge" | "Reinstall"
                ) {
                    b.1.extend(history_names(list));
                }
            }
        }
    }
    // Newest first. A run that logged nothing (nothing to do) is skipped;
    // a log entry is never skipped, so an older entry with the same
    // command line cannot stand in for a newer one.
    let mut blocks = blocks.iter().rev().peekable();
    for (i, want) in apt.iter().rev() {
        let Some((cmd, names)) = blocks.peek() else {
            break;
        };
        if cmd == want {
            for n in names {
                out.entry(n.clone()).or_insert(i.id);
            }
            blocks.next();
        }
    }
    out
}

/// `nginx:amd64 (1.22.1-9), libfoo:amd64 (1.0, automatic)` → names.
pub(super) fn history_names(list: &str) -> Vec<String> {
    history_entries(list).into_iter().map(|(n, _)| n).collect()
}

/// `nginx:amd64 (1.22.1-9), libfoo:amd64 (1.0, automatic)` → names, each
/// with whether apt installed it as a dependency.
pub(crate) fn history_entries(list: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut name = String::new();
    let mut inside = String::new();
    let mut push = |name: &mut String, inside: &mut String| {
        let n = name.trim().split(':').next().unwrap_or("").to_string();
        if !n.is_empty() {
            out.push((n, inside.split(',').any(|w| w.trim() == "automatic")));
        }
        name.clear();
        inside.clear();
    };
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => push(&mut name, &mut inside),
            c if depth > 0 => inside.push(c),
            c => name.push(c),
        }
    }
    push(&mut name, &mut inside);
    out
}
