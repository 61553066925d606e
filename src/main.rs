//! The `cft` command line: parses arguments, calls `recorder` and
//! `manifest-gen`, prints what happened. No recording or generating logic
//! lives here.
//!
//! Exit codes: 0 success; 1 error (the message names the session, path or
//! argument); 2 bad usage; `cft record` returns the recorded command's own
//! status (128+N when it was killed by signal N).

// The doc comments of the clap types are --help text, read by people in a
// terminal, not rustdoc: `[cft:NAME]` there is a prompt, not a link.
#![allow(rustdoc::broken_intra_doc_links)]

mod advice;
mod descriptor_cmd;
mod diff_cmd;
mod extract_cmd;
mod load;
mod module_args;
mod output;
mod port_cmd;
mod progress;
mod recipe_cmd;
mod report_cmd;
mod shell;
mod shim_cmd;
mod show;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use recorder::daemon::Invocation;
use recorder::session::{self, BeginOptions, Launcher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cft",
    version,
    about = "Record the configuration changes made to a machine and turn them into a Puppet module",
    long_about = "cft (\"sift\") records what changes on a machine while you configure it by hand: \
`cft begin NAME` takes a baseline and starts a recorder daemon, you install, edit, chmod, symlink \
and delete, `cft finish` reconciles and stores the change set, and `cft manifest NAME -o DIR` \
writes a Puppet module that reproduces it.\n\n\
Exit codes: 0 success, 1 error, 2 bad usage; `cft record` returns the recorded command's status."
)]
struct Cli {
    /// The session database [default: /var/lib/cft/cft.db as root, else $XDG_STATE_HOME/cft/cft.db]
    #[arg(long, global = true, env = "CFT_DB", value_name = "PATH")]
    db: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Take a baseline and start recording a session
    ///
    /// Watches /etc, /root, /srv, /opt, /usr/local, /var/www and /var/spool/cron (those that
    /// exist) plus every --watch, takes a baseline of them (metadata of every entry, contents
    /// of files up to --content-cap), then returns once the detached recorder daemon is
    /// watching. One session may record a given root at a time.
    Begin(BeginArgs),
    /// Make a finished session from a machine nobody recorded
    ///
    /// Compares the watched roots, the packages, accounts and services with what the packages
    /// shipped and set (dpkg's checksums and conffiles, the package logs' install boundary,
    /// deb-systemd-helper's service defaults), or with a pristine reference root (--against),
    /// and stores what was done by hand as a finished session: `show`, `manifest`, `descriptor`
    /// and `recipe` then work on it. What it cannot know it lists as notices.
    Extract(extract_cmd::ExtractArgs),
    /// Show the recording sessions: age, watched roots, activity, daemon health
    Status {
        /// As JSON (cft-status/1)
        #[arg(long)]
        json: bool,
    },
    /// Compare two finished sessions as resources, or one with its baseline
    ///
    /// `cft diff A B` lists every file, package, user, group, service, alternative, diversion
    /// and command that differs: only in A, only in B, or in both with each differing
    /// attribute's two values, and a unified diff of text contents (secrets only say that they
    /// differ). `cft diff NAME` shows the session against its own baseline, as `git show`
    /// does a commit.
    Diff(diff_cmd::DiffArgs),
    /// Stop recording, reconcile against the baseline and store the change set
    ///
    /// Only the paths the watcher saw change, and those whose stat (size, times, inode) differs
    /// from the baseline's, are re-read; after an event queue overflow, a
    /// watch-limit hit or a dead daemon, every watched root is rescanned and the summary
    /// says so.
    Finish {
        /// The session (default: the only recording one)
        name: Option<String>,
    },
    /// Stop recording and discard the session
    Abort {
        /// The session (default: the only recording one)
        name: Option<String>,
    },
    /// List every session
    List {
        /// As JSON (cft-list/1)
        #[arg(long)]
        json: bool,
    },
    /// Delete a finished session and its recorded data, and give the space back
    Erase { name: String },
    /// Give back the space of deleted sessions: unused packs and contents, the
    /// database compacted (VACUUM) and its log emptied
    Gc,
    /// Print a session's change set, summarised by kind
    ///
    /// A summary first; then the admin's file changes one per line (a removed tree is one line
    /// with its count), the files packages made folded to a line per package, packages,
    /// accounts, services, what could not be captured, and the commands with what each one
    /// changed. --all unfolds; --files, --packages, --accounts, --services and --commands pick
    /// sections; --json gives it as data.
    Show(show::ShowArgs),
    /// Begin, run a command or a recording shell, finish when it exits
    ///
    /// With `-- CMD`, runs CMD and returns its exit status. Without, starts your shell ($SHELL,
    /// or --shell) with the admin tools wrapped (apt-get, systemctl, useradd… run through
    /// cft-shim) and, in bash and zsh, hooks that record every command line you type with its
    /// directory, times and exit status; the prompt starts with [cft:NAME]. Exiting the shell
    /// finishes the session. Ctrl-C reaches the command; cft still finishes. The shim links
    /// and hooks live in a private temporary directory, never in the recorded system.
    Record {
        #[command(flatten)]
        begin: BeginArgs,
        /// Also write the Puppet module here
        #[arg(short = 'o', long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// The shell to start when no command is given [default: $SHELL]
        #[arg(long, value_name = "PATH", conflicts_with = "command")]
        shell: Option<PathBuf>,
        /// The command to run while recording (default: a recording shell)
        #[arg(last = true, value_name = "CMD")]
        command: Vec<std::ffi::OsString>,
    },
    /// Print shell hooks that record the command lines typed in this shell
    ///
    /// Use as `eval "$(cft hook bash)"` (or zsh) after `cft begin`: the prompt gets a
    /// [cft:NAME] marker, admin tools run through cft-shim, and each command line is recorded
    /// in the session with its directory, times and exit status. `cft_unhook` removes them.
    Hook {
        #[arg(value_enum)]
        shell: shell::Shell,
        /// The recording session (default: the only one recording)
        name: Option<String>,
    },
    /// Called by the shell hooks (not for direct use)
    #[command(name = "__hook", hide = true, subcommand)]
    HookCall(shell::HookCommand),
    /// Write the Puppet module of a finished session
    ///
    /// The module holds metadata.json, manifests/ (the main class and one class per part),
    /// files/ with the captured contents mirrored by full path (templates/ for the files
    /// with a --param), and a README of what it manages, what it could not express and which
    /// class parameters you must supply. Secrets (shadow files,
    /// SSH host keys, PEM private keys) become mandatory Sensitive parameters unless
    /// --include-secrets is given.
    ///
    /// --param NAME=PATH:LITERAL makes a site value a class parameter: every occurrence of
    /// LITERAL in the recorded content of the file PATH becomes the String parameter NAME
    /// (default: LITERAL), and that file an EPP template under templates/ (the rest of its
    /// content stays verbatim). NAME ends at the first '=', PATH at the next ':', LITERAL is
    /// the rest. Repeat it for more parameters, or for the same NAME and LITERAL in more
    /// files. A site sets the value with Hiera (MODULE::NAME) or `class { 'MODULE': NAME =>
    /// ... }`. Only text files the admin changed, with captured content and not secret, can
    /// take parameters.
    Manifest {
        /// The finished session [default: the last one finished]
        name: Option<String>,
        /// Output directory (created; a previous cft module there is replaced)
        #[arg(
            short = 'o',
            long,
            value_name = "DIR",
            required_unless_present = "dry_run"
        )]
        output: Option<PathBuf>,
        /// Write nothing: print the resources the module would manage, and what it leaves out
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        module: module_args::ModuleArgs,
    },
    /// Write the appliance descriptor (virt-image XML) of a finished session
    ///
    /// Filled from the facts recorded at begin (CPUs, memory, CPU features, network
    /// interfaces, the filesystems of /etc/fstab: one disk each) and --spec overrides.
    /// --libvirt writes a libvirt domain for one host instead, --kickstart the partial
    /// kickstart (storage, packages, masterless Puppet run; no site settings).
    Descriptor(descriptor_cmd::DescriptorArgs),
    /// Appliance recipes: one .tar.gz with the descriptor, the partial kickstart, the module
    ///
    /// `cft recipe NAME -o FILE` (or `create NAME -o FILE`) bundles a finished session;
    /// `verify` checks a bundle (checksums, the descriptor, the kickstart, the module);
    /// `install` puts its module into a Puppet modulepath; `instantiate` merges its partial
    /// kickstart with a site kickstart.
    Recipe(recipe_cmd::RecipeArgs),
    /// Write one self-contained HTML page about a finished session, to read in a browser
    ///
    /// The page holds the counts by kind, the timeline of the session drawn as a picture (each
    /// recorded command a bar over time, the changes it made beneath it), the resources that
    /// differ with their content diffs, against the session's own baseline or, with --vs,
    /// another session, and the recorded file changes. It loads nothing from anywhere: its
    /// Content-Security-Policy allows only its own style sheet and script. Secret contents are
    /// withheld unless --include-secrets.
    Report(report_cmd::ReportArgs),
    /// Wrap admin tools (apt-get, systemctl, useradd…) so each run is recorded as an intent
    #[command(subcommand)]
    Shim(shim_cmd::ShimCommand),
    /// Print a shell completion script
    ///
    /// bash: `cft completions bash > /usr/share/bash-completion/completions/cft`;
    /// zsh: `cft completions zsh > /usr/local/share/zsh/site-functions/_cft`;
    /// fish: `cft completions fish > ~/.config/fish/completions/cft.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `cft man > /usr/local/share/man/man1/cft.1`
    Man,
    /// Write a finished session to one file, to move it to another machine
    ///
    /// The file holds the change set (changes with their baseline and final entries,
    /// notices, package, account and service changes), the commands and what each changed,
    /// the timeline, the facts and the captured contents of the changed paths, with a
    /// format version and a SHA-256 checksum (docs/EXPORT-FORMAT.md). Secret file contents,
    /// password hashes and command-line passwords are left out, and listed as such, unless
    /// --include-secrets. The same session always exports to the same bytes; the file is
    /// created 0600 (an export of secrets is as sensitive as the database).
    Export(port_cmd::ExportArgs),
    /// Store a session written by `cft export` as a finished session of this database
    ///
    /// Refuses a truncated or altered file (checksum), a newer format and a name already
    /// taken (--as NAME stores it under another), changing nothing. What the export left
    /// out becomes notices of the session. `show`, `manifest`, `descriptor` and `recipe`
    /// then work on it; nothing is written but the database.
    Import(port_cmd::ImportArgs),
}

#[derive(Args, Clone)]
struct BeginArgs {
    /// Session name (letters, digits, '.', '_', '-')
    #[arg(required_unless_present = "resume")]
    name: Option<String>,
    /// Continue a finished session (keeps its baseline)
    #[arg(long, value_name = "NAME", conflicts_with_all = ["name", "watch", "root", "description", "ignore"])]
    resume: Option<String>,
    /// Also watch this directory (a path in the observed system; repeatable)
    #[arg(long, value_name = "DIR")]
    watch: Vec<PathBuf>,
    /// Watch only the --watch directories
    #[arg(long)]
    no_default_watch: bool,
    /// The observed system lives under DIR (a chroot, a mounted image)
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// What this session is for
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Ignore paths matching this gitignore-style pattern (repeatable)
    #[arg(long, value_name = "PATTERN")]
    ignore: Vec<String>,
    /// Rules file of ignore patterns, one per line
    #[arg(long, value_name = "PATH", env = "CFT_IGNORE_FILE", default_value = recorder::session::RULES_FILE)]
    ignore_file: PathBuf,
    /// Baseline files larger than this keep only a hash (bytes)
    #[arg(long, value_name = "BYTES", default_value_t = session::DEFAULT_CONTENT_CAP)]
    content_cap: u64,
}

fn main() -> ExitCode {
    // The recorder daemon (started by `begin`, not for direct use) is no
    // clap subcommand: its arguments are the recorder's to read, and it
    // stays out of `--help`.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // A link named after a tool (`apt-get` -> cft, made by `cft shim
    // install`), or `cft-shim`: cft is the shim.
    if !invoked_as_cft(argv.first()) {
        shim::run();
    }
    if argv.get(1).is_some_and(|a| a == Invocation::SUBCOMMAND) {
        return daemon(&argv[2..]);
    }
    // Output piped into `head` or `less` ends quietly when the reader
    // goes, as cat's does, instead of a panic on the failed write.
    // SAFETY: no other thread exists yet, and SIG_DFL is async-signal-safe.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigDfl,
        )
    };
    let cli = Cli::parse();
    init_tracing(false);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            let (message, hints) = advice::explain(&e);
            eprintln!("cft: error: {message}");
            for h in hints {
                eprintln!("cft: hint: {h}");
            }
            ExitCode::from(1)
        }
    }
}

/// Called as `cft` (or a name starting so, but not `cft-shim`), or with no
/// name at all.
fn invoked_as_cft(argv0: Option<&std::ffi::OsString>) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Some(name) = argv0.and_then(|a| Path::new(a).file_name()) else {
        return true;
    };
    let name = name.as_bytes();
    name.starts_with(b"cft") && !name.starts_with(b"cft-shim")
}

fn init_tracing(daemon: bool) {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CFT_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(if daemon { "info" } else { "warn" })
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(!daemon && output::colour(std::io::IsTerminal::is_terminal(&std::io::stderr())))
        .init();
}

/// `cft __daemon ARGS`: exit 2 when the arguments are wrong, 1 when the
/// daemon fails.
fn daemon(args: &[std::ffi::OsString]) -> ExitCode {
    init_tracing(true);
    let invocation = match Invocation::parse(args) {
        Ok(invocation) => invocation,
        Err(e) => {
            eprintln!("cft: error: {e}");
            return ExitCode::from(2);
        }
    };
    use std::os::fd::FromRawFd;
    // SAFETY: `begin` hands the daemon the write end of its pipe as
    // this descriptor and nothing else in this process owns it.
    let ready = invocation
        .ready_fd
        .map(|fd| unsafe { std::fs::File::from_raw_fd(fd) });
    match recorder::daemon::run(&invocation, ready)
        .with_context(|| format!("recorder daemon of session '{}'", invocation.session))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cft: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let db = cli
        .db
        .clone()
        .unwrap_or_else(recorder::store::default_db_path);
    match cli.command {
        Command::Begin(args) => {
            let report = begin(&db, &args)?;
            output::print_begin(&report, &db, true);
            println!(
                "to record the commands typed in this shell too: eval \"$(cft hook bash)\" (or zsh)"
            );
        }
        Command::Hook { shell: kind, name } => {
            let name = match name {
                Some(n) => {
                    let recording = session::status(&db)?;
                    if !recording.iter().any(|s| s.session.name == n) {
                        bail!("session '{n}' is not recording (`cft status` lists those that are)");
                    }
                    n
                }
                None => recording_session(&db)?,
            };
            shell::print_hook(&db, kind, &name)?;
        }
        Command::HookCall(call) => return Ok(shell::hook_call(&db, call)),
        Command::Extract(args) => extract_cmd::extract(&db, &args)?,
        Command::Diff(args) => return Ok(diff_cmd::run(&db, &args)),
        Command::Status { json: false } => output::print_status(&session::status(&db)?, &db),
        Command::Status { json: true } => show::status_json(&session::status(&db)?)?,
        Command::Finish { name } => {
            let report = session::finish(&db, name.as_deref(), &progress::Shown::new("rescan"))?;
            output::print_finish(&report, true);
        }
        Command::Abort { name } => {
            let s = session::abort(&db, name.as_deref())?;
            println!("aborted session '{}': its recording was discarded", s.name);
        }
        Command::List { json: true } => {
            if recorder::store::db_exists(&db)? {
                show::list_json(&session::open_repaired(&db)?)?;
            } else {
                crate::output::write_stdout(
                    b"{\n  \"schema\": \"cft-list/1\",\n  \"sessions\": []\n}\n",
                )?;
            }
        }
        Command::List { json: false } => {
            if !recorder::store::db_exists(&db)? {
                println!("no sessions yet ({} does not exist)", db.display());
            } else {
                let store = session::open_repaired(&db)?;
                output::print_list(&store)?;
            }
        }
        Command::Erase { name } => {
            let gc = session::erase(&db, &name)?;
            println!("erased session '{name}'; {}", output::gc(&gc));
        }
        Command::Gc => {
            println!("{}", output::gc(&session::gc(&db)?));
        }
        Command::Show(mut args) => {
            args.name = Some(session_or_last(&db, args.name.take())?);
            let store = recorder::Store::open_existing(&db)?;
            show::show(&store, &args)?;
        }
        Command::Record {
            begin: args,
            output: out,
            shell: sh,
            command,
        } => return record(&db, &args, out.as_deref(), sh.as_deref(), &command),
        Command::Manifest {
            name,
            output: out,
            dry_run,
            module,
        } => {
            let name = session_or_last(&db, name)?;
            match out {
                Some(out) if !dry_run => manifest(&db, &name, &out, &module)?,
                _ => dry_run_manifest(&db, &name, &module)?,
            }
        }
        Command::Descriptor(args) => descriptor_cmd::descriptor(&db, &args)?,
        Command::Recipe(cmd) => return recipe_cmd::recipe(&db, cmd),
        Command::Report(args) => report_cmd::report(&db, &args)?,
        Command::Shim(cmd) => shim_cmd::run(cmd)?,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cft", &mut out);
            output::write_stdout(&out)?;
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut out)?;
            output::write_stdout(&out)?;
        }
        Command::Export(args) => port_cmd::export(&db, &args)?,
        Command::Import(args) => port_cmd::import(&db, &args)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn launcher() -> Result<Launcher> {
    Ok(Launcher {
        program: std::env::current_exe().context("cannot find the cft executable")?,
    })
}

fn begin(db: &Path, args: &BeginArgs) -> Result<session::BeginReport> {
    if let Some(name) = &args.resume {
        return session::resume(db, name, &launcher()?, &progress::Shown::new("gap sweep"))
            .with_context(|| format!("cannot resume session '{name}'"));
    }
    let Some(name) = &args.name else {
        bail!("a session NAME is required");
    };
    let opts = BeginOptions {
        name: name.clone(),
        description: args.description.clone(),
        root: args.root.clone(),
        watch: args.watch.clone(),
        default_watch: !args.no_default_watch,
        ignore: args.ignore.clone(),
        rules_file: args.ignore_file.clone(),
        content_cap: args.content_cap,
    };
    session::begin(db, &opts, &launcher()?, &progress::Shown::baseline())
        .with_context(|| format!("cannot begin session '{name}'"))
}

/// The one session recording, for commands whose NAME is optional.
fn recording_session(db: &Path) -> Result<String> {
    let recording = session::status(db)?;
    match recording.as_slice() {
        [one] => Ok(one.session.name.clone()),
        [] => bail!(
            "no session is recording in {}: start one with `cft begin NAME`",
            db.display()
        ),
        _ => bail!("several sessions are recording: name one"),
    }
}

fn record(
    db: &Path,
    args: &BeginArgs,
    out: Option<&Path>,
    shell_path: Option<&Path>,
    command: &[std::ffi::OsString],
) -> Result<ExitCode> {
    if let (Some(out), Some(name)) = (out, args.name.as_deref()) {
        let opts = module_args::ModuleArgs::default().options(name)?;
        module_dir(out, &opts.module_name)?;
    }
    let report = begin(db, args)?;
    output::print_begin(&report, db, false);
    let name = report.session.name.clone();
    let (status, what) = if command.is_empty() {
        let sh = shell::user_shell(shell_path);
        let prepared = match shell::prepare(&sh, db, &name) {
            Ok(p) => p,
            Err(e) => {
                let _ = session::abort(db, Some(&name));
                return Err(e.context(format!("session '{name}' was aborted")));
            }
        };
        println!(
            "recording shell {} ({} admin tools wrapped{}); exit it to finish session '{name}'",
            sh.display(),
            prepared.shims,
            if prepared.hooks {
                ", every command line recorded"
            } else {
                "; only bash and zsh have hooks for typed lines"
            }
        );
        if report.session.root != b"/" {
            println!(
                "note: the shell runs on this system, not inside {}; commands that should \
                 change it act on its paths (or run `cft record` inside it)",
                recorder::model::display_path(&report.session.root)
            );
        }
        let mut command = prepared.command;
        (run_child(&mut command), sh.into_os_string())
    } else {
        // The user's own command, found as their shell would (like env(1)).
        #[allow(clippy::disallowed_methods)]
        let mut child = std::process::Command::new(&command[0]);
        child.args(&command[1..]);
        (run_child(&mut child), command[0].clone())
    };
    let finished = session::finish(db, Some(&name), &progress::Shown::new("rescan"))
        .with_context(|| format!("cannot finish session '{name}'"))?;
    output::print_finish(&finished, out.is_none());
    if let Some(out) = out {
        manifest(db, &name, out, &module_args::ModuleArgs::default())?;
    }
    let status = status
        .with_context(|| format!("cannot run {what:?} (session '{name}' was finished anyway)"))?;
    Ok(exit_code_of(status))
}

/// Run the command in the foreground. cft ignores SIGINT/SIGQUIT while it
/// runs (like a shell), so Ctrl-C stops the command and cft still finishes.
fn run_child(command: &mut std::process::Command) -> std::io::Result<std::process::ExitStatus> {
    // Ctrl-C reaches the command; cft survives it and still finishes.
    let _keys = recorder::stop_keys::StopKeys::catch();
    command.spawn().and_then(|mut c| c.wait())
}

fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => ExitCode::from(c.clamp(0, 255) as u8),
        (None, Some(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
        _ => ExitCode::from(1),
    }
}

/// NAME, or the session finished last (said on stderr, so a script's
/// stdout stays what it asked for).
fn session_or_last(db: &Path, name: Option<String>) -> Result<String> {
    if let Some(n) = name {
        return Ok(n);
    }
    let store = recorder::Store::open_existing(db)?;
    let last = store
        .sessions()?
        .into_iter()
        .filter(|s| s.state == recorder::model::SessionState::Finished)
        .max_by_key(|s| (s.finished_at_ns, s.id));
    match last {
        Some(s) => {
            eprintln!("cft: using session '{}', the last one finished", s.name);
            Ok(s.name)
        }
        None => bail!("no finished session in {}: name one", db.display()),
    }
}

/// `cft manifest --dry-run`: what the module would manage, written nowhere.
fn dry_run_manifest(db: &Path, name: &str, module: &module_args::ModuleArgs) -> Result<()> {
    let store = recorder::Store::open_existing(db)?;
    let cs = load::finished(&store, name)?;
    let opts = module.options_in(&store, name)?;
    let m = manifest_gen::generate(&cs, &store, &opts)
        .with_context(|| format!("cannot generate the module of session '{name}'"))?;
    let mut out = format!(
        "module '{}' of session '{name}' would manage {} resources in {} files (dry run: nothing written):\n",
        opts.module_name,
        m.report.resources,
        m.files.len()
    );
    for r in &m.report.titles {
        out.push_str(&format!("  {r}\n"));
    }
    output::write_stdout(out.as_bytes())?;
    output::print_module_report(&m.report);
    Ok(())
}

/// Puppet autoloads module `m` only from a directory named `m`: a
/// directory whose name cannot be a module's is refused (before anything
/// is recorded or written), another name gets a note.
fn module_dir(out: &Path, module: &str) -> Result<()> {
    let Some(base) = out.file_name().and_then(|b| b.to_str()) else {
        return Ok(());
    };
    if base == module {
        return Ok(());
    }
    if let Some(why) = manifest_gen::puppet::module_name_problem(base) {
        bail!(
            "-o {}: Puppet finds module '{module}' only in a directory named '{module}', and \
             '{base}' cannot be a module's name ({why}): use -o {}",
            out.display(),
            out.with_file_name(module).display()
        );
    }
    eprintln!(
        "cft: note: Puppet finds module '{module}' only in a directory named '{module}' \
         (this one is '{base}'): rename it before you put it in a modulepath"
    );
    Ok(())
}

fn manifest(db: &Path, name: &str, out: &Path, module: &module_args::ModuleArgs) -> Result<()> {
    let store = recorder::Store::open_existing(db)?;
    let cs = load::finished(&store, name)?;
    let opts = module.options_in(&store, name)?;
    module_dir(out, &opts.module_name)?;
    let module = manifest_gen::generate(&cs, &store, &opts)
        .with_context(|| format!("cannot generate the module of session '{name}'"))?;
    manifest_gen::write_module(&module, &store, out)
        .with_context(|| format!("cannot write the module to {}", out.display()))?;
    output::print_manifest(&module, &opts, out);
    Ok(())
}
