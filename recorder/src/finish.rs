//! `finish` as a pipeline of typed stages, each taking values and
//! returning values:
//!
//! 1. [`reconcile`](crate::reconcile::reconcile): baseline vs now → a
//!    [`FileDiff`] (the file changes, their final entries and contents);
//! 2. [`Evidence::gather`]: the commands run and the watcher's timeline;
//! 3. [`probe_system`]: packages, accounts and services now, with the
//!    package file index → [`Probed`];
//! 4. [`attribute`](crate::attribute::attribute): who made each file change
//!    (an origin: the admin, a package, state other resources express) and
//!    the system changes → [`Attributed`];
//! 5. [`why::attribute`](crate::why::attribute): which command made each
//!    change;
//! 6. one [`Store::save_finished`] of the [`Finished`] value.

use crate::attribute::{self, Attributed};
use crate::error::Result;
use crate::ignore_rules::Ignore;
use crate::model::{BlobSource, Content};
use crate::model::{
    Change, ChangeKind, EntryWithContent, EventKind, Intent, Notice, NoticeKind, Session,
    SystemChanges, SystemSnapshot, Why,
};
use crate::probe::{self, dpkg::DpkgFiles, dpkg::Md5Writer};
use crate::reconcile::{self, FileDiff};
use crate::store::{Snapshot, Store};
use crate::target::Target;
use crate::why;
use std::collections::HashMap;

pub use crate::model::Finished;

/// What the session recorded besides the file states: the commands run
/// and the watcher's timeline, flattened to one (time, kind, path) per
/// path an event named.
pub struct Evidence {
    pub intents: Vec<Intent>,
    pub events: Vec<(i64, EventKind, Vec<u8>)>,
}

impl Evidence {
    /// The commands run and every event, ignored names included: `kept`
    /// and `retain` take those out, while finish re-reads the files.
    pub fn gather(store: &Store, session: &Session) -> Result<Evidence> {
        let stored = store.events(session.id)?;
        // Sized once: a storm's 100k events, grown by doubling, would be
        // copied over and over.
        let mut events = Vec::with_capacity(stored.len());
        events.extend(stored.into_iter().flat_map(|e| {
            let (t, k) = (e.time_ns, e.kind);
            e.path.into_iter().chain(e.path_to).map(move |p| (t, k, p))
        }));
        Ok(Evidence {
            intents: store.intents(session.id)?,
            events,
        })
    }

    /// Whether each event is about a name kept. A rename from an ignored
    /// name (`editor.dpkg-tmp` -> `editor`) is an event about both;
    /// attribution only cares about the names kept.
    pub fn kept(&self, ignore: &Ignore) -> Vec<bool> {
        // A file's events come together (created, written, closed): the
        // previous path's answer is taken again, not matched again.
        let mut kept = Vec::with_capacity(self.events.len());
        let mut last: Option<(&[u8], bool)> = None;
        for (_, _, p) in &self.events {
            let ignored = match last {
                Some((q, ignored)) if q == p.as_slice() => ignored,
                _ => ignore.is_ignored(p, false),
            };
            last = Some((p, ignored));
            kept.push(!ignored);
        }
        kept
    }

    /// Only the events `kept` (as `Evidence::kept` said of them) stay.
    pub fn retain(&mut self, kept: Vec<bool>) {
        let mut kept = kept.into_iter();
        self.events.retain(|_| kept.next().unwrap_or(true));
    }

    /// Each path the events name once, with whether it is a subtree to
    /// re-read (as `Store::touched_paths` gives them; `reconcile::plan`
    /// drops the ignored names).
    pub fn touched(&self) -> Vec<(&[u8], bool)> {
        // Sized once: a storm names 100k paths.
        let mut seen = std::collections::HashSet::with_capacity(self.events.len());
        let mut last = None;
        self.events
            .iter()
            .map(|(_, k, p)| (p.as_slice(), k.is_subtree()))
            // Neighbours repeat most (a file created, written, closed).
            .filter(|t| last.replace(*t) != Some(*t))
            .filter(|t| seen.insert(*t))
            .collect()
    }
}

/// What the probes say at finish, next to what they said at begin.
pub struct Probed {
    pub before: SystemSnapshot,
    pub after: SystemSnapshot,
    /// Which package owns a path and what it shipped; `None` when the
    /// index could not be read (a notice says so).
    pub files: Option<DpkgFiles>,
    /// The same of the baseline's system, where it is another root (an
    /// extraction against a reference): the owner of what a removed
    /// package left behind.
    pub files_before: Option<DpkgFiles>,
}

/// Probe the system again. `Ok(None)` with nothing to compare against (no
/// snapshot at begin) or when the probes fail now, which is a notice, not
/// a failed finish: the file changes are still stored.
pub fn probe_system(store: &Store, session: &Session) -> Result<(Option<Probed>, Vec<Notice>)> {
    let Some(before) = store.system_snapshot::<SystemSnapshot>(session.id, Snapshot::Baseline)?
    else {
        return Ok((None, Vec::new()));
    };
    let target = Target::new(&session.root);
    let other = |message: String| Notice {
        path: None,
        kind: NoticeKind::Other,
        message,
    };
    let after = match probe::snapshot(&target) {
        Ok(a) => a,
        Err(e) => {
            let n = other(format!(
                "packages, accounts and services were not compared: {e}"
            ));
            return Ok((None, vec![n]));
        }
    };
    let (files, notices) = match DpkgFiles::load(&target) {
        Ok(f) => (Some(f), Vec::new()),
        Err(e) => (None, vec![other(format!("file ownership unknown: {e}"))]),
    };
    Ok((
        Some(Probed {
            before,
            after,
            files,
            files_before: None,
        }),
        notices,
    ))
}

/// Origins and system changes, or the file changes as the admin's when
/// there is nothing to compare.
pub fn attribute_all(
    store: &Store,
    session: &Session,
    changes: Vec<Change>,
    finals: &[EntryWithContent],
    events_lost: bool,
    probed: Option<&Probed>,
    evidence: &Evidence,
) -> (Vec<Change>, Option<SystemChanges>) {
    let Some(p) = probed else {
        return (changes, None);
    };
    let target = Target::new(&session.root);
    // Only a package's files are asked for: most sessions never build it.
    let by_path: std::cell::OnceCell<HashMap<&[u8], &EntryWithContent>> = Default::default();
    let final_md5 = |path: &[u8]| {
        let finals = by_path.get_or_init(|| {
            finals
                .iter()
                .map(|f| (f.entry.path.as_slice(), f))
                .collect()
        });
        let f = finals.get(path)?;
        let hash = f.entry.hash?;
        let mut md5 = Md5Writer::default();
        let read = match f.content.as_ref()? {
            Content::Bytes(b) => return Some(crate::probe::dpkg::md5_hex(b)),
            Content::Packed(at) => store.copy_packed(session, *at, f.entry.size, &hash, &mut md5),
            Content::InStore => store.copy_blob(&hash, &mut md5).map(|_| ()),
            Content::Stream => return None,
        };
        read.ok().map(|()| md5.hex())
    };
    let owner_of = |path: &[u8]| {
        [&p.files, &p.files_before]
            .into_iter()
            .find_map(|f| f.as_ref().and_then(|f| f.owner_of(path)))
            .map(str::to_string)
    };
    let stock_md5 = |path: &[u8]| {
        p.files
            .as_ref()
            .and_then(|f| f.stock_md5(path))
            .map(str::to_string)
    };
    let inputs = attribute::Inputs {
        target: &target,
        watched: &session.watched,
        events: &evidence.events,
        intents: &evidence.intents,
        owner_of: &owner_of,
        stock_md5: &stock_md5,
        final_md5: &final_md5,
        events_lost,
    };
    let Attributed { changes, system } =
        attribute::attribute(&p.before, &p.after, changes, &inputs);
    (changes, Some(system))
}

/// What `finish` tells the admin.
#[derive(Clone, Debug)]
pub struct FinishReport {
    pub session: Session,
    pub counts: Vec<(ChangeKind, usize)>,
    pub notices: Vec<Notice>,
    pub full_rescan: Option<String>,
    pub examined: usize,
    pub system: SystemChanges,
    /// How many commands were recorded (typed lines and wrapped tools).
    pub intents: usize,
    /// Commands that changed nothing cft recorded: candidates for replay
    /// as `exec` resources.
    pub unexpressed: Vec<Intent>,
}

/// Reconcile a stopped session and store its change set, stage by stage.
/// `reason` says why every root must be re-read, if the session's own
/// rescan mark does not. The re-reads report to `progress`.
pub fn run(
    store: &mut Store,
    session: &Session,
    reason: Option<&str>,
    progress: &dyn crate::progress::Progress,
) -> Result<FinishReport> {
    let t = std::time::Instant::now();
    // The timeline is read once: what it names is also where to look.
    // What the daemon captured is read meanwhile, on a connection of its
    // own (after a storm, each is 100k entries).
    let (db, id) = (store.path().to_path_buf(), session.id);
    let (evidence, seen) = std::thread::scope(|scope| {
        let seen = scope.spawn(move || Store::open_existing(&db)?.seen(id));
        let evidence = Evidence::gather(store, session);
        match seen.join() {
            Ok(seen) => (evidence, seen),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let (mut evidence, seen) = (evidence?, seen?);
    let gathered = t.elapsed();
    // The ignore rules are asked of each event's path while the files are
    // re-read, on a thread of its own: attribution needs the answers only
    // afterwards, and the plan asks the rules of what it keeps itself.
    let ignore = Ignore::new(&session.ignore_patterns)?;
    let (files, kept) = std::thread::scope(|scope| {
        let ev = &evidence;
        let kept = scope.spawn(move || ev.kept(&ignore));
        let files = reconcile::reconcile_touched(
            store,
            session,
            reason,
            Some((evidence.touched(), seen)),
            progress,
        );
        match kept.join() {
            Ok(kept) => (files, kept),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let files = files?;
    evidence.retain(kept);
    let reconciled = t.elapsed();
    let (probed, notices) = probe_system(store, session)?;
    let probed_at = t.elapsed();
    let report = complete(store, session, files, evidence, probed, notices)?;
    tracing::debug!(
        evidence_ms = gathered.as_millis() as u64,
        reconcile_ms = (reconciled - gathered).as_millis() as u64,
        probes_ms = (probed_at - reconciled).as_millis() as u64,
        attribute_and_save_ms = (t.elapsed() - probed_at).as_millis() as u64,
        "finish's stages"
    );
    Ok(report)
}

/// The stages after the file diff, for any source of one (a recording's
/// reconciliation, an extraction): origins, attributions, one save.
/// A shadow file's change is expressed by user resources, not as a file:
/// its "withheld" notice is only true when a password was set, and then it
/// says where the hash went.
fn account_secrets(
    notices: Vec<Notice>,
    changes: &[Change],
    system: Option<&SystemChanges>,
) -> Vec<Notice> {
    let passwords = system.is_some_and(|s| s.users.iter().any(|u| u.password_changed));
    notices
        .into_iter()
        .filter_map(|mut n| {
            let by_accounts = n.kind == NoticeKind::Secret
                && changes.iter().any(|c| {
                    Some(&c.path) == n.path.as_ref() && c.origin == crate::model::Origin::Accounts
                });
            if !by_accounts {
                return Some(n);
            }
            passwords.then(|| {
                n.message = "holds password hashes: the module asks for each one set in \
                             the session as a class parameter unless secrets are asked for"
                    .into();
                n
            })
        })
        .collect()
}

pub fn complete(
    store: &mut Store,
    session: &Session,
    files: FileDiff,
    evidence: Evidence,
    probed: Option<Probed>,
    more_notices: Vec<Notice>,
) -> Result<FinishReport> {
    let FileDiff {
        mut changes,
        mut finals,
        mut notices,
        full_rescan,
        examined,
    } = files;
    pack_streams(store, session, &mut changes, &mut finals, &mut notices)?;
    let (changes, system) = attribute_all(
        store,
        session,
        changes,
        &finals,
        full_rescan.is_some(),
        probed.as_ref(),
        &evidence,
    );
    let attributions = why::attribute(&why::Inputs {
        target: &Target::new(&session.root),
        intents: &evidence.intents,
        events: &evidence.events,
        changes: &changes,
        system: system.as_ref().unwrap_or(&SystemChanges::default()),
    });
    let counts = count(&changes);
    let mut notices = account_secrets(notices, &changes, system.as_ref());
    notices.extend(more_notices);
    let finished = Finished {
        session: session.id,
        changes,
        finals,
        notices,
        system: system.zip(probed.map(|p| p.after)),
        attributions,
    };
    let t = std::time::Instant::now();
    store.save_finished(&finished)?;
    tracing::debug!(ms = t.elapsed().as_millis() as u64, "saved the change set");
    let Finished {
        changes,
        finals,
        system,
        attributions,
        ..
    } = finished;
    crate::drop_aside((changes, finals, evidence.events));
    let why = Why {
        intents: evidence.intents,
        attributions,
    };
    Ok(FinishReport {
        session: store.session_by_id(session.id)?,
        counts,
        notices: store.notices(session.id)?,
        full_rescan,
        examined,
        system: system.map(|(c, _)| c).unwrap_or_default(),
        unexpressed: why.unexpressed().into_iter().cloned().collect(),
        intents: why.intents.len(),
    })
}

/// Final contents too large to hold that are not stored yet (an
/// extraction's: a recording's reconciliation packs them as it reads),
/// streamed from their files into the session's pack; one that holds a
/// private key makes its change a secret.
fn pack_streams(
    store: &Store,
    session: &Session,
    changes: &mut [Change],
    finals: &mut [EntryWithContent],
    notices: &mut Vec<Notice>,
) -> Result<()> {
    if !finals
        .iter()
        .any(|f| matches!(f.content, Some(Content::Stream)))
    {
        return Ok(());
    }
    let target = Target::new(&session.root);
    let ignore = Ignore::new(&session.ignore_patterns)?;
    let scanner = crate::snapshot::Scanner {
        target: &target,
        ignore: &ignore,
        content_cap: session.content_cap,
        progress: crate::progress::SILENT,
    };
    let mut pack = store.pack_appender(session)?;
    for f in finals.iter_mut() {
        if !matches!(f.content, Some(Content::Stream)) || !scanner.pack(f, &mut pack, notices)? {
            continue;
        }
        if let Some(c) = changes.iter_mut().find(|c| c.path == f.entry.path) {
            if !c.secret {
                c.secret = true;
                notices.push(Notice {
                    path: Some(c.path.clone()),
                    kind: NoticeKind::Secret,
                    message: "holds a secret: its content is withheld from generated output \
                              unless secrets are asked for"
                        .into(),
                });
            }
        }
    }
    pack.finish(true)
}

/// Changes by kind, the kinds that occur, in order.
fn count(changes: &[Change]) -> Vec<(ChangeKind, usize)> {
    ChangeKind::ALL
        .iter()
        .map(|k| (*k, changes.iter().filter(|c| c.kind == *k).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}
