//! `cft shim install DIR` / `cft shim uninstall DIR`: put links named after
//! the admin tools (apt-get, systemctl, useradd…) into a directory that goes
//! first on `PATH`, each pointing to `cft-shim`, which records the command
//! as an intent and runs the real tool, or to `cft` itself when no
//! `cft-shim` is installed beside it (cft is the shim when called by a
//! tool's name). Uninstall removes only links to cft-shim or cft, never
//! anything else in DIR.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// The binary every link points to.
const SHIM_NAME: &str = "cft-shim";

/// Package managers, service managers and account tools.
pub const DEFAULT_TOOLS: &[&str] = &[
    "apt",
    "apt-get",
    "aptitude",
    "dpkg",
    "dnf",
    "yum",
    "rpm",
    "systemctl",
    "service",
    "chkconfig",
    "update-rc.d",
    "useradd",
    "usermod",
    "userdel",
    "groupadd",
    "groupmod",
    "groupdel",
    "gpasswd",
    "chpasswd",
    "passwd",
];

#[derive(Subcommand)]
pub enum ShimCommand {
    /// Link the wrapped tools in DIR to cft-shim (put DIR first on PATH)
    ///
    /// Existing links to cft-shim are replaced; any other file of the same name is left
    /// alone and reported.
    Install {
        dir: PathBuf,
        /// Tools to wrap, comma-separated [default: apt, apt-get, aptitude, dpkg, dnf, yum,
        /// rpm, systemctl, service, chkconfig, update-rc.d, useradd, usermod, userdel, groupadd,
        /// groupmod, groupdel, gpasswd, chpasswd, passwd]
        #[arg(long, value_delimiter = ',', value_name = "TOOL,…")]
        tools: Vec<String>,
        /// The shim binary [default: cft-shim next to this cft, else this cft, which is the shim
        /// when called by a tool's name]
        #[arg(long, value_name = "PATH")]
        shim: Option<PathBuf>,
    },
    /// Remove the links to cft-shim from DIR (nothing else)
    Uninstall { dir: PathBuf },
}

pub fn run(cmd: ShimCommand) -> Result<()> {
    match cmd {
        ShimCommand::Install { dir, tools, shim } => {
            let shim = match shim {
                Some(s) => s,
                None => default_shim()?,
            };
            let tools: Vec<String> = if tools.is_empty() {
                DEFAULT_TOOLS.iter().map(|t| t.to_string()).collect()
            } else {
                tools
            };
            install(&dir, &shim, &tools)
        }
        ShimCommand::Uninstall { dir } => {
            let removed = uninstall(&dir)?;
            println!(
                "removed {} link(s) to {SHIM_NAME} or cft from {}",
                removed.len(),
                dir.display()
            );
            Ok(())
        }
    }
}

/// `cft-shim` beside this executable, the lightest thing to run before
/// every tool; else this executable, which is the shim by a tool's name.
pub fn default_shim() -> Result<PathBuf> {
    let cft = std::env::current_exe().context("cannot find the cft executable")?;
    let beside = cft.with_file_name(SHIM_NAME);
    Ok(if beside.is_file() { beside } else { cft })
}

fn install(dir: &Path, shim: &Path, tools: &[String]) -> Result<()> {
    let shim = std::fs::canonicalize(shim)
        .with_context(|| format!("--shim {}: cannot find it", shim.display()))?;
    for t in tools {
        if t.is_empty() || t.contains('/') || t == "." || t == ".." {
            bail!("--tools: '{t}' is not a command name");
        }
    }
    let (made, skipped) = link_tools(dir, &shim, tools)?;
    println!(
        "{made} tool(s) in {} now run through {}; put it first on PATH (export PATH={}:$PATH)",
        dir.display(),
        shim.display(),
        dir.display()
    );
    if !skipped.is_empty() {
        println!(
            "left alone (not links to {SHIM_NAME} or cft): {}",
            skipped.join(", ")
        );
    }
    Ok(())
}

/// The default links in `dir` (made 0700 if new), without a word (for the
/// recording shell and `cft hook`, whose output is a script); returns how
/// many links were made.
pub fn install_quiet(dir: &Path, shim: &Path) -> Result<usize> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let tools: Vec<String> = DEFAULT_TOOLS.iter().map(|t| t.to_string()).collect();
    Ok(link_tools(dir, shim, &tools)?.0)
}

/// Link each tool in `dir` to `shim`, replacing links to cft-shim and
/// leaving anything else alone; returns (links made, names left alone).
fn link_tools<'a>(dir: &Path, shim: &Path, tools: &'a [String]) -> Result<(usize, Vec<&'a str>)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (mut made, mut skipped) = (0, Vec::new());
    for t in tools {
        let link = dir.join(t);
        match std::fs::symlink_metadata(&link) {
            Ok(_) if points_to_shim(&link) => std::fs::remove_file(&link)
                .with_context(|| format!("cannot replace {}", link.display()))?,
            Ok(_) => {
                skipped.push(t.as_str());
                continue;
            }
            Err(_) => {}
        }
        std::os::unix::fs::symlink(shim, &link)
            .with_context(|| format!("cannot create {}", link.display()))?;
        made += 1;
    }
    Ok((made, skipped))
}

/// Remove every link in `dir` that points to cft-shim; return their names.
fn uninstall(dir: &Path) -> Result<Vec<String>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut removed = Vec::new();
    for e in entries {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = e.path();
        if points_to_shim(&path) {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            removed.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    removed.sort();
    Ok(removed)
}

/// A symlink whose target is named cft-shim or cft (whether or not it
/// still exists).
fn points_to_shim(path: &Path) -> bool {
    std::fs::read_link(path)
        .map(|t| t.file_name().is_some_and(|n| n == SHIM_NAME || n == "cft"))
        .unwrap_or(false)
}
