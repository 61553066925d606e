//! System-level changes of a session: packages, users and groups,
//! services, alternatives and diversions, diffed from the probes'
//! snapshots at `begin` and `finish`.

use super::system::{Group, PackageFamily, Service, User};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageChangeKind {
    Installed,
    /// Removed, configuration files left behind.
    Removed,
    /// Removed together with its configuration files.
    Purged,
    Upgraded,
    Downgraded,
    /// Only its hold mark changed (`apt-mark hold`/`unhold`).
    Marked,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChange {
    pub name: String,
    pub arch: String,
    pub kind: PackageChangeKind,
    pub before_version: Option<String>,
    pub after_version: Option<String>,
    /// Asked for by the admin (apt's manual mark, a leaf of the changed
    /// set where no marks exist, or named on an install command line). Only
    /// explicit packages become resources; dependencies are left to the
    /// package manager.
    pub explicit: bool,
    /// The hold mark, where the session changed it: `Some(true)` held at
    /// its version, `Some(false)` released.
    #[serde(default)]
    pub hold: Option<bool>,
}

/// An alternative the admin chose by hand (`update-alternatives --set`),
/// or gave back to the priorities (`--auto`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlternativeChange {
    pub name: String,
    /// The generic name, e.g. `/usr/bin/editor`.
    pub link: String,
    /// The choice set by hand; `None`: automatic again.
    pub manual: Option<String>,
    /// Slave names: their links in `/etc/alternatives` follow the master.
    pub slaves: Vec<String>,
}

/// A local diversion (`dpkg-divert --local`) added or removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiversionChange {
    pub from: Vec<u8>,
    pub to: Vec<u8>,
    pub added: bool,
    /// The file was moved along (`--rename`).
    pub renamed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountChangeKind {
    Created,
    Changed,
    Removed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChange {
    pub name: String,
    pub kind: AccountChangeKind,
    pub before: Option<User>,
    pub after: Option<User>,
    /// The home directory was created in the session (`managehome`).
    pub home_created: bool,
    /// The password hash was set or changed in the session.
    pub password_changed: bool,
    /// Made by this package's maintainer scripts (a system account such as
    /// `www-data`): the package reproduces it; not emitted.
    pub by_package: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChange {
    pub name: String,
    pub kind: AccountChangeKind,
    pub before: Option<Group>,
    pub after: Option<Group>,
    pub by_package: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enable {
    True,
    False,
    Mask,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Running {
    Running,
    Stopped,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceChange {
    /// Unit name, e.g. `nginx.service`.
    pub unit: String,
    pub before: Option<Service>,
    pub after: Option<Service>,
    /// The enablement to manage, if the admin changed it.
    pub enable: Option<Enable>,
    /// The running state to manage, when it is known (a live systemd, or
    /// the admin's intent); never guessed in a chroot.
    pub ensure: Option<Running>,
    /// The package that ships the unit or init script, if any.
    pub package: Option<String>,
    /// Emitted files the service should be restarted for: its package's
    /// changed configuration and files its unit references.
    pub subscribe: Vec<Vec<u8>>,
}

/// All the system-level changes of a session.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemChanges {
    pub family: Option<PackageFamily>,
    pub packages: Vec<PackageChange>,
    pub groups: Vec<GroupChange>,
    pub users: Vec<UserChange>,
    pub services: Vec<ServiceChange>,
    #[serde(default)]
    pub alternatives: Vec<AlternativeChange>,
    #[serde(default)]
    pub diversions: Vec<DiversionChange>,
}
