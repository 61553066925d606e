//! SysV init scripts as systemd sees them: `/etc/init.d/NAME[.sh]` becomes
//! `NAME.service` (systemd-sysv-generator), and `/etc/rcN.d/SnnNAME` links
//! say in which runlevels it starts.

use crate::error::Result;
use crate::probe::fs::{read_dir, resolve};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet};

pub const INIT_D: &[u8] = b"/etc/init.d";
const RUNLEVELS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "S"];
/// Names systemd-sysv-generator ignores as backups or editor droppings.
const BACKUP_SUFFIXES: &[&str] = &[
    "~",
    ".rpmnew",
    ".rpmsave",
    ".rpmorig",
    ".dpkg-old",
    ".dpkg-new",
    ".dpkg-tmp",
    ".dpkg-dist",
    ".dpkg-bak",
    ".dpkg-backup",
    ".dpkg-remove",
    ".ucf-new",
    ".ucf-old",
    ".ucf-dist",
    ".swp",
    ".bak",
    ".old",
    ".new",
];

/// Executable scripts in `/etc/init.d`: `NAME.service` -> script name
/// (systemd-sysv-generator drops a `.sh` suffix).
pub(super) fn init_scripts(target: &Target) -> Result<BTreeMap<String, String>> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let Some((dir, entries)) = read_dir(target, INIT_D)? else {
        return Ok(out);
    };
    for e in entries {
        let Ok(name) = std::str::from_utf8(&e.name) else {
            continue;
        };
        if name.starts_with('.') || BACKUP_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        let Some(path) = resolve(target, &crate::model::join(&dir, &e.name))? else {
            continue; // a dangling link
        };
        let md = std::fs::symlink_metadata(target.host_path(&path));
        if !md.is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0) {
            continue;
        }
        let stem = name.strip_suffix(".sh").unwrap_or(name);
        let unit = format!("{stem}.service");
        if super::unit_file::unit_name(unit.as_bytes()).is_some() {
            out.insert(unit, name.to_string());
        }
    }
    Ok(out)
}

/// `/etc/rcN.d/SnnNAME`: script name -> runlevels it starts in.
pub(super) fn start_links(target: &Target) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for level in RUNLEVELS {
        let dir = format!("/etc/rc{level}.d");
        let Some((_, entries)) = read_dir(target, dir.as_bytes())? else {
            continue;
        };
        for e in entries {
            let name = &e.name;
            if name.len() > 3 && name[0] == b'S' && name[1..3].iter().all(u8::is_ascii_digit) {
                if let Ok(script) = std::str::from_utf8(&name[3..]) {
                    out.entry(script.to_string())
                        .or_default()
                        .insert(level.to_string());
                }
            }
        }
    }
    Ok(out)
}
