//! `cft recipe verify`: is this bundle intact and is every part valid?
//! One [`Check`] per question, so a user sees everything that is wrong at
//! once: the archive is safe to read, every checksum matches with nothing
//! missing or extra, the descriptor follows the virt-image grammar
//! (`xmllint --relaxng`), the kickstart passes `ksvalidator`, the module's
//! `metadata.json` is sound and, if Puppet is installed, its manifests
//! parse. Validators are run by path with separate arguments, never through
//! a shell, on files extracted into a private temporary directory (0700,
//! removed afterwards), with `TMPDIR` inside it so their own temporary
//! copies go away with it.
//!
//! The bundle is untrusted: a kickstart with `%include` or `%ksappend`
//! would make `ksvalidator` read any file (and print it in its errors) or
//! fetch a URL, so it fails before any validator sees it, and the
//! validator reads a private copy of the text that was checked.

use super::archive::{self, Unpacked};
use super::{find_tool, ks, DESCRIPTOR, KICKSTART, MODULES, VIRT_IMAGE_RNG};
use crate::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Fail,
    /// Not run (an optional tool is missing); does not fail the bundle.
    Skipped,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `kickstart (partial.ks)`.
    pub name: String,
    pub outcome: Outcome,
    /// Why, or a short summary; tool output on failure (may span lines).
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub bundle: PathBuf,
    pub checks: Vec<Check>,
}

impl VerifyReport {
    pub fn failures(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .count()
    }

    pub fn passed(&self) -> bool {
        self.failures() == 0
    }
}

const XMLLINT_SETUP: &str = "install libxml2-utils (apt-get install libxml2-utils)";
const KSVALIDATOR_SETUP: &str =
    "install pykickstart (python3 -m venv /opt/pykickstart && /opt/pykickstart/bin/pip install pykickstart) and put its bin/ on PATH";
/// Lines of tool output kept in a failing check.
const MAX_OUTPUT_LINES: usize = 20;

/// The validators `verify` runs; `None` when not installed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tools {
    pub xmllint: Option<PathBuf>,
    pub ksvalidator: Option<PathBuf>,
    pub puppet: Option<PathBuf>,
}

impl Tools {
    /// Each tool as found on `PATH`.
    pub fn from_path() -> Tools {
        Tools {
            xmllint: find_tool("xmllint"),
            ksvalidator: find_tool("ksvalidator"),
            puppet: find_tool("puppet"),
        }
    }
}

/// Verify the bundle at `path` with the validators on `PATH`. `Err` only
/// when the checks cannot run at all (no temporary directory); everything
/// about the bundle is a check.
pub fn verify(bundle: &Path) -> Result<VerifyReport, Error> {
    verify_with(bundle, &Tools::from_path())
}

/// [`verify`] with the given validators.
pub fn verify_with(bundle: &Path, tools: &Tools) -> Result<VerifyReport, Error> {
    let tmp = tempfile::Builder::new()
        .prefix("cft-verify-")
        .tempdir()
        .map_err(|e| Error::io("creating a directory in", std::env::temp_dir(), e))?;
    let dest = tmp.path().join("bundle");
    std::fs::create_dir(&dest).map_err(|e| Error::io("creating", &dest, e))?;
    let mut r = VerifyReport {
        bundle: bundle.to_path_buf(),
        checks: Vec::new(),
    };
    let u = match archive::unpack(bundle, &dest) {
        Ok(u) => u,
        Err(e @ (Error::Archive { .. } | Error::Entry { .. } | Error::Io { .. })) => {
            r.checks.push(fail("archive", crate::error::one_line(&e)));
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    r.checks.push(ok(
        "archive",
        format!(
            "{} files in {}/, plain relative paths, no links or devices",
            u.files.len(),
            u.top
        ),
    ));
    let problems = archive::check_sums(&u);
    if problems.is_empty() {
        r.checks.push(ok(
            "checksums",
            format!(
                "{} files match SHA256SUMS, none missing or extra",
                u.files.len() - 1
            ),
        ));
    }
    for p in problems {
        r.checks.push(fail("checksums", p.message()));
    }
    let validators_tmp = tmp.path().join("tmp");
    private_dir(&validators_tmp)?;
    let run_in = Scratch {
        dir: tmp.path(),
        tmpdir: &validators_tmp,
    };
    r.checks.push(descriptor(&u, &run_in, tools));
    r.checks.push(kickstart(&u, &run_in, tools));
    let modules = module_dirs(&u);
    if modules.is_empty() {
        r.checks.push(fail(
            "module",
            format!("{MODULES}/: no module directory in the bundle"),
        ));
    }
    for m in modules {
        r.checks.push(metadata(&u, &m));
        r.checks.push(manifests(&u, &m, &run_in, tools));
        if let Some(c) = templates(&u, &m, &run_in, tools) {
            r.checks.push(c);
        }
    }
    Ok(r)
}

/// Where validators run: the private directory and their `TMPDIR` in it.
struct Scratch<'a> {
    dir: &'a Path,
    tmpdir: &'a Path,
}

impl Scratch<'_> {
    /// `tool` run by path, in the private directory, its temporary files
    /// in there too.
    #[allow(clippy::disallowed_methods)] // a validator by the path Tools found
    fn command(&self, tool: &Path) -> Command {
        let mut cmd = Command::new(tool);
        cmd.current_dir(self.dir)
            .env("TMPDIR", self.tmpdir)
            .env("TMP", self.tmpdir)
            .env("TEMP", self.tmpdir)
            .stdin(std::process::Stdio::null());
        cmd
    }
}

fn private_dir(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|e| Error::io("creating", path, e))
}

fn ok(name: &str, detail: impl Into<String>) -> Check {
    check(name, Outcome::Ok, detail)
}

fn fail(name: &str, detail: impl Into<String>) -> Check {
    check(name, Outcome::Fail, detail)
}

fn check(name: &str, outcome: Outcome, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_string(),
        outcome,
        detail: detail.into(),
    }
}

/// The module directories: `modules/NAME` for each NAME.
pub(crate) fn module_dirs(u: &Unpacked) -> Vec<String> {
    let prefix = format!("{MODULES}/");
    let mut names = std::collections::BTreeSet::new();
    for d in &u.dirs {
        if let Some(rest) = d.strip_prefix(&prefix) {
            names.insert(rest.split('/').next().unwrap_or(rest).to_string());
        }
    }
    for f in u.files.keys() {
        if let Some((n, _)) = f.strip_prefix(&prefix).and_then(|r| r.split_once('/')) {
            names.insert(n.to_string());
        }
    }
    names.into_iter().collect()
}

/// Run a validator; Ok(output) if it exits 0, Err(output) otherwise.
fn run(cmd: &mut Command, tool: &str) -> Result<String, String> {
    match cmd.output() {
        Err(e) => Err(format!("cannot run {tool}: {e}")),
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim_end)
                .filter(|l| !l.is_empty() && !l.starts_with("Checking kickstart file"))
                .collect();
            let mut short = lines
                .iter()
                .take(MAX_OUTPUT_LINES)
                .copied()
                .collect::<Vec<_>>()
                .join("\n");
            if lines.len() > MAX_OUTPUT_LINES {
                short.push_str(&format!(
                    "\n... ({} more lines)",
                    lines.len() - MAX_OUTPUT_LINES
                ));
            }
            if out.status.success() {
                Ok(short)
            } else {
                let status = out
                    .status
                    .code()
                    .map_or_else(|| "a signal".to_string(), |c| format!("exit {c}"));
                Err(format!("{tool} failed ({status}):\n{short}"))
            }
        }
    }
}

fn descriptor(u: &Unpacked, scratch: &Scratch, tools: &Tools) -> Check {
    let name = format!("descriptor ({DESCRIPTOR})");
    if !u.files.contains_key(DESCRIPTOR) {
        return fail(&name, format!("{DESCRIPTOR}: missing from the bundle"));
    }
    let Some(xmllint) = &tools.xmllint else {
        return fail(&name, format!("xmllint not found on PATH: {XMLLINT_SETUP}"));
    };
    let rng = scratch.dir.join("virt-image.rng");
    if let Err(e) = std::fs::write(&rng, VIRT_IMAGE_RNG) {
        return fail(&name, format!("{}: {e}", rng.display()));
    }
    let file = u.root.join(DESCRIPTOR);
    match run(
        scratch
            .command(xmllint)
            .arg("--noout")
            .arg("--relaxng")
            .arg(&rng)
            .arg(&file),
        "xmllint --relaxng virt-image.rng",
    ) {
        Ok(_) => ok(&name, "valid against the virt-image grammar"),
        Err(out) => fail(&name, out),
    }
}

fn kickstart(u: &Unpacked, scratch: &Scratch, tools: &Tools) -> Check {
    let name = format!("kickstart ({KICKSTART})");
    if !u.files.contains_key(KICKSTART) {
        return fail(&name, format!("{KICKSTART}: missing from the bundle"));
    }
    let text = match std::fs::read(u.root.join(KICKSTART)).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(_)) => return fail(&name, format!("{KICKSTART}: not UTF-8 text")),
        Err(e) => return fail(&name, format!("{KICKSTART}: {e}")),
    };
    // Before any validator: these read another file or a URL.
    if let Some((line, what)) = ks::find_include(&text) {
        return fail(
            &name,
            format!("{KICKSTART} line {line}: {what} is refused: it makes the validator read another file or URL (flatten the kickstart with ksflatten first)"),
        );
    }
    let Some(ksvalidator) = &tools.ksvalidator else {
        return fail(
            &name,
            format!("ksvalidator not found on PATH: {KSVALIDATOR_SETUP}"),
        );
    };
    // The validator reads the very text checked above, from a private copy.
    let copy = scratch.dir.join(KICKSTART);
    if let Err(e) = write_private(&copy, text.as_bytes()) {
        return fail(&name, format!("{}: {e}", copy.display()));
    }
    // ksvalidator's exit status is its error count; warnings count too.
    let outcome = run(scratch.command(ksvalidator).arg(&copy), "ksvalidator");
    // pykickstart leaves its preprocessed copy in TMPDIR: gone now.
    let _ = std::fs::remove_file(&copy);
    match outcome {
        Ok(_) => ok(&name, "ksvalidator: no errors (newest syntax)"),
        Err(out) => fail(
            &name,
            out.replace(&format!("{}/", scratch.dir.display()), ""),
        ),
    }
}

/// A new file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

/// `metadata.json`: JSON, the Forge's required fields, named after its
/// directory (Puppet finds a module by its directory name).
fn metadata(u: &Unpacked, module: &str) -> Check {
    let rel = format!("{MODULES}/{module}/metadata.json");
    let name = format!("metadata.json ({MODULES}/{module})");
    if !u.files.contains_key(&rel) {
        return fail(&name, format!("{rel}: missing from the bundle"));
    }
    let text = match std::fs::read(u.root.join(&rel)) {
        Ok(t) => t,
        Err(e) => return fail(&name, format!("{rel}: {e}")),
    };
    let meta: serde_json::Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => return fail(&name, format!("{rel}: not valid JSON: {e}")),
    };
    let missing: Vec<&str> = ["name", "version", "author", "license", "summary", "source"]
        .into_iter()
        .filter(|k| meta.get(*k).and_then(|v| v.as_str()).is_none())
        .chain(
            meta.get("dependencies")
                .and_then(|d| d.as_array())
                .is_none()
                .then_some("dependencies"),
        )
        .collect();
    if !missing.is_empty() {
        return fail(
            &name,
            format!("{rel}: missing or mistyped fields: {}", missing.join(", ")),
        );
    }
    let full = meta
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let short = full.rsplit(['-', '/']).next().unwrap_or_default();
    if short != module || full.len() == short.len() {
        return fail(
            &name,
            format!("{rel}: name '{full}' is not 'author-{module}' (the module's directory is {module})"),
        );
    }
    if let Err(e) = crate::validate_module_name(module) {
        return fail(&name, format!("{MODULES}/{module}: {e}"));
    }
    if !u
        .files
        .contains_key(&format!("{MODULES}/{module}/manifests/init.pp"))
    {
        return fail(
            &name,
            format!("{MODULES}/{module}/manifests/init.pp: missing (the main class)"),
        );
    }
    ok(
        &name,
        format!(
            "{full}, version {}",
            meta["version"].as_str().unwrap_or_default()
        ),
    )
}

/// `puppet epp validate` on the module's EPP templates (site parameters),
/// when it has any.
fn templates(u: &Unpacked, module: &str, scratch: &Scratch, tools: &Tools) -> Option<Check> {
    let prefix = format!("{MODULES}/{module}/templates/");
    let epps: Vec<PathBuf> = u
        .files
        .keys()
        .filter(|p| p.starts_with(&prefix) && p.ends_with(".epp"))
        .map(|p| u.root.join(p))
        .collect();
    if epps.is_empty() {
        return None;
    }
    let name = format!(
        "puppet epp validate ({MODULES}/{module}, {} templates)",
        epps.len()
    );
    let Some(puppet) = &tools.puppet else {
        return Some(check(
            &name,
            Outcome::Skipped,
            "skipped: puppet not found on PATH (install puppet-agent to check the templates)",
        ));
    };
    Some(
        match run(
            scratch
                .command(puppet)
                .args(["epp", "validate", "--color=false"])
                .args(&epps),
            "puppet epp validate",
        ) {
            Ok(_) => ok(&name, "every template parses"),
            Err(out) => fail(&name, out.replace(&format!("{}/", u.root.display()), "")),
        },
    )
}

fn manifests(u: &Unpacked, module: &str, scratch: &Scratch, tools: &Tools) -> Check {
    let prefix = format!("{MODULES}/{module}/manifests/");
    let pps: Vec<PathBuf> = u
        .files
        .keys()
        .filter(|p| p.starts_with(&prefix) && p.ends_with(".pp"))
        .map(|p| u.root.join(p))
        .collect();
    let name = format!(
        "puppet parser validate ({MODULES}/{module}, {} manifests)",
        pps.len()
    );
    if pps.is_empty() {
        return fail(&name, format!("{prefix}: no manifests"));
    }
    let Some(puppet) = &tools.puppet else {
        return check(
            &name,
            Outcome::Skipped,
            "skipped: puppet not found on PATH (install puppet-agent to check the manifests)",
        );
    };
    match run(
        scratch
            .command(puppet)
            .args(["parser", "validate", "--color=false"])
            .args(&pps),
        "puppet parser validate",
    ) {
        Ok(_) => ok(&name, "every manifest parses"),
        Err(out) => fail(&name, out.replace(&format!("{}/", u.root.display()), "")),
    }
}
