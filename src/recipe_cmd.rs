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
    /// Install the bundle's module into a Puppet modulepath, or a Puppet server's environment
    ///
    /// Checks the checksums, extracts into a temporary directory inside the modulepath and
    /// renames the module into MODULEPATH/MODULE in one step. The same module already there
    /// is left alone ("already installed"); a newer version of it (the same metadata.json
    /// name, a higher version) replaces it atomically ("upgraded"); anything else at
    /// MODULEPATH/MODULE (never followed if it is a symlink) is replaced only with --force.
    ///
    /// With --environment ENV the modulepath is CODEDIR/environments/ENV/modules, the
    /// environment is created if missing (with environment_timeout = 0, so the server
    /// serves a re-installed module at the next agent run), and each --node CERTNAME is
    /// classified through Hiera: cft writes data/cft/nodes/CERTNAME.yaml (a `classes` list),
    /// and, when missing, the environment's hiera.yaml and manifests/site.pp that include
    /// those classes; an existing site.pp or hiera.yaml without cft's line is refused, naming
    /// the line to add. The class's mandatory parameters come from the environment's Hiera
    /// (data/nodes/CERTNAME.yaml or data/common.yaml); the output says which are not set yet.
    #[command(group = clap::ArgGroup::new("into").required(true).args(["modulepath", "environment"]))]
    Install {
        /// The bundle (.tar.gz)
        file: PathBuf,
        /// The modulepath directory, e.g. /etc/puppet/code/modules (created if missing)
        #[arg(long, value_name = "DIR")]
        modulepath: Option<PathBuf>,
        /// Install into this environment of a Puppet server's code directory
        #[arg(long, value_name = "ENV", conflicts_with = "modulepath")]
        environment: Option<String>,
        /// The server's code directory [default: `puppet config print codedir --section server`]
        #[arg(long, value_name = "DIR", requires = "environment")]
        codedir: Option<PathBuf>,
        /// Classify this node (its certname) with the module's class (repeatable)
        #[arg(long, value_name = "CERTNAME", requires = "environment")]
        node: Vec<String>,
        /// Replace a different module of the same name (an older version too)
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
    ///
    /// The recipe's %post applies its module masterless. When its class has mandatory
    /// parameters (a withheld password hash...), the site file gives each as a comment line
    /// `# cft-param NAME=VALUE` (a missing one is refused, naming it), and the output is
    /// 0600. With --server the recipe's scripts are replaced by one that points the Puppet
    /// agent at the server, runs it once and enables it; mandatory parameters then come from
    /// the server's Hiera and are refused in the site file.
    Instantiate {
        /// The bundle (.tar.gz), or a plain partial kickstart
        recipe: PathBuf,
        /// The site kickstart
        #[arg(long, value_name = "FILE")]
        site: PathBuf,
        /// Configure the machine from this Puppet server instead of masterless (port 8140
        /// unless given)
        #[arg(long, value_name = "HOST[:PORT]")]
        server: Option<String>,
        /// The server environment the agent asks for [default: the agent's, production]
        #[arg(long, value_name = "ENV", requires = "server")]
        environment: Option<String>,
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
            environment,
            codedir,
            node,
            force,
        } => {
            let context = || format!("cannot install the module of {}", file.display());
            match (modulepath, environment) {
                (Some(mp), _) => {
                    let done = recipe::install(&file, &mp, force).with_context(context)?;
                    print_installed(&done);
                }
                (None, Some(env)) => {
                    let codedir = match codedir {
                        Some(d) => d,
                        None => recipe::server_codedir().with_context(context)?,
                    };
                    let target = recipe::Target {
                        codedir: &codedir,
                        environment: &env,
                        nodes: &node,
                        force,
                    };
                    let done =
                        recipe::install_into_environment(&file, &target).with_context(context)?;
                    print_env_installed(&done, &env);
                }
                (None, None) => bail!("give --modulepath DIR or --environment ENV"),
            }
        }
        RecipeCommand::Instantiate {
            recipe: from,
            site,
            server,
            environment,
            output,
        } => {
            let apply = match &server {
                Some(s) => recipe::Apply::Server(recipe::Server::parse(s, environment.as_deref())?),
                None => recipe::Apply::Masterless,
            };
            let text = recipe::instantiate(&from, &site, &apply)
                .with_context(|| format!("cannot instantiate {}", from.display()))?;
            let how = match &apply {
                recipe::Apply::Masterless => "applies the module masterless".to_string(),
                recipe::Apply::Server(s) => format!("hands the machine to {}:{}", s.host, s.port),
            };
            if let Some(p) = &output {
                println!("wrote kickstart {} (its %post {how})", p.display());
            }
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

fn print_installed(done: &recipe::Installed) {
    let what = match &done.outcome {
        InstallOutcome::Installed => "installed".to_string(),
        InstallOutcome::AlreadyInstalled => "already installed (identical content)".to_string(),
        InstallOutcome::Upgraded { from, to } => format!("upgraded from {from} to {to}"),
        InstallOutcome::Replaced => "replaced (--force)".to_string(),
    };
    println!("module '{}' {what}: {}", done.module, done.path.display());
}

fn print_env_installed(done: &recipe::EnvInstalled, env: &str) {
    if done.created {
        println!("created environment {env}: {}", done.dir.display());
    }
    print_installed(&done.module);
    for p in &done.wrote {
        println!("  wrote {}", p.display());
    }
    for (node, changed) in &done.classified {
        let what = if *changed { "now gets" } else { "already gets" };
        println!("  node {node} {what} class '{}'", done.module.module);
    }
    for (key, ty, set) in &done.mandatory {
        if *set {
            println!("  mandatory parameter {key} ({ty}): set in the environment's Hiera data");
        } else {
            println!(
                "  mandatory parameter {key} ({ty}): not set yet; agents fail until data/nodes/CERTNAME.yaml or data/common.yaml of {} sets it",
                done.dir.display()
            );
            if ty.starts_with("Sensitive") {
                println!(
                    "    (a Sensitive value: add `lookup_options: {{'{key}': {{convert_to: Sensitive}}}}` to that file)"
                );
            }
        }
    }
    if let Some(n) = &done.cache_note {
        println!("  note: {n}");
    }
}

fn create(db: &Path, args: &CreateArgs) -> Result<()> {
    let spec = load_spec(args.spec.as_deref())?;
    let store = recorder::Store::open_existing(db)?;
    let name = &args.name;
    let cs = finished(&store, name)?;
    let opts = args.module.options_in(&store, name)?;
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
