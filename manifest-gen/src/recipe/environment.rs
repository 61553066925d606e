//! `cft recipe install --environment`: a recipe's module served by a Puppet
//! server. The module goes into `CODEDIR/environments/ENV/modules/MODULE`
//! the way [`super::install`] puts it into any modulepath (all or nothing,
//! a newer version replacing an older one atomically); the environment is
//! created when missing.
//!
//! Nodes are classified with Hiera, not with node definitions: the
//! environment's `manifests/site.pp` includes the unique merge of the
//! `classes` key, and the `cft/nodes/%{trusted.certname}.yaml` level of the
//! environment's `hiera.yaml` holds, per node, the classes `--node` gave it.
//! Those per-node files are cft's own (a header says so and is checked);
//! `site.pp` and `hiera.yaml` are written only when missing, and an
//! existing one that lacks cft's line is refused, naming the line to add,
//! so an admin's own classification is never rewritten. The same hierarchy
//! serves the module's mandatory parameters (`MODULE::NAME` in
//! `data/nodes/CERTNAME.yaml` or `data/common.yaml`), which stay out of
//! every kickstart.
//!
//! A created environment gets `environment_timeout = 0`: the server reads
//! the environment afresh for each catalog, so a re-installed module
//! reaches the next agent run without a restart. An existing environment
//! that caches is reported, with the admin API call that flushes it.

use super::install::{install_keeping, Installed};
use crate::Error;
use std::fs;
use std::path::{Path, PathBuf};

/// The Hiera level cft classifies nodes with.
pub const NODE_LEVEL: &str = "cft/nodes/%{trusted.certname}.yaml";

/// The line of `site.pp` that includes the classes Hiera lists.
pub const SITE_LINE: &str = "lookup('classes', Array[String], 'unique', []).include";

/// The first line of each per-node file cft manages.
const NODE_HEADER: &str = "# Managed by cft recipe install --node:";

const ENVIRONMENT_CONF: &str = "\
# Written by cft recipe install, which created this environment. The server
# reads it afresh for every catalog, so a re-installed recipe reaches the
# next agent run without a restart or a cache flush.
environment_timeout = 0
";

const SITE_PP: &str = "\
# Written by cft recipe install --node. Each node gets the classes listed
# under `classes` in its Hiera data (data/cft/nodes/CERTNAME.yaml, managed by
# cft, and your own levels); a node with none gets nothing.
lookup('classes', Array[String], 'unique', []).include
";

const HIERA_YAML: &str = "\
# Written by cft recipe install --node.
---
version: 5
defaults:
  datadir: data
  data_hash: yaml_data
hierarchy:
  - name: 'Per node (yours: data for one node, e.g. mandatory class parameters)'
    path: 'nodes/%{trusted.certname}.yaml'
  - name: 'Per node classes (managed by cft recipe install --node)'
    path: 'cft/nodes/%{trusted.certname}.yaml'
  - name: 'Common (yours)'
    path: 'common.yaml'
";

/// Where and how to install.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    /// The server's code directory (`puppet config print codedir --section server`).
    pub codedir: &'a Path,
    pub environment: &'a str,
    /// Certnames whose node gets the module's class.
    pub nodes: &'a [String],
    /// Replace a different module of the same name (not only a newer one).
    pub force: bool,
}

/// What an install into an environment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvInstalled {
    pub module: Installed,
    /// `CODEDIR/environments/ENV`.
    pub dir: PathBuf,
    pub created: bool,
    /// Files cft wrote besides the module (created or updated).
    pub wrote: Vec<PathBuf>,
    /// Each `--node`, and whether its class list changed.
    pub classified: Vec<(String, bool)>,
    /// The class's mandatory parameters (`MODULE::NAME`), their Puppet
    /// type, and whether some data file of the environment sets each.
    pub mandatory: Vec<(String, String, bool)>,
    /// The environment caches (a nonzero `environment_timeout`): how to
    /// flush it.
    pub cache_note: Option<String>,
}

/// Puppet's environment names: `^[a-z0-9_]+$`.
pub fn check_environment(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::ServerArg {
            arg: "--environment",
            value: name.to_string(),
            reason: "an environment name is lowercase letters, digits and '_'",
        })
    }
}

/// A certname as Puppet allows it and as cft can put in a file name:
/// lowercase letters, digits, '.', '-' and '_', not starting with '.'.
pub fn check_certname(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 255
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::ServerArg {
            arg: "--node",
            value: name.to_string(),
            reason: "a certname is lowercase letters, digits, '.', '-' and '_', and does not start with '.'",
        })
    }
}

/// The server's code directory as Puppet reports it.
pub fn server_codedir() -> Result<PathBuf, Error> {
    let puppet = super::find_tool("puppet").ok_or(Error::ServerArg {
        arg: "--codedir",
        value: String::new(),
        reason: "puppet is not on PATH to say where the server's code directory is: give --codedir",
    })?;
    #[allow(clippy::disallowed_methods)] // puppet by the absolute path find_tool found
    let out = std::process::Command::new(&puppet)
        .args(["config", "print", "codedir", "--section", "server"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("running", &puppet, e))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let dir = text.trim();
    if !out.status.success() || !dir.starts_with('/') || dir.contains('\n') {
        return Err(Error::ServerArg {
            arg: "--codedir",
            value: dir.to_string(),
            reason: "`puppet config print codedir --section server` gave no absolute path: give --codedir",
        });
    }
    Ok(PathBuf::from(dir))
}

/// Install the module of `bundle` into an environment (see the module doc).
pub fn install_into_environment(bundle: &Path, t: &Target) -> Result<EnvInstalled, Error> {
    check_environment(t.environment)?;
    for n in t.nodes {
        check_certname(n)?;
    }
    let root = t.codedir.join("environments");
    let dir = root.join(t.environment);
    let created = !exists(&dir)?;
    refuse_links(&[t.codedir, &root, &dir])?;
    let mut wrote = Vec::new();
    if created {
        fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        write_new(&dir.join("environment.conf"), ENVIRONMENT_CONF, &mut wrote)?;
    }
    // Refuse an unusable classification before the module changes.
    if !t.nodes.is_empty() {
        prepare_classification(&dir, &mut wrote)?;
    }
    let mut current = Vec::new();
    for node in t.nodes {
        let path = node_path(&dir, node);
        let classes = match read_text(&path)? {
            None => Vec::new(),
            Some(text) => parse_node_file(&path, &text)?,
        };
        current.push((node, path, classes));
    }
    let (module, kickstart) = install_keeping(bundle, &dir.join("modules"), t.force)?;
    let required = kickstart
        .as_deref()
        .map(crate::kickstart::required_params)
        .unwrap_or_default();
    let mut classified = Vec::new();
    for (node, path, classes) in current {
        let changed = classify(&path, node, classes, &module.module, &mut wrote)?;
        classified.push((node.clone(), changed));
    }
    let mandatory = required
        .into_iter()
        .map(|(p, ty)| {
            let key = format!("{}::{p}", module.module);
            let set = data_sets(&dir.join("data"), &key);
            (key, ty, set)
        })
        .collect();
    let cache_note = cache_note(&dir, t.environment);
    Ok(EnvInstalled {
        module,
        dir,
        created,
        wrote,
        classified,
        mandatory,
        cache_note,
    })
}

fn exists(p: &Path) -> Result<bool, Error> {
    match fs::symlink_metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("examining", p, e)),
    }
}

/// The environment's own directories are never reached through a link
/// (a link planted there would send the module elsewhere).
fn refuse_links(paths: &[&Path]) -> Result<(), Error> {
    for p in paths {
        if let Ok(m) = fs::symlink_metadata(p) {
            if m.file_type().is_symlink() || !m.is_dir() {
                return Err(Error::Environment {
                    path: p.to_path_buf(),
                    reason: "is not a directory (a symlink is not followed)".into(),
                });
            }
        }
    }
    Ok(())
}

/// Write a file that must not exist yet (never through a link).
fn write_new(path: &Path, text: &str, wrote: &mut Vec<PathBuf>) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    recorder::outfile::replace(path, text.as_bytes(), 0o644)
        .map_err(|e| Error::io("writing", path, e))?;
    wrote.push(path.to_path_buf());
    Ok(())
}

/// A small text file of the environment's, not through a link.
fn read_text(path: &Path) -> Result<Option<String>, Error> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("examining", path, e)),
        Ok(m) if !m.is_file() => {
            return Err(Error::Environment {
                path: path.to_path_buf(),
                reason: "is not a plain file (a symlink is not followed)".into(),
            })
        }
        Ok(_) => {}
    }
    fs::read_to_string(path)
        .map(Some)
        .map_err(|e| Error::io("reading", path, e))
}

/// `site.pp` and `hiera.yaml` written when missing, or checked to hold
/// what cft's classification needs.
fn prepare_classification(dir: &Path, wrote: &mut Vec<PathBuf>) -> Result<(), Error> {
    let site = dir.join("manifests/site.pp");
    match read_text(&site)? {
        None => write_new(&site, SITE_PP, wrote)?,
        Some(t) if t.lines().any(|l| l.trim() == SITE_LINE) => {}
        Some(_) => {
            return Err(Error::Environment {
                path: site,
                reason: format!(
                    "does not include the classes Hiera lists; add the line `{SITE_LINE}` (cft does not edit your site.pp)"
                ),
            })
        }
    }
    let hiera = dir.join("hiera.yaml");
    match read_text(&hiera)? {
        None => write_new(&hiera, HIERA_YAML, wrote)?,
        Some(t) if t.contains(NODE_LEVEL) => {}
        Some(_) => {
            return Err(Error::Environment {
                path: hiera,
                reason: format!(
                    "has no `{NODE_LEVEL}` level; add `- name: 'cft'` with `path: '{NODE_LEVEL}'` to its hierarchy (cft does not edit your hiera.yaml)"
                ),
            })
        }
    }
    Ok(())
}

fn node_path(dir: &Path, node: &str) -> PathBuf {
    dir.join("data/cft/nodes").join(format!("{node}.yaml"))
}

/// Add `class` to `classes`, those of `node` in its file at `path`;
/// `true` when the file changed.
fn classify(
    path: &Path,
    node: &str,
    mut classes: Vec<String>,
    class: &str,
    wrote: &mut Vec<PathBuf>,
) -> Result<bool, Error> {
    if classes.iter().any(|c| c == class) {
        return Ok(false);
    }
    classes.push(class.to_string());
    classes.sort();
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
    }
    recorder::outfile::replace(path, node_file(node, &classes).as_bytes(), 0o644)
        .map_err(|e| Error::io("writing", path, e))?;
    wrote.push(path.to_path_buf());
    Ok(true)
}

fn node_file(node: &str, classes: &[String]) -> String {
    let mut s = format!(
        "{NODE_HEADER} the classes of node {node}.\n\
         # Your own data for this node goes in data/nodes/{node}.yaml.\n\
         ---\n\
         classes:\n"
    );
    for c in classes {
        s.push_str(&format!("  - '{c}'\n"));
    }
    s
}

/// The classes of one of cft's per-node files; anything else is refused.
fn parse_node_file(path: &Path, text: &str) -> Result<Vec<String>, Error> {
    let not_ours = |why: &str| Error::Environment {
        path: path.to_path_buf(),
        reason: format!(
            "{why}: not a file cft manages; move it away or list the class there yourself"
        ),
    };
    if !text.starts_with(NODE_HEADER) {
        return Err(not_ours("no cft header"));
    }
    let mut out = Vec::new();
    let mut in_list = false;
    for line in text.lines() {
        let t = line.trim_end();
        if t.starts_with('#') || t == "---" || t.is_empty() {
            continue;
        }
        if t == "classes:" {
            in_list = true;
            continue;
        }
        let item = t
            .strip_prefix("  - '")
            .and_then(|r| r.strip_suffix('\''))
            .filter(|c| crate::validate_module_name(c).is_ok());
        match item {
            Some(c) if in_list => out.push(c.to_string()),
            _ => return Err(not_ours(&format!("unexpected line `{t}`"))),
        }
    }
    Ok(out)
}

/// Does a YAML file under `data` set `key` (a line `key:` or `'key':`)?
fn data_sets(data: &Path, key: &str) -> bool {
    let quoted = [
        format!("{key}:"),
        format!("'{key}':"),
        format!("\"{key}\":"),
    ];
    walkdir::WalkDir::new(data)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .any(|t| {
            t.lines().any(|l| {
                quoted
                    .iter()
                    .any(|q| l.trim_start().starts_with(q.as_str()))
            })
        })
}

/// A note when the environment sets a caching `environment_timeout`.
fn cache_note(dir: &Path, env: &str) -> Option<String> {
    let conf = read_text(&dir.join("environment.conf")).ok()??;
    let timeout = conf
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "environment_timeout")
        .map(|(_, v)| v.trim().to_string())?;
    (timeout != "0").then(|| {
        format!(
            "environment {env} caches for {timeout} (environment_timeout): agents get the new module when it expires, or flush it now with the server's admin API: curl --cert CERT --key KEY --cacert CA -X DELETE 'https://SERVER:8140/puppet-admin-api/v1/environment-cache?environment={env}'"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["production", "cft_test", "v2"] {
            assert!(check_environment(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Prod", "a-b", "../x", "a b", "é"] {
            assert!(check_environment(bad).is_err(), "{bad}");
        }
        for ok in ["web1.example.com", "agent-1", "a_b"] {
            assert!(check_certname(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "Web", "a b", "..", "x\n"] {
            assert!(check_certname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn node_files_round_trip_and_foreign_ones_are_refused() {
        let p = Path::new("/e/data/cft/nodes/n.yaml");
        let text = node_file("n", &["a".into(), "web".into()]);
        assert_eq!(parse_node_file(p, &text).unwrap(), ["a", "web"]);
        assert!(parse_node_file(p, "classes:\n  - 'web'\n").is_err());
        let edited = format!("{text}  - 'x'; exec {{ 'y': }}\n");
        assert!(parse_node_file(p, &edited).is_err());
    }

    #[test]
    fn a_caching_environment_is_reported() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(cache_note(d.path(), "e"), None);
        fs::write(d.path().join("environment.conf"), ENVIRONMENT_CONF).unwrap();
        assert_eq!(cache_note(d.path(), "e"), None);
        fs::write(
            d.path().join("environment.conf"),
            "environment_timeout = unlimited\n",
        )
        .unwrap();
        let note = cache_note(d.path(), "e").unwrap();
        assert!(
            note.contains("unlimited") && note.contains("environment=e"),
            "{note}"
        );
    }

    #[test]
    fn data_files_are_searched_for_the_key() {
        let d = tempfile::tempdir().unwrap();
        let nodes = d.path().join("nodes");
        fs::create_dir_all(&nodes).unwrap();
        assert!(!data_sets(d.path(), "web::p"));
        fs::write(nodes.join("n.yaml"), "---\nweb::p_other: 1\n").unwrap();
        assert!(!data_sets(d.path(), "web::p"));
        fs::write(d.path().join("common.yaml"), "---\n'web::p': 'x'\n").unwrap();
        assert!(data_sets(d.path(), "web::p"));
    }
}
