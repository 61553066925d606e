//! Reconciliation at `finish`: compare the baseline with what is on disk now
//! and produce the change set.
//!
//! The watcher's events only say *where* to look: each touched path is
//! re-read (whole subtrees for creations, removals and renames), and so is
//! every baseline entry whose stat differs now (`crate::sweep`: a write
//! no event named). After an overflow, a watch-limit hit, a dead daemon,
//! or a watched root moved, replaced or deleted, every watched root is
//! re-read instead. Either way the state difference is the truth, so a path
//! created and removed within the session is no change.

use crate::error::Result;
use crate::ignore_rules::Ignore;
use crate::model::{
    is_within, Change, ChangeKind, Content, Entry, EntryKind, Notice, NoticeKind, Session,
};
use crate::progress::Progress;
use crate::secret;
use crate::snapshot::{Scanned, Scanner};
use crate::store::{EntryWithContent, Seen, Snapshot, Store};
use crate::sweep;
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Changed files larger than this keep only their hash (the baseline cap is
/// usually smaller; a file the admin created is worth more).
pub const FINISH_CAPTURE_CAP: u64 = 256 << 20;

/// What a reconciliation found: the file changes (their origins not yet
/// known), the final entries with their contents, and the notices.
#[derive(Debug, Default)]
pub struct FileDiff {
    pub changes: Vec<Change>,
    pub finals: Vec<EntryWithContent>,
    pub notices: Vec<Notice>,
    /// Why every root was re-read, if it was.
    pub full_rescan: Option<String>,
    /// How many paths were re-read.
    pub examined: usize,
}

/// Work out the change set of `session` (whose daemon is stopped); the
/// walks of re-read subtrees report to `progress`.
pub fn reconcile(
    store: &Store,
    session: &Session,
    extra_reason: Option<&str>,
    progress: &dyn Progress,
) -> Result<FileDiff> {
    reconcile_touched(store, session, extra_reason, None, progress)
}

/// What finish has read already: the paths the session's events name
/// (with whether each is a subtree to re-read; borrowed from the events,
/// not copied: a storm names 100k), and what the daemon captured
/// (`Store::seen`).
pub type Read<'a> = (Vec<(&'a [u8], bool)>, HashMap<Vec<u8>, Seen>);

/// The same, with what `read` holds given rather than read from the store
/// again: finish has read the whole timeline already.
pub fn reconcile_touched(
    store: &Store,
    session: &Session,
    extra_reason: Option<&str>,
    read: Option<Read<'_>>,
    progress: &dyn Progress,
) -> Result<FileDiff> {
    let (touched, seen) = match read {
        Some((t, s)) => (Some(t), Some(s)),
        None => (None, None),
    };
    let target = Target::new(&session.root);
    let ignore = Ignore::new(&session.ignore_patterns)?;
    let cap = session.content_cap.max(FINISH_CAPTURE_CAP);
    let scanner = Scanner {
        target: &target,
        ignore: &ignore,
        content_cap: cap,
        progress,
    };
    // A root that is not the directory the baseline saw (moved, replaced,
    // deleted, itself or a parent) is read whole, whatever events said.
    let reason = match session
        .rescan_reason
        .clone()
        .or_else(|| extra_reason.map(str::to_string))
    {
        Some(r) => Some(r),
        None => sweep::replaced_root(store, session.id, &target, &session.watched)?,
    };

    let mut notices = Vec::new();
    let mut before: BTreeMap<Vec<u8>, Entry> = BTreeMap::new();
    // Sorted by path once all is read: a storm's 100k entries are cheaper
    // pushed and sorted than inserted into a map one by one.
    let mut after: Vec<Scanned> = Vec::new();

    let (subtrees, singles) = match &reason {
        Some(_) => (session.watched.clone(), Vec::new()),
        None => {
            // A resumed session's earlier changes are looked at again too:
            // an earlier full rescan left no events for them.
            let stored;
            let mut touched = match touched {
                Some(t) => t,
                None => {
                    stored = store.touched_paths(session.id)?;
                    stored.iter().map(|(p, s)| (p.as_slice(), *s)).collect()
                }
            };
            let changed = store.changed_paths(session.id)?;
            touched.extend(changed.iter().map(|p| (p.as_slice(), true)));
            let (subtrees, mut singles) = plan(touched, &session.watched, &ignore);
            // What changed with no event on its path (a write through a
            // hard link outside the tree, an mmap older than the session).
            let swept = sweep::sweep(store, session.id, &target, &session.watched, &subtrees)?;
            tracing::info!(
                entries = swept.entries,
                differ = swept.differ.len(),
                ms = swept.elapsed.as_millis() as u64,
                "stat sweep of the baseline"
            );
            singles.extend(swept.differ);
            singles.sort();
            singles.dedup();
            (subtrees, singles)
        }
    };
    // Contents go to the session's pack as they are read, and a content
    // the baseline holds already is not kept twice: what the walk holds
    // does not grow with what it reads (a storm of 100k new files).
    let mut pack = store.pack_appender(session)?;
    // A file the daemon captured during the session, unchanged since by
    // its stamp, is not read again: a storm of new files was read as it
    // came, not all at finish.
    let seen = match seen {
        Some(s) => s,
        None => store.seen(session.id)?,
    };
    let known = |path: &[u8], st: &crate::beneath::Stat| {
        let s = seen.get(path)?;
        let same = s.stamp.ino == st.ino
            && s.stamp.ctime_ns == st.ctime_ns
            && s.size == st.size
            && s.mtime_ns == st.mtime * 1_000_000_000 + st.mtime_nsec;
        same.then(|| (s.hash, s.place.map(Content::Packed)))
    };
    let known: Option<crate::snapshot::Known> = (!seen.is_empty()).then_some(&known);
    let mut keys = BTreeSet::new();
    let mut failed = None;
    // Contents read here, not taken from the daemon's captures.
    let mut read_now = 0usize;
    let mut keep = |s: &mut Scanned, before: Option<&Entry>, notices: &mut Vec<Notice>| {
        if s.content.is_none() || failed.is_some() {
            return;
        }
        if matches!(s.content, Some(Content::Bytes(_) | Content::Stream)) {
            read_now += 1;
        }
        if before.is_some_and(|b| b.content_stored && b.hash == s.entry.hash) {
            s.content = Some(Content::InStore);
            return;
        }
        match scanner.pack(s, &mut pack, notices) {
            Ok(true) => {
                keys.insert(s.entry.path.clone());
            }
            Ok(false) => {}
            Err(e) => failed = Some(e),
        }
    };
    for root in &subtrees {
        for e in store.entries_under(session.id, Snapshot::Baseline, root)? {
            before.insert(e.path.clone(), e);
        }
    }
    let mut packed_notices = Vec::new();
    scanner.walk_many(&subtrees, known, &mut notices, |mut s| {
        let b = before.get(&s.entry.path);
        keep(&mut s, b, &mut packed_notices);
        after.push(s);
    });
    notices.append(&mut packed_notices);
    for p in &singles {
        if let Some(e) = store.entry(session.id, Snapshot::Baseline, p)? {
            before.insert(p.clone(), e);
        }
        if let Some(mut s) = scanner.stat_known(p, known, &mut notices) {
            keep(&mut s, before.get(p), &mut notices);
            after.push(s);
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    tracing::debug!(
        read = read_now,
        captured = seen.len(),
        "contents read at finish"
    );
    pack.finish(true)?;
    // A baseline entry that is ignored now (a rule added on resume) is no change.
    before.retain(|p, e| !ignore.is_ignored(p, e.kind == EntryKind::Dir));

    // The walked roots, none within another, and the singles outside
    // them (`plan`) give each path once.
    after.sort_unstable_by(|a, b| a.entry.path.cmp(&b.entry.path));
    let examined = before.len().max(after.len());
    let mut out = FileDiff {
        full_rescan: reason.clone(),
        examined,
        ..FileDiff::default()
    };
    // Most of what a storm re-read is a change: no regrowing as they come.
    out.changes.reserve(after.len());
    if let Some(r) = &reason {
        out.notices.push(Notice {
            path: None,
            kind: NoticeKind::Rescan,
            message: format!("every watched root was rescanned: {r}"),
        });
    }
    // What the daemon captured is not needed any more: its memory goes
    // back while the change set is built.
    crate::drop_aside(seen);
    // Both are sorted by path: one merge, in path order. The entries read
    // that are changes stay where they are and become the finals: a
    // storm's 100k are not copied into a second list.
    let mut is_final = vec![false; after.len()];
    let mut before = before.into_iter().peekable();
    let mut next = 0;
    loop {
        let a = after.get(next);
        let order = match (before.peek(), a) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((b, _)), Some(a)) => b.cmp(&a.entry.path),
        };
        let (path, b, a) = match order {
            std::cmp::Ordering::Less => {
                let (p, b) = before.next().expect("peeked");
                (p, Some(b), None)
            }
            std::cmp::Ordering::Greater => (a.expect("peeked").entry.path.clone(), None, a),
            std::cmp::Ordering::Equal => {
                let (p, b) = before.next().expect("peeked");
                (p, Some(b), a)
            }
        };
        if a.is_some() {
            next += 1;
        }
        let Some(kind) = ChangeKind::classify(b.as_ref(), a.map(|s| &s.entry)) else {
            continue;
        };
        let key = keys.contains(&path);
        let change = change_of(&mut out.notices, path, kind, b, a, cap, key);
        out.changes.push(change);
        if a.is_some() {
            is_final[next - 1] = true;
        }
    }
    let mut finals = is_final.into_iter();
    after.retain(|_| finals.next().unwrap_or(false));
    out.finals = after;
    // Unreadable paths that are not part of the change set are still worth
    // telling: the user may expect them.
    notices.sort_by(|a, b| a.path.cmp(&b.path));
    notices.dedup();
    out.notices.extend(notices);
    Ok(out)
}

/// Add one change to `out`: its final entry and content, whether it is a
/// secret (`key`: its content, read already, holds a private key), and the
/// notices it deserves (a secret, content over the cap, a special file).
/// Shared with extraction, which finds changes otherwise.
pub(crate) fn push_change(
    out: &mut FileDiff,
    path: Vec<u8>,
    kind: ChangeKind,
    before: Option<Entry>,
    after: Option<Scanned>,
    cap: u64,
    key: bool,
) {
    let change = change_of(
        &mut out.notices,
        path,
        kind,
        before,
        after.as_ref(),
        cap,
        key,
    );
    out.changes.push(change);
    out.finals.extend(after);
}

/// The change at `path`, and the notices it deserves, into `notices`.
fn change_of(
    notices: &mut Vec<Notice>,
    path: Vec<u8>,
    kind: ChangeKind,
    before: Option<Entry>,
    after: Option<&Scanned>,
    cap: u64,
    key: bool,
) -> Change {
    let mut secret = false;
    if let Some(s) = after {
        let e = &s.entry;
        if e.kind == EntryKind::File && kind != ChangeKind::Metadata {
            let bytes = s.content.as_ref().and_then(Content::bytes);
            secret = secret::is_secret_path(&path)
                || key
                || bytes.is_some_and(secret::holds_private_key);
            if secret {
                notices.push(notice(
                    &path,
                    NoticeKind::Secret,
                    "holds a secret: its content is withheld from generated output \
                     unless secrets are asked for",
                ));
            }
            if e.hash.is_some() && !e.content_stored {
                notices.push(notice(
                    &path,
                    NoticeKind::TooLarge,
                    &format!(
                        "{} bytes is over the capture limit of {cap} bytes: only its hash was kept",
                        e.size
                    ),
                ));
            }
        }
        if e.kind.is_special() {
            notices.push(notice(
                &path,
                NoticeKind::Special,
                &format!("a {}: recorded, never opened", e.kind),
            ));
        }
    }
    Change {
        path,
        kind,
        before,
        after: after.map(|s| s.entry.clone()),
        secret,
        origin: Default::default(),
        package: None,
    }
}

fn notice(path: &[u8], kind: NoticeKind, message: &str) -> Notice {
    Notice {
        path: Some(path.to_vec()),
        kind,
        message: message.to_string(),
    }
}

/// From the touched paths, the subtrees to re-read and the single entries to
/// re-stat, with nested and out-of-scope paths removed.
pub fn plan(
    touched: Vec<(&[u8], bool)>,
    watched: &[Vec<u8>],
    ignore: &Ignore,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let in_scope =
        |p: &[u8]| watched.iter().any(|w| is_within(p, w)) && !ignore.is_ignored(p, false);
    let mut subtrees: Vec<Vec<u8>> = touched
        .iter()
        .filter(|(_, sub)| *sub)
        .map(|(p, _)| p.to_vec())
        .collect();
    subtrees.sort();
    subtrees.dedup();
    // A path inside a kept subtree has that subtree among its ancestors:
    // a lookup per ancestor, not a scan of every subtree (a storm makes
    // thousands of both).
    let mut kept_set: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(subtrees.len());
    for p in subtrees {
        // Sorted, the last one kept is most often the parent; byte order
        // also puts `/a-x` between `/a` and `/a/b`, so the others are
        // asked too. A nested path is dropped before the ignore rules are
        // asked of it (a storm creates 100k files in a few directories).
        let nested = kept.last().is_some_and(|k| is_within(&p, k))
            || crate::model::ancestors(&p).any(|a| kept_set.contains(a));
        if !nested && in_scope(&p) {
            kept_set.insert(p.clone());
            kept.push(p);
        }
    }
    // The ancestors first: a storm's files are all inside a kept subtree,
    // and that is cheaper to ask than the ignore rules. Neighbours share
    // a directory most often, so its answer is kept for the next.
    let mut last: Option<(Vec<u8>, bool)> = None;
    let mut within_kept = |p: &[u8]| {
        if kept_set.contains(p) {
            return true;
        }
        let Some(dir) = crate::model::parent(p) else {
            return false;
        };
        if let Some((d, within)) = &last {
            if d.as_slice() == dir {
                return *within;
            }
        }
        let within = crate::model::ancestors(dir).any(|a| kept_set.contains(a));
        last = Some((dir.to_vec(), within));
        within
    };
    let mut singles: Vec<Vec<u8>> = touched
        .into_iter()
        .filter(|(p, sub)| !*sub && !within_kept(p))
        .filter(|(p, _)| in_scope(p))
        .map(|(p, _)| p.to_vec())
        .collect();
    singles.sort();
    singles.dedup();
    (kept, singles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContentHash, Event, EventKind, EventSource};

    /// A tree, a store holding its baseline, and a session over `/etc`.
    fn setup() -> (tempfile::TempDir, Store, Session) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("etc/keep")).unwrap();
        std::fs::write(root.join("etc/a"), "a0").unwrap();
        std::fs::write(root.join("etc/b"), "b0").unwrap();
        std::fs::write(root.join("etc/keep/k"), "k").unwrap();
        let (store, session, _) =
            crate::snapshot::baselined(&root, &tmp.path().join("db"), &[b"/etc"]);
        (tmp, store, session)
    }

    fn event(kind: EventKind, path: &[u8]) -> Event {
        Event {
            time_ns: 0,
            kind,
            path: Some(path.to_vec()),
            path_to: None,
            source: EventSource::Watcher,
        }
    }

    fn kinds(o: &FileDiff) -> Vec<(ChangeKind, String)> {
        o.changes
            .iter()
            .map(|c| (c.kind, String::from_utf8_lossy(&c.path).into_owned()))
            .collect()
    }

    #[test]
    fn touched_paths_and_what_the_sweep_finds_are_read_and_the_state_decides() {
        let (tmp, mut store, session) = setup();
        let root = tmp.path().join("root");
        std::fs::write(root.join("etc/a"), "a1").unwrap();
        // Changed without an event: the stat sweep finds it.
        std::fs::write(root.join("etc/b"), "b1").unwrap();
        // An event that ends where it began is no change.
        std::fs::write(root.join("etc/keep/k"), "k").unwrap();
        std::fs::create_dir(root.join("etc/new")).unwrap();
        std::fs::write(root.join("etc/new/f"), "f").unwrap();
        store
            .record_events(
                session.id,
                &[
                    event(EventKind::Modified, b"/etc/a"),
                    event(EventKind::Modified, b"/etc/keep/k"),
                    event(EventKind::Created, b"/etc/new"),
                    event(EventKind::Created, b"/etc/gone-again"),
                ],
            )
            .unwrap();
        let o = reconcile(&store, &session, None, crate::progress::SILENT).unwrap();
        assert_eq!(
            kinds(&o),
            vec![
                (ChangeKind::Modified, "/etc/a".into()),
                (ChangeKind::Modified, "/etc/b".into()),
                (ChangeKind::DirCreated, "/etc/new".into()),
                (ChangeKind::Created, "/etc/new/f".into()),
            ]
        );
        assert!(o.full_rescan.is_none());
        let fin = o.finals.iter().find(|f| f.entry.path == b"/etc/a").unwrap();
        // Read as it was walked, and packed at once: only its place is held.
        let Some(Content::Packed(at)) = fin.content else {
            panic!("{:?}", fin.content);
        };
        let mut got = Vec::new();
        store
            .copy_packed(&session, at, 2, &ContentHash::of(b"a1"), &mut got)
            .unwrap();
        assert_eq!(got, b"a1");
    }

    #[test]
    fn a_rescan_finds_what_no_event_told() {
        let (tmp, store, session) = setup();
        let root = tmp.path().join("root");
        std::fs::write(root.join("etc/b"), "b1").unwrap();
        std::fs::remove_dir_all(root.join("etc/keep")).unwrap();
        let o = reconcile(
            &store,
            &session,
            Some("daemon died"),
            crate::progress::SILENT,
        )
        .unwrap();
        assert_eq!(
            kinds(&o),
            vec![
                (ChangeKind::Modified, "/etc/b".into()),
                (ChangeKind::DirRemoved, "/etc/keep".into()),
                (ChangeKind::Removed, "/etc/keep/k".into()),
            ]
        );
        assert_eq!(o.full_rescan.as_deref(), Some("daemon died"));
        assert!(o.notices.iter().any(|n| n.kind == NoticeKind::Rescan));
    }

    /// A file the daemon captured (`Snapshot::Seen`) whose stamp, size
    /// and mtime have not moved is taken from there, not read again; one
    /// whose stamp moved is read. The captured hash is made to differ
    /// from the file's here, so that which one finish used shows.
    #[test]
    fn a_captured_file_is_taken_as_captured_unless_its_stamp_moved() {
        use std::os::unix::fs::MetadataExt;
        let (tmp, mut store, session) = setup();
        let root = tmp.path().join("root");
        std::fs::write(root.join("etc/a"), "a1").unwrap();
        std::fs::write(root.join("etc/b"), "b1").unwrap();
        let captured = |path: &str, file: &str, content: &[u8]| {
            let md = std::fs::symlink_metadata(root.join(file)).unwrap();
            Scanned {
                entry: Entry {
                    path: path.as_bytes().to_vec(),
                    kind: EntryKind::File,
                    mode: md.mode() & 0o7777,
                    uid: md.uid(),
                    gid: md.gid(),
                    owner: None,
                    group: None,
                    size: md.len(),
                    mtime_ns: md.mtime() * 1_000_000_000 + md.mtime_nsec(),
                    hash: Some(ContentHash::of(content)),
                    content_stored: true,
                    link_target: None,
                },
                content: Some(Content::Bytes(content.to_vec())),
                stamp: Some(crate::model::Stamp {
                    ino: md.ino(),
                    ctime_ns: md.ctime() * 1_000_000_000 + md.ctime_nsec(),
                }),
            }
        };
        // Same size as the file, so that only the hash tells them apart.
        let seen = [
            captured("/etc/a", "etc/a", b"zz"),
            captured("/etc/b", "etc/b", b"yy"),
        ];
        let mut pack = store.pack_appender(&session).unwrap();
        let seen: Vec<Scanned> = seen
            .into_iter()
            .map(|mut s| {
                let Some(Content::Bytes(b)) = s.content.take() else {
                    unreachable!()
                };
                s.content = Some(Content::Packed(
                    pack.append(&s.entry.hash.unwrap(), &b).unwrap(),
                ));
                s
            })
            .collect();
        pack.finish(false).unwrap();
        store
            .insert_entries(session.id, Snapshot::Seen, &seen)
            .unwrap();
        // /etc/b is written again after the capture: its ctime moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(root.join("etc/b"), "b2").unwrap();
        store
            .record_events(
                session.id,
                &[
                    event(EventKind::Modified, b"/etc/a"),
                    event(EventKind::Modified, b"/etc/b"),
                ],
            )
            .unwrap();
        let o = reconcile(&store, &session, None, crate::progress::SILENT).unwrap();
        let hash = |p: &[u8]| {
            o.changes
                .iter()
                .find(|c| c.path == p)
                .and_then(|c| c.after.as_ref()?.hash)
        };
        assert_eq!(
            hash(b"/etc/a"),
            Some(ContentHash::of(b"zz")),
            "taken as captured"
        );
        assert_eq!(hash(b"/etc/b"), Some(ContentHash::of(b"b2")), "read again");
        let fin = o.finals.iter().find(|f| f.entry.path == b"/etc/a").unwrap();
        let Some(Content::Packed(at)) = fin.content else {
            panic!("{:?}", fin.content);
        };
        let mut got = Vec::new();
        store
            .copy_packed(&session, at, 2, &ContentHash::of(b"zz"), &mut got)
            .unwrap();
        assert_eq!(got, b"zz", "its content is the captured one, in the pack");
    }

    #[test]
    fn plan_merges_nested_paths_and_drops_out_of_scope_ones() {
        let ig = Ignore::new(&[]).unwrap();
        let watched = vec![b"/etc".to_vec(), b"/srv".to_vec()];
        let touched: Vec<(&[u8], bool)> = vec![
            (b"/etc/a", true),
            (b"/etc/a/b/c", true),
            (b"/etc/a/b/f", false),
            (b"/etc/ab", false),
            (b"/etc/ab", false),
            (b"/tmp/x", true),
            (b"/etc/x.swp", true),
            (b"/srv/d", true),
            // Byte order puts it between /etc/a and /etc/a/b/c.
            (b"/etc/a-x", true),
            // A single that is a subtree re-read, and neighbours in one
            // directory, inside a subtree and not.
            (b"/srv/d", false),
            (b"/etc/q/1", false),
            (b"/etc/q/2", false),
            (b"/etc/a/y", false),
            (b"/etc/a/z", false),
            (b"/etc/q/3", false),
        ];
        let (sub, single) = plan(touched, &watched, &ig);
        let want: Vec<&[u8]> = vec![b"/etc/a", b"/etc/a-x", b"/srv/d"];
        assert_eq!(sub, want);
        let want: Vec<&[u8]> = vec![b"/etc/ab", b"/etc/q/1", b"/etc/q/2", b"/etc/q/3"];
        assert_eq!(single, want);
    }
}
