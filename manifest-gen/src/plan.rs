//! The decisions: which Puppet `file` resource (if any) expresses each
//! change, where captured content goes, which secrets become class
//! parameters, and why anything is left out. No text formatting happens
//! here; `render` turns a [`Plan`] into files.

use crate::{puppet, Error, Skipped};
use recorder::model::{display_path, is_within, Change, ChangeKind, ContentHash, Entry, EntryKind};
use recorder::BlobSource;
use std::collections::{BTreeMap, HashMap};

/// Everything `render` needs, in output order (sorted by path bytes, so a
/// parent directory always comes before what it contains).
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub resources: Vec<Resource>,
    /// Content to ship, keyed by path relative to the module's `files/`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Keys of `files` holding secrets (written 0600).
    pub private: std::collections::BTreeSet<String>,
    /// One line per change the module handles, for the README.
    pub rows: Vec<Row>,
    pub skipped: Vec<Skipped>,
    pub incomplete: Vec<Skipped>,
    pub params: Vec<Param>,
}

/// One `file` resource: its title (the path) and attributes in order.
#[derive(Debug)]
pub(crate) struct Resource {
    pub title: String,
    pub attrs: Vec<(&'static str, Value)>,
}

/// An attribute value, before it is written as Puppet syntax.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A bare word: `file`, `directory`, `link`, `absent`, `true`, `false`.
    Word(&'static str),
    /// User data; rendered as a single-quoted literal.
    Str(String),
    /// A file mode (permission bits).
    Mode(u32),
    /// The value of `params[i]`.
    Param(usize),
    /// `puppet:///modules/<module>/<this path under files/>`.
    Source(String),
}

/// A mandatory class parameter carrying a withheld file's content.
#[derive(Debug)]
pub(crate) struct Param {
    pub path: Vec<u8>,
    /// Assigned once every parameter is known (names must not clash).
    pub name: String,
    pub puppet_type: &'static str,
    pub why: String,
}

/// A README line: which path, what changed, what the module does about it.
#[derive(Debug)]
pub(crate) struct Row {
    pub path: String,
    pub change: ChangeKind,
    /// Our own wording, e.g. `file: content from`.
    pub puppet: String,
    /// A path (display form) completing `puppet`.
    pub detail: Option<String>,
}

/// How a README row describes what the module does.
type Describe = (String, Option<String>);

fn words(s: &str) -> Describe {
    (s.to_string(), None)
}

const WITHHELD: &str =
    "a secret, withheld from the module (generate it with secrets included to embed it)";

/// Plan every change. Only reading the blob store can fail; everything a
/// change set can contain is either expressed or reported.
pub(crate) fn plan(
    changes: &[Change],
    blobs: &dyn BlobSource,
    include_secrets: bool,
) -> Result<Plan, Error> {
    let mut sorted: Vec<&Change> = changes.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut planner = Planner {
        blobs,
        include_secrets,
        plan: Plan::default(),
        removed_dirs: Vec::new(),
        param_rows: Vec::new(),
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
        planner.change(change)?;
    }
    name_params(&mut planner.plan.params);
    let mut plan = planner.plan;
    for (row, param) in planner.param_rows {
        plan.rows[row].detail = Some(format!("${}", plan.params[param].name));
    }
    Ok(plan)
}

struct Planner<'a> {
    blobs: &'a dyn BlobSource,
    include_secrets: bool,
    plan: Plan,
    /// Directories removed (or replaced) with `force => true`: whatever was
    /// below them goes with them and needs no resource of its own.
    removed_dirs: Vec<Vec<u8>>,
    /// README rows to complete with a parameter's name once it has one.
    param_rows: Vec<(usize, usize)>,
}

/// What is known about a file's final content.
enum Captured {
    Bytes(Vec<u8>),
    Missing(String),
}

impl Planner<'_> {
    fn change(&mut self, c: &Change) -> Result<(), Error> {
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
                self.row(c, describe);
                return Ok(());
            }
        }
        let force = c.kind == ChangeKind::TypeChanged;
        let mut attrs: Vec<(&'static str, Value)> = Vec::new();
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
                EntryKind::File => describe = self.file(c, after, &mut attrs)?,
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
        self.plan.resources.push(Resource { title, attrs });
        self.row(c, describe);
        Ok(())
    }

    /// Attributes of a regular file; returns the README description.
    fn file(
        &mut self,
        c: &Change,
        after: &Entry,
        attrs: &mut Vec<(&'static str, Value)>,
    ) -> Result<Describe, Error> {
        attrs.push(("ensure", Value::Word("file")));
        ownership(after, true, attrs);
        if c.kind == ChangeKind::Metadata {
            return Ok(words("file: ownership and mode"));
        }
        let captured = self.captured(c, after)?;
        if c.secret {
            match captured {
                Captured::Bytes(bytes) if self.include_secrets => {
                    self.plan.private.insert(puppet::files_relpath(&c.path));
                    let (what, detail) = self.content(c, bytes, attrs);
                    // Never print a secret's diff in Puppet's log.
                    attrs.push(("show_diff", Value::Word("false")));
                    return Ok((format!("secret {what}"), detail));
                }
                Captured::Bytes(bytes) => {
                    // Binary content cannot be passed as a String.
                    let ty = if std::str::from_utf8(&bytes).is_ok() {
                        "Sensitive[String]"
                    } else {
                        "Sensitive[Binary]"
                    };
                    return Ok(self.param(c, attrs, ty, WITHHELD.into()));
                }
                Captured::Missing(reason) => {
                    let why = format!("a secret that was not captured: {reason}");
                    return Ok(self.param(c, attrs, "Sensitive[String]", why));
                }
            }
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

    fn param(
        &mut self,
        c: &Change,
        attrs: &mut Vec<(&'static str, Value)>,
        puppet_type: &'static str,
        why: String,
    ) -> Describe {
        self.param_rows
            .push((self.plan.rows.len(), self.plan.params.len()));
        attrs.push(("content", Value::Param(self.plan.params.len())));
        self.plan.params.push(Param {
            path: c.path.clone(),
            name: String::new(),
            puppet_type,
            why,
        });
        words("file: content from parameter")
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

    fn row(&mut self, c: &Change, (puppet, detail): Describe) {
        self.plan.rows.push(Row {
            path: display_path(&c.path),
            change: c.kind,
            puppet,
            detail,
        });
    }
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

/// Name every parameter after its path; paths whose names would clash all
/// get a hash suffix, so a name does not depend on which other secrets
/// happen to be in the session.
fn name_params(params: &mut [Param]) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for p in params.iter() {
        *counts
            .entry(puppet::content_param_name(&p.path, false))
            .or_default() += 1;
    }
    for p in params.iter_mut() {
        let plain = puppet::content_param_name(&p.path, false);
        p.name = if counts[&plain] > 1 {
            puppet::content_param_name(&p.path, true)
        } else {
            plain
        };
    }
    // A suffixed name could still meet a natural one; vanishingly rare, but
    // a duplicate parameter would not parse.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in params.iter_mut() {
        let n = seen.entry(p.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            p.name = format!("{}_{}", p.name, n);
        }
    }
}

#[cfg(test)]
mod tests;
