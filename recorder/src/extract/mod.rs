//! Extraction: a finished session from a machine nobody recorded. Its
//! change set is "what was done to this machine by hand", the same
//! [`ChangeSet`](crate::model::ChangeSet) a recording gives, so showing
//! it, turning it into a module, a descriptor or a recipe, and diffing it
//! work unchanged.
//!
//! Two baselines:
//! - **the package defaults** (no reference root): what the packages
//!   shipped (dpkg's md5sums and conffiles), the system's own installation
//!   found from the logs (`defaults`), and the package defaults of
//!   services, alternatives and accounts;
//! - **a reference root**: a pristine root of the same release, snapshot
//!   exactly as `begin` takes a baseline, then reconciled as `finish` does.
//!
//! Either way the evidence a recording would have had is made from what
//! the machine kept: the package manager's runs from its logs (`logs`)
//! stand in for the lock files the daemon watches, and each file's mtime
//! for the watcher's event, so the same attribution decides who made each
//! change. What it cannot know, it says, as notices.

mod defaults;
pub(crate) mod logs;

use crate::error::{Error, Result};
use crate::finish::{self, Evidence, FinishReport, Probed};
use crate::ignore_rules::Ignore;
use crate::model::{ChangeKind, Content, EntryWithContent, EventKind, Notice, NoticeKind, Session};
use crate::probe::{self, dpkg::DpkgFiles};
use crate::progress::Progress;
use crate::reconcile::{self, FileDiff, FINISH_CAPTURE_CAP};
use crate::session::BeginOptions;
use crate::snapshot::Scanner;
use crate::store::{Snapshot, Store};
use crate::target::Target;
use std::path::{Path, PathBuf};

/// What to extract.
#[derive(Clone, Debug)]
pub struct ExtractOptions {
    /// The session to make, its root, roots and ignore rules, as for `begin`.
    pub session: BeginOptions,
    /// A pristine root of the same release to compare with, instead of
    /// the package defaults.
    pub against: Option<PathBuf>,
    /// Only what was done after this time (ns since the epoch): it moves
    /// the install boundary.
    pub since_ns: Option<i64>,
}

/// What extraction did, besides the finish report.
#[derive(Clone, Debug)]
pub struct ExtractReport {
    pub finish: FinishReport,
    /// `package defaults` or `reference root PATH`.
    pub baseline: String,
    /// When the system's own installation ended, and how that was found.
    pub boundary: Option<(i64, String)>,
    /// The package logs read, oldest first.
    pub logs: Vec<String>,
}

/// Extract NAME from the machine at `opts.session.root`; the session is
/// finished when this returns, and nothing is left of it if it fails. The
/// walks of the watched roots report to `progress`.
pub fn extract(db: &Path, opts: &ExtractOptions, progress: &dyn Progress) -> Result<ExtractReport> {
    let new = crate::session::new_session(db, &opts.session)?;
    let reference = opts
        .against
        .as_deref()
        .map(crate::session::canonical_root)
        .transpose()?;
    let mut store = Store::open(db)?;
    let session = store.create_session(&new)?;
    match run(&mut store, &session, opts, reference.as_deref(), progress) {
        Ok(r) => Ok(r),
        Err(e) => {
            // Nothing half-made stays behind to block the root.
            let _ = store.erase_session(session.id);
            Err(e)
        }
    }
}

fn run(
    store: &mut Store,
    session: &Session,
    opts: &ExtractOptions,
    reference: Option<&[u8]>,
    progress: &dyn Progress,
) -> Result<ExtractReport> {
    let target = Target::new(&session.root);
    let ignore = Ignore::new(&session.ignore_patterns)?;
    let cap = session.content_cap.max(FINISH_CAPTURE_CAP);
    let logs = logs::read(&target);
    let boundary = boundary(&target, &logs, opts.since_ns);
    let after = probe::snapshot(&target)?;
    let mut notices = assumptions(&logs, boundary.as_ref(), reference.is_some());
    let mut files_before = None;
    let (files, before, baseline) = match reference {
        Some(r) => {
            let ref_target = Target::new(r);
            take_baseline(store, session, &ref_target, &ignore, progress)?;
            let before = probe::snapshot(&ref_target)?;
            let shown = crate::model::display_path(r);
            let mut files = reconcile::reconcile(
                store,
                session,
                Some(&format!("extracted against the reference root {shown}")),
                progress,
            )?;
            let machine = DpkgFiles::load(&target)?;
            removed_since(
                &mut files,
                &machine,
                &before,
                &target,
                &session.watched,
                &ignore,
                cap,
            );
            files_before = DpkgFiles::load(&ref_target).ok();
            (files, before, format!("reference root {shown}"))
        }
        None => {
            let dpkg = DpkgFiles::load(&target)?;
            let bound = boundary.as_ref().map(|(t, _)| *t);
            let diffed = defaults::file_diff(
                &target,
                &session.watched,
                &ignore,
                cap,
                &dpkg,
                bound,
                progress,
            );
            if diffed.older > 0 {
                notices.push(other(format!(
                    "{} entries no package owns were made before the install boundary (by their \
                     creation time where the filesystem keeps one, else their mtime) and were \
                     taken as the installer's",
                    diffed.older
                )));
            }
            let before = defaults::before(&target, &dpkg, &after, &logs, bound, &mut notices);
            (diffed.files, before, "package defaults".to_string())
        }
    };
    store.put_system_snapshot(session.id, Snapshot::Baseline, &before)?;
    let evidence = evidence(&target, &files, &logs);
    let probed = Probed {
        before,
        after,
        files: DpkgFiles::load(&target).ok(),
        files_before,
    };
    let finish = finish::complete(store, session, files, evidence, Some(probed), notices)?;
    Ok(ExtractReport {
        finish,
        baseline,
        boundary,
        logs: logs.files,
    })
}

/// A file a package installed since the reference shipped, and the admin
/// removed: neither root has it, so no state difference shows it, yet a
/// fresh machine's package brings it back (nginx's `koi-win`).
fn removed_since(
    files: &mut FileDiff,
    machine: &DpkgFiles,
    reference: &crate::model::SystemSnapshot,
    target: &Target,
    watched: &[Vec<u8>],
    ignore: &Ignore,
    cap: u64,
) {
    let had = |owner: &str| {
        let name = owner.split(':').next().unwrap_or(owner);
        reference.packages.packages.values().any(|p| p.name == name)
    };
    let known: std::collections::BTreeSet<Vec<u8>> =
        files.changes.iter().map(|c| c.path.clone()).collect();
    for root in watched {
        for (path, owner) in machine.shipped_under(root) {
            if had(owner)
                || known.contains(&path)
                || ignore.is_ignored(&path, false)
                || std::fs::symlink_metadata(target.host_path(&path)).is_ok()
            {
                continue;
            }
            reconcile::push_change(files, path, ChangeKind::Removed, None, None, cap, false);
            if let Some(c) = files.changes.last_mut() {
                c.package = Some(owner.to_string());
            }
        }
    }
    files.changes.sort_by(|a, b| a.path.cmp(&b.path));
}

/// The reference root's entries as the session's baseline, as `begin`
/// takes one (contents into the session's pack).
fn take_baseline(
    store: &mut Store,
    session: &Session,
    reference: &Target,
    ignore: &Ignore,
    progress: &dyn Progress,
) -> Result<()> {
    let scanner = Scanner {
        target: reference,
        ignore,
        content_cap: session.content_cap,
        progress,
    };
    let mut pack = store.pack_writer(session)?;
    let mut notices = Vec::new();
    for root in &session.watched {
        let mut batch: Vec<EntryWithContent> = Vec::new();
        let mut failed: Option<Error> = None;
        let mut packed_notices = Vec::new();
        scanner.walk(
            root,
            &mut notices,
            |_, _| {},
            |mut s| {
                // A large content goes to the pack now, streamed from its
                // file; the batch only ever holds small ones.
                if matches!(s.content, Some(Content::Stream)) && failed.is_none() {
                    if let Err(e) = scanner.pack(&mut s, &mut pack, &mut packed_notices) {
                        failed = Some(e);
                    }
                }
                batch.push(s);
                if batch.len() >= 2048 && failed.is_none() {
                    if let Err(e) = store.insert_entries_packed(
                        session.id,
                        Snapshot::Baseline,
                        &batch,
                        &mut pack,
                    ) {
                        failed = Some(e);
                    }
                    batch.clear();
                }
            },
        );
        notices.append(&mut packed_notices);
        if let Some(e) = failed {
            return Err(e);
        }
        store.insert_entries_packed(session.id, Snapshot::Baseline, &batch, &mut pack)?;
    }
    pack.finish(true)
}

/// The evidence a recording would have had: each run of the package
/// manager as a lock held from its start to its end, and each changed
/// file's mtime as the one event about it.
fn evidence(target: &Target, files: &FileDiff, logs: &logs::Logs) -> Evidence {
    const LOCK: &[u8] = b"/var/lib/dpkg/lock";
    let mut events: Vec<(i64, EventKind, Vec<u8>)> = Vec::new();
    for (start, end) in &logs.windows {
        events.push((*start, EventKind::LockOpened, LOCK.to_vec()));
        events.push((*end, EventKind::LockClosed, LOCK.to_vec()));
    }
    let now = crate::clock::now_ns();
    for c in &files.changes {
        // A new entry is about when it was made; a changed one, when it was
        // last written; a removed one left no time behind: it is taken as
        // removed now, by hand (a purged package's files go by the purge),
        // never by inheriting its parent's time.
        let t = match (&c.after, c.kind) {
            (Some(a), ChangeKind::Created | ChangeKind::DirCreated) => defaults::made_at(target, a),
            (Some(a), _) => a.mtime_ns,
            (None, _) => now,
        };
        events.push((t, EventKind::Modified, c.path.clone()));
    }
    events.sort_by_key(|e| e.0);
    Evidence {
        intents: Vec::new(),
        events,
    }
}

/// When the system's own installation ended: the time asked for, else
/// when the installer finished writing its log (the Debian installer's,
/// or debootstrap's), else the end of the first stretch of package
/// activity in the logs.
fn boundary(target: &Target, logs: &logs::Logs, since: Option<i64>) -> Option<(i64, String)> {
    if let Some(s) = since {
        return Some((s, "the time asked for".into()));
    }
    for (path, what) in [
        (
            &b"/var/log/installer/syslog"[..],
            "the Debian installer's log",
        ),
        (b"/var/log/installer", "the Debian installer's log"),
        (b"/var/log/bootstrap.log", "debootstrap's log"),
    ] {
        if let Ok(md) = std::fs::symlink_metadata(target.host_path(path)) {
            use std::os::unix::fs::MetadataExt;
            if !md.file_type().is_symlink() {
                return Some((md.mtime() * 1_000_000_000 + md.mtime_nsec(), what.into()));
            }
        }
    }
    const GAP: i64 = 600 * 1_000_000_000;
    let mut windows = logs.windows.iter();
    let (_, mut end) = *windows.next()?;
    for (start, stop) in windows {
        if start - end > GAP {
            break;
        }
        end = *stop;
    }
    Some((
        end,
        "the first stretch of package activity in the logs".into(),
    ))
}

/// The notices of what extraction had to assume.
fn assumptions(logs: &logs::Logs, boundary: Option<&(i64, String)>, against: bool) -> Vec<Notice> {
    let mut out = Vec::new();
    match boundary {
        Some((t, how)) => out.push(other(format!(
            "the system's own installation ended at {} ({how}); what the package manager did \
             before is the base system's",
            crate::clock::utc(*t)
        ))),
        None => out.push(other(
            "no install boundary could be found (no installer log, no package log): every \
             file no package owns counts as made by hand"
                .into(),
        )),
    }
    if logs.is_empty() {
        out.push(other(
            "no dpkg or apt logs: a package removed or purged cannot be found, and files \
             made by maintainer scripts cannot be told from the admin's"
                .into(),
        ));
    } else {
        out.push(other(format!(
            "package logs read: {} (a package removed before the oldest of them is not known)",
            logs.files.join(", ")
        )));
    }
    if !against {
        out.push(other(
            "compared with the package defaults: a packaged file's mode or owner, and the \
             directories and links packages ship, are not compared (dpkg keeps no record of \
             them); compare against a reference root for those"
                .into(),
        ));
    }
    out.push(other(
        "a file that a package's maintainer scripts made and the admin then removed cannot \
         be found without a recording; and the package logs count whole seconds, so a file \
         changed within a second of a package manager run counts as the package's"
            .into(),
    ));
    out
}

fn other(message: String) -> Notice {
    Notice {
        path: None,
        kind: NoticeKind::Other,
        message,
    }
}
