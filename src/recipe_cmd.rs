//! `cft recipe`: the bundle of a finished session's appliance outputs and
//! its module (create, verify, install, instantiate). The decisions live in
//! `manifest_gen::recipe`.

use crate::load::{finished, load_spec};
use crate::module_args::ModuleArgs;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use manifest_gen::recipe::{self, InstallOutcome, Outcome};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `cft recipe NAME -o FILE` (the same as `cft recipe create NAME -o FILE`)
/// or `cft recipe SUBCOMMAND`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RecipeArgs {
    #[command(subcommand)]
    command: Option<RecipeCommand>,
    /// The finished session to bundle (as `create`)
    #[arg(requires = "output")]
    name: Option<String>,
    /// The bundle to write, e.g. NAME-VERSION.tar.gz (replaced if it exists)
    #[arg(short = 'o', long, value_name = "FILE", requires = "name")]
    output: Option<PathBuf>,
    /// Appliance spec (TOML) overriding the recorded facts, as for `cft descriptor`
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    #[command(flatten)]
    module: ModuleArgs,
}

#[derive(Subcommand)]
pub enum RecipeCommand {
    /// Bundle a finished session into one .tar.gz
    ///
    /// The bundle holds one directory, NAME[-VERSION]/ (the appliance name and the spec's
    /// version), with appliance.xml (virt-image descriptor), partial.ks (partial kickstart),
    /// modules/MODULE/ (the Puppet module), README.md (for whoever receives the recipe) and
    /// SHA256SUMS (sha256sum format, every other file). The same session always gives the
    /// same bytes: sorted entries, owner root:root (0:0), modes 0755/0644 (0600 for secrets
    /// included with --include-secrets; the bundle file itself is then 0600 too), every
    /// mtime the session's finish time, and a gzip header without name or time.
    Create(CreateArgs),
    /// Check a bundle: checksums, descriptor, kickstart, module
    ///
    /// Extracts into a private temporary directory, refusing absolute paths, '..', links,
    /// devices, duplicate and oversized entries; then checks that every file matches
    /// SHA256SUMS with none missing or extra, the descriptor against the virt-image grammar
    /// (xmllint), the partial kickstart with ksvalidator (pykickstart), the module's
    /// metadata.json and, if puppet is on PATH, `puppet parser validate` of its manifests.
    /// A kickstart with %include or %ksappend fails before any validator sees it; validators
    /// run on private copies, their TMPDIR inside the private directory, removed afterwards.
    /// Prints one line per check; exits 1 if any failed.
    Verify {
        /// The bundle (.tar.gz)
        file: PathBuf,
    },
    /// Install the bundle's module into a Puppet modulepath
    ///
    /// Checks the checksums, extracts into a temporary directory inside DIR and renames the
    /// module into DIR/MODULE in one step. The same module already there is left alone
    /// ("already installed"); a different one (or anything else at DIR/MODULE, never
    /// followed if it is a symlink) is replaced only with --force.
    Install {
        /// The bundle (.tar.gz)
        file: PathBuf,
        /// The modulepath directory, e.g. /etc/puppet/code/modules (created if missing)
        #[arg(long, value_name = "DIR")]
        modulepath: PathBuf,
        /// Replace a different module of the same name
        #[arg(long)]
        force: bool,
    },
    /// Merge the recipe's partial kickstart with a site kickstart into a complete one
    ///
    /// The site file provides lang, keyboard, timezone and rootpw (required) and anything
    /// else about its surroundings (network, installation source, reboot...); the recipe
    /// provides storage, boot loader, %packages and the %post that applies its module.
    /// Refused, naming both lines: a command both set to different values, any storage or
    /// boot loader command in the site file, a package one side excludes. %packages lists
    /// are merged; the site's %pre/%post scripts run before the recipe's.
    Instantiate {
        /// The bundle (.tar.gz), or a plain partial kickstart
        recipe: PathBuf,
        /// The site kickstart
        #[arg(long, value_name = "FILE")]
        site: PathBuf,
        /// Write to FILE instead of stdout (replaced, never written through a link; 0600
        /// when it holds a password, e.g. `rootpw --iscrypted`)
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Args)]
pub struct CreateArgs {
    /// The finished session
    name: String,
    /// The bundle to write, e.g. NAME-VERSION.tar.gz (replaced if it exists)
    #[arg(short = 'o', long, value_name = "FILE")]
    output: PathBuf,
    /// Appliance spec (TOML) overriding the recorded facts, as for `cft descriptor`
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    #[command(flatten)]
    module: ModuleArgs,
}

pub fn recipe(db: &Path, args: RecipeArgs) -> Result<ExitCode> {
    let cmd = match (args.command, args.name, args.output) {
        (Some(cmd), _, _) => cmd,
        (None, Some(name), Some(output)) => RecipeCommand::Create(CreateArgs {
            name,
            output,
            spec: args.spec,
            module: args.module,
        }),
        _ => bail!(
            "cft recipe: give a session (cft recipe NAME -o FILE) or a subcommand; see `cft recipe --help`"
        ),
    };
    match cmd {
        RecipeCommand::Create(args) => create(db, &args)?,
        RecipeCommand::Verify { file } => return verify(&file),
        RecipeCommand::Install {
            file,
            modulepath,
            force,
        } => {
            let done = recipe::install(&file, &modulepath, force)
                .with_context(|| format!("cannot install the module of {}", file.display()))?;
            let what = match done.outcome {
                InstallOutcome::Installed => "installed",
                InstallOutcome::AlreadyInstalled => "already installed (identical content)",
                InstallOutcome::Replaced => "replaced (--force)",
            };
            println!("module '{}' {what}: {}", done.module, done.path.display());
        }
        RecipeCommand::Instantiate {
            recipe: from,
            site,
            output,
        } => {
            let text = recipe::instantiate(&from, &site)
                .with_context(|| format!("cannot instantiate {}", from.display()))?;
            match output {
                // A root password (even crypted) is for root's eyes only.
                Some(p) => {
                    let mode = if recipe::holds_password(&text) {
                        0o600
                    } else {
                        0o644
                    };
                    crate::output::write_file(&p, text.as_bytes(), mode)?
                }
                None => std::io::stdout()
                    .write_all(text.as_bytes())
                    .context("cannot write to stdout")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn create(db: &Path, args: &CreateArgs) -> Result<()> {
    let spec = load_spec(args.spec.as_deref())?;
    let store = recorder::Store::open_existing(db)?;
    let name = &args.name;
    let cs = finished(&store, name)?;
    let opts = args.module.options(name)?;
    let bundle = recipe::build(&cs, &store, &opts, &spec)
        .with_context(|| format!("cannot build the recipe of session '{name}'"))?;
    let out = &args.output;
    recipe::write_bundle(&bundle, out)
        .with_context(|| format!("cannot write the recipe to {}", out.display()))?;
    let files = bundle.listing.iter().filter(|l| !l.dir).count();
    println!(
        "wrote recipe {} ({files} files, {} bytes) in {}/: {}, {}, {}/{}/ ({} resources), {}, {}",
        out.display(),
        bundle.bytes.len(),
        bundle.top,
        recipe::DESCRIPTOR,
        recipe::KICKSTART,
        recipe::MODULES,
        bundle.module_name,
        bundle.report.resources,
        recipe::README,
        recipe::SUMS,
    );
    for n in &bundle.notes {
        println!("  note: {n}");
    }
    if bundle.private {
        println!("  holds secret content (--include-secrets): the file is 0600, keep it private");
    }
    crate::output::print_module_report(&bundle.report);
    Ok(())
}

fn verify(file: &Path) -> Result<ExitCode> {
    let report =
        recipe::verify(file).with_context(|| format!("cannot verify {}", file.display()))?;
    println!("recipe {}", file.display());
    for c in &report.checks {
        let tag = match c.outcome {
            Outcome::Ok => "OK  ",
            Outcome::Fail => "FAIL",
            Outcome::Skipped => "SKIP",
        };
        let mut lines = c.detail.lines();
        println!("{tag} {}: {}", c.name, lines.next().unwrap_or(""));
        for l in lines {
            println!("     | {l}");
        }
    }
    let failed = report.failures();
    if failed == 0 {
        println!("OK: {} checks passed", report.checks.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAILED: {failed} of {} checks", report.checks.len());
        Ok(ExitCode::from(1))
    }
}
