//! What the admin tools' arguments mean: which packages an install or a
//! removal names, which services are started or stopped, which accounts
//! are made, and which commands only look around.

use super::lexer::basename;
use crate::model::Running;

/// A package-manager operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageOp {
    Install,
    Remove,
    Purge,
}

/// The package operation a command asks for, and the package names it
/// gives (without `=version`, `/release` or `:arch`; files such as
/// `./x.deb` are not names).
pub fn package_op(words: &[String]) -> Option<(PackageOp, Vec<String>)> {
    let tool = words.first()?.as_str();
    let (valued, rest): (&[&str], &[String]) = match tool {
        "apt-get" | "apt" | "aptitude" => (
            &[
                "-o",
                "-t",
                "-c",
                "--option",
                "--target-release",
                "--config-file",
            ],
            &words[1..],
        ),
        "dnf" | "yum" => (
            &[
                "--setopt",
                "--repo",
                "--enablerepo",
                "--disablerepo",
                "-x",
                "--exclude",
                "--releasever",
                "--installroot",
            ],
            &words[1..],
        ),
        "dpkg" | "rpm" => return low_level_op(tool, &words[1..]),
        _ => return None,
    };
    let mut op = None;
    let mut purge_flag = false;
    let mut names = Vec::new();
    let mut skip = false;
    for w in rest {
        if skip {
            skip = false;
            continue;
        }
        if w.starts_with('-') {
            if w == "--purge" {
                purge_flag = true;
            }
            skip = valued.contains(&w.as_str());
            continue;
        }
        if op.is_none() {
            op = Some(match w.as_str() {
                "install" | "reinstall" => PackageOp::Install,
                "remove" | "erase" | "autoremove" => PackageOp::Remove,
                "purge" => PackageOp::Purge,
                _ => return None,
            });
            continue;
        }
        if let Some(n) = package_name(w) {
            names.push(n);
        }
    }
    let op = match op? {
        PackageOp::Remove if purge_flag => PackageOp::Purge,
        op => op,
    };
    Some((op, names))
}

fn low_level_op(tool: &str, args: &[String]) -> Option<(PackageOp, Vec<String>)> {
    let mut op = None;
    let mut names = Vec::new();
    for w in args {
        let this = match (tool, w.as_str()) {
            ("dpkg", "-r" | "--remove") | ("rpm", "-e" | "--erase") => Some(PackageOp::Remove),
            ("dpkg", "-P" | "--purge") => Some(PackageOp::Purge),
            ("dpkg", "-i" | "--install") | ("rpm", "-i" | "-U" | "--install" | "--upgrade") => {
                Some(PackageOp::Install)
            }
            _ => None,
        };
        if this.is_some() {
            op = op.or(this);
        } else if !w.starts_with('-') && op.is_some() {
            if let Some(n) = package_name(w) {
                names.push(n);
            }
        }
    }
    Some((op?, names))
}

fn package_name(w: &str) -> Option<String> {
    if w.contains('/') && (w.ends_with(".deb") || w.ends_with(".rpm") || w.starts_with('.')) {
        return None;
    }
    if w.ends_with(".deb") || w.ends_with(".rpm") || w.starts_with('/') {
        return None;
    }
    let name = w.split(['=', '/', ':']).next().unwrap_or(w);
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-._".contains(&b));
    valid.then(|| name.to_string())
}

/// The running state a command asks for, and the units it names (with
/// `.service` added to bare names).
pub fn service_op(words: &[String]) -> Option<(Running, Vec<String>)> {
    let tool = words.first()?.as_str();
    match tool {
        "systemctl" => {
            let valued = [
                "-H",
                "-M",
                "-t",
                "-p",
                "-s",
                "-n",
                "-o",
                "--host",
                "--machine",
                "--type",
                "--property",
                "--signal",
                "--state",
                "--root",
                "--lines",
                "--output",
            ];
            let mut verb = None;
            let mut now = false;
            let mut units = Vec::new();
            let mut skip = false;
            for w in &words[1..] {
                if skip {
                    skip = false;
                    continue;
                }
                if w.starts_with('-') {
                    now |= w == "--now";
                    skip = valued.contains(&w.as_str());
                    continue;
                }
                if verb.is_none() {
                    verb = Some(w.as_str());
                } else {
                    units.push(unit_name(w));
                }
            }
            let state = match verb? {
                "start" | "restart" | "reload-or-restart" | "try-restart" | "reload" => {
                    Running::Running
                }
                "stop" | "kill" => Running::Stopped,
                "enable" | "reenable" if now => Running::Running,
                "disable" | "mask" if now => Running::Stopped,
                _ => return None,
            };
            (!units.is_empty()).then_some((state, units))
        }
        "service" => {
            let rest: Vec<&String> = words[1..].iter().filter(|w| !w.starts_with('-')).collect();
            let (name, verb) = (rest.first()?, rest.get(1)?);
            let state = match verb.as_str() {
                "start" | "restart" | "reload" | "force-reload" => Running::Running,
                "stop" => Running::Stopped,
                _ => return None,
            };
            Some((state, vec![unit_name(name)]))
        }
        _ => None,
    }
}

/// Units a command names for any reason (enable, disable, start…).
pub fn service_names(words: &[String]) -> Vec<String> {
    match words.first().map(String::as_str) {
        Some("systemctl") => {
            let operands: Vec<&String> =
                words[1..].iter().filter(|w| !w.starts_with('-')).collect();
            operands.iter().skip(1).map(|w| unit_name(w)).collect()
        }
        Some("service" | "update-rc.d" | "chkconfig") => words[1..]
            .iter()
            .find(|w| !w.starts_with('-'))
            .map(|w| vec![unit_name(w)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn unit_name(w: &str) -> String {
    let base = basename(w);
    if base.contains('.') {
        base.to_string()
    } else {
        format!("{base}.service")
    }
}

/// Which accounts a command names: (is a group, name).
pub fn account_names(words: &[String]) -> Vec<(bool, String)> {
    let group = match words.first().map(String::as_str) {
        Some("useradd" | "usermod" | "userdel" | "adduser" | "deluser" | "passwd") => false,
        Some("groupadd" | "groupmod" | "groupdel" | "gpasswd" | "addgroup" | "delgroup") => true,
        _ => return Vec::new(),
    };
    // The account is the last operand of every one of these tools.
    match words[1..].last() {
        Some(last) if !last.starts_with('-') => vec![(group, last.clone())],
        _ => Vec::new(),
    }
}
