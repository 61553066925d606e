//! `cft extract`: a finished session from a machine that was configured by
//! hand with no session recorded. The decisions live in
//! `recorder::extract`.

use anyhow::{Context, Result};
use clap::Args;
use recorder::extract::{ExtractOptions, ExtractReport};
use recorder::session::{self, BeginOptions};
use std::path::{Path, PathBuf};

#[derive(Args, Clone)]
pub struct ExtractArgs {
    /// The session to make (letters, digits, '.', '_', '-')
    name: String,
    /// The machine lives under DIR (a chroot, a mounted image)
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Compare with a pristine root of the same release (the image the machine was
    /// installed from, a fresh debootstrap) instead of the package defaults: the exact mode
    #[arg(long, value_name = "REF_ROOT")]
    against: Option<PathBuf>,
    /// Only what was done after DATE (UTC, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`): moves the
    /// install boundary
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Also compare this directory (a path in the machine; repeatable)
    #[arg(long, value_name = "DIR")]
    watch: Vec<PathBuf>,
    /// Compare only the --watch directories
    #[arg(long)]
    no_default_watch: bool,
    /// Ignore paths matching this gitignore-style pattern (repeatable)
    #[arg(long, value_name = "PATTERN")]
    ignore: Vec<String>,
    /// Rules file of ignore patterns, one per line
    #[arg(long, value_name = "PATH", env = "CFT_IGNORE_FILE", default_value = session::RULES_FILE)]
    ignore_file: PathBuf,
    /// What this session is for
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

pub fn extract(db: &Path, args: &ExtractArgs) -> Result<()> {
    let since_ns = args.since.as_deref().map(parse_since).transpose()?;
    let opts = ExtractOptions {
        session: BeginOptions {
            name: args.name.clone(),
            description: args.description.clone(),
            root: args.root.clone(),
            watch: args.watch.clone(),
            default_watch: !args.no_default_watch,
            ignore: args.ignore.clone(),
            rules_file: args.ignore_file.clone(),
            content_cap: session::DEFAULT_CONTENT_CAP,
        },
        against: args.against.clone(),
        since_ns,
    };
    let report = recorder::extract::extract(db, &opts, &crate::progress::Shown::new("extract"))?;
    print(&report);
    Ok(())
}

/// `YYYY-MM-DD[ HH:MM:SS]` in UTC, as nanoseconds since the epoch.
fn parse_since(s: &str) -> Result<i64> {
    let full = if s.trim().len() == 10 {
        format!("{} 00:00:00", s.trim())
    } else {
        s.trim().to_string()
    };
    let t = humantime::parse_rfc3339_weak(&full).with_context(|| {
        format!("--since {s}: expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (UTC)")
    })?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .with_context(|| format!("--since {s}: before 1970"))?;
    Ok(d.as_nanos() as i64)
}

fn print(r: &ExtractReport) {
    println!(
        "extracted session '{}' against the {}",
        r.finish.session.name, r.baseline
    );
    match &r.boundary {
        Some((t, how)) => println!(
            "  install boundary: {} ({how})",
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_nanos((*t).max(0) as u64)
            )
        ),
        None => println!("  install boundary: none found (no installer log, no package log)"),
    }
    if r.logs.is_empty() {
        println!("  package logs: none");
    } else {
        println!("  package logs: {}", r.logs.join(", "));
    }
    crate::output::print_finish(&r.finish, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_date_or_a_time() {
        assert_eq!(parse_since("1970-01-02").unwrap(), 86_400_000_000_000);
        assert_eq!(parse_since("1970-01-01 00:01:00").unwrap(), 60_000_000_000);
        let err = parse_since("yesterday").unwrap_err().to_string();
        assert!(err.contains("--since yesterday"), "{err}");
    }
}
