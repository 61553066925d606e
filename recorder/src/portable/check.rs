//! The import's validation: a header from an untrusted file becomes the
//! store's [`ImportedSession`] only if every path is absolute and
//! normalised (no `.`, `..`, empty components or NUL), every name and kind
//! is one this cft knows, every reference (parents, attributions, contents)
//! points at something the file holds, and nothing is listed twice. A
//! refusal is a sentence saying what and where.

use super::format::{
    from_hex, AttributionDoc, Bytes, EntryDoc, EventDoc, Header, IntentDoc, FORMAT_NAME,
};
use crate::model::{
    display_path, Attribution, Change, ContentHash, Entry, Event, EventKind, EventSource, Intent,
    Name, Notice, Subject,
};
use crate::store::import::ImportedSession;
use crate::store::Phase;
use std::collections::BTreeSet;

/// Longest path and file name Linux accepts.
const PATH_MAX: usize = 4096;
const NAME_MAX: usize = 255;

pub(super) struct Checked {
    pub session: ImportedSession,
    /// In the body's order.
    pub blobs: Vec<ContentHash>,
}

type Res<T> = std::result::Result<T, String>;

pub(super) fn header(
    h: &Header,
    as_name: Option<&str>,
    source: &str,
    version: u32,
) -> Res<Checked> {
    if h.format != FORMAT_NAME {
        return Err(format!(
            "the header says format '{}', not '{FORMAT_NAME}'",
            h.format
        ));
    }
    let s = &h.session;
    let name = as_name.unwrap_or(&s.name).to_string();
    crate::session::validate_name(&name).map_err(|e| e.to_string())?;
    let root = path(&s.root, "the session's root")?;
    let mut watched = Vec::new();
    for w in &s.watched {
        watched.push(path(w, "a watched root")?);
    }
    let mut seen = BTreeSet::new();
    let mut changes = Vec::with_capacity(h.changes.len());
    let mut referenced = BTreeSet::new();
    for c in &h.changes {
        let p = path(&c.path, "a change")?;
        let at = display_path(&p);
        if !seen.insert(p.clone()) {
            return Err(format!("the change of {at} is listed twice"));
        }
        let before = c.before.as_ref().map(|e| entry(e, &at)).transpose()?;
        let after = c.after.as_ref().map(|e| entry(e, &at)).transpose()?;
        for e in [&before, &after].into_iter().flatten() {
            if let Some(h) = e.hash.filter(|_| e.content_stored) {
                referenced.insert(h);
            }
        }
        changes.push(Change {
            path: p,
            kind: c.kind,
            before,
            after,
            secret: c.secret,
            origin: c.origin.clone(),
            package: c.package.clone(),
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let mut notices = Vec::with_capacity(h.notices.len());
    for n in &h.notices {
        let phase = Phase::parse(&n.phase)
            .ok_or_else(|| format!("a notice has the unknown phase '{}'", n.phase))?;
        let p = n.path.as_ref().map(|p| path(p, "a notice")).transpose()?;
        notices.push((
            phase,
            Notice {
                path: p,
                kind: n.kind,
                message: n.message.clone(),
            },
        ));
    }
    let intents = intents(&h.intents)?;
    let ids: BTreeSet<i64> = intents.iter().map(|i| i.id).collect();
    let attributions = attributions(&h.attributions, &ids)?;
    let mut events = Vec::with_capacity(h.events.len());
    for e in &h.events {
        events.push(event(e)?);
    }
    if let Some(sys) = &h.system {
        for d in &sys.diversions {
            path(&Bytes(d.from.clone()), "a diversion")?;
            path(&Bytes(d.to.clone()), "a diversion")?;
        }
        for s in &sys.services {
            for p in &s.subscribe {
                path(&Bytes(p.clone()), "a service's subscription")?;
            }
        }
    }
    let mut blobs = Vec::with_capacity(h.blobs.len());
    let mut listed = BTreeSet::new();
    for hex in &h.blobs {
        let hash = hash(hex, "a content")?;
        if !referenced.contains(&hash) {
            return Err(format!("the content {hex} belongs to no change"));
        }
        if !listed.insert(hash) {
            return Err(format!("the content {hex} is listed twice"));
        }
        blobs.push(hash);
    }
    Ok(Checked {
        session: ImportedSession {
            source: source.to_string(),
            exported_as: s.name.clone(),
            version,
            name,
            description: s.description.clone(),
            root,
            watched,
            created_at_ns: s.created_at_ns,
            finished_at_ns: s.finished_at_ns,
            content_cap: fits_i64(s.content_cap, "the content cap")?,
            ignore_patterns: s.ignore_patterns.clone(),
            facts: s.facts.clone(),
            changes,
            notices,
            system: h.system.clone(),
            intents,
            attributions,
            events,
        },
        blobs,
    })
}

/// An absolute, normalised target path: `/`, or `/` followed by non-empty
/// components other than `.` and `..`, with no NUL and no trailing `/`.
pub(super) fn path(b: &Bytes, what: &str) -> Res<Vec<u8>> {
    let p = &b.0;
    let bad = |why: &str| Err(format!("{what}: the path {} {why}", display_path(p)));
    if p.first() != Some(&b'/') {
        return bad("is not absolute");
    }
    if p.contains(&0) {
        return bad("holds a NUL byte");
    }
    if p.len() > PATH_MAX {
        return bad("is too long");
    }
    if p.len() > 1 {
        for comp in p[1..].split(|&c| c == b'/') {
            match comp {
                b"" => return bad("is not normalised (an empty component)"),
                b"." | b".." => return bad("is not normalised ('.' or '..')"),
                c if c.len() > NAME_MAX => return bad("has a component that is too long"),
                _ => {}
            }
        }
    }
    Ok(p.clone())
}

fn entry(e: &EntryDoc, at: &str) -> Res<Entry> {
    let p = path(&e.path, &format!("an entry of the change of {at}"))?;
    if e.mode & !0o7777 != 0 {
        return Err(format!("{at}: mode {:o} is not a permission mode", e.mode));
    }
    if let Some(t) = &e.link_target {
        if t.0.contains(&0) || t.0.len() > PATH_MAX {
            return Err(format!("{at}: the link target is not a path"));
        }
    }
    Ok(Entry {
        path: p,
        kind: e.kind,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        owner: e.owner.as_deref().map(Name::from),
        group: e.group.as_deref().map(Name::from),
        size: fits_i64(e.size, &format!("{at}: the size"))?,
        mtime_ns: e.mtime_ns,
        hash: e.hash.as_deref().map(|h| hash(h, at)).transpose()?,
        content_stored: e.content_stored,
        link_target: e.link_target.as_ref().map(|t| t.0.clone()),
    })
}

fn hash(hex: &str, at: &str) -> Res<ContentHash> {
    from_hex(hex)
        .and_then(|b| ContentHash::from_slice(&b))
        .ok_or_else(|| format!("{at}: '{hex}' is not a content hash (64 hex digits)"))
}

fn fits_i64(v: u64, what: &str) -> Res<u64> {
    if v > i64::MAX as u64 {
        return Err(format!("{what} ({v}) is too large"));
    }
    Ok(v)
}

/// Intents sorted by id, unique, each parent one of them and earlier.
fn intents(docs: &[IntentDoc]) -> Res<Vec<Intent>> {
    let mut out: Vec<Intent> = Vec::with_capacity(docs.len());
    for d in docs {
        if out.last().is_some_and(|p| p.id >= d.id) || d.id <= 0 {
            return Err(format!("command #{} is out of order or listed twice", d.id));
        }
        if d.argv.iter().any(|a| a.0.contains(&0)) || d.cwd.0.contains(&0) {
            return Err(format!("command #{}: an argument holds a NUL byte", d.id));
        }
        out.push(Intent {
            id: d.id,
            source: d.source,
            parent: d.parent,
            argv: d.argv.iter().map(|a| a.0.clone()).collect(),
            cwd: d.cwd.0.clone(),
            uid: d.uid,
            pid: d.pid,
            ppid: d.ppid,
            start_ns: d.start_ns,
            end_ns: d.end_ns,
            exit_code: d.exit_code,
            signal: d.signal,
        });
    }
    for i in &out {
        if let Some(p) = i.parent {
            if p >= i.id || out.binary_search_by_key(&p, |x| x.id).is_err() {
                return Err(format!(
                    "command #{}: its parent #{p} is not an earlier command of the session",
                    i.id
                ));
            }
        }
    }
    Ok(out)
}

fn attributions(docs: &[AttributionDoc], ids: &BTreeSet<i64>) -> Res<Vec<Attribution>> {
    let mut out = Vec::with_capacity(docs.len());
    let mut seen = BTreeSet::new();
    for a in docs {
        let subject = Subject::parse(&a.subject)
            .ok_or_else(|| format!("an attribution has the unknown subject '{}'", a.subject))?;
        let name = if subject == Subject::File {
            path(&a.name, "an attribution")?
        } else {
            a.name.0.clone()
        };
        if !ids.contains(&a.intent) {
            return Err(format!(
                "an attribution names command #{}, which the export does not hold",
                a.intent
            ));
        }
        if !seen.insert((subject, name.clone())) {
            return Err(format!(
                "the {} {} is attributed twice",
                subject.as_str(),
                display_path(&name)
            ));
        }
        out.push(Attribution {
            subject,
            name,
            intent: a.intent,
        });
    }
    out.sort();
    Ok(out)
}

fn event(e: &EventDoc) -> Res<Event> {
    let kind = EventKind::parse(&e.kind)
        .ok_or_else(|| format!("an event has the unknown kind '{}'", e.kind))?;
    let source = EventSource::parse(&e.source)
        .ok_or_else(|| format!("an event has the unknown source '{}'", e.source))?;
    let p = |b: &Option<Bytes>| b.as_ref().map(|b| path(b, "an event")).transpose();
    Ok(Event {
        time_ns: e.time_ns,
        kind,
        path: p(&e.path)?,
        path_to: p(&e.path_to)?,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let cases: &[(&[u8], bool)] = &[
            (b"/", true),
            (b"/etc/x", true),
            (b"/etc/\xff", true),
            (b"/etc/a b", true),
            (b"", false),
            (b"etc/x", false),
            (b"/etc/", false),
            (b"/etc//x", false),
            (b"/etc/../shadow", false),
            (b"/..", false),
            (b"/./etc", false),
            (b"/etc/x\0y", false),
        ];
        for (p, ok) in cases {
            assert_eq!(
                path(&Bytes(p.to_vec()), "t").is_ok(),
                *ok,
                "{}",
                display_path(p)
            );
        }
        assert!(path(&Bytes([b"/".as_slice(), &[b'a'; 256]].concat()), "t").is_err());
    }
}
