//! `cft diff`: two sessions, or one session and its baseline, compared as
//! resources. The comparison is `manifest_gen::diff`; this is its options,
//! its colour and its exit codes, which follow diff(1): 0 the same, 1
//! different, 2 trouble.

use crate::advice;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use manifest_gen::diff::{self, text, DiffOptions, Kind, ATTRIBUTES as ATTRS};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args, Clone)]
#[command(after_help = "\
Exit codes (as diff(1)): 0 no differences, 1 differences, 2 trouble.

Examples:
  cft diff web-v1 web-v2                 every resource that differs, with content diffs
  cft diff web-v1 web-v2 --stat          a line per resource and a summary
  cft diff web-v1 web-v2 --kind package  packages only
  cft diff web-v1 web-v2 -- /etc/nginx   files at or below /etc/nginx only
  cft diff web                           the session against its own baseline, as git show
  cft diff a b --json | jq '.entries[]'  the cft-diff/1 JSON form")]
pub struct DiffArgs {
    /// The first session (or the only one: then it is compared with its own baseline)
    a: String,
    /// The second session
    b: Option<String>,
    /// Only files at or below these paths (other kinds are left out)
    #[arg(last = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// A line per resource and a summary, as `git diff --stat`
    #[arg(long, conflicts_with_all = ["name_status", "json"])]
    stat: bool,
    /// A status letter (A only in b, D only in a, M both) per resource
    #[arg(long, conflicts_with = "json")]
    name_status: bool,
    /// The cft-diff/1 JSON form (docs/DIFF-JSON.md)
    #[arg(long)]
    json: bool,
    /// Only these kinds: file, package, account (users and groups), user, group, service,
    /// alternative, diversion, command (repeatable or comma-separated)
    #[arg(long, value_name = "KIND", value_delimiter = ',')]
    kind: Vec<String>,
    /// Attributes not compared, as octocatalog-diff's --ignore (e.g. owner,mode)
    #[arg(long, value_name = "ATTR", value_delimiter = ',')]
    ignore_attr: Vec<String>,
    /// Lines of unified diff shown per file at most
    #[arg(long, value_name = "N", default_value_t = 200)]
    max_lines: usize,
    /// Show secret contents and password hashes instead of "secret content differs"
    #[arg(long)]
    include_secrets: bool,
    /// Colour: auto (on a terminal, unless NO_COLOR is set), always or never
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// Run it; errors print as everywhere else but exit 2, as diff(1).
pub fn run(db: &Path, args: &DiffArgs) -> ExitCode {
    match compare(db, args) {
        Ok(same) => ExitCode::from(if same { 0 } else { 1 }),
        Err(e) => {
            let (message, hints) = advice::explain(&e);
            eprintln!("cft: error: {message}");
            for h in hints {
                eprintln!("cft: hint: {h}");
            }
            ExitCode::from(2)
        }
    }
}

fn options(args: &DiffArgs) -> Result<DiffOptions> {
    let mut kinds = Vec::new();
    for k in &args.kind {
        match Kind::parse_filter(k.trim()) {
            Some(ks) => kinds.extend(ks),
            None => bail!(
                "--kind {k}: not a resource kind (file, package, account, user, group, service, \
                 alternative, diversion, command)"
            ),
        }
    }
    for a in &args.ignore_attr {
        if !ATTRS.contains(&a.as_str()) {
            bail!(
                "--ignore-attr {a}: no resource has that attribute (known: {})",
                ATTRS.join(", ")
            );
        }
    }
    let mut paths = Vec::new();
    for p in &args.paths {
        use std::os::unix::ffi::OsStrExt;
        let bytes = p.as_os_str().as_bytes();
        if !bytes.starts_with(b"/") {
            bail!(
                "-- {}: a path in the recorded machine is absolute",
                p.display()
            );
        }
        let trimmed = bytes
            .strip_suffix(b"/")
            .filter(|t| !t.is_empty())
            .unwrap_or(bytes);
        paths.push(trimmed.to_vec());
    }
    Ok(DiffOptions {
        kinds,
        paths,
        ignore_attrs: args.ignore_attr.clone(),
        max_lines: args.max_lines,
        include_secrets: args.include_secrets,
    })
}

/// `Ok(true)` when nothing differs.
fn compare(db: &Path, args: &DiffArgs) -> Result<bool> {
    let opts = options(args)?;
    let store = recorder::Store::open_existing(db)?;
    let a = crate::load::finished(&store, &args.a)?;
    let d = match &args.b {
        Some(b) => {
            let b = crate::load::finished(&store, b)?;
            diff::diff(&a, &store, &b, &store, &opts)?
        }
        None => diff::baseline(&a, &store, &opts)?,
    };
    let out = if args.json {
        let mut s = serde_json::to_string_pretty(&d)?;
        s.push('\n');
        s
    } else {
        let form = if args.stat {
            text::Form::Stat
        } else if args.name_status {
            text::Form::NameStatus
        } else {
            text::Form::Full
        };
        text::render(&d, form, text::Paint(paint(args.color)))
    };
    crate::output::write_stdout(out.as_bytes())?;
    Ok(d.is_empty())
}

fn paint(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => crate::output::colour(std::io::stdout().is_terminal()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        d: DiffArgs,
    }

    fn parse(argv: &[&str]) -> Result<DiffOptions> {
        let t = T::try_parse_from(std::iter::once("t").chain(argv.iter().copied()))?;
        options(&t.d)
    }

    #[test]
    fn options_from_arguments() {
        let o = parse(&[
            "a",
            "b",
            "--kind",
            "account,package",
            "--ignore-attr",
            "owner,mode",
        ])
        .unwrap();
        assert_eq!(o.kinds, vec![Kind::User, Kind::Group, Kind::Package]);
        assert_eq!(o.ignore_attrs, vec!["owner", "mode"]);
        let o = parse(&["a", "b", "--", "/etc/nginx/", "/srv"]).unwrap();
        assert_eq!(o.paths, vec![b"/etc/nginx".to_vec(), b"/srv".to_vec()]);
    }

    #[test]
    fn bad_options_name_the_argument() {
        let e = parse(&["a", "b", "--kind", "flie"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--kind flie"), "{e}");
        let e = parse(&["a", "--ignore-attr", "colour"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--ignore-attr colour"), "{e}");
        let e = parse(&["a", "b", "--", "etc"]).unwrap_err().to_string();
        assert!(e.contains("-- etc"), "{e}");
        assert!(parse(&["a", "b", "--stat", "--json"]).is_err());
    }
}
