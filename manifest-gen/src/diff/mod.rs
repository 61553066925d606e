//! Two change sets compared as resources: what a module made from each
//! would manage. Files by path (ensure, mode, owner, group, content, link
//! target), explicit packages, users and groups, services, alternatives,
//! diversions, and the recorded commands. Each entry is only in A, only in
//! B, or in both with the attributes that differ, both values given.
//!
//! Contents are read one file at a time, only when their hashes differ,
//! and turned into a unified diff (`similar`) with a line cap; binary
//! content gets sizes and hashes, a secret only "differs".
//!
//! [`diff`] compares two sessions; [`baseline`] compares a session with
//! its own baseline, as `git show` does a commit. Rendering is in `text`
//! and in the serde form of [`Diff`] (the JSON schema, versioned by
//! [`SCHEMA`]).

mod resources;
pub mod text;

use crate::Error;
use recorder::model::{BlobSource, ChangeSet, ContentHash};
use serde::Serialize;
use std::collections::BTreeMap;

pub use resources::{Item, Kind, ATTRIBUTES};

/// The JSON form's name and version.
pub const SCHEMA: &str = "cft-diff/1";

/// What to compare, and how much of it to show.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Only these kinds (all when empty).
    pub kinds: Vec<Kind>,
    /// Only files at or below these paths (all when empty); other kinds
    /// are left out when paths are given.
    pub paths: Vec<Vec<u8>>,
    /// Attributes not compared (`owner`, `mode`...).
    pub ignore_attrs: Vec<String>,
    /// Lines of unified diff per file at most.
    pub max_lines: usize,
    /// Show secret contents and password hashes.
    pub include_secrets: bool,
}

impl Default for DiffOptions {
    fn default() -> DiffOptions {
        DiffOptions {
            kinds: Vec::new(),
            paths: Vec::new(),
            ignore_attrs: Vec::new(),
            max_lines: 200,
            include_secrets: false,
        }
    }
}

/// Which side an entry is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    OnlyA,
    OnlyB,
    Both,
}

/// One attribute that differs, with both values (`None`: not set there).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttrDiff {
    pub name: String,
    pub a: Option<String>,
    pub b: Option<String>,
}

/// How two contents differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentDiff {
    /// A unified diff of the text, cut at the line cap.
    Text {
        unified: String,
        added: usize,
        removed: usize,
        truncated: bool,
    },
    /// Not text: sizes and hashes.
    Binary {
        a_size: Option<u64>,
        b_size: Option<u64>,
        a_hash: Option<String>,
        b_hash: Option<String>,
    },
    /// A secret on either side: only that it differs.
    Secret,
    /// One side's content was not captured: only the hashes are known.
    Uncaptured,
}

/// One resource that differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub kind: Kind,
    /// The resource's identity: a path, a package, user, group or unit
    /// name, an alternative, a command.
    pub title: String,
    pub side: Side,
    /// Every attribute that differs; for an entry on one side only, that
    /// side's attributes.
    pub attributes: Vec<AttrDiff>,
    pub content: Option<ContentDiff>,
}

/// What a side is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SideInfo {
    pub session: String,
    pub host: String,
    /// `baseline` for the start of a session shown against itself.
    pub what: String,
}

/// The result: every entry that differs, sorted by kind and title.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    pub schema: &'static str,
    pub a: SideInfo,
    pub b: SideInfo,
    pub entries: Vec<Entry>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Compare session `a` with session `b` as resources.
pub fn diff(
    a: &ChangeSet,
    a_blobs: &dyn BlobSource,
    b: &ChangeSet,
    b_blobs: &dyn BlobSource,
    opts: &DiffOptions,
) -> Result<Diff, Error> {
    let ra = resources::of_session(a, opts);
    let rb = resources::of_session(b, opts);
    let info = |cs: &ChangeSet| SideInfo {
        session: cs.session.name.clone(),
        host: cs.session.facts.hostname.clone(),
        what: "session".into(),
    };
    compare(info(a), ra, a_blobs, info(b), rb, b_blobs, opts)
}

/// Compare a session with its own baseline: every file it changed (the
/// baseline's content against the final one), and its package, account
/// and service changes, before against after.
pub fn baseline(cs: &ChangeSet, blobs: &dyn BlobSource, opts: &DiffOptions) -> Result<Diff, Error> {
    let (before, after) = resources::before_after(cs, opts);
    let side = |what: &str| SideInfo {
        session: cs.session.name.clone(),
        host: cs.session.facts.hostname.clone(),
        what: what.into(),
    };
    compare(
        side("baseline"),
        before,
        blobs,
        side("session"),
        after,
        blobs,
        opts,
    )
}

fn compare(
    a_info: SideInfo,
    a: BTreeMap<(Kind, String), Item>,
    a_blobs: &dyn BlobSource,
    b_info: SideInfo,
    b: BTreeMap<(Kind, String), Item>,
    b_blobs: &dyn BlobSource,
    opts: &DiffOptions,
) -> Result<Diff, Error> {
    let mut keys: Vec<&(Kind, String)> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let shown = |attrs: &BTreeMap<String, String>, side_a: bool| -> Vec<AttrDiff> {
        attrs
            .iter()
            .filter(|(k, _)| !opts.ignore_attrs.contains(k))
            .map(|(k, v)| AttrDiff {
                name: k.clone(),
                a: side_a.then(|| v.clone()),
                b: (!side_a).then(|| v.clone()),
            })
            .collect()
    };
    if cfg!(debug_assertions) {
        for k in a.values().chain(b.values()).flat_map(|i| i.attrs.keys()) {
            assert!(
                ATTRIBUTES.contains(&k.as_str()),
                "{k} is missing from ATTRIBUTES"
            );
        }
    }
    let mut entries = Vec::new();
    for key in keys {
        let (kind, title) = (key.0, key.1.clone());
        let entry = match (a.get(key), b.get(key)) {
            (Some(x), None) => Entry {
                kind,
                title,
                side: Side::OnlyA,
                attributes: shown(&x.attrs, true),
                content: None,
            },
            (None, Some(y)) => Entry {
                kind,
                title,
                side: Side::OnlyB,
                attributes: shown(&y.attrs, false),
                content: None,
            },
            (Some(x), Some(y)) => {
                let names: std::collections::BTreeSet<&String> =
                    x.attrs.keys().chain(y.attrs.keys()).collect();
                let attributes: Vec<AttrDiff> = names
                    .into_iter()
                    .filter(|n| !opts.ignore_attrs.contains(n))
                    .filter(|n| x.attrs.get(*n) != y.attrs.get(*n))
                    .map(|n| AttrDiff {
                        name: n.clone(),
                        a: x.attrs.get(n).cloned(),
                        b: y.attrs.get(n).cloned(),
                    })
                    .collect();
                if attributes.is_empty() {
                    continue;
                }
                let content = if attributes.iter().any(|d| d.name == "content") {
                    Some(content_diff(x, a_blobs, y, b_blobs, opts)?)
                } else {
                    None
                };
                Entry {
                    kind,
                    title,
                    side: Side::Both,
                    attributes,
                    content,
                }
            }
            (None, None) => continue,
        };
        entries.push(entry);
    }
    Ok(Diff {
        schema: SCHEMA,
        a: a_info,
        b: b_info,
        entries,
    })
}

/// The two contents of a file, read now and dropped after.
fn content_diff(
    x: &Item,
    xb: &dyn BlobSource,
    y: &Item,
    yb: &dyn BlobSource,
    opts: &DiffOptions,
) -> Result<ContentDiff, Error> {
    if (x.secret || y.secret) && !opts.include_secrets {
        return Ok(ContentDiff::Secret);
    }
    let read = |item: &Item, blobs: &dyn BlobSource| -> Result<Option<Vec<u8>>, Error> {
        match item.hash {
            Some(h) if item.captured => blobs.blob(&h).map_err(|source| Error::Blob {
                path: item.title.clone(),
                source,
            }),
            Some(h) if h == ContentHash::of(b"") => Ok(Some(Vec::new())),
            _ => Ok(None),
        }
    };
    let (ca, cb) = (read(x, xb)?, read(y, yb)?);
    let (Some(ca), Some(cb)) = (ca, cb) else {
        return Ok(ContentDiff::Uncaptured);
    };
    let text = |d: &[u8]| {
        std::str::from_utf8(d)
            .ok()
            .filter(|s| !s.contains('\0'))
            .map(str::to_string)
    };
    match (text(&ca), text(&cb)) {
        (Some(ta), Some(tb)) => Ok(unified(&ta, &tb, opts.max_lines)),
        _ => Ok(ContentDiff::Binary {
            a_size: Some(ca.len() as u64),
            b_size: Some(cb.len() as u64),
            a_hash: x.hash.map(|h| h.to_hex()),
            b_hash: y.hash.map(|h| h.to_hex()),
        }),
    }
}

/// A unified diff with three lines of context, cut at `max_lines`.
pub(crate) fn unified(a: &str, b: &str, max_lines: usize) -> ContentDiff {
    let d = similar::TextDiff::from_lines(a, b);
    let (mut added, mut removed) = (0, 0);
    for c in d.iter_all_changes() {
        match c.tag() {
            similar::ChangeTag::Insert => added += 1,
            similar::ChangeTag::Delete => removed += 1,
            similar::ChangeTag::Equal => {}
        }
    }
    let full = d.unified_diff().context_radius(3).to_string();
    let mut lines: Vec<&str> = full.lines().collect();
    let truncated = lines.len() > max_lines;
    lines.truncate(max_lines);
    let mut unified = lines.join("\n");
    if !unified.is_empty() {
        unified.push('\n');
    }
    ContentDiff::Text {
        unified,
        added,
        removed,
        truncated,
    }
}
