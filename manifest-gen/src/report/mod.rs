//! One self-contained HTML page about a session, to read in a browser: the
//! counts by kind, the timeline (`timeline`, drawn as inline SVG), the
//! resources that differ with their content diffs (from [`crate::diff`],
//! against the session's baseline or another session), and the recorded
//! changes.
//!
//! Everything recorded is hostile until escaped: the page is rendered by
//! minijinja with HTML auto-escaping (the template's name ends in
//! `.html`), from view structs of plain strings and numbers; the only
//! values passed unescaped are the page's own style sheet and script,
//! which are constants of this crate. A `Content-Security-Policy` meta tag
//! allows exactly those two, by hash, and nothing from anywhere else.
//! Paths are shown with `display_path`; contents that are not UTF-8 are
//! shown by size and hash (the diff engine's rule). The same inputs give a
//! byte-identical page.

mod timeline;

use crate::diff::{self, ContentDiff, DiffOptions, Kind, Side};
use crate::Error;
use minijinja::{context, AutoEscape, Environment, UndefinedBehavior, Value};
use recorder::model::{
    display_path, ChangeKind, ChangeSet, Event, EventKind, Origin, SessionState, Subject,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

const TEMPLATE: &str = include_str!("../../templates/report.html.j2");
/// The page's style sheet and script, inserted verbatim and hashed.
const STYLE: &str = include_str!("../../templates/report.css");
const SCRIPT: &str = include_str!("../../templates/report.js");

/// Rows of the recorded file changes shown per session; the rest counted.
const MAX_FILE_ROWS: usize = 2000;

/// What to put in the report.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Show secret contents and password hashes in the diffs.
    pub include_secrets: bool,
    /// Lines of unified diff per file at most.
    pub max_lines: usize,
}

impl Default for ReportOptions {
    fn default() -> ReportOptions {
        ReportOptions {
            include_secrets: false,
            max_lines: DiffOptions::default().max_lines,
        }
    }
}

/// A finished session with what the report reads about it.
pub struct Recording<'a> {
    pub cs: &'a ChangeSet,
    /// Where its captured contents are (the store).
    pub blobs: &'a dyn recorder::model::BlobSource,
    /// Its timeline (`Store::events`).
    pub events: &'a [Event],
}

/// The page for `a` against its own baseline, or against `vs`.
pub fn render(
    a: &Recording,
    vs: Option<&Recording>,
    opts: &ReportOptions,
) -> Result<String, Error> {
    let dopts = DiffOptions {
        max_lines: opts.max_lines,
        include_secrets: opts.include_secrets,
        ..DiffOptions::default()
    };
    let d = match vs {
        None => diff::baseline(a.cs, a.blobs, &dopts)?,
        Some(b) => diff::diff(a.cs, a.blobs, b.cs, b.blobs, &dopts)?,
    };
    let all: Vec<&Recording> = std::iter::once(a).chain(vs).collect();
    let names: Vec<String> = all.iter().map(|r| r.cs.session.name.clone()).collect();
    let title = match vs {
        None => format!("cft report: {}", names[0]),
        Some(_) => format!("cft report: {} vs {}", names[0], names[1]),
    };
    let page = Page {
        title,
        against: match vs {
            None => format!("{} against its baseline", names[0]),
            Some(_) => format!("{} (A) against {} (B)", names[0], names[1]),
        },
        sessions: all.iter().map(|r| session_view(r)).collect(),
        names: names.clone(),
        summary: summary(&all),
        timelines: all
            .iter()
            .map(|r| TimelineView {
                name: r.cs.session.name.clone(),
                t: timeline::build(r.cs, r.events),
            })
            .collect(),
        groups: groups(&d, a, vs, &names, opts)?,
        recorded: all.iter().map(|r| recorded(r.cs)).collect(),
        secrets_included: opts.include_secrets,
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    const NAME: &str = "report.html";
    env.add_template(NAME, TEMPLATE)
        .and_then(|()| env.get_template(NAME))
        .and_then(|t| {
            t.render(context! {
                page => page,
                // Our own constant text and base64 hashes: no `"`, `<` or `&`.
                csp => Value::from_safe_string(content_security_policy()),
                style => Value::from_safe_string(STYLE.to_string()),
                script => Value::from_safe_string(SCRIPT.to_string()),
            })
        })
        .map_err(|source| Error::Template {
            template: NAME,
            source,
        })
}

/// Write the page to `out` atomically (a temporary file beside it, then a
/// rename: a symlink at `out` is replaced, not followed). 0644, or 0600
/// when it shows secrets.
pub fn write(html: &str, out: &Path, private: bool) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".cft-report-")
        .tempfile_in(dir)
        .map_err(|e| Error::io("creating a file in", dir, e))?;
    tmp.write_all(html.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("writing", out, e))?;
    let mode = if private { 0o600 } else { 0o644 };
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("writing", out, e))?;
    tmp.persist(out)
        .map_err(|e| Error::io("renaming into", out, e.error))?;
    Ok(())
}

/// The page's policy: nothing but its own hashed style sheet and script,
/// and `data:` images.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(STYLE.as_bytes()),
        csp_hash(SCRIPT.as_bytes())
    )
}

/// A CSP source expression for an inline block: `sha256-BASE64`.
pub fn csp_hash(block: &[u8]) -> String {
    format!("sha256-{}", base64(&Sha256::digest(block)))
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- the view: plain strings and numbers, escaped by the template ------

#[derive(Serialize)]
struct Page {
    title: String,
    against: String,
    names: Vec<String>,
    sessions: Vec<SessionView>,
    summary: Vec<CountRow>,
    timelines: Vec<TimelineView>,
    groups: Vec<Group>,
    recorded: Vec<Recorded>,
    secrets_included: bool,
}

#[derive(Serialize)]
struct SessionView {
    name: String,
    description: Option<String>,
    host: String,
    os: String,
    root: String,
    watched: String,
    started: String,
    finished: String,
    duration: String,
    state: &'static str,
    rescan: Option<String>,
}

#[derive(Serialize)]
struct CountRow {
    /// A stable name for the row (`files_created`...).
    key: &'static str,
    label: &'static str,
    counts: Vec<usize>,
}

#[derive(Serialize)]
struct TimelineView {
    name: String,
    t: timeline::Timeline,
}

#[derive(Serialize)]
struct Group {
    kind: &'static str,
    label: String,
    entries: Vec<EntryView>,
}

#[derive(Serialize)]
struct EntryView {
    title: String,
    /// `only-a`, `only-b` or `both`.
    side: &'static str,
    side_label: String,
    attrs: Vec<AttrView>,
    content: Option<ContentView>,
}

#[derive(Serialize)]
struct AttrView {
    name: String,
    a: String,
    b: String,
}

#[derive(Serialize)]
struct ContentView {
    /// `text`, `binary`, `secret` or `uncaptured`.
    kind: &'static str,
    lines: Vec<DiffLine>,
    note: String,
}

#[derive(Serialize)]
struct DiffLine {
    /// `add`, `del`, `hunk`, `head` or `ctx`.
    class: &'static str,
    text: String,
}

#[derive(Serialize)]
struct Recorded {
    name: String,
    files: Vec<FileRow>,
    more: usize,
    folded: Vec<Folded>,
    notices: Vec<NoticeView>,
}

#[derive(Serialize)]
struct FileRow {
    path: String,
    change: &'static str,
    detail: String,
    secret: bool,
    command: Option<String>,
}

#[derive(Serialize)]
struct Folded {
    who: String,
    count: usize,
}

#[derive(Serialize)]
struct NoticeView {
    kind: &'static str,
    path: Option<String>,
    message: String,
}

fn session_view(r: &Recording) -> SessionView {
    let s = &r.cs.session;
    let f = &s.facts;
    SessionView {
        name: s.name.clone(),
        description: s.description.clone(),
        host: f.hostname.clone(),
        os: if f.os_pretty_name.is_empty() {
            format!("{} {}", f.os_id, f.os_version_id)
        } else {
            f.os_pretty_name.clone()
        },
        root: display_path(&s.root),
        watched: s
            .watched
            .iter()
            .map(|w| display_path(w))
            .collect::<Vec<_>>()
            .join(", "),
        started: recorder::clock::utc(s.created_at_ns),
        finished: s
            .finished_at_ns
            .map(recorder::clock::utc)
            .unwrap_or_else(|| "not finished".into()),
        duration: s
            .finished_at_ns
            .map(|e| timeline::duration(e - s.created_at_ns))
            .unwrap_or_default(),
        state: match s.state {
            SessionState::Recording => "recording",
            SessionState::Finished => "finished",
        },
        rescan: s.rescan_reason.clone(),
    }
}

/// The counts by kind, one column per session.
fn summary(all: &[&Recording]) -> Vec<CountRow> {
    type Count = fn(&Recording) -> usize;
    fn files(r: &Recording, kinds: &[ChangeKind]) -> usize {
        r.cs.changes
            .iter()
            .filter(|c| kinds.contains(&c.kind))
            .count()
    }
    let rows: [(&'static str, &'static str, Count); 13] = [
        ("files_created", "files created", |r| {
            files(r, &[ChangeKind::Created, ChangeKind::DirCreated])
        }),
        ("files_modified", "files modified", |r| {
            files(
                r,
                &[
                    ChangeKind::Modified,
                    ChangeKind::Metadata,
                    ChangeKind::TypeChanged,
                    ChangeKind::Retargeted,
                ],
            )
        }),
        ("files_removed", "files removed", |r| {
            files(r, &[ChangeKind::Removed, ChangeKind::DirRemoved])
        }),
        ("files_by_admin", "file changes by the admin", |r| {
            r.cs.changes.iter().filter(|c| c.origin.is_admin()).count()
        }),
        ("files_by_packages", "file changes by packages", |r| {
            r.cs.changes
                .iter()
                .filter(|c| matches!(c.origin, Origin::Package(_)))
                .count()
        }),
        ("packages", "packages changed", |r| {
            r.cs.system.packages.len()
        }),
        ("packages_explicit", "packages asked for", |r| {
            r.cs.system.packages.iter().filter(|p| p.explicit).count()
        }),
        ("accounts", "accounts (users and groups)", |r| {
            r.cs.system.users.len() + r.cs.system.groups.len()
        }),
        ("services", "services", |r| r.cs.system.services.len()),
        ("commands", "commands (top level)", |r| {
            r.cs.why.top_level().count()
        }),
        ("tools", "commands (all, nested included)", |r| {
            r.cs.why.intents.len()
        }),
        ("events", "watcher events", |r| {
            r.events
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::Started | EventKind::Stopped))
                .count()
        }),
        ("notices", "notices", |r| r.cs.notices.len()),
    ];
    rows.into_iter()
        .map(|(key, label, count)| CountRow {
            key,
            label,
            counts: all.iter().map(|r| count(r)).collect(),
        })
        .collect()
}

fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::File => "Files",
        Kind::Package => "Packages",
        Kind::Group => "Groups",
        Kind::User => "Users",
        Kind::Service => "Services",
        Kind::Alternative => "Alternatives",
        Kind::Diversion => "Diversions",
        Kind::Command => "Commands",
    }
}

/// The diff's entries by kind, in the diff's order.
fn groups(
    d: &diff::Diff,
    a: &Recording,
    b: Option<&Recording>,
    names: &[String],
    opts: &ReportOptions,
) -> Result<Vec<Group>, Error> {
    let vs = b.is_some();
    fn by_path<'r>(r: &Recording<'r>) -> BTreeMap<String, &'r recorder::model::Change> {
        r.cs.changes
            .iter()
            .map(|c| (display_path(&c.path), c))
            .collect()
    }
    let (a_files, b_files) = (by_path(a), b.map(by_path).unwrap_or_default());
    let mut by_kind: BTreeMap<Kind, Vec<EntryView>> = BTreeMap::new();
    for e in &d.entries {
        // A file on one side only: its whole content, as added or removed.
        let one_sided = match (e.kind, e.side, b) {
            (Kind::File, Side::OnlyA, _) | (Kind::File, Side::OnlyB, None) => a_files
                .get(&e.title)
                .map(|c| (*c, a, e.side == Side::OnlyA)),
            (Kind::File, Side::OnlyB, Some(rb)) => b_files.get(&e.title).map(|c| (*c, rb, false)),
            _ => None,
        };
        let content = match (&e.content, one_sided) {
            (Some(c), _) => Some(content_view(c)),
            (None, Some((c, r, gone))) => {
                // In a baseline diff, what is only in A is the removed entry.
                let entry = if gone && !vs { &c.before } else { &c.after };
                whole(c, entry.as_ref(), r, gone, opts)?.map(|c| content_view(&c))
            }
            (None, None) => None,
        };
        let (side, side_label) = match (e.side, vs) {
            (Side::OnlyA, false) => ("only-a", "removed".to_string()),
            (Side::OnlyB, false) => ("only-b", "added".to_string()),
            (Side::Both, false) => ("both", "changed".to_string()),
            (Side::OnlyA, true) => ("only-a", format!("only in {}", names[0])),
            (Side::OnlyB, true) => ("only-b", format!("only in {}", names[1])),
            (Side::Both, true) => ("both", "differs".to_string()),
        };
        let attrs = e
            .attributes
            .iter()
            .map(|a| AttrView {
                name: a.name.clone(),
                a: a.a.clone().unwrap_or_else(|| "\u{2014}".into()),
                b: a.b.clone().unwrap_or_else(|| "\u{2014}".into()),
            })
            .collect();
        by_kind.entry(e.kind).or_default().push(EntryView {
            title: e.title.clone(),
            side,
            side_label,
            attrs,
            content,
        });
    }
    Ok(by_kind
        .into_iter()
        .map(|(k, entries)| Group {
            kind: k.as_str(),
            label: format!("{} ({})", kind_label(k), entries.len()),
            entries,
        })
        .collect())
}

/// The whole content of a file present on one side only, as a diff from
/// nothing (`gone`: to nothing). Secrets withheld as the diff engine does.
fn whole(
    c: &recorder::model::Change,
    entry: Option<&recorder::model::Entry>,
    r: &Recording,
    gone: bool,
    opts: &ReportOptions,
) -> Result<Option<ContentDiff>, Error> {
    let Some(entry) = entry.filter(|e| e.kind == recorder::model::EntryKind::File) else {
        return Ok(None);
    };
    if c.secret && !opts.include_secrets {
        return Ok(Some(ContentDiff::Secret));
    }
    let Some(hash) = entry.hash else {
        return Ok(None);
    };
    let bytes = if entry.content_stored {
        r.blobs.blob(&hash).map_err(|source| Error::Blob {
            path: display_path(&c.path),
            source,
        })?
    } else {
        None
    };
    let Some(bytes) = bytes else {
        return Ok(Some(ContentDiff::Uncaptured));
    };
    let text = std::str::from_utf8(&bytes)
        .ok()
        .filter(|t| !t.contains('\0'));
    Ok(Some(match text {
        Some(t) if gone => diff::unified(t, "", opts.max_lines),
        Some(t) => diff::unified("", t, opts.max_lines),
        None => {
            let (size, hex) = (Some(bytes.len() as u64), Some(hash.to_hex()));
            if gone {
                ContentDiff::Binary {
                    a_size: size,
                    b_size: None,
                    a_hash: hex,
                    b_hash: None,
                }
            } else {
                ContentDiff::Binary {
                    a_size: None,
                    b_size: size,
                    a_hash: None,
                    b_hash: hex,
                }
            }
        }
    }))
}

fn content_view(c: &ContentDiff) -> ContentView {
    match c {
        ContentDiff::Text {
            unified,
            added,
            removed,
            truncated,
        } => ContentView {
            kind: "text",
            lines: unified
                .lines()
                .map(|l| DiffLine {
                    class: if l.starts_with("+++") || l.starts_with("---") {
                        "head"
                    } else if l.starts_with('+') {
                        "add"
                    } else if l.starts_with('-') {
                        "del"
                    } else if l.starts_with("@@") {
                        "hunk"
                    } else {
                        "ctx"
                    },
                    text: l.to_string(),
                })
                .collect(),
            note: format!(
                "+{added} \u{2212}{removed}{}",
                if *truncated {
                    " (cut at the line cap)"
                } else {
                    ""
                }
            ),
        },
        ContentDiff::Binary {
            a_size,
            b_size,
            a_hash,
            b_hash,
        } => {
            let side = |s: &Option<u64>, h: &Option<String>| match (s, h) {
                (Some(s), Some(h)) => format!("{s} bytes, blake3 {h}"),
                (Some(s), None) => format!("{s} bytes"),
                _ => "\u{2014}".to_string(),
            };
            ContentView {
                kind: "binary",
                lines: Vec::new(),
                note: format!(
                    "binary content differs: {} \u{2192} {}",
                    side(a_size, a_hash),
                    side(b_size, b_hash)
                ),
            }
        }
        ContentDiff::Secret => ContentView {
            kind: "secret",
            lines: Vec::new(),
            note: "secret content differs (withheld from this report)".into(),
        },
        ContentDiff::Uncaptured => ContentView {
            kind: "uncaptured",
            lines: Vec::new(),
            note: "content differs; one side was not captured, only its hash is known".into(),
        },
    }
}

/// The session's own file changes: the admin's one by one, the rest
/// folded by who made them.
fn recorded(cs: &ChangeSet) -> Recorded {
    let mut files = Vec::new();
    let mut more = 0;
    let mut folded: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cs.changes {
        if !c.origin.is_admin() {
            *folded.entry(c.origin.describe()).or_default() += 1;
            continue;
        }
        if files.len() >= MAX_FILE_ROWS {
            more += 1;
            continue;
        }
        let mut detail = String::new();
        if let Some(a) = &c.after {
            detail = a.summary();
            if let Some(t) = &a.link_target {
                detail.push_str(&format!(" \u{2192} {}", display_path(t)));
            }
        }
        files.push(FileRow {
            path: display_path(&c.path),
            change: c.kind.as_str(),
            detail,
            secret: c.secret,
            command: cs
                .why
                .of(Subject::File, &c.path)
                .map(|i| format!("#{} {}", i.id, i.text())),
        });
    }
    Recorded {
        name: cs.session.name.clone(),
        files,
        more,
        folded: folded
            .into_iter()
            .map(|(who, count)| Folded { who, count })
            .collect(),
        notices: cs
            .notices
            .iter()
            .map(|n| NoticeView {
                kind: n.kind.as_str(),
                path: n.path.as_deref().map(display_path),
                message: n.message.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn csp_hash_of_known_blocks() {
        // The hashes browsers report for these blocks in their CSP errors.
        assert_eq!(
            csp_hash(b""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(
            csp_hash(b"alert('Hello, world.');"),
            "sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng="
        );
    }

    #[test]
    fn the_policy_allows_only_the_page_s_own_blocks() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        assert!(csp.contains(&format!("style-src '{}'", csp_hash(STYLE.as_bytes()))));
        assert!(csp.contains(&format!("script-src '{}'", csp_hash(SCRIPT.as_bytes()))));
        assert!(!csp.contains("unsafe"), "{csp}");
        // The style sheet and script cannot close their own element.
        assert!(!STYLE.contains("</"));
        assert!(!SCRIPT.contains("</"));
    }
}
