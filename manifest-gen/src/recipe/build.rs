//! Making a bundle: every part rendered in memory, then one tar written in
//! a fixed order with fixed metadata and gzipped with a fixed header, so
//! the same session always gives the same bytes.
//!
//! Fixed metadata: uid/gid 0 named root/root; directories 0755, files 0644
//! and the module's private files 0600; every mtime is the session's finish
//! time (when the recording it describes ended: meaningful to `tar tv`, and
//! stable across rebuilds). The gzip header has no name and mtime 0.

use super::{archive, DESCRIPTOR, KICKSTART, MODULES, README, SUMS};
use crate::descriptor::{self, Spec};
use crate::render::{md_code, md_text};
use crate::Error;
use crate::{kickstart, ModuleOptions};
use flate2::{Compression, GzBuilder};
use recorder::model::ChangeSet;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const TEMPLATE: &str = include_str!("../../templates/recipe-README.md.j2");

/// A file's bytes and whether it is private (0600), by path under the top.
type Content = (Vec<u8>, bool);

/// One entry of a bundle, as `tar tv` would show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// Full path in the archive (`NAME/modules/m/...`), no trailing slash.
    pub path: String,
    pub dir: bool,
    pub mode: u32,
    pub size: u64,
}

/// A built recipe: the `.tar.gz` bytes and what they hold.
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The top-level directory every entry is under.
    pub top: String,
    pub module_name: String,
    pub bytes: Vec<u8>,
    /// In archive order.
    pub listing: Vec<Listed>,
    /// Holds secret content (`--include-secrets`): written 0600.
    pub private: bool,
    /// Unix seconds given to every entry.
    pub mtime: u64,
    /// What the module does and does not express.
    pub report: crate::Report,
    /// The appliance defaults taken (`descriptor::Appliance::notes`), and
    /// which installer the kickstart is for (`kickstart::installer_note`).
    pub notes: Vec<String>,
}

#[derive(Serialize)]
struct View {
    name: String,
    top: String,
    session: String,
    description: Option<String>,
    recorded_on: String,
    module: String,
    module_dir: String,
    ships_secrets: bool,
    params: Vec<ParamView>,
    disks: Vec<DiskView>,
    vcpu: u32,
    memory_mib: u64,
    arch: String,
    notes: Vec<String>,
    installer_note: Option<String>,
}

#[derive(Serialize)]
struct ParamView {
    name: String,
    puppet_type: String,
    what: String,
}

#[derive(Serialize)]
struct DiskView {
    file: String,
    use_: &'static str,
    size_mb: u64,
    mount: String,
}

/// Build the recipe of a finished change set (see the module doc).
pub fn build(
    cs: &ChangeSet,
    blobs: &dyn recorder::model::BlobSource,
    opts: &ModuleOptions,
    spec: &Spec,
) -> Result<Bundle, Error> {
    let module = crate::generate(cs, blobs, opts)?;
    let appliance = descriptor::appliance(cs, spec)?;
    let xml = descriptor::descriptor(cs, spec)?;
    let ks = kickstart::partial(cs, spec, &opts.module_name, &module.report.parameters)?;
    let top = top_dir(&appliance.name, appliance.version.as_deref());

    let mut files: BTreeMap<String, Content> = BTreeMap::new();
    files.insert(DESCRIPTOR.into(), (xml.into_bytes(), false));
    files.insert(KICKSTART.into(), (ks.into_bytes(), false));
    let module_dir = format!("{MODULES}/{}", opts.module_name);
    // The bundle is made in memory, so a stored content is read whole here.
    for (rel, body) in &module.files {
        let private = module.private.contains(rel);
        files.insert(
            format!("{module_dir}/{rel}"),
            (body.load(blobs, rel)?, private),
        );
    }
    let readme = readme(cs, &appliance, &module, &opts.module_name, &top)?;
    files.insert(README.into(), (readme.into_bytes(), false));
    let sums = archive::format_sums(
        files
            .iter()
            .map(|(p, (b, _))| (p.as_str(), Sha256::digest(b).into())),
    );
    files.insert(SUMS.into(), (sums.into_bytes(), false));

    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for rel in files.keys() {
        let mut parent = rel.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            dirs.insert(p.to_string());
            parent = p;
        }
    }
    // Sorted by the path as `tar` shows it (directories with their `/`),
    // which puts every directory before its contents.
    let mut order: Vec<(String, Option<&Content>)> = Vec::new();
    order.push((format!("{top}/"), None));
    order.extend(dirs.iter().map(|d| (format!("{top}/{d}/"), None)));
    order.extend(files.iter().map(|(f, c)| (format!("{top}/{f}"), Some(c))));
    order.sort_by(|a, b| a.0.cmp(&b.0));

    let mtime = cs
        .session
        .finished_at_ns
        .map_or(0, |ns| u64::try_from(ns / 1_000_000_000).unwrap_or(0));
    let gz = GzBuilder::new().write(Vec::new(), Compression::best());
    let mut tar = tar::Builder::new(gz);
    let mut listing = Vec::with_capacity(order.len());
    for (path, content) in order {
        let entry_err = |source| Error::Build {
            entry: path.clone(),
            source,
        };
        let (kind, mode, data): (_, u32, &[u8]) = match content {
            None => (tar::EntryType::Directory, 0o755, &[]),
            Some((bytes, true)) => (tar::EntryType::Regular, 0o600, bytes),
            Some((bytes, false)) => (tar::EntryType::Regular, 0o644, bytes),
        };
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(data.len() as u64);
        h.set_mtime(mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_username("root").map_err(entry_err)?;
        h.set_groupname("root").map_err(entry_err)?;
        tar.append_data(&mut h, &path, data).map_err(entry_err)?;
        listing.push(Listed {
            path: path.trim_end_matches('/').to_string(),
            dir: content.is_none(),
            mode,
            size: data.len() as u64,
        });
    }
    let finish_err = |source| Error::Build {
        entry: "(end of archive)".into(),
        source,
    };
    let bytes = tar
        .into_inner()
        .map_err(finish_err)?
        .finish()
        .map_err(finish_err)?;
    Ok(Bundle {
        top,
        module_name: opts.module_name.clone(),
        bytes,
        listing,
        private: !module.private.is_empty(),
        mtime,
        report: module.report,
        notes: appliance
            .notes
            .into_iter()
            .chain(kickstart::installer_note(cs))
            .collect(),
    })
}

/// `NAME-VERSION` (or `NAME`) as a file name; never `.` or `..`.
fn top_dir(name: &str, version: Option<&str>) -> String {
    let mut top = descriptor::slug(name);
    if let Some(v) = version {
        top.push('-');
        top.push_str(v);
    }
    if top.chars().all(|c| c == '.') {
        top.insert_str(0, "recipe-");
    }
    top
}

fn readme(
    cs: &ChangeSet,
    a: &descriptor::Appliance,
    module: &crate::Module,
    module_name: &str,
    top: &str,
) -> Result<String, Error> {
    let facts = &cs.session.facts;
    let recorded_on = [&facts.os_pretty_name, &facts.os_name, &facts.os_id]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or_else(|| "an unknown system".to_string(), |s| md_text(s));
    let view = View {
        name: md_text(&a.name),
        // A slug (letters, digits, `_.+-`): safe in code blocks as it is.
        top: top.to_string(),
        session: md_code(&cs.session.name, false),
        description: a
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .map(md_text),
        recorded_on,
        module: module_name.to_string(),
        module_dir: format!("{MODULES}/{module_name}"),
        ships_secrets: !module.private.is_empty(),
        params: module
            .report
            .parameters
            .iter()
            .map(|p| ParamView {
                name: md_code(&p.name, true),
                puppet_type: md_code(&p.puppet_type, true),
                what: md_code(&p.path, true),
            })
            .collect(),
        disks: a
            .disks
            .iter()
            .map(|d| DiskView {
                file: md_code(&d.file, true),
                use_: d.use_.as_str(),
                size_mb: d.size_mb,
                mount: md_code(&d.mount, true),
            })
            .collect(),
        vcpu: a.vcpu,
        memory_mib: a.memory_kib / 1024,
        arch: a.arch.clone(),
        notes: a.notes.iter().map(|n| md_text(n)).collect(),
        installer_note: kickstart::installer_note(cs).map(|n| md_text(&n)),
    };
    let env = crate::render::base_environment();
    env.render_str(TEMPLATE, &view)
        .map_err(|source| Error::Template {
            template: "recipe-README.md.j2",
            source,
        })
}

/// Write `bundle` to `out` atomically (`recorder::outfile`: a temporary
/// file beside it, then a rename; a symlink at `out` is replaced, not
/// followed). 0644, or 0600 when the bundle holds secrets.
pub fn write_bundle(bundle: &Bundle, out: &Path) -> Result<(), Error> {
    let mode = if bundle.private { 0o600 } else { 0o644 };
    recorder::outfile::replace(out, &bundle.bytes, mode).map_err(|e| Error::io("writing", out, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_dir_cases() {
        let cases = [
            ("plain", "pg-server", None, "pg-server"),
            ("version", "pg-server", Some("1.2-3"), "pg-server-1.2-3"),
            ("slashes and colons", "acme/pg:15", None, "acme_pg_15"),
            ("dot-dot", "..", None, "recipe-.."),
        ];
        for (name, n, v, want) in cases {
            assert_eq!(top_dir(n, v), want, "{name}");
        }
    }
}
