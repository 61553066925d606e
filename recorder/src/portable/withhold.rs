//! The export's header, made from a stored session, with the secrets left
//! out unless asked for: the contents of secret files (`Change::secret`,
//! or a path `secret::is_secret_path` names), account password hashes,
//! and the passwords a command line carries (`Intent::secrets`, replaced
//! by `***`, as `Intent::text` shows them). What is left out is listed.

use super::format::{
    AttributionDoc, Bytes, ChangeDoc, EntryDoc, EventDoc, Header, IntentDoc, NoticeDoc, SessionDoc,
    Withheld, FORMAT_NAME,
};
use crate::model::{
    ChangeSet, ContentHash, Entry, EntryKind, Event, Intent, Notice, SystemChanges,
};
use crate::store::Phase;
use std::collections::BTreeSet;

pub(super) fn header(
    cs: &ChangeSet,
    mut system: Option<SystemChanges>,
    notices: &[(Phase, Notice)],
    events: &[Event],
    include_secrets: bool,
) -> Header {
    let mut withheld = Vec::new();
    let mut keep = BTreeSet::new();
    let mut drop = BTreeSet::new();
    for c in &cs.changes {
        let secret = c.secret || crate::secret::is_secret_path(&c.path);
        let mut had_content = false;
        for e in [&c.before, &c.after].into_iter().flatten() {
            if let Some(h) = stored_hash(e) {
                had_content = true;
                if secret && !include_secrets {
                    drop.insert(h);
                } else {
                    keep.insert(h);
                }
            }
        }
        if secret && had_content && !include_secrets {
            withheld.push(Withheld::Content {
                path: Bytes(c.path.clone()),
            });
        }
    }
    // A content shared with a secret file is withheld everywhere.
    let blobs: Vec<String> = keep.difference(&drop).map(|h| h.to_hex()).collect();
    if !include_secrets {
        if let Some(sys) = system.as_mut() {
            for u in &mut sys.users {
                let mut had = false;
                for a in [&mut u.before, &mut u.after].into_iter().flatten() {
                    had |= a.password.take().is_some();
                }
                if had {
                    withheld.push(Withheld::Password {
                        account: "user".into(),
                        name: u.name.clone(),
                    });
                }
            }
            for g in &mut sys.groups {
                let mut had = false;
                for a in [&mut g.before, &mut g.after].into_iter().flatten() {
                    had |= a.password.take().is_some();
                }
                if had {
                    withheld.push(Withheld::Password {
                        account: "group".into(),
                        name: g.name.clone(),
                    });
                }
            }
        }
    }
    let intents = cs
        .why
        .intents
        .iter()
        .map(|i| {
            let secrets = if include_secrets {
                Vec::new()
            } else {
                i.secrets()
            };
            if !secrets.is_empty() {
                withheld.push(Withheld::CommandArguments {
                    intent: i.id,
                    count: secrets.len(),
                });
            }
            intent_doc(i, &secrets)
        })
        .collect();
    let s = &cs.session;
    Header {
        format: FORMAT_NAME.into(),
        session: SessionDoc {
            name: s.name.clone(),
            description: s.description.clone(),
            root: Bytes(s.root.clone()),
            watched: s.watched.iter().cloned().map(Bytes).collect(),
            created_at_ns: s.created_at_ns,
            finished_at_ns: s.finished_at_ns,
            content_cap: s.content_cap,
            ignore_patterns: s.ignore_patterns.clone(),
            facts: s.facts.clone(),
        },
        changes: cs
            .changes
            .iter()
            .map(|c| ChangeDoc {
                path: Bytes(c.path.clone()),
                kind: c.kind,
                before: c.before.as_ref().map(entry_doc),
                after: c.after.as_ref().map(entry_doc),
                secret: c.secret,
                origin: c.origin.clone(),
                package: c.package.clone(),
            })
            .collect(),
        notices: notices
            .iter()
            .map(|(phase, n)| NoticeDoc {
                phase: phase.as_str().into(),
                path: n.path.clone().map(Bytes),
                kind: n.kind,
                message: n.message.clone(),
            })
            .collect(),
        system,
        intents,
        attributions: cs
            .why
            .attributions
            .iter()
            .map(|a| AttributionDoc {
                subject: a.subject.as_str().into(),
                name: Bytes(a.name.clone()),
                intent: a.intent,
            })
            .collect(),
        events: events
            .iter()
            .map(|e| EventDoc {
                time_ns: e.time_ns,
                kind: e.kind.as_str().into(),
                path: e.path.clone().map(Bytes),
                path_to: e.path_to.clone().map(Bytes),
                source: e.source.as_str().into(),
            })
            .collect(),
        withheld,
        blobs,
    }
}

/// The hash of a regular file's content the store holds.
fn stored_hash(e: &Entry) -> Option<ContentHash> {
    (e.kind == EntryKind::File && e.content_stored)
        .then_some(e.hash)
        .flatten()
}

fn entry_doc(e: &Entry) -> EntryDoc {
    EntryDoc {
        path: Bytes(e.path.clone()),
        kind: e.kind,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        owner: e.owner.as_deref().map(str::to_string),
        group: e.group.as_deref().map(str::to_string),
        size: e.size,
        mtime_ns: e.mtime_ns,
        hash: e.hash.map(|h| h.to_hex()),
        content_stored: e.content_stored,
        link_target: e.link_target.clone().map(Bytes),
    }
}

/// An intent, each of `secrets` replaced by `***` in every argument.
fn intent_doc(i: &Intent, secrets: &[String]) -> IntentDoc {
    // The same masking as every display (`Intent::masked_argv`), so a
    // password spelt differently on the typed line is hidden here too.
    let masked = if secrets.is_empty() {
        i.argv.clone()
    } else {
        i.masked_argv()
    };
    IntentDoc {
        id: i.id,
        source: i.source,
        parent: i.parent,
        argv: masked.into_iter().map(Bytes).collect(),
        cwd: Bytes(i.cwd.clone()),
        uid: i.uid,
        pid: i.pid,
        ppid: i.ppid,
        start_ns: i.start_ns,
        end_ns: i.end_ns,
        exit_code: i.exit_code,
        signal: i.signal,
    }
}
