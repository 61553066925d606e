//! The partial kickstart of an appliance: only what the builder must
//! control (the descriptor's disk layout, repositories, the packages needed
//! to provision, the masterless Puppet run of the recipe's module). Site
//! decisions (lang, keyboard, timezone, rootpw, network) stay out: the site
//! appends this file to its own kickstart.
//!
//! The layout comes from [`crate::descriptor::appliance`], so the kickstart
//! and the descriptor cannot disagree. Values reach the text only after
//! validation (mount points without blanks or quotes, a checked module
//! name), because kickstart lines are shell-like words.

use crate::descriptor::{appliance, dev_name, Spec};
use crate::Error;
use recorder::model::ChangeSet;
use recorder::model::PackageFamily;
use serde::Serialize;

const TEMPLATE: &str = include_str!("../templates/kickstart.ks.j2");

/// Room kept free on a disk for the partition table and alignment.
const TABLE_RESERVE_MB: u64 = 4;
/// Room kept free on the boot disk for what `reqpart` adds (biosboot or an
/// EFI system partition).
const BOOT_RESERVE_MB: u64 = 1024;

#[derive(Serialize)]
struct View {
    name: String,
    os: String,
    module: String,
    drives: String,
    boot_drive: String,
    parts: Vec<Part>,
    repos: Vec<String>,
    repo_notes: Vec<String>,
    puppet_package: &'static str,
    required: Vec<Required>,
}

#[derive(Serialize)]
struct Required {
    name: String,
    puppet_type: String,
}

/// The comment line naming a mandatory parameter: `# cft-requires NAME TYPE`.
pub const REQUIRES: &str = "# cft-requires ";

/// The comment line tagging one of the recipe's own `%post` scripts:
/// `# cft-step: copy-module` or `# cft-step: apply-module`.
pub const STEP: &str = "# cft-step: ";

/// The mandatory class parameters a partial kickstart lists: name and
/// Puppet type.
pub fn required_params(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix(REQUIRES))
        .filter_map(|rest| {
            let mut w = rest.split_whitespace();
            let name = w.next()?.to_string();
            Some((name, w.next().unwrap_or("String").to_string()))
        })
        .collect()
}

#[derive(Serialize)]
struct Part {
    mount: String,
    fstype: Option<String>,
    size: u64,
    disk: String,
}

/// Kickstart's name for a recorded filesystem type (`None` for swap).
fn ks_fstype(mount: &str, fstype: &str) -> Option<String> {
    if mount == "swap" {
        return None;
    }
    Some(match fstype {
        "vfat" if mount == "/boot/efi" => "efi".to_string(),
        "ext2" | "ext3" | "ext4" | "xfs" | "btrfs" | "vfat" => fstype.to_string(),
        // "auto" and the like: the installer's default.
        _ => "ext4".to_string(),
    })
}

/// The partial kickstart for a change set and the recipe's module, whose
/// mandatory class parameters are `required` (listed as
/// [`REQUIRES`] lines, so `recipe instantiate` can ask for them).
pub fn partial(
    cs: &ChangeSet,
    spec: &Spec,
    module_name: &str,
    required: &[crate::Parameter],
) -> Result<String, Error> {
    crate::validate_module_name(module_name)?;
    let plain = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'[' | b']' | b','))
    };
    let required = required
        .iter()
        .map(|p| {
            // Names are Puppet identifiers and types cft's own; anything
            // else would not survive the comment line.
            if plain(&p.name) && plain(&p.puppet_type.replace(' ', "")) {
                Ok(Required {
                    name: p.name.clone(),
                    puppet_type: p.puppet_type.replace(' ', ""),
                })
            } else {
                Err(Error::Spec {
                    key: "parameters".into(),
                    reason: format!("parameter '{}' cannot be listed in a kickstart", p.name),
                })
            }
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let a = appliance(cs, spec)?;
    for d in &a.disks {
        if d.mount
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
        {
            return Err(Error::Spec {
                key: "disks".into(),
                reason: format!(
                    "mount point '{}' holds blanks, quotes or backslashes, which kickstart cannot express",
                    d.mount
                ),
            });
        }
    }
    let names: Vec<String> = (0..a.disks.len()).map(|i| dev_name("vd", i)).collect();
    let parts = a
        .disks
        .iter()
        .zip(&names)
        .enumerate()
        .map(|(i, (d, disk))| {
            let reserve = TABLE_RESERVE_MB + if i == 0 { BOOT_RESERVE_MB } else { 0 };
            Part {
                mount: d.mount.clone(),
                fstype: ks_fstype(&d.mount, &d.fstype),
                size: d.size_mb.saturating_sub(reserve).max(1),
                disk: disk.clone(),
            }
        })
        .collect();
    let facts = &cs.session.facts;
    let os = [&facts.os_pretty_name, &facts.os_name, &facts.os_id]
        .into_iter()
        .find(|s| !s.is_empty())
        .map(|s| {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect()
        })
        .unwrap_or_else(|| "an unknown system".to_string());
    let (repos, repo_notes) = repositories(cs);
    let view = View {
        name: a.name.clone(),
        os,
        module: module_name.to_string(),
        drives: names.join(","),
        boot_drive: names.first().cloned().unwrap_or_default(),
        parts,
        repos,
        repo_notes,
        puppet_package: "puppet",
        required,
    };
    let env = crate::render::base_environment();
    let render = || env.render_str(TEMPLATE, &view);
    render().map_err(|source| Error::Template {
        template: "kickstart.ks.j2",
        source,
    })
}

/// Why a kickstart of this recording needs saying where it can run: one
/// of a dpkg/apt system (Debian, Ubuntu) is for an Anaconda-family
/// installer (Fedora, RHEL, Rocky, Alma...), since Debian's installer reads
/// preseed, not kickstart. `None` for an rpm-family recording.
pub fn installer_note(cs: &ChangeSet) -> Option<String> {
    if family(cs) == Some(PackageFamily::Rpm) {
        return None;
    }
    let os = if cs.session.facts.os_id.is_empty() {
        "unknown"
    } else {
        cs.session.facts.os_id.as_str()
    };
    Some(format!(
        "the kickstart is meant for an Anaconda-family installer (Fedora, RHEL, Rocky, AlmaLinux): the recorded system ({os}) uses dpkg/apt, whose installer reads preseed, not kickstart; the module's packages must exist under the same names there"
    ))
}

fn family(cs: &ChangeSet) -> Option<PackageFamily> {
    let rpm_ids = [
        "fedora",
        "rhel",
        "centos",
        "rocky",
        "almalinux",
        "ol",
        "amzn",
        "opensuse",
        "sles",
    ];
    cs.system.family.or_else(|| {
        rpm_ids
            .contains(&cs.session.facts.os_id.as_str())
            .then_some(PackageFamily::Rpm)
    })
}

/// `repo`/`url` lines, and comment lines explaining what is left out.
fn repositories(cs: &ChangeSet) -> (Vec<String>, Vec<String>) {
    let facts = &cs.session.facts;
    let family = family(cs);
    let notes = match family {
        Some(PackageFamily::Rpm) => {
            let repos: Vec<String> = facts
                .repos
                .iter()
                .filter(|r| r.enabled)
                .filter_map(repo_line)
                .collect();
            let notes = if repos.is_empty() {
                vec![
                    "The recorded system uses rpm packages but had no enabled repository"
                        .to_string(),
                    "in /etc/yum.repos.d: the site kickstart's url/repo apply.".to_string(),
                ]
            } else {
                vec![
                    "The recorded system's enabled repositories (/etc/yum.repos.d); the"
                        .to_string(),
                    "installation source itself (url) is the site's.".to_string(),
                ]
            };
            return (repos, notes);
        }
        _ => vec![
            format!(
                "The recorded system ({}) uses dpkg/apt packages: kickstart cannot",
                if facts.os_id.is_empty() {
                    "unknown"
                } else {
                    &facts.os_id
                }
            ),
            "express apt sources, so no url/repo is given here. The installation".to_string(),
            "source is the site's; the Puppet module manages the recorded apt sources.".to_string(),
        ],
    };
    (Vec::new(), notes)
}

/// `repo --name=ID --baseurl=URL` (or `--mirrorlist`, `--metalink`); None
/// for a repository with no location, credentials in its URL, or one a
/// kickstart line cannot hold.
fn repo_line(r: &recorder::model::RepoFact) -> Option<String> {
    let safe = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '"');
    if !safe(&r.id) {
        return None;
    }
    let (opt, url) = if let Some(u) = &r.baseurl {
        ("baseurl", u)
    } else if let Some(u) = &r.mirrorlist {
        ("mirrorlist", u)
    } else {
        ("metalink", r.metalink.as_ref()?)
    };
    // Credentials in the URL stay out of the kickstart.
    let authority = url
        .split_once("://")
        .map_or("", |(_, rest)| rest.split('/').next().unwrap_or_default());
    if authority.contains('@') {
        return None;
    }
    safe(url).then(|| format!("repo --name={} --{opt}={url}", r.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_lines() {
        use recorder::model::RepoFact;
        let r = |id: &str, base: Option<&str>, mirror: Option<&str>| RepoFact {
            id: id.into(),
            baseurl: base.map(String::from),
            mirrorlist: mirror.map(String::from),
            enabled: true,
            ..RepoFact::default()
        };
        let cases = [
            (
                r("baseos", Some("http://x/$basearch/"), None),
                Some("repo --name=baseos --baseurl=http://x/$basearch/"),
            ),
            (
                r("ml", None, Some("https://m?repo=a&arch=b")),
                Some("repo --name=ml --mirrorlist=https://m?repo=a&arch=b"),
            ),
            (r("none", None, None), None),
            (r("bad id", Some("http://x"), None), None),
            (r("sp", Some("http://x y"), None), None),
            (
                r("creds", Some("https://u:pw@repo.example/el9/"), None),
                None,
            ),
            (
                r("at-in-path", Some("https://repo.example/~u@x/"), None),
                Some("repo --name=at-in-path --baseurl=https://repo.example/~u@x/"),
            ),
        ];
        for (repo, want) in cases {
            assert_eq!(repo_line(&repo).as_deref(), want, "{repo:?}");
        }
    }

    #[test]
    fn fstype_mapping() {
        let cases = [
            ("/", "ext4", Some("ext4")),
            ("/srv", "xfs", Some("xfs")),
            ("/boot/efi", "vfat", Some("efi")),
            ("/data", "auto", Some("ext4")),
            ("swap", "swap", None),
        ];
        for (mount, t, want) in cases {
            assert_eq!(ks_fstype(mount, t).as_deref(), want, "{mount} {t}");
        }
    }
}
