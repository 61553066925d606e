//! What the system probes see at one point in time: installed packages
//! (with dpkg's alternatives and diversions), accounts and services. The
//! snapshots at `begin` and `finish` are diffed into `system_change`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageFamily {
    Dpkg,
    Rpm,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    /// `amd64`, `all`, `x86_64`, `noarch`...; empty when the database has none.
    pub arch: String,
    /// dpkg: the version as is (`1:2.3-4`); rpm: `EPOCH:VERSION-RELEASE`,
    /// without `EPOCH:` when there is none.
    pub version: String,
    pub state: PackageState,
    /// Installed automatically as a dependency (apt's Auto-Installed mark;
    /// rpm: not user-installed per dnf).
    pub auto: bool,
    /// Dependency names (for leaf computation when no marks exist).
    pub depends: Vec<String>,
    /// Virtual names it provides.
    pub provides: Vec<String>,
    /// Held at its version (`apt-mark hold`: dpkg's selection is `hold`).
    #[serde(default)]
    pub held: bool,
    /// dpkg's `Priority` (`required`, `important`, `standard`, `optional`).
    #[serde(default)]
    pub priority: Option<String>,
}

impl Package {
    /// The key of `PackageSnapshot::packages`: `name:arch` (`name` without an arch).
    pub fn key(&self) -> String {
        if self.arch.is_empty() {
            self.name.clone()
        } else {
            format!("{}:{}", self.name, self.arch)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageState {
    Installed,
    /// Removed, its configuration files remain.
    ConfigFiles,
    /// Anything else, as the package manager names it (`half-configured`...).
    Other(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageSnapshot {
    pub family: Option<PackageFamily>,
    /// By `name:arch` (see `Package::key`).
    pub packages: BTreeMap<String, Package>,
    /// Whether auto/manual marks were available (apt extended_states
    /// present, or dnf user-installed info).
    pub marks_known: bool,
    /// dpkg's alternatives, by name.
    #[serde(default)]
    pub alternatives: BTreeMap<String, Alternative>,
    /// dpkg's diversions, sorted by the diverted path.
    #[serde(default)]
    pub diversions: Vec<Diversion>,
}

/// One of dpkg's alternatives (`update-alternatives`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alternative {
    /// Set by hand (`--set`) rather than chosen by priority.
    pub manual: bool,
    /// The generic name, e.g. `/usr/bin/editor`.
    pub link: String,
    /// Slave names, whose links in `/etc/alternatives` follow the master.
    pub slaves: Vec<String>,
    /// The choice `/etc/alternatives/NAME` points to.
    pub value: Option<String>,
    /// Every installed choice.
    pub choices: Vec<String>,
}

/// A dpkg diversion: the packaged file `from` goes to `to` instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diversion {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
    /// The diverting package; `None` for a local diversion (the admin's).
    pub package: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
    /// Hash from shadow (None if no shadow entry); `!`/`*` locked markers kept as is.
    pub password: Option<String>,
    /// Supplementary groups (from group member lists), sorted.
    pub groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    /// Sorted, without duplicates.
    pub members: Vec<String>,
    /// From gshadow (None if no gshadow entry).
    pub password: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accounts {
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
}

/// What `systemctl is-enabled` would say, read from the filesystem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enablement {
    Enabled,
    Disabled,
    Masked,
    /// No `[Install]` section: started only as another unit's dependency.
    Static,
    /// A symlink naming another unit.
    Alias,
    /// Made by systemd-sysv-generator from an init script (no native unit).
    Generated,
    /// Not enabled itself, but `Also=` or an instance of the template is.
    Indirect,
    /// A wants link to a unit that has no unit file.
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    /// E.g. `nginx.service`.
    pub unit: String,
    pub enablement: Enablement,
    /// Targets whose `.wants`/`.requires` hold it (e.g. `multi-user.target`).
    pub wanted_by: Vec<String>,
    /// SysV: runlevels with an S link, if an init script exists.
    pub sysv_start_runlevels: Vec<String>,
    pub has_unit_file: bool,
    pub has_init_script: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Services {
    pub units: BTreeMap<String, Service>,
}

/// Everything the probes saw at one point in time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemSnapshot {
    pub packages: PackageSnapshot,
    pub accounts: Accounts,
    pub services: Services,
}
