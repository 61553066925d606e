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
                    super::catalog::param_subject(q)
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
    let pieces = select(text, &epp::split(text, &literals), uses, &literals, &shown)?;
    for (k, p) in uses.iter().enumerate() {
        let lines: Vec<usize> = pieces
            .iter()
            .filter(|(piece, _)| *piece == Piece::Value(k))
            .map(|(_, line)| *line)
            .collect();
        content
            .site_lines
            .insert((p.name.clone(), path.to_vec()), lines);
    }
    let pieces: Vec<Piece<'_>> = pieces.into_iter().map(|(p, _)| p).collect();
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

/// Where each occurrence of a literal goes: to the parameter whose
/// selection takes it (`Select`), or back to plain text. Returns the
/// pieces with the line each starts on; adjacent text is merged, so
/// escaping sees it whole. Refuses a parameter whose selection takes no
/// occurrence, or (without a line or `*`) more than one.
fn select<'a>(
    text: &'a str,
    split: &[Piece<'a>],
    uses: &[SiteParam],
    literals: &[&str],
    shown: &str,
) -> Result<Vec<(Piece<'a>, usize)>, Error> {
    use crate::site::Select;
    // (piece, line, byte offset) with values reassigned by selection.
    let mut out: Vec<(Piece<'a>, usize)> = Vec::new();
    let mut line = 1;
    let mut offset = 0;
    let mut text_start: Option<(usize, usize)> = None;
    let mut found: Vec<Vec<usize>> = vec![Vec::new(); uses.len()];
    let push_text = |out: &mut Vec<(Piece<'a>, usize)>, start: Option<(usize, usize)>, end| {
        if let Some((s, l)) = start {
            out.push((Piece::Text(&text[s..end]), l));
        }
    };
    for piece in split {
        match piece {
            Piece::Text(t) => {
                text_start.get_or_insert((offset, line));
                line += t.matches('\n').count();
                offset += t.len();
            }
            Piece::Value(k) => {
                let lit = literals.get(*k).copied().unwrap_or("");
                // Every parameter on this literal, first the one whose line
                // it is, then one that takes any occurrence.
                let same: Vec<usize> = (0..uses.len()).filter(|j| literals[*j] == lit).collect();
                let owner = same
                    .iter()
                    .find(|j| uses[**j].select == Select::Line(line))
                    .or_else(|| {
                        same.iter()
                            .find(|j| matches!(uses[**j].select, Select::Only | Select::All))
                    })
                    .copied();
                match owner {
                    Some(j) => {
                        push_text(&mut out, text_start.take(), offset);
                        out.push((Piece::Value(j), line));
                        found[j].push(line);
                    }
                    None => {
                        text_start.get_or_insert((offset, line));
                    }
                }
                offset += lit.len();
            }
        }
    }
    push_text(&mut out, text_start.take(), offset);
    let lines_of = |lit: &str| -> Vec<usize> {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.contains(lit))
            .map(|(i, _)| i + 1)
            .collect()
    };
    let list = |ls: &[usize]| {
        ls.iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (k, p) in uses.iter().enumerate() {
        let lit = literals[k];
        let n = found[k].len();
        let reason = match (p.select, n) {
            (Select::Only, 1) | (Select::Line(_), 1) => continue,
            (Select::All, n) if n > 0 => continue,
            (Select::Only, n) if n > 1 => format!(
                "'{lit}' occurs {n} times in {shown} (lines {}): say which with {}={shown}:LINE:{lit}, or take every one with {}={shown}:*:{lit}",
                list(&found[k]),
                p.name,
                p.name
            ),
            (Select::Line(l), n) if n > 1 => format!(
                "'{lit}' occurs {n} times on line {l} of {shown}: one parameter per line, or every occurrence in the file with {}={shown}:*:{lit}",
                p.name
            ),
            (Select::Line(l), _) if !lines_of(lit).is_empty() => {
                let on = lines_of(lit);
                format!(
                    "'{lit}' does not occur on line {l} of {shown} (it does on line{} {})",
                    if on.len() > 1 { "s" } else { "" },
                    list(&on)
                )
            }
            _ if text.contains(lit) => format!(
                "every occurrence of '{lit}' in {shown} is inside the longer value of another parameter"
            ),
            _ => format!("'{lit}' does not occur in the recorded content of {shown}"),
        };
        return Err(p.error(reason));
    }
    Ok(out)
}
