//! File changes: which `file` resource (if any) expresses each one, where
//! captured content goes, which secrets become class parameters and which
//! files become templates of site parameters. Only the admin's changes are
//! files; package sources go to their own class so they are in place
//! before any package is installed.

use super::catalog::{refs, Param, ParamId, Resource, Supplies, Value};
use super::outcome::{FileDecision, FileOutcome, Reason, Subject, Uncaptured};
use super::site::{self, SitePlan};
use super::{Content, Input, Part, Planned};
use crate::{puppet, Body, Error, SiteParam};
use recorder::model::BlobSource;
use recorder::model::Origin;
use recorder::model::{display_path, is_within, Change, ChangeKind, ContentHash, Entry, EntryKind};
use std::collections::BTreeSet;

/// Paths that tell the package manager where packages come from (and how
/// to trust and choose them): managed by the `sources` class, which
/// refreshes the package index when they change.
const SOURCE_PATHS: &[&[u8]] = &[
    b"/etc/apt/sources.list",
    b"/etc/apt/sources.list.d",
    b"/etc/apt/keyrings",
    b"/etc/apt/trusted.gpg",
    b"/etc/apt/trusted.gpg.d",
    b"/etc/apt/preferences",
    b"/etc/apt/preferences.d",
    b"/etc/apt/auth.conf",
    b"/etc/apt/auth.conf.d",
    b"/etc/yum.repos.d",
    b"/etc/pki/rpm-gpg",
];

pub(super) fn is_source_path(path: &[u8]) -> bool {
    SOURCE_PATHS.iter().any(|dir| is_within(path, dir))
}

/// The files planner's outcome.
#[derive(Debug, Default)]
pub(super) struct FilePlan {
    /// One per admin change, sorted by path bytes.
    pub changes: Vec<FileOutcome>,
    /// File changes other resources express.
    pub elsewhere: Vec<(Origin, Vec<u8>)>,
    /// Files managed without their content.
    pub partial: Vec<(Vec<u8>, Uncaptured)>,
    pub content: Content,
}

impl FilePlan {
    /// The paths written from a template (site parameters).
    pub fn templated(&self) -> BTreeSet<&[u8]> {
        self.changes
            .iter()
            .filter(|c| matches!(c.became, FileDecision::Template { .. }))
            .map(|c| c.path.as_slice())
            .collect()
    }
}

/// Plan every file change. `package_titles` are the module's package
/// resources: a file one of them owns requires it.
pub(super) fn plan(
    input: &Input<'_>,
    blobs: &dyn BlobSource,
    package_titles: &[String],
    site: &SitePlan,
) -> Result<Planned<FilePlan>, Error> {
    let mut sorted: Vec<&Change> = input.changes.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut planner = Planner {
        blobs,
        include_secrets: input.include_secrets,
        package_titles,
        site,
        out: Planned::default(),
        removed_dirs: Vec::new(),
    };
    let mut previous: Option<&[u8]> = None;
    for change in sorted {
        if previous == Some(change.path.as_slice()) {
            planner.skip(change, Reason::ListedTwice);
            continue;
        }
        previous = Some(&change.path);
        if !change.origin.is_admin() {
            planner
                .out
                .outcome
                .elsewhere
                .push((change.origin.clone(), change.path.clone()));
            continue;
        }
        planner.change(change)?;
    }
    Ok(planner.out)
}

struct Planner<'a> {
    blobs: &'a dyn BlobSource,
    include_secrets: bool,
    package_titles: &'a [String],
    site: &'a SitePlan,
    out: Planned<FilePlan>,
    /// Directories removed (or replaced) with `force => true`: whatever was
    /// below them goes with them and needs no resource of its own.
    removed_dirs: Vec<Vec<u8>>,
}

/// What is known about a file's final content.
enum Captured {
    Bytes(Vec<u8>),
    /// Larger than `IN_MEMORY`, shipped as it is: left in the store, to be
    /// streamed from there when the module is written.
    Stored(Body),
    Missing(Uncaptured),
}

impl Planner<'_> {
    fn change(&mut self, c: &Change) -> Result<(), Error> {
        let part = if is_source_path(&c.path) {
            Part::Sources
        } else {
            Part::Files
        };
        let title = match path_title(&c.path) {
            Ok(t) => t,
            Err(reason) => {
                self.skip(c, reason);
                return Ok(());
            }
        };
        if c.after.is_none() {
            let covering = self
                .removed_dirs
                .iter()
                .find(|d| d.len() < c.path.len() && is_within(&c.path, d));
            if let Some(dir) = covering {
                let became = FileDecision::RemovedWith(dir.clone());
                self.record(c, part, became);
                return Ok(());
            }
        }
        let force = c.kind == ChangeKind::TypeChanged;
        let mut attrs: Vec<(&'static str, Value)> = Vec::new();
        let became = match (&c.after, c.kind) {
            (None, _) | (_, ChangeKind::Removed | ChangeKind::DirRemoved) => {
                let dir = c.kind == ChangeKind::DirRemoved
                    || c.before.as_ref().is_some_and(|b| b.kind == EntryKind::Dir);
                attrs.push(("ensure", Value::Word("absent")));
                if dir {
                    attrs.push(("force", Value::Word("true")));
                    self.removed_dirs.push(c.path.clone());
                    FileDecision::AbsentTree
                } else {
                    FileDecision::Absent
                }
            }
            (Some(after), _) => match after.kind {
                EntryKind::File => self.file(c, after, &mut attrs)?,
                EntryKind::Dir => {
                    attrs.push(("ensure", Value::Word("directory")));
                    ownership(after, true, &mut attrs);
                    FileDecision::Directory
                }
                EntryKind::Symlink => match link_target(after) {
                    Ok(target) => {
                        attrs.push(("ensure", Value::Word("link")));
                        attrs.push(("target", Value::Str(target.clone())));
                        // Ownership of a link only matters when that is what changed.
                        if c.kind == ChangeKind::Metadata {
                            ownership(after, false, &mut attrs);
                        }
                        FileDecision::Link(target)
                    }
                    Err(reason) => {
                        self.skip(c, reason);
                        return Ok(());
                    }
                },
                special => {
                    let reason = if c.kind == ChangeKind::Metadata {
                        Reason::SpecialMetadata(special)
                    } else {
                        Reason::SpecialFile(special)
                    };
                    self.skip(c, reason);
                    return Ok(());
                }
            },
        };
        if force {
            attrs.push(("force", Value::Word("true")));
            if c.before.as_ref().is_some_and(|b| b.kind == EntryKind::Dir) {
                self.removed_dirs.push(c.path.clone());
            }
        }
        // Only in the files class: a package source cannot wait for the
        // packages class, which comes after it.
        if part == Part::Files {
            if let Some(pkg) = c
                .package
                .as_deref()
                .and_then(|p| package_title(p, self.package_titles))
            {
                attrs.push(("require", refs("Package", [pkg.to_string()])));
            }
        }
        self.out.resources.push(Resource {
            part,
            kind: "file",
            title,
            attrs,
        });
        self.record(c, part, became);
        Ok(())
    }

    /// Attributes of a regular file, and what it became.
    fn file(
        &mut self,
        c: &Change,
        after: &Entry,
        attrs: &mut Vec<(&'static str, Value)>,
    ) -> Result<FileDecision, Error> {
        attrs.push(("ensure", Value::Word("file")));
        ownership(after, true, attrs);
        let uses = self.site.uses(&c.path);
        if let Some(uses) = uses {
            refuse_template(c, uses)?;
        }
        if c.kind == ChangeKind::Metadata {
            return Ok(FileDecision::Metadata);
        }
        // A template's text and a secret's are looked at: read them whole.
        let captured = self.captured(c, after, uses.is_some() || c.secret)?;
        if let Some(uses) = uses {
            let bytes = match captured {
                Captured::Bytes(bytes) => bytes,
                Captured::Stored(body) => body.load(self.blobs, &display_path(&c.path))?,
                Captured::Missing(why) => {
                    return Err(site::refuse(
                        uses,
                        format!("{}: {why}", display_path(&c.path)),
                    ))
                }
            };
            let (rel, value) =
                site::template(&c.path, &bytes, uses, &mut self.out.outcome.content)?;
            attrs.push(("content", value));
            let params = uses.iter().map(|p| ParamId::Site(p.name.clone())).collect();
            return Ok(FileDecision::Template { rel, params });
        }
        if c.secret {
            let captured = match captured {
                Captured::Stored(body) => {
                    Captured::Bytes(body.load(self.blobs, &display_path(&c.path))?)
                }
                other => other,
            };
            let (binary, uncaptured) = match captured {
                Captured::Bytes(bytes) if self.include_secrets => {
                    let content = &mut self.out.outcome.content;
                    content.private.insert(puppet::files_relpath(&c.path));
                    let became = self.content(c, bytes.into(), attrs, true);
                    // Never print a secret's diff in Puppet's log.
                    attrs.push(("show_diff", Value::Word("false")));
                    return Ok(became);
                }
                // Binary content cannot be passed as a String.
                Captured::Bytes(bytes) => (std::str::from_utf8(&bytes).is_err(), None),
                Captured::Stored(_) => (true, None),
                Captured::Missing(why) => (false, Some(why)),
            };
            let id = ParamId::Content(c.path.clone());
            attrs.push(("content", Value::Param(id.clone())));
            self.out.params.push(Param {
                name: String::new(),
                supplies: Supplies::Content {
                    path: c.path.clone(),
                    binary,
                    uncaptured,
                },
            });
            return Ok(FileDecision::FromParam(id));
        }
        match captured {
            Captured::Bytes(bytes) => Ok(self.content(c, bytes.into(), attrs, false)),
            Captured::Stored(body) => Ok(self.content(c, body, attrs, false)),
            Captured::Missing(why) => {
                self.out.outcome.partial.push((c.path.clone(), why));
                Ok(FileDecision::Uncaptured)
            }
        }
    }

    /// `content => ''` for an empty file, else a `source` into `files/`.
    fn content(
        &mut self,
        c: &Change,
        bytes: Body,
        attrs: &mut Vec<(&'static str, Value)>,
        secret: bool,
    ) -> FileDecision {
        if bytes.is_empty() {
            attrs.push(("content", Value::Str(String::new())));
            return FileDecision::Empty { secret };
        }
        let rel = puppet::files_relpath(&c.path);
        attrs.push(("source", Value::Source(rel.clone())));
        self.out.outcome.content.files.insert(rel.clone(), bytes);
        FileDecision::Shipped { rel, secret }
    }

    fn captured(&self, c: &Change, after: &Entry, whole: bool) -> Result<Captured, Error> {
        let Some(hash) = after.hash else {
            return Ok(Captured::Missing(Uncaptured::Unreadable));
        };
        if hash == ContentHash::of(b"") {
            return Ok(Captured::Bytes(Vec::new()));
        }
        if !after.content_stored {
            return Ok(Captured::Missing(Uncaptured::HashOnly { size: after.size }));
        }
        if !whole && after.size > recorder::model::IN_MEMORY {
            return Ok(Captured::Stored(Body::Stored {
                hash,
                size: after.size,
            }));
        }
        let blob = self.blobs.blob(&hash).map_err(|source| Error::Blob {
            path: display_path(&c.path),
            source,
        })?;
        Ok(match blob {
            None => Captured::Missing(Uncaptured::MissingFromStore),
            Some(b) if ContentHash::of(&b) != hash => Captured::Missing(Uncaptured::HashMismatch),
            Some(b) => Captured::Bytes(b),
        })
    }

    fn skip(&mut self, c: &Change, reason: Reason) {
        self.out.leave_out(Subject::Path(c.path.clone()), reason);
    }

    fn record(&mut self, c: &Change, part: Part, became: FileDecision) {
        self.out.outcome.changes.push(FileOutcome {
            part,
            path: c.path.clone(),
            change: c.kind,
            became,
        });
    }
}

/// A site parameter in a secret, or in a file whose content the module
/// does not manage, cannot be honoured.
fn refuse_template(c: &Change, uses: &[SiteParam]) -> Result<(), Error> {
    let path = display_path(&c.path);
    if c.secret {
        return Err(site::refuse(uses, format!(
            "{path} is a secret: its whole content is withheld as a parameter of its own (or, with secrets included, shipped readable by its owner only), never put in a template"
        )));
    }
    if c.kind == ChangeKind::Metadata {
        return Err(site::refuse(uses, format!(
            "only the ownership or mode of {path} changed in the session, so the module does not manage its content"
        )));
    }
    Ok(())
}

/// The module's package resource for a file's owning package: the same
/// name, or the same name once the `:arch` qualifier is set aside on
/// either side (`nginx` owns it, the resource is `nginx:amd64`).
fn package_title<'t>(owner: &str, titles: &'t [String]) -> Option<&'t str> {
    let base = |s: &str| s.split(':').next().unwrap_or(s).to_string();
    titles
        .iter()
        .find(|t| t.as_str() == owner)
        .or_else(|| titles.iter().find(|t| base(t) == base(owner)))
        .map(String::as_str)
}

/// The path as a resource title, or why Puppet cannot name it. Control
/// characters are fine: puppet parses them inside single quotes (checked
/// with `puppet parser dump`), and the README shows them escaped.
fn path_title(path: &[u8]) -> Result<String, Reason> {
    if path.contains(&0) {
        return Err(Reason::NulInPath);
    }
    if !path.starts_with(b"/") {
        return Err(Reason::RelativePath);
    }
    String::from_utf8(path.to_vec()).map_err(|_| Reason::PathNotUtf8)
}

fn link_target(after: &Entry) -> Result<String, Reason> {
    let Some(target) = &after.link_target else {
        return Err(Reason::NoLinkTarget);
    };
    if target.is_empty() || target.contains(&0) {
        return Err(Reason::EmptyLinkTarget);
    }
    String::from_utf8(target.clone()).map_err(|_| Reason::LinkTargetNotUtf8(target.clone()))
}

/// `owner`, `group` (names when known, else the numeric id) and `mode`.
fn ownership(e: &Entry, with_mode: bool, attrs: &mut Vec<(&'static str, Value)>) {
    attrs.push(("owner", Value::Str(e.owner_name())));
    attrs.push(("group", Value::Str(e.group_name())));
    if with_mode {
        attrs.push(("mode", Value::Mode(e.mode)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_path_cases() {
        let cases: &[(&str, &[u8], bool)] = &[
            ("list file", b"/etc/apt/sources.list", true),
            (
                "list dir entry",
                b"/etc/apt/sources.list.d/nginx.list",
                true,
            ),
            ("deb822 entry", b"/etc/apt/sources.list.d/x.sources", true),
            ("keyring", b"/etc/apt/keyrings/nginx.gpg", true),
            ("keyrings dir", b"/etc/apt/keyrings", true),
            ("trusted.gpg.d", b"/etc/apt/trusted.gpg.d/x.asc", true),
            ("yum repo", b"/etc/yum.repos.d/epel.repo", true),
            (
                "apt.conf is not a source",
                b"/etc/apt/apt.conf.d/99x",
                false,
            ),
            ("a sibling name", b"/etc/apt/sources.listing", false),
            ("elsewhere", b"/etc/nginx/nginx.conf", false),
        ];
        for (name, path, want) in cases {
            assert_eq!(is_source_path(path), *want, "{name}");
        }
    }

    #[test]
    fn package_title_cases() {
        let titles = vec!["jq".to_string(), "nginx:amd64".to_string()];
        let cases = [
            ("exact", "jq", Some("jq")),
            ("owner without arch", "nginx", Some("nginx:amd64")),
            ("owner with arch", "jq:amd64", Some("jq")),
            ("not in the module", "nginx-common", None),
        ];
        for (name, owner, want) in cases {
            assert_eq!(package_title(owner, &titles), want, "{name}");
        }
    }
}
