//! The services probe: what `systemctl is-enabled` would say about every
//! unit, and the SysV start links of init scripts, read from the filesystem
//! only. In a chroot only enablement is observable (NOTES pitfall 1), and it
//! is all symlinks, so no `systemctl` is run.
//!
//! Units come from `/etc/systemd/system` (highest precedence),
//! `/usr/local/lib/systemd/system`, `/lib/systemd/system` and
//! `/usr/lib/systemd/system` (the same directory on merged-/usr systems);
//! `/run` is runtime state and skipped. A unit file that cannot be read is
//! logged and reported as `Unknown` rather than failing the whole probe.

use super::fs::{read_beneath, read_dir, read_file, resolve};
use crate::error::Result;
use crate::model::{Enablement, Service, Services};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet};

pub const ETC_UNITS: &[u8] = b"/etc/systemd/system";
pub const UNIT_DIRS: &[&[u8]] = &[
    ETC_UNITS,
    b"/usr/local/lib/systemd/system",
    b"/lib/systemd/system",
    b"/usr/lib/systemd/system",
];

mod sysv;
mod unit_file;
pub use sysv::INIT_D;
use sysv::{init_scripts, start_links};
use unit_file::{same_unit, template_of, template_parts, unit_name, Install};

/// A unit name in one unit directory.
#[derive(Clone, Debug)]
enum Fragment {
    /// A regular file at this target path.
    File(Vec<u8>),
    /// A symlink at `path` pointing to `dest` (as written); `in_etc` when
    /// it is the admin's (`/etc/systemd/system`).
    Link {
        path: Vec<u8>,
        dest: Vec<u8>,
        in_etc: bool,
    },
}

impl Fragment {
    fn is_mask(&self) -> bool {
        matches!(self, Fragment::Link { dest, .. } if dest == b"/dev/null")
    }
}

/// Every unit and SysV service of the target.
pub fn probe(target: &Target) -> Result<Services> {
    let fragments = unit_fragments(target)?;
    let wanted_by = wants_links(target)?;
    let scripts = init_scripts(target)?;
    let runlevels = start_links(target)?;

    let mut names: BTreeSet<&str> = fragments.keys().map(String::as_str).collect();
    names.extend(wanted_by.keys().map(String::as_str));
    names.extend(scripts.keys().map(String::as_str));
    let mut units = BTreeMap::new();
    for &name in &names {
        let own = fragments.get(name).map(Vec::as_slice).unwrap_or_default();
        let template = template_of(name);
        let tmpl_frags = template
            .as_deref()
            .and_then(|t| fragments.get(t))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let wants: Vec<String> = wanted_by
            .get(name)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let script = scripts.get(name);
        let has_unit_file = own.iter().chain(tmpl_frags).any(|f| !f.is_mask());
        let enablement = match own.first().or(tmpl_frags.first()) {
            Some(f) if f.is_mask() => Enablement::Masked,
            Some(Fragment::Link { dest, .. }) if !same_unit(dest, name, template.as_deref()) => {
                Enablement::Alias
            }
            Some(f) => match read_unit(target, f) {
                Some(text) => {
                    let install = Install::parse(&text);
                    enablement(name, &install, &wants, &fragments, &wanted_by)
                }
                None => Enablement::Unknown,
            },
            None if script.is_some() => Enablement::Generated,
            None => Enablement::Unknown,
        };
        units.insert(
            name.to_string(),
            Service {
                unit: name.to_string(),
                enablement,
                wanted_by: wants,
                sysv_start_runlevels: script
                    .and_then(|s| runlevels.get(s))
                    .map(|l| l.iter().cloned().collect())
                    .unwrap_or_default(),
                has_unit_file,
                has_init_script: script.is_some(),
            },
        );
    }
    Ok(Services { units })
}

/// `systemctl is-enabled` for a unit with a readable unit file.
fn enablement(
    name: &str,
    install: &Install,
    wants: &[String],
    fragments: &BTreeMap<String, Vec<Fragment>>,
    wanted_by: &BTreeMap<String, BTreeSet<String>>,
) -> Enablement {
    let etc_link = |n: &str| {
        fragments
            .get(n)
            .and_then(|f| f.first())
            .is_some_and(|f| matches!(f, Fragment::Link { in_etc: true, .. }))
    };
    if !wants.is_empty() || install.alias.iter().any(|a| etc_link(a)) {
        return Enablement::Enabled;
    }
    if let Some((prefix, suffix)) = template_parts(name) {
        let instances: Vec<&str> = wanted_by
            .keys()
            .filter(|k| k.len() > name.len() && k.starts_with(prefix) && k.ends_with(suffix))
            .map(|k| &k[prefix.len()..k.len() - suffix.len()])
            .collect();
        if !instances.is_empty() {
            let default = install.default_instance.as_deref();
            return if default.is_some_and(|d| instances.contains(&d)) {
                Enablement::Enabled
            } else {
                Enablement::Indirect
            };
        }
    }
    if install.has_rules() {
        Enablement::Disabled
    } else if install.also {
        Enablement::Indirect
    } else {
        Enablement::Static
    }
}

/// The unit name of every fragment in every unit directory, in precedence order.
fn unit_fragments(target: &Target) -> Result<BTreeMap<String, Vec<Fragment>>> {
    let mut out: BTreeMap<String, Vec<Fragment>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for dir in UNIT_DIRS {
        let Some((resolved, entries)) = read_dir(target, dir)? else {
            continue;
        };
        // /lib and /usr/lib are one directory on merged-/usr systems.
        if !seen.insert(resolved.clone()) {
            continue;
        }
        for e in entries {
            let Some(name) = unit_name(&e.name) else {
                continue;
            };
            let path = crate::model::join(&resolved, &e.name);
            let f = if e.file_type.is_file() {
                Fragment::File(path)
            } else if e.file_type.is_symlink() {
                match std::fs::read_link(target.host_path(&path)) {
                    Ok(d) => Fragment::Link {
                        dest: std::os::unix::ffi::OsStrExt::as_bytes(d.as_os_str()).to_vec(),
                        path,
                        in_etc: *dir == ETC_UNITS,
                    },
                    Err(e) => {
                        tracing::debug!("{}: {e}", target.host_path(&path).display());
                        continue;
                    }
                }
            } else {
                continue;
            };
            out.entry(name.to_string()).or_default().push(f);
        }
    }
    Ok(out)
}

/// `/etc/systemd/system/TARGET.{wants,requires}/UNIT`: unit -> targets.
fn wants_links(target: &Target) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Some((etc, entries)) = read_dir(target, ETC_UNITS)? else {
        return Ok(out);
    };
    for e in entries.iter().filter(|e| e.file_type.is_dir()) {
        let Ok(dir) = std::str::from_utf8(&e.name) else {
            continue;
        };
        let Some(owner) = dir
            .strip_suffix(".wants")
            .or_else(|| dir.strip_suffix(".requires"))
        else {
            continue;
        };
        let Some((_, links)) = read_dir(target, &crate::model::join(&etc, &e.name))? else {
            continue;
        };
        for l in links.iter().filter(|l| !l.file_type.is_dir()) {
            if let Some(unit) = unit_name(&l.name) {
                out.entry(unit.to_string())
                    .or_default()
                    .insert(owner.to_string());
            }
        }
    }
    Ok(out)
}
/// The text of a unit fragment, `None` (logged) if it cannot be read.
fn read_unit(target: &Target, f: &Fragment) -> Option<String> {
    let data = match f {
        Fragment::File(path) => read_file(target, path).map(|r| r.map(|(_, d)| d)),
        Fragment::Link { path, .. } => match resolve(target, path) {
            Ok(Some(p)) => read_beneath(target, &p),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        },
    };
    match data {
        Ok(Some(d)) => Some(String::from_utf8_lossy(&d).into_owned()),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("{e}; its enablement is unknown");
            None
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;

    /// `path` -> file content, `path -> dest` for a symlink; an init script
    /// is made executable unless its content says `noexec`.
    fn tree(spec: &[&str]) -> (tempfile::TempDir, Target) {
        let tmp = tempfile::tempdir().unwrap();
        for item in spec {
            let (path, what) = item.split_once(' ').unwrap_or((item, ""));
            let p = tmp.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            if let Some(dest) = what.strip_prefix("-> ") {
                std::os::unix::fs::symlink(dest, &p).unwrap();
            } else {
                std::fs::write(&p, what.replace("\\n", "\n")).unwrap();
                if path.starts_with("/etc/init.d/") && what != "noexec" {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
                }
            }
        }
        let t = Target::new(tmp.path().as_os_str().as_bytes());
        (tmp, t)
    }

    const WANTED: &str = "[Unit]\\nDescription=x\\n[Service]\\nExecStart=/bin/true\\n[Install]\\nWantedBy=multi-user.target";
    const STATIC: &str = "[Unit]\\nDescription=x\\n[Service]\\nExecStart=/bin/true";

    struct Want<'a> {
        unit: &'a str,
        enablement: Enablement,
        wanted_by: &'a [&'a str],
        runlevels: &'a [&'a str],
        unit_file: bool,
        script: bool,
    }

    fn want(unit: &str, enablement: Enablement) -> Want<'_> {
        Want {
            unit,
            enablement,
            wanted_by: &[],
            runlevels: &[],
            unit_file: true,
            script: false,
        }
    }
    #[test]
    fn enablement_cases() {
        let wanted = format!("/usr/lib/systemd/system/nginx.service {WANTED}");
        let st = format!("/usr/lib/systemd/system/nginx.service {STATIC}");
        let ssh = "/usr/lib/systemd/system/ssh.service [Install]\\nAlias=sshd.service";
        let getty = "/usr/lib/systemd/system/getty@.service [Install]\\nWantedBy=getty.target\\nDefaultInstance=tty1";
        let serial =
            "/usr/lib/systemd/system/serial-getty@.service [Install]\\nWantedBy=getty.target";
        let puppet = format!("/usr/lib/systemd/system/puppet.service {WANTED}");
        let custom = format!("/opt/custom/custom.service {WANTED}");
        type Case<'a> = (&'a str, Vec<&'a str>, Vec<Want<'a>>);
        let cases: Vec<Case> = vec![
            (
                "enabled through a wants link",
                vec![&wanted, "/lib -> usr/lib", "/etc/systemd/system/multi-user.target.wants/nginx.service -> /lib/systemd/system/nginx.service"],
                vec![Want { wanted_by: &["multi-user.target"], ..want("nginx.service", Enablement::Enabled) }],
            ),
            ("disabled", vec![&wanted], vec![want("nginx.service", Enablement::Disabled)]),
            (
                "a requires link counts",
                vec![&st, "/etc/systemd/system/multi-user.target.requires/nginx.service -> /usr/lib/systemd/system/nginx.service"],
                vec![Want { wanted_by: &["multi-user.target"], ..want("nginx.service", Enablement::Enabled) }],
            ),
            ("static", vec![&st], vec![want("nginx.service", Enablement::Static)]),
            (
                "masked over a vendor unit",
                vec![&wanted, "/etc/systemd/system/nginx.service -> /dev/null"],
                vec![want("nginx.service", Enablement::Masked)],
            ),
            (
                "masked with nothing behind",
                vec!["/etc/systemd/system/ghost.service -> /dev/null"],
                vec![Want { unit_file: false, ..want("ghost.service", Enablement::Masked) }],
            ),
            (
                "an alias made by enable is the unit's enablement",
                vec![ssh, "/etc/systemd/system/sshd.service -> /lib/systemd/system/ssh.service", "/lib -> usr/lib"],
                vec![want("ssh.service", Enablement::Enabled), want("sshd.service", Enablement::Alias)],
            ),
            ("an alias not made is disabled", vec![ssh], vec![want("ssh.service", Enablement::Disabled)]),
            (
                "a vendor alias",
                vec!["/usr/lib/systemd/system/dbus-org.freedesktop.hostname1.service -> systemd-hostnamed.service", "/usr/lib/systemd/system/systemd-hostnamed.service [Service]"],
                vec![want("dbus-org.freedesktop.hostname1.service", Enablement::Alias), want("systemd-hostnamed.service", Enablement::Static)],
            ),
            (
                "a template's default instance",
                vec![getty, "/etc/systemd/system/getty.target.wants/getty@tty1.service -> /lib/systemd/system/getty@.service"],
                vec![
                    want("getty@.service", Enablement::Enabled),
                    Want { wanted_by: &["getty.target"], ..want("getty@tty1.service", Enablement::Enabled) },
                ],
            ),
            (
                "another instance of a template",
                vec![serial, "/etc/systemd/system/getty.target.wants/serial-getty@ttyS0.service -> /usr/lib/systemd/system/serial-getty@.service"],
                vec![
                    want("serial-getty@.service", Enablement::Indirect),
                    Want { wanted_by: &["getty.target"], ..want("serial-getty@ttyS0.service", Enablement::Enabled) },
                ],
            ),
            (
                "Also= only",
                vec!["/usr/lib/systemd/system/foo.service [Install]\\nAlso=foo.socket", "/usr/lib/systemd/system/foo.socket [Install]\\nWantedBy=sockets.target"],
                vec![want("foo.service", Enablement::Indirect), want("foo.socket", Enablement::Disabled)],
            ),
            (
                "a linked unit file outside the unit directories",
                vec!["/etc/systemd/system/custom.service -> /opt/custom/custom.service", &custom],
                vec![want("custom.service", Enablement::Disabled)],
            ),
            (
                "a dangling linked unit",
                vec!["/etc/systemd/system/gone.service -> /opt/gone/gone.service"],
                vec![want("gone.service", Enablement::Unknown)],
            ),
            (
                "a wants link to a unit without a file",
                vec!["/etc/systemd/system/multi-user.target.wants/removed.service -> /lib/systemd/system/removed.service"],
                vec![Want { wanted_by: &["multi-user.target"], unit_file: false, ..want("removed.service", Enablement::Unknown) }],
            ),
            (
                "an init script without a unit is generated",
                vec!["/etc/init.d/legacy #!/bin/sh", "/etc/rc2.d/S01legacy -> ../init.d/legacy", "/etc/rc3.d/S01legacy -> ../init.d/legacy", "/etc/rc0.d/K01legacy -> ../init.d/legacy"],
                vec![Want { runlevels: &["2", "3"], unit_file: false, script: true, ..want("legacy.service", Enablement::Generated) }],
            ),
            (
                "a .sh script behind a vendor mask",
                vec!["/etc/init.d/hwclock.sh #!/bin/sh", "/usr/lib/systemd/system/hwclock.service -> /dev/null", "/etc/rcS.d/S01hwclock.sh -> ../init.d/hwclock.sh"],
                vec![Want { runlevels: &["S"], unit_file: false, script: true, ..want("hwclock.service", Enablement::Masked) }],
            ),
            (
                "a unit and a disabled init script",
                vec![&puppet, "/etc/init.d/puppet #!/bin/sh", "/etc/rc2.d/K01puppet -> ../init.d/puppet"],
                vec![Want { script: true, ..want("puppet.service", Enablement::Disabled) }],
            ),
            (
                "not scripts: not executable, backups, hidden, links to nothing",
                vec!["/etc/init.d/README noexec", "/etc/init.d/foo.dpkg-old #!", "/etc/init.d/.hidden #!", "/etc/init.d/dangling -> /nowhere", "/etc/rc2.d/S01README -> ../init.d/README"],
                vec![],
            ),
            (
                "/run is skipped, non-units ignored",
                vec!["/run/systemd/system/transient.service [Service]", "/usr/lib/systemd/system/notes.txt x", "/usr/lib/systemd/system/bad name.service x"],
                vec![],
            ),
        ];
        for (name, spec, wants) in cases {
            let (_tmp, t) = tree(&spec);
            let got = probe(&t).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got_names: Vec<&str> = got.units.keys().map(String::as_str).collect();
            let want_names: Vec<&str> = wants.iter().map(|w| w.unit).collect();
            assert_eq!(got_names, want_names, "{name}");
            for w in &wants {
                let s = &got.units[w.unit];
                let expected = Service {
                    unit: w.unit.to_string(),
                    enablement: w.enablement,
                    wanted_by: w.wanted_by.iter().map(|s| s.to_string()).collect(),
                    sysv_start_runlevels: w.runlevels.iter().map(|s| s.to_string()).collect(),
                    has_unit_file: w.unit_file,
                    has_init_script: w.script,
                };
                assert_eq!(s, &expected, "{name}");
            }
        }
    }

    /// The shape of a fresh bookworm root (make-rootfs.sh --puppet):
    /// merged /usr, absolute links into /lib, vendor masks for SysV names.
    #[test]
    fn a_bookworm_like_tree() {
        let e = "/etc/systemd/system";
        let u = "/usr/lib/systemd/system";
        let wanted = |unit: &str, target: &str| format!("{u}/{unit} [Install]\\nWantedBy={target}");
        let link = |target: &str, unit: &str, dest: &str| {
            format!("{e}/{target}.target.wants/{unit} -> /lib/systemd/system/{dest}")
        };
        let spec: Vec<String> = vec![
            "/lib -> usr/lib".into(),
            wanted("e2scrub_reap.service", "multi-user.target"),
            link("multi-user", "e2scrub_reap.service", "e2scrub_reap.service"),
            wanted("remote-fs.target", "multi-user.target"),
            link("multi-user", "remote-fs.target", "remote-fs.target"),
            format!("{u}/getty@.service [Install]\\nWantedBy=getty.target\\nDefaultInstance=tty1"),
            link("getty", "getty@tty1.service", "getty@.service"),
            format!("{u}/autovt@.service -> getty@.service"),
            wanted("apt-daily.timer", "timers.target"),
            link("timers", "apt-daily.timer", "apt-daily.timer"),
            wanted("systemd-pstore.service", "sysinit.target"),
            link(
                "sysinit",
                "systemd-pstore.service",
                "systemd-pstore.service",
            ),
            format!("{u}/cryptdisks.service -> /dev/null"),
            format!("{u}/hwclock.service -> /dev/null"),
            format!("{u}/systemd-logind.service [Unit]"),
            format!(
                "{u}/multi-user.target.wants/systemd-logind.service -> ../systemd-logind.service"
            ),
            format!("{u}/default.target -> graphical.target"),
            format!("{u}/graphical.target [Unit]"),
            wanted("puppet.service", "multi-user.target"),
            "/etc/init.d/hwclock.sh #!/bin/sh".into(),
            "/etc/init.d/puppet #!/bin/sh".into(),
            "/etc/rc2.d/K01puppet -> ../init.d/puppet".into(),
            "/etc/rcS.d/S01hwclock.sh -> ../init.d/hwclock.sh".into(),
        ];
        let spec: Vec<&str> = spec.iter().map(String::as_str).collect();
        let (_tmp, t) = tree(&spec);
        let got = probe(&t).unwrap();
        let summary: Vec<(&str, Enablement)> = got
            .units
            .values()
            .map(|s| (s.unit.as_str(), s.enablement))
            .collect();
        use Enablement::*;
        assert_eq!(
            summary,
            [
                ("apt-daily.timer", Enabled),
                ("autovt@.service", Alias),
                ("cryptdisks.service", Masked),
                ("default.target", Alias),
                ("e2scrub_reap.service", Enabled),
                ("getty@.service", Enabled),
                ("getty@tty1.service", Enabled),
                ("graphical.target", Static),
                ("hwclock.service", Masked),
                ("puppet.service", Disabled),
                ("remote-fs.target", Enabled),
                ("systemd-logind.service", Static),
                ("systemd-pstore.service", Enabled),
            ]
        );
        assert_eq!(
            got.units["systemd-pstore.service"].wanted_by,
            ["sysinit.target"]
        );
        assert_eq!(got.units["hwclock.service"].sysv_start_runlevels, ["S"]);
        assert!(got.units["puppet.service"].has_init_script);
        assert!(got.units["puppet.service"].sysv_start_runlevels.is_empty());
    }
}
