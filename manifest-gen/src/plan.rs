//! The decisions: which Puppet resource (if any) expresses each recorded
//! change, which class of the module it belongs to, how resources depend on
//! each other, which secrets become class parameters, and why anything is
//! left out. No text formatting happens here; `render` turns a [`Plan`]
//! into files.
//!
//! One submodule per kind of change: `files` (file changes, including
//! package sources), `packages` (package resources and the package index
//! refresh), `accounts` (groups and users), `services`; `site` for the
//! site parameters, which turn files into EPP templates.

mod accounts;
mod commands;
pub(crate) use commands::exec_title;
mod derived;
mod dpkg;
mod files;
mod packages;
mod services;
mod site;

use crate::{puppet, Error, SiteParam, Skipped};
use recorder::model::BlobSource;
use recorder::model::SystemChanges;
use recorder::model::{display_path, ChangeKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The parts of a module, one class each, in the order Puppet applies
/// them: repositories before the packages they provide, packages before
/// the accounts and files that rely on them, services last so they start
/// with their final configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Part {
    Sources,
    Packages,
    Accounts,
    Files,
    Services,
    /// Recorded commands replayed as `exec` resources: ordered by their
    /// own relationships, not by the chain.
    Commands,
}

impl Part {
    pub const ALL: [Part; 6] = [
        Part::Sources,
        Part::Packages,
        Part::Accounts,
        Part::Files,
        Part::Services,
        Part::Commands,
    ];

    /// Does the main class chain this part after the previous one?
    pub fn chained(self) -> bool {
        self != Part::Commands
    }

    /// The class name below the module (`NAME::<this>`) and the file
    /// `manifests/<this>.pp`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Sources => "sources",
            Part::Packages => "packages",
            Part::Accounts => "accounts",
            Part::Files => "files",
            Part::Services => "services",
            Part::Commands => "commands",
        }
    }
}

/// What `plan` works from.
pub(crate) struct Input<'a> {
    pub module: &'a str,
    /// File changes (any order).
    pub changes: &'a [recorder::model::Change],
    pub system: &'a SystemChanges,
    /// os-release `ID` and `VERSION_ID`: which rpm tool refreshes metadata.
    pub os_id: &'a str,
    pub os_version_id: &'a str,
    pub include_secrets: bool,
    pub pin_versions: bool,
    /// The session's commands and what each one changed.
    pub why: &'a recorder::model::Why,
    /// Commands to replay as `exec` resources.
    pub execs: &'a [crate::ExecSpec],
    /// Site parameters, checked by `site::check_all` (sorted).
    pub site: &'a [SiteParam],
}

/// Everything `render` needs. Resources are in output order within their
/// part (files sorted by path bytes, so a parent directory always comes
/// before what it contains; the others by name).
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub resources: Vec<Resource>,
    /// Content to ship, keyed by path relative to the module's `files/`.
    pub files: BTreeMap<String, Vec<u8>>,
    /// EPP templates, keyed by path relative to the module's `templates/`.
    pub templates: BTreeMap<String, Vec<u8>>,
    /// Keys of `files` holding secrets (written 0600).
    pub private: BTreeSet<String>,
    /// Parts whose manifest embeds a secret (a password hash): written 0600.
    pub secret_parts: BTreeSet<Part>,
    /// One line per file change the module handles, for the README.
    pub rows: Vec<Row>,
    /// README lines of the other sections.
    pub packages: Vec<SysRow>,
    /// Alternatives and diversions.
    pub dpkg: Vec<SysRow>,
    /// Commands that regenerate what managed files feed: (command, what
    /// it makes, the files).
    pub derived: Vec<(String, &'static str, Vec<String>)>,
    pub accounts: Vec<SysRow>,
    pub services: Vec<SysRow>,
    /// Package changes left to the package manager (dependencies).
    pub dependencies: usize,
    /// Upgrades or downgrades expressed as `ensure => installed`.
    pub unpinned_version_changes: usize,
    /// Accounts a package made: `("user", "www-data", "nginx")`.
    pub by_package: Vec<(&'static str, String, String)>,
    /// File changes other resources express, by `Origin::describe`.
    pub elsewhere: BTreeMap<String, Vec<String>>,
    /// The `exec` refreshing the package index, by title, if any.
    pub refresh: Option<String>,
    pub skipped: Vec<Skipped>,
    pub incomplete: Vec<Skipped>,
    pub params: Vec<Param>,
    /// Intent ids replayed as `exec` resources.
    pub execs: Vec<i64>,
}

impl Plan {
    pub fn has_part(&self, part: Part) -> bool {
        self.resources.iter().any(|r| r.part == part)
    }

    /// Titles of the `file` resources in the module.
    fn file_titles(&self) -> BTreeSet<&str> {
        self.resources
            .iter()
            .filter(|r| r.kind == "file")
            .map(|r| r.title.as_str())
            .collect()
    }
}

/// One resource: its type, title and attributes in order.
#[derive(Debug)]
pub(crate) struct Resource {
    pub part: Part,
    /// The Puppet resource type: `file`, `package`, `user`...
    pub kind: &'static str,
    pub title: String,
    pub attrs: Vec<(&'static str, Value)>,
}

/// An attribute value, before it is written as Puppet syntax.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A bare word: `file`, `directory`, `absent`, `true`, `running`...
    Word(&'static str),
    /// User data; rendered as a single-quoted literal.
    Str(String),
    /// A file mode (permission bits).
    Mode(u32),
    /// A number (uid, gid).
    Int(u32),
    /// The value of `params[i]`, a parameter of the resource's class.
    Param(usize),
    /// `epp('<module>/<rel>', { name => $name, ... })` for `params`: the
    /// template at `rel` under `templates/`.
    Epp { rel: String, params: Vec<usize> },
    /// `puppet:///modules/<module>/<this path under files/>`.
    Source(String),
    /// `Sensitive('...')`: a secret embedded with secrets included.
    Sensitive(String),
    /// An array of string literals.
    Strs(Vec<String>),
    /// Commands as arrays of arguments (an exec's `unless`/`onlyif`): no
    /// shell ever parses a recorded value.
    Cmds(Vec<Vec<String>>),
    /// One reference (`Type['title']`) or an array of them.
    Refs(Vec<Ref>),
}

/// A resource reference: `File['/etc/x']`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ref {
    /// Capitalised type name: `File`, `Group`...
    pub kind: &'static str,
    pub title: String,
}

/// A class parameter: a withheld secret (mandatory) or a site value (with
/// the recorded value as default).
#[derive(Debug)]
pub(crate) struct Param {
    pub target: ParamFor,
    /// Assigned once every parameter is known (names must not clash).
    pub name: String,
    pub puppet_type: &'static str,
    pub why: String,
}

/// What a parameter supplies.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ParamFor {
    /// The content of the file at this path.
    Content(Vec<u8>),
    /// The password hash of this user.
    Password(String),
    /// A site value: the recorded literal, in the files at these paths.
    Site {
        literal: String,
        paths: Vec<Vec<u8>>,
    },
}

impl Param {
    /// What it is for, for people: a path, or `user NAME`.
    pub fn subject(&self) -> String {
        match &self.target {
            ParamFor::Content(path) => display_path(path),
            ParamFor::Password(user) => format!("user {}", display_path(user.as_bytes())),
            ParamFor::Site { paths, .. } => paths
                .iter()
                .map(|p| display_path(p))
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// The default value: the recorded literal of a site parameter.
    pub fn default(&self) -> Option<&str> {
        match &self.target {
            ParamFor::Site { literal, .. } => Some(literal),
            _ => None,
        }
    }

    fn name_for(&self, disambiguate: bool) -> String {
        match &self.target {
            ParamFor::Content(path) => puppet::content_param_name(path, disambiguate),
            ParamFor::Password(user) => puppet::password_param_name(user, disambiguate),
            ParamFor::Site { .. } => self.name.clone(),
        }
    }
}

/// A README line of the file tables: which path, what changed, what the
/// module does about it.
#[derive(Debug)]
pub(crate) struct Row {
    pub part: Part,
    pub path: String,
    pub change: ChangeKind,
    /// Our own wording, e.g. `file: content from`.
    pub puppet: String,
    /// A path (display form) completing `puppet`.
    pub detail: Option<String>,
    /// The parameters completing `puppet` (named only at the end).
    pub params: Vec<usize>,
}

/// A README line of the package, account and service tables; `param`
/// names the parameter that completes the last cell.
#[derive(Debug, Default)]
pub(crate) struct SysRow {
    pub cells: Vec<Cell>,
    pub param: Option<usize>,
}

/// A table cell, before Markdown escaping.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Cell {
    Text(String),
    /// Names shown as code, separated by commas.
    Code(Vec<String>),
    /// Two values shown as code: `before` -> `after`.
    FromTo(String, String),
}

impl Cell {
    fn code(s: &str) -> Cell {
        Cell::Code(vec![s.to_string()])
    }

    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// Plan the whole module. Only reading the blob store can fail; everything
/// a change set can contain is either expressed or reported.
pub(crate) fn plan(input: &Input<'_>, blobs: &dyn BlobSource) -> Result<Plan, Error> {
    let mut plan = Plan::default();
    let mut site = site::SitePlan::new(input.site, &mut plan);
    // Packages first: packaged files require their package resource.
    let package_titles = packages::plan_packages(input, &mut plan);
    files::plan_files(input, blobs, &package_titles, &mut site, &mut plan)?;
    site.check_all_used(input.changes)?;
    packages::plan_refresh(input, &mut plan);
    dpkg::plan_dpkg(input, &mut plan);
    derived::plan_derived(input, &mut plan);
    accounts::plan_accounts(input, &mut plan);
    services::plan_services(input, &mut plan);
    commands::plan_commands(input, &mut plan)?;
    name_params(&mut plan.params);
    site.check_names(&plan.params)?;
    Ok(plan)
}

/// Name every secret's parameter after what it supplies; things whose
/// names would clash all get a hash suffix, so a name does not depend on
/// which other secrets happen to be in the session. Site parameters keep
/// the names they were given.
fn name_params(params: &mut [Param]) {
    let generated = |p: &&mut Param| !matches!(p.target, ParamFor::Site { .. });
    let mut counts: HashMap<String, usize> = HashMap::new();
    for p in params
        .iter()
        .filter(|p| !matches!(p.target, ParamFor::Site { .. }))
    {
        *counts.entry(p.name_for(false)).or_default() += 1;
    }
    for p in params.iter_mut().filter(generated) {
        let plain = p.name_for(false);
        p.name = if counts[&plain] > 1 {
            p.name_for(true)
        } else {
            plain
        };
    }
    // A suffixed name could still meet a natural one; vanishingly rare, but
    // a duplicate parameter would not parse.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in params.iter_mut().filter(generated) {
        let n = seen.entry(p.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            p.name = format!("{}_{}", p.name, n);
        }
    }
}

/// `Type['title']` references, sorted and without duplicates.
fn refs(kind: &'static str, titles: impl IntoIterator<Item = String>) -> Value {
    let set: BTreeSet<String> = titles.into_iter().collect();
    Value::Refs(set.into_iter().map(|title| Ref { kind, title }).collect())
}

#[cfg(test)]
impl Value {
    /// A compact form for test assertions.
    pub fn show(&self, params: &[Param]) -> String {
        match self {
            Value::Word(w) => w.to_string(),
            Value::Str(s) => format!("'{s}'"),
            Value::Mode(m) => format!("{m:04o}"),
            Value::Int(n) => n.to_string(),
            Value::Param(i) => format!("${}", params[*i].name),
            Value::Epp { rel, params: used } => format!(
                "epp:{rel}({})",
                used.iter()
                    .map(|i| params[*i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Value::Source(rel) => format!("source:{rel}"),
            Value::Sensitive(s) => format!("Sensitive('{s}')"),
            Value::Strs(v) => format!("[{}]", v.join(",")),
            Value::Cmds(v) => v
                .iter()
                .map(|c| format!("[{}]", c.join(",")))
                .collect::<Vec<_>>()
                .join(";"),
            Value::Refs(v) => v
                .iter()
                .map(|r| format!("{}['{}']", r.kind, r.title))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

#[cfg(test)]
impl Plan {
    /// `key=value` for every attribute of the `kind` resource titled `title`.
    pub fn attrs_of(&self, kind: &str, title: &str) -> Vec<String> {
        let r = self
            .resources
            .iter()
            .find(|r| r.kind == kind && r.title == title)
            .unwrap_or_else(|| panic!("no {kind} {title}: {self:#?}"));
        r.attrs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.show(&self.params)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_dpkg;
#[cfg(test)]
mod tests_site;
#[cfg(test)]
mod tests_system;
