//! The decisions: which Puppet resource (if any) expresses each recorded
//! change, which part (class) of the module it belongs to, how resources
//! depend on each other, which secrets become class parameters, and why
//! anything is left out. No text for people is made here: a [`Plan`] is
//! data, and `render` words it.
//!
//! One planner per kind of change, each taking values and returning a
//! [`Planned`] of its own: `files` (file changes, package sources among
//! them), `packages` (package resources and the package index refresh),
//! `accounts`, `services`, `dpkg` (alternatives and diversions), `derived`
//! (commands that remake what a file feeds), `commands` (replayed
//! commands); `site` checks the site parameters against the session. The
//! vocabulary is in `catalog` (what the manifests declare) and `outcome`
//! (what became of each change).

mod accounts;
pub(crate) mod catalog;
mod commands;
mod derived;
mod dpkg;
mod files;
pub(crate) mod outcome;
mod packages;
mod services;
mod site;

pub(crate) use commands::exec_title;
pub(crate) use services::title as service_title;

use crate::{puppet, Error, SiteParam};
use catalog::{Catalog, Param, Resource, Supplies};
use outcome::{LeftOut, Outcomes};
use recorder::model::BlobSource;
use recorder::model::SystemChanges;
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

/// Everything `render` needs, in three parts.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// What the manifests declare.
    pub catalog: Catalog,
    /// What ships beside the manifests.
    pub content: Content,
    /// What became of each change, for `README.md` and the report.
    pub outcomes: Outcomes,
}

/// Captured content the module ships.
#[derive(Debug, Default)]
pub(crate) struct Content {
    /// Keyed by path relative to the module's `files/`.
    pub files: BTreeMap<String, crate::Body>,
    /// EPP templates, keyed by path relative to `templates/`.
    pub templates: BTreeMap<String, Vec<u8>>,
    /// Keys of `files` holding secrets (written 0600).
    pub private: BTreeSet<String>,
    /// (site parameter, path) -> the lines of the occurrences it replaces.
    pub site_lines: BTreeMap<(String, Vec<u8>), Vec<usize>>,
}

/// What one planner decided: resources and parameters for the catalog,
/// the changes it leaves out, and its own outcome.
#[derive(Debug)]
pub(crate) struct Planned<T> {
    pub resources: Vec<Resource>,
    pub params: Vec<Param>,
    pub left_out: Vec<LeftOut>,
    pub outcome: T,
}

impl<T: Default> Default for Planned<T> {
    fn default() -> Self {
        Planned {
            resources: Vec::new(),
            params: Vec::new(),
            left_out: Vec::new(),
            outcome: T::default(),
        }
    }
}

impl<T> Planned<T> {
    fn leave_out(&mut self, subject: outcome::Subject, reason: outcome::Reason) {
        self.left_out.push(LeftOut { subject, reason });
    }
}

/// Collects the planners' resources, parameters and left-out changes in
/// the order the planners run, which is the order of the output.
#[derive(Default)]
struct Gather {
    catalog: Catalog,
    left_out: Vec<LeftOut>,
}

impl Gather {
    fn take<T>(&mut self, p: Planned<T>) -> T {
        self.catalog.resources.extend(p.resources);
        self.catalog.params.extend(p.params);
        self.left_out.extend(p.left_out);
        p.outcome
    }
}

/// Plan the whole module. Only reading the blob store and honouring the
/// caller's arguments (site parameters, replayed commands) can fail;
/// everything a change set can contain is either expressed or reported.
pub(crate) fn plan(input: &Input<'_>, blobs: &dyn BlobSource) -> Result<Plan, Error> {
    let site = site::SitePlan::new(input.site);
    let mut all = Gather::default();
    all.catalog.params.extend(site.params());
    // Packages first: packaged files require their package resource.
    let packages = packages::plan(&input.system.packages, input.pin_versions);
    let package_titles: Vec<String> = packages.resources.iter().map(|r| r.title.clone()).collect();
    let mut packages = all.take(packages);
    let files = files::plan(input, blobs, &package_titles, &site)?;
    site.check_all_used(&files.outcome.templated(), input.changes)?;
    let files = all.take(files);
    let refresh = packages::refresh(input, &all.catalog.resources);
    packages.index_refresh = refresh.as_ref().map(|r| r.title.clone());
    all.catalog.resources.extend(refresh);
    let dpkg = all.take(dpkg::plan(input.system, input.module));
    let regenerated = all.take(derived::plan(input.module, &all.catalog.file_titles()));
    let accounts = all.take(accounts::plan(input.system, input.include_secrets));
    let services = all.take(services::plan(
        &input.system.services,
        &all.catalog.file_titles(),
    ));
    let replayed = all.take(commands::plan(input, &all.catalog.resources)?);
    name_params(&mut all.catalog.params);
    site.check_names(&all.catalog.params)?;
    let files::FilePlan {
        changes,
        elsewhere,
        partial,
        content,
    } = files;
    Ok(Plan {
        catalog: all.catalog,
        content,
        outcomes: Outcomes {
            files: outcome::FileOutcomes {
                changes,
                elsewhere,
                regenerated,
            },
            packages,
            accounts,
            services,
            dpkg,
            replayed,
            not_expressed: outcome::NotExpressed {
                left_out: all.left_out,
                partial,
            },
        },
    })
}

/// Name every secret's parameter after what it supplies; things whose
/// names would clash all get a hash suffix, so a name does not depend on
/// which other secrets happen to be in the session. Site parameters keep
/// the names they were given.
fn name_params(params: &mut [Param]) {
    let name_for = |s: &Supplies, disambiguate: bool| match s {
        Supplies::Content { path, .. } => Some(puppet::content_param_name(path, disambiguate)),
        Supplies::Password { user, .. } => Some(puppet::password_param_name(user, disambiguate)),
        Supplies::Site { .. } => None,
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for name in params.iter().filter_map(|p| name_for(&p.supplies, false)) {
        *counts.entry(name).or_default() += 1;
    }
    for p in params.iter_mut() {
        let Some(plain) = name_for(&p.supplies, false) else {
            continue;
        };
        p.name = if counts[&plain] > 1 {
            name_for(&p.supplies, true).unwrap_or(plain)
        } else {
            plain
        };
    }
    // A suffixed name could still meet a natural one; vanishingly rare, but
    // a duplicate parameter would not parse.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for p in params
        .iter_mut()
        .filter(|p| !matches!(p.supplies, Supplies::Site { .. }))
    {
        let n = seen.entry(p.name.clone()).or_default();
        *n += 1;
        if *n > 1 {
            p.name = format!("{}_{}", p.name, n);
        }
    }
}

#[cfg(test)]
mod tests;
