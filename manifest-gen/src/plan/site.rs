//! Site parameters against the session: each becomes a class parameter,
//! each file holding one becomes an EPP template, and every reason a
//! parameter cannot be honoured is an error naming it (a wrong path or
//! literal must not quietly give a module without the parameter).

use super::{Param, ParamFor, Plan, Value};
use crate::epp::{self, Piece};
use crate::{puppet, Error, SiteParam};
use recorder::model::{display_path, Change, ChangeKind, EntryKind};
use std::collections::{BTreeMap, BTreeSet};

/// A site parameter used in one file: its index in `Plan::params`.
pub(super) type Use = (usize, SiteParam);

pub(super) struct SitePlan {
    params: Vec<SiteParam>,
    /// Path -> the parameters used in that file, in name order.
    by_path: BTreeMap<Vec<u8>, Vec<Use>>,
    used: BTreeSet<Vec<u8>>,
}

impl SitePlan {
    /// Adds one class parameter per name to `plan.params`. `params` are
    /// checked and sorted by name (`site::check_all`).
    pub fn new(params: &[SiteParam], plan: &mut Plan) -> SitePlan {
        let mut by_path: BTreeMap<Vec<u8>, Vec<Use>> = BTreeMap::new();
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for p in params {
            let i = *index.entry(&p.name).or_insert_with(|| {
                plan.params.push(Param {
                    target: ParamFor::Site {
                        literal: String::from_utf8_lossy(&p.literal).into_owned(),
                        paths: Vec::new(),
                    },
                    name: p.name.clone(),
                    puppet_type: "String",
                    why: "a site value; the default is the recorded one".into(),
                });
                plan.params.len() - 1
            });
            if let ParamFor::Site { paths, .. } = &mut plan.params[i].target {
                paths.push(p.path.clone());
            }
            by_path
                .entry(p.path.clone())
                .or_default()
                .push((i, p.clone()));
        }
        SitePlan {
            params: params.to_vec(),
            by_path,
            used: BTreeSet::new(),
        }
    }

    /// The parameters used in the file at `path`, if any; the path counts
    /// as handled from now on.
    pub fn take(&mut self, path: &[u8]) -> Option<Vec<Use>> {
        let uses = self.by_path.get(path)?.clone();
        self.used.insert(path.to_vec());
        Some(uses)
    }

    /// Every path given must be a file the module writes from a template.
    pub fn check_all_used(&self, changes: &[Change]) -> Result<(), Error> {
        for (path, uses) in &self.by_path {
            if self.used.contains(path) {
                continue;
            }
            let Some((_, first)) = uses.first() else {
                continue;
            };
            let shown = display_path(path);
            let reason = match changes.iter().find(|c| &c.path == path) {
                None => format!(
                    "{shown} is not among the files the session changed (a parameter only applies to a recorded file)"
                ),
                Some(c) if !c.origin.is_admin() => format!(
                    "the change to {shown} belongs to {}, which reproduces it: the module has no file resource for it",
                    c.origin.describe()
                ),
                Some(c)
                    if c.after.is_none()
                        || matches!(c.kind, ChangeKind::Removed | ChangeKind::DirRemoved) =>
                {
                    format!("{shown} was removed in the session: it has no content to hold a value")
                }
                Some(c) => match c.after.as_ref().map(|a| a.kind) {
                    Some(kind) if kind != EntryKind::File => format!(
                        "{shown} is a {}, not a regular file with content",
                        match kind {
                            EntryKind::Dir => "directory",
                            EntryKind::Symlink => "symbolic link",
                            other => other.as_str(),
                        }
                    ),
                    _ => format!(
                        "the module does not manage the content of {shown} (README.md's \"Not expressed\" says why)"
                    ),
                },
            };
            return Err(first.error(reason));
        }
        Ok(())
    }

    /// A site parameter's name must not be one generated for a secret.
    pub fn check_names(&self, params: &[Param]) -> Result<(), Error> {
        for p in &self.params {
            let taken = params
                .iter()
                .find(|q| q.name == p.name && !matches!(q.target, ParamFor::Site { .. }));
            if let Some(q) = taken {
                return Err(p.error(format!(
                    "the name '{}' is already the class parameter carrying a secret ({}); choose another name",
                    p.name,
                    q.subject()
                )));
            }
        }
        Ok(())
    }
}

/// Refuse a site parameter in a file the module cannot template.
pub(super) fn refuse(uses: &[Use], reason: String) -> Error {
    match uses.first() {
        Some((_, p)) => p.error(reason),
        None => Error::SiteParam {
            arg: String::new(),
            reason,
        },
    }
}

/// The template for a file's recorded content: every occurrence of each
/// parameter's literal becomes its value. Returns the path under
/// `templates/` and the `content` attribute; the template goes into `plan`.
pub(super) fn template(
    path: &[u8],
    bytes: &[u8],
    uses: &[Use],
    plan: &mut Plan,
) -> Result<(String, Value), Error> {
    let shown = display_path(path);
    let text = std::str::from_utf8(bytes).map_err(|_| {
        refuse(uses, format!(
            "the recorded content of {shown} is not UTF-8 text: an EPP template is text that Puppet reads as UTF-8, so this file can only be shipped as it is"
        ))
    })?;
    if text.contains('\0') {
        return Err(refuse(uses, format!(
            "the recorded content of {shown} holds NUL bytes (binary data): an EPP template is text, so this file can only be shipped as it is"
        )));
    }
    let literals = uses
        .iter()
        .map(|(_, p)| p.literal_str())
        .collect::<Result<Vec<_>, _>>()?;
    let pieces = epp::split(text, &literals);
    for (k, (_, p)) in uses.iter().enumerate() {
        if pieces.contains(&Piece::Value(k)) {
            continue;
        }
        let reason = if text.contains(literals[k]) {
            format!(
                "every occurrence of '{}' in {shown} is inside the longer value of another parameter",
                literals[k]
            )
        } else {
            format!(
                "'{}' does not occur in the recorded content of {shown}",
                literals[k]
            )
        };
        return Err(p.error(reason));
    }
    let names: Vec<&str> = uses.iter().map(|(_, p)| p.name.as_str()).collect();
    let rel = format!("{}.epp", puppet::files_relpath(path));
    plan.templates
        .insert(rel.clone(), epp::template(&names, &pieces).into_bytes());
    let value = Value::Epp {
        rel: rel.clone(),
        params: uses.iter().map(|(i, _)| *i).collect(),
    };
    Ok((rel, value))
}
