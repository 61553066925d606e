//! `cft recipe instantiate`: the recipe's partial kickstart plus a site's
//! kickstart make one complete kickstart. The recipe owns the machine
//! (storage, boot loader, the packages and scripts that apply its module);
//! the site owns its surroundings (language, keyboard, time zone, root
//! password, network, installation source). The rules:
//!
//! - Storage and boot loader commands in the site file are refused: the
//!   recipe's layout matches its descriptor's disks.
//! - A command that takes one value (`timezone`, `lang`, one installation
//!   source, one of reboot/poweroff/halt/shutdown, ...) set by both files is
//!   refused, naming both lines, unless both lines say exactly the same.
//!   Commands that may repeat (`network`, `repo`, `user`, ...) are kept
//!   from both.
//! - `%packages`: one merged list, the recipe's entries first; a package
//!   one side includes and the other excludes is refused, as are two
//!   different environments (`@^...`) or a header option with two values.
//! - `%pre`, `%post` and the other scripts: the site's first, then the
//!   recipe's. The recipe's `%post` copies and applies its Puppet module; it
//!   runs last so that it works on the system the site's scripts prepared
//!   (proxies, certificates, mirrors) and its configuration is what the
//!   installed machine ends with, as recorded.
//! - The result must be complete: `lang`, `keyboard`, `timezone` and
//!   `rootpw` (the site's), storage, `bootloader` and `%packages` (the
//!   recipe's), or it is refused naming what is missing.

use super::apply::{self, Apply};
use super::ks::{self, Command, Item, Kickstart, Line, Section};
use super::{archive, is_gzip, KICKSTART};
use crate::Error;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Commands that lay out storage or install the boot loader.
const STORAGE: [&str; 19] = [
    "autopart",
    "bootloader",
    "btrfs",
    "clearpart",
    "dmraid",
    "ignoredisk",
    "logvol",
    "mount",
    "multipath",
    "nvdimm",
    "part",
    "raid",
    "reqpart",
    "snapshot",
    "stratisfs",
    "stratispool",
    "volgroup",
    "zerombr",
    "zipl",
];

/// Commands that lay out partitions or filesystems (a complete file needs one).
const LAYOUT: [&str; 6] = ["autopart", "part", "logvol", "raid", "btrfs", "mount"];

/// Commands pykickstart lets repeat (its list-valued commands).
const MULTI: [&str; 25] = [
    "btrfs",
    "device",
    "dmraid",
    "driverdisk",
    "fcoe",
    "group",
    "iscsi",
    "logvol",
    "module",
    "mount",
    "multipath",
    "network",
    "nvdimm",
    "part",
    "raid",
    "repo",
    "snapshot",
    "sshkey",
    "sshpw",
    "stratisfs",
    "stratispool",
    "timesource",
    "user",
    "volgroup",
    "zfcp",
];

/// Commands that exclude each other: together they are one directive.
const GROUPS: [(&str, &[&str]); 3] = [
    (
        "installation source",
        &[
            "cdrom",
            "harddrive",
            "nfs",
            "url",
            "liveimg",
            "hmc",
            "ostreesetup",
            "ostreecontainer",
            "bootc",
        ],
    ),
    (
        "reboot/poweroff/halt/shutdown",
        &["reboot", "poweroff", "halt", "shutdown"],
    ),
    ("text/graphical/cmdline", &["text", "graphical", "cmdline"]),
];

/// What the site must provide for an unattended installation.
const SITE_REQUIRED: [&str; 4] = ["lang", "keyboard", "timezone", "rootpw"];

/// Sections that may appear once per file.
const SINGLE_SECTIONS: [&str; 2] = ["%packages", "%anaconda"];

/// Scripts and the rest, in output order after `%packages`.
const SECTION_ORDER: [&str; 8] = [
    "%pre",
    "%pre-install",
    "%post",
    "%onerror",
    "%traceback",
    "%certificate",
    "%addon",
    "%anaconda",
];

fn canonical(name: &str) -> &str {
    match name {
        "partition" => "part",
        "authconfig" => "auth",
        n => n,
    }
}

/// The directive a single-valued command sets; `None` if it may repeat.
fn single_key(c: &Command) -> Option<String> {
    let name = canonical(c.name());
    if let Some((group, _)) = GROUPS.iter().find(|(_, m)| m.contains(&name)) {
        return Some((*group).to_string());
    }
    (!MULTI.contains(&name)).then(|| name.to_string())
}

/// How a storage command is named in messages and matched against the
/// recipe's: `part /srv`, `bootloader`.
fn storage_key(c: &Command) -> String {
    let name = canonical(c.name());
    match c.words.get(1) {
        Some(target) if MULTI.contains(&name) => format!("{name} {target}"),
        _ => name.to_string(),
    }
}

/// `file line N: \`text\``, how conflicts name a line.
fn at(ks: &Kickstart, line: &Line) -> String {
    format!("{} line {}: `{}`", ks.file, line.number, line.text.trim())
}

fn conflict(directive: &str, r: (&Kickstart, &Line), s: (&Kickstart, &Line), hint: &str) -> Error {
    Error::Conflict {
        directive: directive.to_string(),
        recipe: at(r.0, r.1),
        site: at(s.0, s.1),
        advice: hint.to_string(),
    }
}

/// Single-valued commands by directive; the same directive twice with
/// different values in one file is refused.
fn singles(ks: &Kickstart) -> Result<BTreeMap<String, &Command>, Error> {
    let mut out: BTreeMap<String, &Command> = BTreeMap::new();
    for c in ks.commands() {
        let Some(key) = single_key(c) else { continue };
        if let Some(prev) = out.get(&key) {
            if prev.words != c.words {
                return Err(Error::KsSyntax {
                    file: ks.file.clone(),
                    line: c.line.number,
                    reason: format!(
                        "`{key}` is already set on line {} (`{}`); keep one",
                        prev.line.number,
                        prev.line.text.trim()
                    ),
                });
            }
        }
        out.insert(key, c);
    }
    Ok(out)
}

fn sections_named<'a>(ks: &'a Kickstart, name: &str) -> Vec<&'a Section> {
    ks.sections().filter(|s| s.name() == name).collect()
}

/// Merge a recipe's partial kickstart with a site's (see the module doc),
/// applying the module masterless. `recipe_file` and `site_file` name the
/// inputs in messages.
pub fn merge(
    recipe: &str,
    recipe_file: &str,
    site: &str,
    site_file: &str,
) -> Result<String, Error> {
    merge_with(recipe, recipe_file, site, site_file, &Apply::Masterless)
}

/// [`merge`], with the recipe's scripts made for `apply` (`recipe::apply`).
pub fn merge_with(
    recipe: &str,
    recipe_file: &str,
    site: &str,
    site_file: &str,
    apply: &Apply,
) -> Result<String, Error> {
    let mut r = ks::parse(recipe_file, recipe)?;
    let mut s = ks::parse(site_file, site)?;
    apply::prepare(&mut r, &mut s, apply)?;
    let (r, s) = (r, s);
    for ks in [&r, &s] {
        for name in SINGLE_SECTIONS {
            if let [_, second, ..] = sections_named(ks, name).as_slice() {
                return Err(Error::KsSyntax {
                    file: ks.file.clone(),
                    line: second.header.number,
                    reason: format!("a second {name} section; merge them into one"),
                });
            }
        }
    }
    let r_single = singles(&r)?;
    let s_single = singles(&s)?;

    for c in s.commands() {
        if !STORAGE.contains(&canonical(c.name())) {
            continue;
        }
        let key = storage_key(c);
        if let Some(rc) = r.commands().find(|rc| storage_key(rc) == key) {
            return Err(conflict(
                &key,
                (&r, &rc.line),
                (&s, &c.line),
                "the recipe controls the storage and boot loader: remove it from the site kickstart",
            ));
        }
        return Err(Error::SiteStorage {
            directive: key,
            site: at(&s, &c.line),
        });
    }

    // Recipe lines the site repeats word for word are written once.
    let mut repeated: BTreeSet<usize> = BTreeSet::new();
    for (key, sc) in &s_single {
        if let Some(rc) = r_single.get(key) {
            if rc.words == sc.words {
                repeated.insert(rc.line.number);
            } else {
                return Err(conflict(
                    key,
                    (&r, &rc.line),
                    (&s, &sc.line),
                    "keep it in one of the two files",
                ));
            }
        }
    }
    for name in ["%anaconda", "%addon"] {
        for ss in sections_named(&s, name) {
            let same = |rs: &&Section| name == "%anaconda" || rs.words.get(1) == ss.words.get(1);
            if let Some(rs) = sections_named(&r, name).into_iter().find(same) {
                let what = ss.words[..ss.words.len().min(2)].join(" ");
                return Err(conflict(
                    &what,
                    (&r, &rs.header),
                    (&s, &ss.header),
                    "keep the section in one of the two files",
                ));
            }
        }
    }
    let packages = merge_packages(&r, &s)?;

    let has = |k: &str| r_single.contains_key(k) || s_single.contains_key(k);
    let missing: Vec<&str> = SITE_REQUIRED.into_iter().filter(|k| !has(k)).collect();
    if !missing.is_empty() {
        return Err(Error::Incomplete {
            missing: missing.join(", "),
            advice: format!("the site kickstart {site_file} must set them"),
        });
    }
    let mut missing = Vec::new();
    if !r.commands().any(|c| LAYOUT.contains(&canonical(c.name()))) {
        missing.push("storage layout (part, autopart, ...)");
    }
    if !r_single.contains_key("bootloader") {
        missing.push("bootloader");
    }
    if packages.is_none() {
        missing.push("%packages");
    }
    if !missing.is_empty() {
        return Err(Error::Incomplete {
            missing: missing.join(", "),
            advice: format!("the recipe's partial kickstart {recipe_file} must provide them"),
        });
    }

    let mut out = String::new();
    out.push_str(&header(recipe_file, site_file, apply));
    out.push_str(&format!("\n# ---- site commands ({})\n", label(site_file)));
    for item in &s.items {
        if !matches!(item, Item::Section(_)) {
            ks::render_item(item, &mut out);
        }
    }
    out.push_str(&format!(
        "\n# ---- recipe commands ({})\n",
        label(recipe_file)
    ));
    for item in &r.items {
        match item {
            Item::Section(_) => {}
            Item::Command(c) if repeated.contains(&c.line.number) => {}
            _ => ks::render_item(item, &mut out),
        }
    }
    if let Some(p) = packages {
        blank_line(&mut out);
        out.push_str(&p);
    }
    for name in SECTION_ORDER {
        for sec in sections_named(&s, name)
            .into_iter()
            .chain(sections_named(&r, name))
        {
            blank_line(&mut out);
            ks::render_item(&Item::Section(trimmed(sec)), &mut out);
        }
    }
    Ok(out)
}

/// The section without blank lines above its comments: blocks are
/// separated by [`blank_line`].
fn trimmed(sec: &Section) -> Section {
    let mut s = sec.clone();
    let blanks = s
        .leading
        .iter()
        .take_while(|l| l.text.trim().is_empty())
        .count();
    s.leading.drain(..blanks);
    s
}

/// Separate blocks by one blank line, not two.
fn blank_line(out: &mut String) {
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// A file name fit for a comment line.
fn label(file: &str) -> String {
    file.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn header(recipe_file: &str, site_file: &str, apply: &Apply) -> String {
    let how = match apply {
        Apply::Masterless => "whose %post installs and applies its Puppet module.".to_string(),
        Apply::Server(s) => format!(
            "whose %post hands the machine to the Puppet server\n# {}:{}{}.",
            s.host,
            s.port,
            s.environment
                .as_ref()
                .map_or(String::new(), |e| format!(" (environment {e})"))
        ),
    };
    format!(
        "# Complete kickstart made by `cft recipe instantiate` from the site's\n\
         # {}\n\
         # and the recipe's\n\
         # {}\n\
         # The site's commands come first, then the recipe's; %packages is\n\
         # both lists merged; the site's %pre and %post scripts run before the\n\
         # recipe's, {how}\n",
        label(site_file),
        label(recipe_file)
    )
}

/// A `%packages` entry without its comment; `None` for comment lines.
fn entry(l: &Line) -> Option<&str> {
    let e = l.text.split('#').next().unwrap_or("").trim();
    (!e.is_empty()).then_some(e)
}

/// Header options as (name, value): `--a=b`, `--a b` and `--a`.
fn options(words: &[String]) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for w in words.iter().skip(1) {
        match w.split_once('=') {
            Some((k, v)) if w.starts_with("--") => out.push((k.to_string(), Some(v.to_string()))),
            _ if w.starts_with("--") => out.push((w.clone(), None)),
            _ => match out.last_mut() {
                Some((_, v @ None)) => *v = Some(w.clone()),
                _ => out.push((w.clone(), None)),
            },
        }
    }
    out
}

/// The merged `%packages` section, or the one side's, or `None`.
fn merge_packages(r: &Kickstart, s: &Kickstart) -> Result<Option<String>, Error> {
    let rp = sections_named(r, "%packages").into_iter().next();
    let sp = sections_named(s, "%packages").into_iter().next();
    let render = |sec: &Section| {
        let mut t = String::new();
        ks::render_item(&Item::Section(trimmed(sec)), &mut t);
        t
    };
    let (rp, sp) = match (rp, sp) {
        (None, None) => return Ok(None),
        (Some(one), None) | (None, Some(one)) => return Ok(Some(render(one))),
        (Some(rp), Some(sp)) => (rp, sp),
    };
    let mut opts = options(&rp.words);
    for (k, v) in options(&sp.words) {
        match opts.iter().find(|(rk, _)| *rk == k) {
            Some((_, rv)) if *rv != v => {
                return Err(conflict(
                    &format!("%packages {k}"),
                    (r, &rp.header),
                    (s, &sp.header),
                    "use one value in one of the two files",
                ))
            }
            Some(_) => {}
            None => opts.push((k, v)),
        }
    }
    let recipe_entries: BTreeMap<&str, &Line> = rp
        .body
        .iter()
        .filter_map(|l| entry(l).map(|e| (e, l)))
        .collect();
    let mut body: Vec<&Line> = rp.body.iter().collect();
    for l in &sp.body {
        let Some(e) = entry(l) else {
            body.push(l);
            continue;
        };
        if recipe_entries.contains_key(e) {
            continue;
        }
        let (opposite, hint) = match e.strip_prefix('-') {
            Some(name) => (
                name.to_string(),
                "the recipe installs it: remove the exclusion from the site's %packages",
            ),
            None => (
                format!("-{e}"),
                "the recipe excludes it: remove it from the site's %packages",
            ),
        };
        if let Some(rl) = recipe_entries.get(opposite.as_str()) {
            return Err(conflict(
                &format!("%packages {}", e.trim_start_matches('-')),
                (r, rl),
                (s, l),
                hint,
            ));
        }
        if e.starts_with("@^") {
            if let Some((_, rl)) = recipe_entries.iter().find(|(k, _)| k.starts_with("@^")) {
                return Err(conflict(
                    "%packages environment",
                    (r, rl),
                    (s, l),
                    "an installation has one environment: keep one",
                ));
            }
        }
        body.push(l);
    }
    let mut out = String::new();
    for l in &trimmed(rp).leading {
        out.push_str(&l.text);
        out.push('\n');
    }
    out.push_str("%packages");
    for (k, v) in &opts {
        out.push(' ');
        out.push_str(k);
        if let Some(v) = v {
            out.push('=');
            out.push_str(v);
        }
    }
    out.push('\n');
    for l in body {
        out.push_str(&l.text);
        out.push('\n');
    }
    out.push_str("%end\n");
    Ok(Some(out))
}

/// Merge the partial kickstart of `recipe` (a bundle, checksums checked,
/// or a plain partial `.ks`) with the site kickstart `site`.
pub fn instantiate(recipe: &Path, site: &Path, apply: &Apply) -> Result<String, Error> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| Error::io("reading", p, e));
    let (text, label) = if is_gzip(recipe)? {
        let tmp = tempfile::Builder::new()
            .prefix("cft-instantiate-")
            .tempdir()
            .map_err(|e| Error::io("creating a directory in", std::env::temp_dir(), e))?;
        let u = archive::unpack_checked(recipe, tmp.path())?;
        if !u.files.contains_key(KICKSTART) {
            return Err(Error::Layout {
                bundle: recipe.to_path_buf(),
                reason: format!("no {KICKSTART} in the bundle"),
            });
        }
        let text = read(&u.root.join(KICKSTART))?;
        (text, format!("{}:{}/{KICKSTART}", recipe.display(), u.top))
    } else {
        (read(recipe)?, recipe.display().to_string())
    };
    let site_text = read(site)?;
    merge_with(
        &text,
        &label,
        &site_text,
        &site.display().to_string(),
        apply,
    )
}

/// Does this kickstart hold a password, crypted or not (`rootpw` other
/// than `--lock`, `sshpw`, a `user` or `bootloader` with `--password`, a
/// class parameter's value)? A file that does not parse is assumed to.
pub fn holds_password(text: &str) -> bool {
    // Mandatory parameter values (a withheld password hash...) in the
    // masterless script.
    if text.contains(apply::HEREDOC) {
        return true;
    }
    let Ok(k) = ks::parse("", text) else {
        return true;
    };
    let has_password = |c: &Command| c.words.iter().any(|w| w.starts_with("--password"));
    let found = k.commands().any(|c| match c.name() {
        "rootpw" => c.words.iter().skip(1).any(|w| w != "--lock"),
        "sshpw" => true,
        "user" | "bootloader" => has_password(c),
        _ => false,
    });
    found
}

#[cfg(test)]
#[path = "instantiate_tests.rs"]
mod tests;
