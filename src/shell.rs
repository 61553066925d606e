//! The recording shell: `cft record NAME` with no command, `cft hook SHELL`
//! for a shell already open, and the hidden `cft __hook start|end` its
//! hooks call to log each typed command line as an intent.
//!
//! The hooks follow shell-history tools (preexec through bash's DEBUG trap
//! and PROMPT_COMMAND, zsh's preexec/precmd; the EXIT trap or zshexit for
//! the line that ends the shell). They print one line only, when they turn
//! themselves off because their session stopped recording
//! (`HOOK_SESSION_OVER`), and never fail the command: a store that cannot be written to is
//! logged to `shim.log` beside the database, like the shim does. The
//! shim links and rc files live in a private temporary directory outside
//! the recorded system and are removed when the shell exits.

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use recorder::store::intents::{IntentEnd, IntentLog, IntentSource, IntentStart};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
}

#[derive(Subcommand)]
pub enum HookCommand {
    /// Log the start of a typed command line; prints its intent id
    Start {
        /// The shell's process id
        #[arg(long)]
        pid: i32,
        #[arg(last = true)]
        line: OsString,
    },
    /// Log the end of a typed command line
    End { id: i64, status: i32 },
}

/// `cft __hook …` exits with this when the hooks' session (`CFT_SESSION`)
/// is no longer recording: the hooks then turn themselves off.
pub const HOOK_SESSION_OVER: u8 = 3;

/// `cft __hook …`: never an error the shell would show. Exits 0, or
/// `HOOK_SESSION_OVER`.
pub fn hook_call(db: &Path, cmd: HookCommand) -> std::process::ExitCode {
    let session = std::env::var("CFT_SESSION").ok().filter(|s| !s.is_empty());
    let result = (|| -> recorder::Result<bool> {
        let Some(log) = IntentLog::open(db)? else {
            return Ok(false);
        };
        match cmd {
            HookCommand::Start { pid, line } => {
                let cwd = std::env::current_dir()
                    .map(|d| d.into_os_string().into_vec())
                    .unwrap_or_default();
                let line = line.as_bytes();
                let start = IntentStart {
                    source: IntentSource::Line,
                    session: session.as_deref(),
                    parent: None,
                    argv: &[line],
                    cwd: &cwd,
                    uid: nix::unistd::getuid().as_raw(),
                    pid,
                    ppid: nix::unistd::getppid().as_raw(),
                    start_ns: recorder::clock::now_ns(),
                };
                if let Some(id) = log.start(&start)? {
                    println!("{id}");
                    return Ok(false);
                }
            }
            HookCommand::End { id, status } => log.end(
                id,
                &IntentEnd {
                    end_ns: recorder::clock::now_ns(),
                    exit_code: Some(status),
                    signal: None,
                },
            )?,
        }
        match &session {
            Some(name) => Ok(!log.is_recording(name)?),
            None => Ok(false),
        }
    })();
    match result {
        Ok(true) => std::process::ExitCode::from(HOOK_SESSION_OVER),
        Ok(false) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            recorder::store::intents::log_failure(
                db,
                "cft __hook".as_ref(),
                "cannot record a typed line",
                &e,
            );
            std::process::ExitCode::SUCCESS
        }
    }
}

/// Quote for bash and zsh alike (the script is `eval`ed).
fn q(s: &str) -> String {
    recorder::tools::sh_quote(s)
}

/// A path the hook script can carry exactly: the script is text.
fn utf8_path(p: &Path, what: &str) -> Result<String> {
    match p.to_str() {
        Some(s) => Ok(s.to_string()),
        None => bail!(
            "{what} {} is not UTF-8, which the shell hooks cannot carry",
            p.display()
        ),
    }
}

/// The hook script for `shell`, recording into `session` of `db` and
/// putting `shims` (if any) first on PATH.
pub fn hook_script(
    shell: Shell,
    cft: &Path,
    db: &Path,
    session: &str,
    shims: Option<&Path>,
) -> Result<String> {
    // Names are checked at begin; checked again because this text is eval'ed.
    recorder::session::validate_name(session)?;
    let mut s = String::new();
    s.push_str(&format!(
        "# cft: record every command line typed here into a cft session.\n\
         # Undo with `cft_unhook`.\n\
         __cft_bin={}\n\
         export CFT_DB={}\n\
         export CFT_SESSION={}\n\
         __cft_ps1=$PS1\n\
         __cft_path=$PATH\n",
        q(&utf8_path(cft, "the cft executable")?),
        q(&utf8_path(db, "the database")?),
        q(session),
    ));
    if let Some(dir) = shims {
        let d = q(&utf8_path(dir, "the shim directory")?);
        s.push_str(&format!("PATH={d}:$PATH; export PATH\n"));
    }
    s.push_str(match shell {
        Shell::Bash => BASH_HOOK,
        Shell::Zsh => ZSH_HOOK,
    });
    s.push_str(&format!(
        "PS1={}\"$PS1\"\n",
        q(&format!("[cft:{session}] "))
    ));
    Ok(s)
}

/// The hooks are real shell files (shellcheck and a reader see them as
/// such), embedded at build time.
const BASH_HOOK: &str = include_str!("hooks/cft.bash");
const ZSH_HOOK: &str = include_str!("hooks/cft.zsh");

/// Which shell to start: `--shell`, else $SHELL, else the user's login
/// shell, else /bin/sh.
pub fn user_shell(explicit: Option<&Path>) -> PathBuf {
    if let Some(s) = explicit {
        return s.to_path_buf();
    }
    if let Some(s) = std::env::var_os("SHELL").filter(|s| !s.is_empty()) {
        return PathBuf::from(s);
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.shell)
        .filter(|s| !s.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("/bin/sh"))
}

pub fn kind_of(shell: &Path) -> Option<Shell> {
    match shell.file_name()?.to_str()? {
        "bash" => Some(Shell::Bash),
        "zsh" => Some(Shell::Zsh),
        _ => None,
    }
}

/// Where the recording shell's private files go: never inside a watched
/// tree (the runtime directory, else the temporary directory). A
/// `XDG_RUNTIME_DIR` that is not there is passed over: the host's, carried
/// into a chroot, names nothing inside it.
fn runtime_base() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| Path::new(d).is_dir()) {
        return PathBuf::from(d);
    }
    if nix::unistd::geteuid().is_root() && Path::new("/run").is_dir() {
        return PathBuf::from("/run");
    }
    std::env::temp_dir()
}

/// A prepared recording shell: the command to run and the private
/// directory (removed when this is dropped).
pub struct Prepared {
    pub command: std::process::Command,
    pub hooks: bool,
    pub shims: usize,
    _dir: tempfile::TempDir,
}

pub fn prepare(shell: &Path, db: &Path, session: &str) -> Result<Prepared> {
    // Its rc files, history and shim links are the user's alone.
    let dir = tempfile::Builder::new()
        .prefix("cft-shell-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir_in(runtime_base())
        .context("cannot create the recording shell's private directory")?;
    let cft = std::env::current_exe().context("cannot find the cft executable")?;
    let shim = crate::shim_cmd::default_shim()?;
    let bin = dir.path().join("bin");
    let shims = if shim.is_file() {
        crate::shim_cmd::install_quiet(&bin, &shim)?
    } else {
        std::fs::create_dir(&bin).with_context(|| format!("cannot create {}", bin.display()))?;
        0
    };
    let db = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    #[allow(clippy::disallowed_methods)] // the user's own shell ($SHELL or --shell)
    let mut command = std::process::Command::new(shell);
    command.env("CFT_DB", &db).env("CFT_SESSION", session);
    let kind = kind_of(shell);
    match kind {
        Some(Shell::Bash) => {
            let rc = dir.path().join("bashrc");
            // History goes to the private directory: a ~/.bash_history
            // written on exit would be a change the session records.
            let text = format!(
                "[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc\n\
                 [ -f ~/.bashrc ] && . ~/.bashrc\n\
                 HISTFILE={}\n{}",
                q(&utf8_path(
                    &dir.path().join("history"),
                    "the private directory"
                )?),
                hook_script(Shell::Bash, &cft, &db, session, Some(&bin))?
            );
            recorder::outfile::replace(&rc, text.as_bytes(), 0o600)
                .with_context(|| format!("cannot write {}", rc.display()))?;
            command.arg("--rcfile").arg(&rc).arg("-i");
        }
        Some(Shell::Zsh) => {
            // zsh reads $ZDOTDIR/.zshenv and .zshrc: ours source the user's.
            let user = std::env::var_os("ZDOTDIR")
                .or_else(|| std::env::var_os("HOME"))
                .unwrap_or_else(|| "/".into());
            let user = q(&utf8_path(Path::new(&user), "ZDOTDIR or HOME")?);
            recorder::outfile::replace(
                &dir.path().join(".zshenv"),
                format!("[ -f {user}/.zshenv ] && . {user}/.zshenv\n").as_bytes(),
                0o600,
            )
            .context("cannot write the zsh start-up files")?;
            recorder::outfile::replace(
                &dir.path().join(".zshrc"),
                format!(
                    "ZDOTDIR={user}\n[ -f \"$ZDOTDIR/.zshrc\" ] && . \"$ZDOTDIR/.zshrc\"\n\
                     HISTFILE={}\n{}",
                    q(&utf8_path(
                        &dir.path().join("history"),
                        "the private directory"
                    )?),
                    hook_script(Shell::Zsh, &cft, &db, session, Some(&bin))?
                )
                .as_bytes(),
                0o600,
            )
            .context("cannot write the zsh start-up files")?;
            command.env("ZDOTDIR", dir.path()).arg("-i");
        }
        None => {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut new = bin.into_os_string();
            new.push(":");
            new.push(path);
            command.env("PATH", new);
        }
    }
    Ok(Prepared {
        command,
        hooks: kind.is_some(),
        shims,
        _dir: dir,
    })
}

/// `cft hook SHELL`: the script for a shell that is already open, with a
/// shim directory kept beside the database.
pub fn print_hook(db: &Path, shell: Shell, session: &str) -> Result<()> {
    let cft = std::env::current_exe().context("cannot find the cft executable")?;
    let shim = crate::shim_cmd::default_shim()?;
    let db = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
    let shims = if shim.is_file() {
        let Some(parent) = db.parent() else {
            bail!("--db {} has no directory", db.display());
        };
        let dir = parent.join("shims");
        crate::shim_cmd::install_quiet(&dir, &shim)?;
        Some(dir)
    } else {
        None
    };
    print!(
        "{}",
        hook_script(shell, &cft, &db, session, shims.as_deref())?
    );
    Ok(())
}
