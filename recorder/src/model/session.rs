//! Sessions and the facts recorded about the machine at `begin`.

use serde::{Deserialize, Serialize};

/// Facts about the recorded machine, taken at `begin`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub hostname: String,
    /// `ID` from os-release (e.g. `debian`).
    pub os_id: String,
    /// `VERSION_ID` from os-release (e.g. `12`).
    pub os_version_id: String,
    /// `NAME` from os-release (e.g. `Debian GNU/Linux`).
    pub os_name: String,
    pub os_pretty_name: String,
    /// Machine architecture (`uname -m`).
    pub arch: String,
    pub kernel: String,
    /// Online CPUs of the host the session was recorded on (`nproc`).
    #[serde(default)]
    pub vcpus: u32,
    /// `MemTotal` from the host's `/proc/meminfo`, in KiB.
    #[serde(default)]
    pub memory_kib: u64,
    /// The CPU flags an appliance descriptor cares about (`pae`, `acpi`,
    /// `apic` from `/proc/cpuinfo`), sorted.
    #[serde(default)]
    pub cpu_flags: Vec<String>,
    /// Network interfaces from `/sys/class/net` except `lo`, sorted by name.
    #[serde(default)]
    pub interfaces: Vec<NetInterface>,
    /// The target's `/etc/fstab` entries in file order (plus, when the root
    /// is `/`, mounted block devices that fstab does not list).
    #[serde(default)]
    pub filesystems: Vec<FsFact>,
    /// The running kernel is a Xen paravirtualised guest.
    #[serde(default)]
    pub xen_pv: bool,
    /// rpm-family package repositories (`/etc/yum.repos.d`), sorted by id.
    #[serde(default)]
    pub repos: Vec<RepoFact>,
}

/// A package repository of the recorded system, as kickstart's `repo`
/// command can name it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFact {
    pub id: String,
    pub name: String,
    pub baseurl: Option<String>,
    pub mirrorlist: Option<String>,
    pub metalink: Option<String>,
    pub enabled: bool,
}

/// A network interface of the recorded machine. The MAC address is a
/// deploy-time value: kept as a fact, never put into a descriptor.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInterface {
    pub name: String,
    pub mac: String,
    /// Backed by a device (`/sys/class/net/NAME/device` exists), as opposed
    /// to a virtual interface (bridge, veth, ifb...).
    #[serde(default)]
    pub physical: bool,
}

/// A filesystem of the recorded machine (one fstab line, escapes decoded).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsFact {
    /// First fstab field as written: `/dev/vda1`, `UUID=...`, `tmpfs`...
    pub device: String,
    /// Mount point (`none` or `swap` for swap).
    pub mount_point: String,
    pub fstype: String,
    pub options: String,
    /// Total size in MB (statvfs, or `/proc/swaps` for swap), when it was
    /// mounted on the recording host.
    #[serde(default)]
    pub size_mb: Option<u64>,
    /// Used size in MB, when known.
    #[serde(default)]
    pub used_mb: Option<u64>,
}

/// Lifecycle state of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    Recording,
    Finished,
}

impl SessionState {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Recording => "recording",
            SessionState::Finished => "finished",
        }
    }

    pub fn parse(s: &str) -> Option<SessionState> {
        match s {
            "recording" => Some(SessionState::Recording),
            "finished" => Some(SessionState::Finished),
            _ => None,
        }
    }
}

/// A recorded session as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    /// Host path of the observed system (`/` unless `--root`).
    pub root: Vec<u8>,
    /// Watched roots, as target-system paths.
    pub watched: Vec<Vec<u8>>,
    pub state: SessionState,
    pub created_at_ns: i64,
    pub finished_at_ns: Option<i64>,
    pub daemon_pid: Option<i32>,
    /// Start time of the daemon process (`/proc/PID/stat` field 22), to tell
    /// a live daemon from a recycled PID.
    pub daemon_start: Option<u64>,
    /// Why the next finish must rescan every root, if it must.
    pub rescan_reason: Option<String>,
    /// Regular files larger than this keep only a hash in the baseline.
    pub content_cap: u64,
    /// Extra ignore patterns given at `begin` (on top of the built-in ones
    /// and the rules file).
    pub ignore_patterns: Vec<String>,
    pub facts: Facts,
}
