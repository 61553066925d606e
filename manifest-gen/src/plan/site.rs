//! Site parameters against the session: each becomes a class parameter,
//! each file holding one becomes an EPP template, and every reason a
//! parameter cannot be honoured is an error naming it (a wrong path or
//! literal must not quietly give a module without the parameter).

use super::catalog::{Param, ParamId, Supplies, Value};
use super::Content;
use crate::epp::{self, Piece};
use crate::{puppet, Error, SiteParam};
use recorder::model::{display_path, Change, ChangeKind, EntryKind};
use std::collections::{BTreeMap, BTreeSet};

/// The site parameters of a module, by name and by the file they are in.
pub(super) struct SitePlan {
    /// Checked and sorted by name (`site::check_all`).
    params: Vec<SiteParam>,
    /// Path -> the parameters used in that file, in name order.
    by_path: BTreeMap<Vec<u8>, Vec<SiteParam>>,
}

impl SitePlan {
    pub fn new(params: &[SiteParam]) -> SitePlan {
        let mut by_path: BTreeMap<Vec<u8>, Vec<SiteParam>> = BTreeMap::new();
        for p in params {
            by_path.entry(p.path.clone()).or_default().push(p.clone());
        }
        SitePlan {
            params: params.to_vec(),
            by_path,
        }
    }

    /// One class parameter per name, the recorded literal its default.
    pub fn params(&self) -> Vec<Param> {
        let mut out: Vec<Param> = Vec::new();
        for p in &self.params {
            let literal = String::from_utf8_lossy(&p.literal).into_owned();
            match out.iter_mut().find(|q| q.name == p.name) {
                Some(Param {
                    supplies: Supplies::Site { paths, .. },
                    ..
                }) => paths.push(p.path.clone()),
                _ => out.push(Param {
                    name: p.name.clone(),
                    supplies: Supplies::Site {
                        literal,
                        paths: vec![p.path.clone()],
                    },
                }),
            }
        }
        out
    }

    /// The parameters used in the file at `path`, if any.
    pub fn uses(&self, path: &[u8]) -> Option<&[SiteParam]> {
        self.by_path.get(path).map(Vec::as_slice)
    }

    /// Every path given must be a file the module writes from a template.
    /// `templated` are the paths the module writes from a template.
    pub fn check_all_used(
        &self,
        templated: &BTreeSet<&[u8]>,
        changes: &[Change],
    ) -> Result<(), Error> {
        for (path, uses) in &self.by_path {
            if templated.contains(path.as_slice()) {
                continue;
            }
            let Some(first) = uses.first() else {
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
                .find(|q| q.name == p.name && !matches!(q.supplies, Supplies::Site { .. }));
            if let Some(q) = taken {
                return Err(p.error(format!(
                    "the name '{}' is already the class parameter carrying a secret ({}); choose another name",
                    p.name,
                    crate::render::param_subject(q)
                )));
            }
        }
        Ok(())
    }
}

/// Refuse a site parameter in a file the module cannot template.
pub(super) fn refuse(uses: &[SiteParam], reason: String) -> Error {
    match uses.first() {
        Some(p) => p.error(reason),
        None => Error::SiteParam {
            arg: String::new(),
            reason,
        },
    }
}

/// The template for a file's recorded content: every occurrence of each
/// parameter's literal becomes its value. Returns the path under
/// `templates/` and the `content` attribute; the template goes into
/// `content`.
pub(super) fn template(
    path: &[u8],
    bytes: &[u8],
    uses: &[SiteParam],
    content: &mut Content,
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
        .map(SiteParam::literal_str)
        .collect::<Result<Vec<_>, _>>()?;
    let pieces = epp::split(text, &literals);
    for (k, p) in uses.iter().enumerate() {
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
    let names: Vec<&str> = uses.iter().map(|p| p.name.as_str()).collect();
    let rel = format!("{}.epp", puppet::files_relpath(path));
    content
        .templates
        .insert(rel.clone(), epp::template(&names, &pieces).into_bytes());
    let value = Value::Epp {
        rel: rel.clone(),
        params: uses.iter().map(|p| ParamId::Site(p.name.clone())).collect(),
    };
    Ok((rel, value))
}
