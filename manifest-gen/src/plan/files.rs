//! File changes: which `file` resource (if any) expresses each one, where
//! captured content goes, which secrets become class parameters and which
//! files become templates of site parameters. Only the
//! admin's changes are files; package sources go to their own class so
//! they are in place before any package is installed.

use super::site::{self, SitePlan};
use super::{refs, Input, Param, ParamFor, Part, Plan, Resource, Row, Value};
use crate::{puppet, Error, Skipped};
use recorder::model::BlobSource;
use recorder::model::{display_path, is_within, Change, ChangeKind, ContentHash, Entry, EntryKind};

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

/// How a README row describes what the module does.
type Describe = (String, Option<String>);

fn words(s: &str) -> Describe {
    (s.to_string(), None)
}

const WITHHELD: &str =
    "a secret, withheld from the module (generate it with secrets included to embed it)";

/// Plan every file change. `package_titles` are the module's package
/// resources: a file one of them owns requires it.
pub(super) fn plan_files(
    input: &Input<'_>,
    blobs: &dyn BlobSource,
    package_titles: &[String],
    site: &mut SitePlan,
    plan: &mut Plan,
) -> Result<(), Error> {
    let mut sorted: Vec<&Change> = input.changes.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut planner = Planner {
        blobs,
        include_secrets: input.include_secrets,
        package_titles,
        site,
        plan,
        removed_dirs: Vec::new(),
    };
    let mut previous: Option<&[u8]> = None;
    for change in sorted {
        if previous == Some(change.path.as_slice()) {
            planner.skip(
                change,
                "the change set lists this path twice; only the first record is used".into(),
            );
            continue;
        }
        previous = Some(&change.path);
        if !change.origin.is_admin() {
            planner
                .plan
                .elsewhere
                .entry(change.origin.describe())
                .or_default()
                .push(display_path(&change.path));
            continue;
        }
        planner.change(change)?;
    }
    Ok(())
}

struct Planner<'a> {
    blobs: &'a dyn BlobSource,
    include_secrets: bool,
    package_titles: &'a [String],
    site: &'a mut SitePlan,
    plan: &'a mut Plan,
    /// Directories removed (or replaced) with `force => true`: whatever was
    /// below them goes with them and needs no resource of its own.
    removed_dirs: Vec<Vec<u8>>,
}

/// What is known about a file's final content.
enum Captured {
    Bytes(Vec<u8>),
    Missing(String),
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
                self.skip(c, reason.into());
                return Ok(());
            }
        };
        if c.after.is_none() {
            let covering = self
                .removed_dirs
                .iter()
                .find(|d| d.len() < c.path.len() && is_within(&c.path, d));
            if let Some(dir) = covering {
                let describe = ("removed with".to_string(), Some(display_path(dir)));
                self.row(c, part, describe, Vec::new());
                return Ok(());
            }
        }
        let force = c.kind == ChangeKind::TypeChanged;
        let mut attrs: Vec<(&'static str, Value)> = Vec::new();
        let mut params = Vec::new();
        let describe: Describe;
        match (&c.after, c.kind) {
            (None, _) | (_, ChangeKind::Removed | ChangeKind::DirRemoved) => {
                let dir = c.kind == ChangeKind::DirRemoved
                    || c.before.as_ref().is_some_and(|b| b.kind == EntryKind::Dir);
                attrs.push(("ensure", Value::Word("absent")));
                if dir {
                    attrs.push(("force", Value::Word("true")));
                    self.removed_dirs.push(c.path.clone());
                    describe = words("absent, with everything below it");
                } else {
                    describe = words("absent");
                }
            }
            (Some(after), _) => match after.kind {
                EntryKind::File => describe = self.file(c, after, &mut attrs, &mut params)?,
                EntryKind::Dir => {
                    attrs.push(("ensure", Value::Word("directory")));
                    ownership(after, true, &mut attrs);
                    describe = words("directory");
                }
                EntryKind::Symlink => match link_target(after) {
                    Ok(target) => {
                        attrs.push(("ensure", Value::Word("link")));
                        describe = ("link to".into(), Some(display_path(target.as_bytes())));
                        attrs.push(("target", Value::Str(target)));
                        // Ownership of a link only matters when that is what changed.
                        if c.kind == ChangeKind::Metadata {
                            ownership(after, false, &mut attrs);
                        }
                    }
                    Err(reason) => {
                        self.skip(c, reason);
                        return Ok(());
                    }
                },
                special => {
                    let reason = if c.kind == ChangeKind::Metadata {
                        format!(
                            "only the ownership or mode of this {} changed, and Puppet's file type does not manage special files",
                            kind_name(special)
                        )
                    } else {
                        format!(
                            "it is a {}: Puppet's file type cannot create fifos, sockets or device nodes (use an exec running mkfifo or mknod)",
                            kind_name(special)
                        )
                    };
                    self.skip(c, reason);
                    return Ok(());
                }
            },
        }
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
        self.plan.resources.push(Resource {
            part,
            kind: "file",
            title,
            attrs,
        });
        self.row(c, part, describe, params);
        Ok(())
    }

    /// Attributes of a regular file; returns the README description.
    fn file(
        &mut self,
        c: &Change,
        after: &Entry,
        attrs: &mut Vec<(&'static str, Value)>,
        params: &mut Vec<usize>,
    ) -> Result<Describe, Error> {
        attrs.push(("ensure", Value::Word("file")));
        ownership(after, true, attrs);
        let uses = self.site.take(&c.path);
        if let Some(uses) = &uses {
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
        }
        if c.kind == ChangeKind::Metadata {
            return Ok(words("file: ownership and mode"));
        }
        let captured = self.captured(c, after)?;
        if let Some(uses) = uses {
            let bytes = match captured {
                Captured::Bytes(bytes) => bytes,
                Captured::Missing(reason) => {
                    return Err(site::refuse(
                        &uses,
                        format!("{}: {reason}", display_path(&c.path)),
                    ))
                }
            };
            let (rel, value) = site::template(&c.path, &bytes, &uses, self.plan)?;
            attrs.push(("content", value));
            params.extend(uses.iter().map(|(i, _)| *i));
            return Ok((
                "file: template".to_string(),
                Some(format!("templates/{rel}")),
            ));
        }
        if c.secret {
            let (ty, why) = match captured {
                Captured::Bytes(bytes) if self.include_secrets => {
                    self.plan.private.insert(puppet::files_relpath(&c.path));
                    let (what, detail) = self.content(c, bytes, attrs);
                    // Never print a secret's diff in Puppet's log.
                    attrs.push(("show_diff", Value::Word("false")));
                    return Ok((format!("secret {what}"), detail));
                }
                // Binary content cannot be passed as a String.
                Captured::Bytes(bytes) if std::str::from_utf8(&bytes).is_err() => {
                    ("Sensitive[Binary]", WITHHELD.to_string())
                }
                Captured::Bytes(_) => ("Sensitive[String]", WITHHELD.to_string()),
                Captured::Missing(reason) => (
                    "Sensitive[String]",
                    format!("a secret that was not captured: {reason}"),
                ),
            };
            params.push(self.plan.params.len());
            attrs.push(("content", Value::Param(self.plan.params.len())));
            self.plan.params.push(Param {
                target: ParamFor::Content(c.path.clone()),
                name: String::new(),
                puppet_type: ty,
                why,
            });
            return Ok(words("file: content from parameter"));
        }
        match captured {
            Captured::Bytes(bytes) => Ok(self.content(c, bytes, attrs)),
            Captured::Missing(reason) => {
                self.plan.incomplete.push(Skipped {
                    path: display_path(&c.path),
                    reason: format!("{reason}; only its ownership and mode are managed"),
                });
                Ok(words("file: ownership and mode (content not captured)"))
            }
        }
    }

    /// `content => ''` for an empty file, else a `source` into `files/`.
    fn content(
        &mut self,
        c: &Change,
        bytes: Vec<u8>,
        attrs: &mut Vec<(&'static str, Value)>,
    ) -> Describe {
        if bytes.is_empty() {
            attrs.push(("content", Value::Str(String::new())));
            return words("file: empty");
        }
        let rel = puppet::files_relpath(&c.path);
        let describe = (
            "file: content from".to_string(),
            Some(format!("files/{rel}")),
        );
        attrs.push(("source", Value::Source(rel.clone())));
        self.plan.files.insert(rel, bytes);
        describe
    }

    fn captured(&self, c: &Change, after: &Entry) -> Result<Captured, Error> {
        let Some(hash) = after.hash else {
            return Ok(Captured::Missing(
                "its content could not be read when it was recorded".into(),
            ));
        };
        if hash == ContentHash::of(b"") {
            return Ok(Captured::Bytes(Vec::new()));
        }
        if !after.content_stored {
            return Ok(Captured::Missing(format!(
                "its content was not captured, only its hash ({} bytes)",
                after.size
            )));
        }
        let blob = self.blobs.blob(&hash).map_err(|source| Error::Blob {
            path: display_path(&c.path),
            source,
        })?;
        Ok(match blob {
            None => Captured::Missing("its content is missing from the store".into()),
            Some(b) if ContentHash::of(&b) != hash => {
                Captured::Missing("the stored content does not match its recorded hash".into())
            }
            Some(b) => Captured::Bytes(b),
        })
    }

    fn skip(&mut self, c: &Change, reason: String) {
        self.plan.skipped.push(Skipped {
            path: display_path(&c.path),
            reason,
        });
    }

    fn row(&mut self, c: &Change, part: Part, (puppet, detail): Describe, params: Vec<usize>) {
        self.plan.rows.push(Row {
            part,
            path: display_path(&c.path),
            change: c.kind,
            puppet,
            detail,
            params,
        });
    }
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
fn path_title(path: &[u8]) -> Result<String, &'static str> {
    if path.contains(&0) {
        return Err("the path contains a NUL byte, which no Linux path can hold (corrupt record?)");
    }
    if !path.starts_with(b"/") {
        return Err("the path is not absolute, and Puppet only manages fully qualified paths");
    }
    String::from_utf8(path.to_vec()).map_err(|_| {
        "the path is not valid UTF-8: Puppet manifests are UTF-8 text and cannot name it"
    })
}

fn link_target(after: &Entry) -> Result<String, String> {
    let Some(target) = &after.link_target else {
        return Err("the symlink's target was not recorded".into());
    };
    if target.is_empty() || target.contains(&0) {
        return Err("the symlink's recorded target is empty or contains a NUL byte".into());
    }
    String::from_utf8(target.clone()).map_err(|_| {
        format!(
            "the symlink's target {} is not valid UTF-8, which a Puppet manifest cannot hold",
            display_path(target)
        )
    })
}

/// `owner`, `group` (names when known, else the numeric id) and `mode`.
fn ownership(e: &Entry, with_mode: bool, attrs: &mut Vec<(&'static str, Value)>) {
    let owner = e.owner.clone().unwrap_or_else(|| e.uid.to_string());
    let group = e.group.clone().unwrap_or_else(|| e.gid.to_string());
    attrs.push(("owner", Value::Str(owner)));
    attrs.push(("group", Value::Str(group)));
    if with_mode {
        attrs.push(("mode", Value::Mode(e.mode)));
    }
}

fn kind_name(k: EntryKind) -> &'static str {
    match k {
        EntryKind::CharDevice => "character device",
        EntryKind::BlockDevice => "block device",
        other => other.as_str(),
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
