//! `cft report NAME [--vs OTHER] -o FILE`: one self-contained HTML page
//! about a finished session, to read in a browser. The page is made by
//! `manifest_gen::report`; this module loads the sessions and writes it.

use crate::load;
use anyhow::{Context, Result};
use clap::Args;
use manifest_gen::report::{self, Recording, ReportOptions};
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub struct ReportArgs {
    /// The finished session to report on
    name: String,
    /// Compare with this finished session (of the same database) instead of NAME's own baseline
    #[arg(long, value_name = "OTHER")]
    vs: Option<String>,
    /// Write the page here (replaced if it exists)
    #[arg(short = 'o', long, value_name = "FILE")]
    output: PathBuf,
    /// Show secret contents and password hashes in the diffs (the page is then written 0600)
    #[arg(long)]
    include_secrets: bool,
    /// Lines of unified diff shown per file at most
    #[arg(long, value_name = "N", default_value_t = ReportOptions::default().max_lines)]
    max_lines: usize,
}

pub fn report(db: &Path, args: &ReportArgs) -> Result<()> {
    let store = recorder::Store::open_existing(db)?;
    let a = load::finished(&store, &args.name)?;
    let a_events = store
        .events(a.session.id)
        .with_context(|| format!("cannot read the timeline of session '{}'", args.name))?;
    let b = match &args.vs {
        Some(other) => {
            let cs = load::finished(&store, other)?;
            let events = store
                .events(cs.session.id)
                .with_context(|| format!("cannot read the timeline of session '{other}'"))?;
            Some((cs, events))
        }
        None => None,
    };
    let ra = Recording {
        cs: &a,
        blobs: &store,
        events: &a_events,
    };
    let rb = b.as_ref().map(|(cs, events)| Recording {
        cs,
        blobs: &store,
        events,
    });
    let opts = ReportOptions {
        include_secrets: args.include_secrets,
        max_lines: args.max_lines,
    };
    let html = report::render(&ra, rb.as_ref(), &opts)
        .with_context(|| format!("cannot make the report of session '{}'", args.name))?;
    report::write(&html, &args.output, args.include_secrets)
        .with_context(|| format!("cannot write the report to {}", args.output.display()))?;
    println!(
        "wrote {} ({} bytes): open it in a browser",
        args.output.display(),
        html.len()
    );
    Ok(())
}
