//! Turn a recorded cft change set into a Puppet module: `metadata.json`, the
//! main class in `manifests/init.pp` containing one class per part (package
//! sources, packages, accounts, files, services) in the order Puppet must
//! apply them, captured contents under `files/`, and a `README.md` that says
//! what the module manages, which class parameters the user must supply,
//! and which changes could not be expressed. Site values named with
//! [`SiteParam`] become class parameters, and the files holding them EPP
//! templates under `templates/`.
//!
//! [`generate`] renders the whole module in memory (deterministic: the same
//! change set gives byte-identical files); [`write_module`] puts it on disk.
//! The decisions live in `plan` (data only), the Puppet syntax in `puppet`,
//! all the text, wording included, in `render` and `templates/`. The same
//! session also becomes an appliance ([`descriptor`], [`kickstart`]) and a
//! recipe bundle of all of them ([`recipe`]). Every failure is an [`Error`],
//! whose [`Error::hint`] says what the caller can do about it.

// A library returns what happened; the binary prints it (CONTRIBUTING).
#![cfg_attr(
    not(test),
    deny(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)
)]

pub mod descriptor;
pub mod diff;
pub mod epp;
mod error;
mod exec;
pub mod kickstart;
mod plan;
pub mod puppet;
pub mod recipe;
mod render;
pub mod report;
mod site;
mod write;

pub use error::{DomainArg, Error, ExecProblem, Hint};
pub use exec::{ExecGuard, ExecSpec};
pub use site::{Select, SiteParam};
pub use write::write_module;

use std::collections::BTreeMap;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleOptions {
    /// Module and class name; see [`validate_module_name`].
    pub module_name: String,
    /// Forge author, the first half of `author-module` in `metadata.json`.
    pub author: String,
    /// `metadata.json`'s version (`X.Y.Z`), license (an SPDX id) and source
    /// (a URL, or empty).
    pub version: String,
    pub license: String,
    pub source: String,
    /// Changes at paths matching these gitignore-style patterns are left
    /// out of the module (and listed as not expressed).
    pub exclude: Vec<String>,
    /// Copy secret contents (and password hashes) into the module instead
    /// of asking for them as class parameters.
    pub include_secrets: bool,
    /// Install, upgrade and downgrade packages to the recorded version
    /// rather than `ensure => installed`.
    pub pin_versions: bool,
    /// Site values to turn into class parameters (default: the recorded
    /// value) and the files holding them into EPP templates.
    pub params: Vec<SiteParam>,
    /// Recorded commands to replay as `exec` resources.
    pub execs: Vec<ExecSpec>,
    /// The version this module replaces: its README lists what that one
    /// managed and this one does not ([`previous`]).
    pub previous: Option<Previous>,
}

/// What the module of an earlier version managed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Previous {
    /// Its session.
    pub session: String,
    /// Its resources as `type title` ([`Report::titles`]).
    pub titles: Vec<String>,
}

/// The module session `cs` would give with `opts` (the same module name
/// and options as the version replacing it), as a [`Previous`].
pub fn previous(
    cs: &recorder::model::ChangeSet,
    blobs: &dyn recorder::model::BlobSource,
    opts: &ModuleOptions,
) -> Result<Previous, Error> {
    let mut o = opts.clone();
    o.previous = None;
    let m = generate(cs, blobs, &o)?;
    Ok(Previous {
        session: cs.session.name.clone(),
        titles: m.report.titles,
    })
}

impl ModuleOptions {
    /// Options with the default author, secrets withheld and versions not
    /// pinned.
    pub fn new(module_name: impl Into<String>) -> ModuleOptions {
        ModuleOptions {
            module_name: module_name.into(),
            author: "cft".to_string(),
            version: "0.1.0".to_string(),
            license: "Apache-2.0".to_string(),
            source: String::new(),
            exclude: Vec::new(),
            include_secrets: false,
            pin_versions: false,
            execs: Vec::new(),
            params: Vec::new(),
            previous: None,
        }
    }
}

/// One file of a generated module: text cft made, or a captured content
/// too large to hold, copied from the store as the module is written
/// (checked against its hash as it streams), so that generating a module
/// never holds a large file whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Bytes(Vec<u8>),
    Stored {
        hash: recorder::model::ContentHash,
        size: u64,
    },
}

impl Body {
    /// The bytes, when they are held (`None` for a stored content).
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes(b) => Some(b),
            Body::Stored { .. } => None,
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Stored { size, .. } => *size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole content: the bytes, or a stored content read from
    /// `blobs` (for the few who need it in memory: a recipe bundle).
    pub fn load(
        &self,
        blobs: &dyn recorder::model::BlobSource,
        rel: &str,
    ) -> Result<Vec<u8>, Error> {
        match self {
            Body::Bytes(b) => Ok(b.clone()),
            Body::Stored { hash, .. } => blobs
                .blob(hash)
                .map_err(|source| Error::Blob {
                    path: rel.to_string(),
                    source,
                })?
                .ok_or_else(|| Body::gone(rel)),
        }
    }

    /// A stored content the store no longer has (erased since planning).
    pub(crate) fn gone(rel: &str) -> Error {
        Error::Blob {
            path: rel.to_string(),
            source: recorder::Error::BadInput {
                path: rel.into(),
                message: "the store no longer holds this content".into(),
            },
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Body {
        Body::Bytes(b)
    }
}

impl PartialEq<[u8]> for Body {
    fn eq(&self, other: &[u8]) -> bool {
        self.bytes() == Some(other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for Body {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.bytes() == Some(&other[..])
    }
}

impl PartialEq<Vec<u8>> for Body {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.bytes() == Some(other.as_slice())
    }
}

/// A generated module: relative path -> content, plus what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    pub files: BTreeMap<String, Body>,
    /// Keys of `files` that hold secrets (`--include-secrets`: secret file
    /// contents, a manifest embedding a password hash): written readable by
    /// their owner only.
    pub private: std::collections::BTreeSet<String>,
    pub report: Report,
}

/// What the module does and does not express, for the caller to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Number of resources in the module (all classes, all types).
    pub resources: usize,
    /// Each resource as `type title` (`file /etc/nginx/nginx.conf`), in the
    /// module's order.
    pub titles: Vec<String>,
    /// Changes that are not in the module at all.
    pub skipped: Vec<Skipped>,
    /// Changes in the module without part of what changed (a file whose
    /// content was not captured: only its ownership and mode are managed).
    pub incomplete: Vec<Skipped>,
    /// Class parameters the user must supply to apply the module.
    pub parameters: Vec<Parameter>,
    /// Class parameters carrying site values, which have defaults.
    pub site_parameters: Vec<SiteParameter>,
}

/// A class parameter made from a [`SiteParam`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteParameter {
    pub name: String,
    /// The recorded value, the parameter's default.
    pub default: String,
    /// Display form of the paths of the files (templates) that use it.
    pub paths: Vec<String>,
    /// For each of `paths`, the lines (from 1) of the occurrences replaced.
    pub lines: Vec<Vec<usize>>,
}

/// A change left out (or only partly expressed), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Display form of the path (`recorder::model::display_path`).
    pub path: String,
    pub reason: String,
}

/// A mandatory class parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    /// Puppet data type, e.g. `Sensitive[String]`.
    pub puppet_type: String,
    /// What it supplies: the display form of the path whose content it
    /// is, or `user NAME` for a password hash.
    pub path: String,
    pub why: String,
}

/// A valid module name derived from a session name: lowercase, any other
/// character becomes `_`, prefixed with `m_` unless it starts with a letter
/// (or is a Puppet reserved word).
pub fn default_module_name(session_name: &str) -> String {
    let mut name: String = session_name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || puppet::module_name_problem(&name).is_some()
    {
        name.insert_str(0, "m_");
    }
    name
}

/// Check a module name against Puppet's rules (`^[a-z][a-z0-9_]*$`, not a
/// reserved word); the error names the value and suggests a valid one.
pub fn validate_module_name(name: &str) -> Result<(), Error> {
    match puppet::module_name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidModuleName {
            name: name.to_string(),
            reason,
            suggestion: default_module_name(name),
        }),
    }
}

/// Render the module for a change set, reading captured contents from
/// `blobs`. Nothing is written to disk.
/// `X.Y.Z` (digits), and a license and source without control characters.
fn check_metadata(opts: &ModuleOptions) -> Result<(), Error> {
    let parts: Vec<&str> = opts.version.split('.').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Error::InvalidMetadata {
            field: "version",
            value: opts.version.clone(),
            why: "a module version is three numbers, X.Y.Z".into(),
        });
    }
    for (field, value) in [("license", &opts.license), ("source", &opts.source)] {
        if value.chars().any(char::is_control) {
            return Err(Error::InvalidMetadata {
                field,
                value: value.clone(),
                why: "it holds control characters".into(),
            });
        }
    }
    if opts.license.trim().is_empty() {
        return Err(Error::InvalidMetadata {
            field: "license",
            value: opts.license.clone(),
            why: "it is empty (an SPDX id such as Apache-2.0, or 'proprietary')".into(),
        });
    }
    Ok(())
}

/// The changes kept (borrowed when nothing is excluded), and the paths
/// left out.
type Kept<'a> = (
    std::borrow::Cow<'a, [recorder::model::Change]>,
    Vec<Vec<u8>>,
);

fn exclude<'a>(
    changes: &'a [recorder::model::Change],
    patterns: &[String],
) -> Result<Kept<'a>, Error> {
    if patterns.is_empty() {
        return Ok((std::borrow::Cow::Borrowed(changes), Vec::new()));
    }
    let rules =
        recorder::ignore_rules::Ignore::only(patterns).map_err(|e| Error::InvalidMetadata {
            field: "exclude",
            value: patterns.join(" "),
            why: e.to_string(),
        })?;
    let (mut kept, mut out) = (Vec::new(), Vec::new());
    for c in changes {
        let is_dir = [&c.after, &c.before]
            .into_iter()
            .flatten()
            .any(|e| e.kind == recorder::model::EntryKind::Dir);
        if rules.is_ignored(&c.path, is_dir) {
            out.push(c.path.clone());
        } else {
            kept.push(c.clone());
        }
    }
    Ok((std::borrow::Cow::Owned(kept), out))
}

pub fn generate(
    cs: &recorder::model::ChangeSet,
    blobs: &dyn recorder::model::BlobSource,
    opts: &ModuleOptions,
) -> Result<Module, Error> {
    validate_module_name(&opts.module_name)?;
    if opts.author.is_empty() || !opts.author.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::InvalidAuthor {
            author: opts.author.clone(),
        });
    }
    check_metadata(opts)?;
    let (changes, excluded) = exclude(&cs.changes, &opts.exclude)?;
    let facts = &cs.session.facts;
    let input = plan::Input {
        module: &opts.module_name,
        changes: &changes,
        system: &cs.system,
        os_id: &facts.os_id,
        os_version_id: &facts.os_version_id,
        include_secrets: opts.include_secrets,
        pin_versions: opts.pin_versions,
        why: &cs.why,
        execs: &opts.execs,
        site: &site::check_all(&opts.params)?,
    };
    let mut plan = plan::plan(&input, blobs)?;
    for path in excluded {
        plan.outcomes
            .not_expressed
            .left_out
            .push(plan::outcome::LeftOut {
                subject: plan::outcome::Subject::Path(path),
                reason: plan::outcome::Reason::Excluded,
            });
    }
    render::render(cs, &mut plan, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_module_name_cases() {
        let cases = [
            ("plain", "nginx", "nginx"),
            ("uppercase and dash", "Web-Server", "web_server"),
            ("dots", "php8.2", "php8_2"),
            ("leading digit", "2024-setup", "m_2024_setup"),
            ("leading dash", "-x", "m__x"),
            ("empty", "", "m_"),
            ("non-ascii", "caf\u{e9}", "caf_"),
            ("reserved word", "class", "m_class"),
        ];
        for (name, input, want) in cases {
            let got = default_module_name(input);
            assert_eq!(got, want, "{name}");
            assert!(validate_module_name(&got).is_ok(), "{name}: {got} is valid");
        }
    }

    #[test]
    fn invalid_name_message_names_value_and_fix() {
        let err = validate_module_name("Web-Server").unwrap_err().to_string();
        assert!(err.contains("'Web-Server'"), "{err}");
        assert!(err.contains("'web_server'"), "{err}");
    }
}
