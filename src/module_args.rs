//! The module options `cft manifest` and `cft recipe create` share, as one
//! clap `Args` struct flattened into both, so an option added here reaches
//! both commands.

use anyhow::{Context, Result};
use clap::Args;

#[derive(Args, Clone, Debug, Default)]
pub struct ModuleArgs {
    /// Module and class name [default: derived from the session name]
    #[arg(long, value_name = "NAME")]
    pub module_name: Option<String>,
    /// Copy secret contents and password hashes into the module (as Sensitive values)
    #[arg(long)]
    pub include_secrets: bool,
    /// Pin installed packages to the exact recorded versions
    #[arg(long)]
    pub pin_versions: bool,
    /// Replay recorded command ID as an exec resource, at its place in the order (repeatable)
    ///
    /// IDs are the #numbers `cft finish` and `cft show` print. Guard it with
    /// :creates=PATH (skipped when PATH exists) or :unless=CMD (skipped when CMD succeeds);
    /// without a guard it is refreshonly, run once when the resources recorded before it are
    /// first put in place.
    #[arg(long, value_name = "ID[:creates=PATH|:unless=CMD]")]
    pub exec: Vec<String>,
    /// Make LITERAL in the recorded file PATH the class parameter NAME (repeatable)
    ///
    /// The file becomes an EPP template and NAME a class parameter whose default is the
    /// recorded LITERAL, so a site sets its own value (Hiera `MODULE::NAME`, or a class
    /// declaration) without editing the module. NAME=PATH:LITERAL needs LITERAL exactly once
    /// in the file (more is refused, naming the lines); NAME=PATH:LINE:LITERAL takes the one on
    /// line LINE (from 1); NAME=PATH:*:LITERAL takes every occurrence. The output says how
    /// many occurrences were replaced and where.
    #[arg(long = "param", value_name = "NAME=PATH:[LINE:|*:]LITERAL", value_parser = parse_site_param)]
    pub params: Vec<manifest_gen::SiteParam>,
    /// Leave changes at paths matching this gitignore-style pattern out of the module
    /// (repeatable); the README lists them as left out
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// metadata.json's author (ASCII letters and digits) [default: cft]
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,
    /// metadata.json's version, X.Y.Z [default: 0.1.0]
    #[arg(long = "version", id = "module_version", value_name = "X.Y.Z")]
    pub version: Option<String>,
    /// metadata.json's license, an SPDX id [default: Apache-2.0]
    #[arg(long, value_name = "SPDX")]
    pub license: Option<String>,
    /// metadata.json's source, e.g. the repository the module lives in
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// The finished session of the version this module replaces: the README lists what that
    /// version's module managed and this one does not, which machines updated from it keep
    #[arg(long, value_name = "SESSION")]
    pub previous: Option<String>,
}

/// `--param`: clap reports a refusal as a usage error naming the flag.
fn parse_site_param(arg: &str) -> Result<manifest_gen::SiteParam, manifest_gen::Error> {
    manifest_gen::SiteParam::parse(arg)
}

impl ModuleArgs {
    /// [`ModuleArgs::options`], with the previous version's module planned
    /// from its session in `store` (`--previous`).
    pub fn options_in(
        &self,
        store: &recorder::Store,
        session: &str,
    ) -> Result<manifest_gen::ModuleOptions> {
        let mut opts = self.options(session)?;
        if let Some(prev) = &self.previous {
            let cs = crate::load::finished(store, prev).context("--previous")?;
            let p = manifest_gen::previous(&cs, store, &opts).with_context(|| {
                format!("cannot plan the module of session '{prev}' (--previous)")
            })?;
            opts.previous = Some(p);
        }
        Ok(opts)
    }

    /// The validated library options for the module of session `session`.
    pub fn options(&self, session: &str) -> Result<manifest_gen::ModuleOptions> {
        let name = self
            .module_name
            .clone()
            .unwrap_or_else(|| manifest_gen::default_module_name(session));
        manifest_gen::validate_module_name(&name).context("--module-name")?;
        let mut opts = manifest_gen::ModuleOptions::new(name);
        opts.include_secrets = self.include_secrets;
        opts.pin_versions = self.pin_versions;
        opts.params = self.params.clone();
        opts.exclude = self.exclude.clone();
        if let Some(a) = &self.author {
            opts.author = a.clone();
        }
        if let Some(v) = &self.version {
            opts.version = v.clone();
        }
        if let Some(l) = &self.license {
            opts.license = l.clone();
        }
        if let Some(s) = &self.source {
            opts.source = s.clone();
        }
        opts.execs = self
            .exec
            .iter()
            .map(|e| manifest_gen::ExecSpec::parse(e))
            .collect::<Result<_, _>>()?;
        Ok(opts)
    }
}
