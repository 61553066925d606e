//! `cft export` and `cft import`: one finished session in one file, to
//! move it between machines (databases). The format and the checks live
//! in `recorder::portable`; this module writes the file (a private
//! temporary file beside the target, renamed over it) and prints.

use anyhow::{Context, Result};
use clap::Args;
use recorder::model::display_path;
use recorder::portable::{self, ExportOptions};
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub struct ExportArgs {
    /// The finished session to export
    name: String,
    /// The file to write (created 0600; a file already there is replaced)
    #[arg(short = 'o', long, value_name = "FILE")]
    output: PathBuf,
    /// Keep secret contents, password hashes and command-line passwords in the file
    #[arg(long)]
    include_secrets: bool,
}

#[derive(Args, Clone)]
pub struct ImportArgs {
    /// A file written by `cft export`
    file: PathBuf,
    /// Store the session under this name instead of the one it was exported with
    #[arg(long = "as", value_name = "NAME")]
    as_name: Option<String>,
}

pub fn export(db: &Path, args: &ExportArgs) -> Result<()> {
    let store = recorder::Store::open_existing(db)?;
    let out = &args.output;
    // Created 0600 with O_EXCL beside the target; the rename replaces the
    // target whole, never writing through an existing path.
    let mut tmp = recorder::outfile::Replacement::new(out)
        .with_context(|| format!("cannot create a temporary file beside {}", out.display()))?;
    let opts = ExportOptions {
        include_secrets: args.include_secrets,
    };
    let report = portable::export(&store, &args.name, &opts, tmp.file(), out)
        .with_context(|| format!("cannot export session '{}'", args.name))?;
    tmp.commit(0o600)
        .with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "exported session '{}' to {}: {} changes, {} contents, {} commands, {} events ({} bytes, mode 0600)",
        report.session,
        out.display(),
        report.changes,
        report.blobs,
        report.intents,
        report.events,
        report.bytes
    );
    if !report.withheld.is_empty() {
        println!("left out (--include-secrets keeps them):");
        for w in &report.withheld {
            println!("  {w}");
        }
    }
    Ok(())
}

pub fn import(db: &Path, args: &ImportArgs) -> Result<()> {
    let mut store = recorder::Store::open(db)?;
    let file = &args.file;
    let report = portable::import_file(&mut store, file, args.as_name.as_deref())
        .with_context(|| format!("cannot import {}", file.display()))?;
    let s = &report.session;
    let renamed = if report.exported_as != s.name {
        format!(" (exported as '{}')", report.exported_as)
    } else {
        String::new()
    };
    println!(
        "imported session '{}'{renamed} from {}: {} changes, {} contents, {} commands, {} events",
        s.name,
        file.display(),
        report.changes,
        report.blobs,
        report.intents,
        report.events
    );
    println!("  recorded under {} (finished)", display_path(&s.root));
    if report.intent_shift != 0 {
        println!(
            "  command numbers moved up by {} (this database already used them)",
            report.intent_shift
        );
    }
    if !report.withheld.is_empty() {
        println!("not in the file (exported without --include-secrets):");
        for w in &report.withheld {
            println!("  {w}");
        }
    }
    println!(
        "next: `cft show {n}`, `cft manifest {n} -o DIR`",
        n = s.name
    );
    Ok(())
}
