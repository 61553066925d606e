//! Services: enablement the admin changed (a package's own default is the
//! package's), the running state where it is known, and the admin's files
//! a service restarts for.

use super::Inputs;
use crate::model::{
    is_within, Change, ChangeKind, Enable, Enablement, EntryKind, Running, Service, ServiceChange,
    Services,
};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet};

/// The enablement Puppet can manage, if any.
pub(super) fn enable_of(s: Option<&Service>) -> Option<Enable> {
    let s = s?;
    match s.enablement {
        Enablement::Enabled => Some(Enable::True),
        Enablement::Disabled => Some(Enable::False),
        Enablement::Masked => Some(Enable::Mask),
        Enablement::Generated => Some(if s.sysv_start_runlevels.is_empty() {
            Enable::False
        } else {
            Enable::True
        }),
        _ => None,
    }
}

/// Services whose enablement the admin changed. A unit that a package
/// installed in this session enabled by itself (deb-systemd-helper) is the
/// package's doing unless the admin changed it afterwards.
pub(super) fn diff_services(
    before: &Services,
    after: &Services,
    touched: &BTreeSet<&str>,
    changes: &[Change],
    inp: &Inputs,
) -> Vec<ServiceChange> {
    let units: BTreeSet<&String> = before.units.keys().chain(after.units.keys()).collect();
    let live = inp.target.host_path(b"/") == std::path::Path::new("/")
        && std::path::Path::new("/run/systemd/system").is_dir();
    // Where no live systemd can tell, the admin's last start or stop does.
    let wanted = crate::why::wanted_running(inp.intents);
    let units: BTreeSet<&String> = units
        .into_iter()
        .chain(wanted.keys().filter(|u| after.units.contains_key(*u)))
        .collect();
    let mut out = Vec::new();
    for u in units {
        let (b, a) = (before.units.get(u), after.units.get(u));
        let (eb, ea) = (enable_of(b), enable_of(a));
        let package = unit_package(u, a.or(b), inp);
        let new_pkg = package.as_deref().is_some_and(|p| touched.contains(p));
        let enable = if new_pkg && b.is_none() {
            // The package's default is what its postinst did: enabled where
            // deb-systemd-helper recorded it.
            // A mask shipped below /lib (sudo masks its unit) is the
            // package's too; only one in /etc is the admin's.
            let default = if dsh_enabled(inp.target, u) {
                Enable::True
            } else if ea == Some(Enable::Mask) && !admin_mask(inp.target, u) {
                Enable::Mask
            } else {
                Enable::False
            };
            ea.filter(|e| *e != default)
        } else if eb != ea {
            ea
        } else {
            None
        };
        let asked = wanted.contains_key(u.as_str());
        // A service that runs (as its package left it, or as the admin set
        // it) restarts when the admin changes its configuration, even if
        // its enablement stays the package's.
        // Only a service restarts; a timer or socket would not reread it.
        let runs = u.ends_with(".service") && (asked || enable_of(a) == Some(Enable::True));
        let subscribe = if runs || enable.is_some() {
            subscriptions(u, package.as_deref(), changes, inp)
        } else {
            Vec::new()
        };
        if enable.is_none() && !asked && subscribe.is_empty() {
            continue;
        }
        let ensure = if live {
            running_state(u)
        } else {
            wanted.get(u.as_str()).copied()
        };
        out.push(ServiceChange {
            unit: u.clone(),
            before: b.cloned(),
            after: a.cloned(),
            enable,
            ensure,
            package,
            subscribe,
        });
    }
    out
}

pub(super) fn unit_package(unit: &str, s: Option<&Service>, inp: &Inputs) -> Option<String> {
    let stem = unit.strip_suffix(".service").unwrap_or(unit);
    let mut candidates = vec![
        format!("/lib/systemd/system/{unit}"),
        format!("/usr/lib/systemd/system/{unit}"),
    ];
    if s.is_some_and(|s| s.has_init_script) {
        candidates.push(format!("/etc/init.d/{stem}"));
    }
    candidates
        .iter()
        .find_map(|p| (inp.owner_of)(p.as_bytes()))
        .map(|p| p.split(':').next().unwrap_or(&p).to_string())
}

/// Is `unit` masked in /etc (by the admin), rather than by its vendor?
pub(crate) fn admin_mask(target: &Target, unit: &str) -> bool {
    let path = format!("/etc/systemd/system/{unit}");
    std::fs::read_link(target.host_path(path.as_bytes()))
        .is_ok_and(|t| t == std::path::Path::new("/dev/null"))
}

pub(crate) fn dsh_enabled(target: &Target, unit: &str) -> bool {
    let dir = target.host_path(b"/var/lib/systemd/deb-systemd-helper-enabled");
    dir.join(format!("{unit}.dsh-also")).exists() || dir.join(unit).exists()
}

/// Emitted files that should restart the service: its package's changed
/// files, and files its unit file or init script names.
pub(super) fn subscriptions(
    unit: &str,
    package: Option<&str>,
    changes: &[Change],
    inp: &Inputs,
) -> Vec<Vec<u8>> {
    let stem = unit.strip_suffix(".service").unwrap_or(unit);
    let mut text = Vec::new();
    for p in [
        format!("/etc/systemd/system/{unit}"),
        format!("/lib/systemd/system/{unit}"),
        format!("/usr/lib/systemd/system/{unit}"),
        format!("/etc/init.d/{stem}"),
        format!("/etc/default/{stem}"),
    ] {
        if let Some(t) = crate::probe::fs::read_target(inp.target, p.as_bytes()) {
            text.extend_from_slice(&t);
            text.push(b'\n');
        }
    }
    let drop_ins = format!("/etc/systemd/system/{unit}.d");
    let own_dir = format!("/etc/{}", stem.split('@').next().unwrap_or(stem));
    let mut out: BTreeMap<Vec<u8>, ()> = BTreeMap::new();
    for c in changes {
        // What a file resource manages and a restart can depend on:
        // files, links and removals, not directories.
        let managed = match &c.after {
            Some(a) => matches!(a.kind, EntryKind::File | EntryKind::Symlink),
            None => c.kind == ChangeKind::Removed,
        };
        if !managed || !c.origin.is_admin() {
            continue;
        }
        // Its package's own files, and anything in the configuration
        // directory named after it (`/etc/nginx/sites-available/app`).
        let owned = package.is_some()
            && c.package
                .as_deref()
                .map(|p| p.split(':').next().unwrap_or(p))
                == package;
        let in_own_dir = is_within(&c.path, own_dir.as_bytes());
        let named = text.windows(c.path.len()).any(|w| w == &c.path[..]);
        let unit_file = c.path.ends_with(format!("/{unit}").as_bytes())
            || is_within(&c.path, drop_ins.as_bytes());
        if owned || in_own_dir || named || unit_file {
            out.insert(c.path.clone(), ());
        }
    }
    out.into_keys().collect()
}

pub(super) fn running_state(unit: &str) -> Option<Running> {
    let systemctl = crate::tools::find_program("systemctl")?;
    #[allow(clippy::disallowed_methods)] // systemctl as tools::find_program found it
    let st = std::process::Command::new(systemctl)
        .args(["is-active", "--quiet", unit])
        .status()
        .ok()?;
    Some(if st.success() {
        Running::Running
    } else {
        Running::Stopped
    })
}
