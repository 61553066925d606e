//! The appliance a recorded machine becomes: a virt-image descriptor (the
//! `<image>` grammar in `schemas/virt-image.rng`) and, for one concrete
//! host, a libvirt `<domain>`.
//!
//! Everything comes from the facts recorded at `begin` (CPUs, memory, CPU
//! flags, NICs, fstab), overridden by an optional [`Spec`] (a small TOML
//! file). [`appliance`] makes every decision once (which filesystem becomes
//! which disk, sizes, arch); [`descriptor`], [`libvirt_domain`] and
//! `kickstart::partial` only lay it out. Values that would make the output
//! invalid are refused with a message naming the spec key. XML is written by
//! a tiny writer that escapes every attribute and text value.

mod size;
mod xml;

pub use size::Size;
pub use xml::{descriptor, libvirt_domain, xml_escape};

use crate::Error;
use recorder::model::ChangeSet;
use recorder::model::{Facts, FsFact};
use serde::Deserialize;

fn spec_err(key: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Spec {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Overrides for the appliance, read from `--spec appliance.toml`. Every
/// field is optional; unknown keys are refused.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Machine name (`[A-Za-z0-9_.+-:/]+`); default: the session name.
    pub name: Option<String>,
    /// `<name version=...>` (`[0-9.]+(-[0-9.]+)?`).
    pub version: Option<String>,
    pub release: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    /// One of i686, x86_64, ppc, sparc, mips.
    pub arch: Option<String>,
    /// Default: 2 (never the recording host's count).
    pub vcpu: Option<u32>,
    /// A plain integer is KiB, else a size with a unit (`"2G"`); at least
    /// 4000 KiB (the grammar's minimum). Default: 1 GiB (never the
    /// recording host's memory).
    pub memory_kib: Option<Size>,
    /// Replaces the recorded features: any of pae, acpi, apic.
    pub features: Option<Vec<String>>,
    /// Number of network interfaces.
    pub interfaces: Option<u32>,
    /// Graphics of the libvirt domain: vnc or spice (the descriptor's
    /// `<graphics/>` has no type).
    pub graphics: Option<String>,
    /// Per-disk overrides, matched by mount point (`swap` for swap); a mount
    /// point the facts do not have adds a disk.
    #[serde(default)]
    pub disks: Vec<DiskSpec>,
}

/// One `[[disks]]` table of the spec.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    /// Mount point, or `swap`.
    pub mount: String,
    /// system, user or scratch.
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// A plain integer is MiB, else a size with a unit (`"4G"`, `"512M"`).
    pub size: Option<Size>,
    pub fstype: Option<String>,
}

impl Spec {
    /// Parse a spec file's text; the error names the offending key.
    pub fn parse(text: &str) -> Result<Spec, Error> {
        toml::from_str(text).map_err(|e| Error::SpecSyntax {
            reason: e.to_string().trim_end().to_string(),
        })
    }
}

/// How a disk is treated when an appliance is updated (the grammar's `use`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiskUse {
    /// Part of the operating system; replaced by an update.
    System,
    /// The user's data; kept across updates.
    User,
    /// Swap, /tmp: may be recreated empty.
    Scratch,
}

impl DiskUse {
    pub fn as_str(self) -> &'static str {
        match self {
            DiskUse::System => "system",
            DiskUse::User => "user",
            DiskUse::Scratch => "scratch",
        }
    }

    fn parse(s: &str) -> Option<DiskUse> {
        match s {
            "system" => Some(DiskUse::System),
            "user" => Some(DiskUse::User),
            "scratch" => Some(DiskUse::Scratch),
            _ => None,
        }
    }
}

/// One disk of the appliance, holding one filesystem (or swap).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disk {
    /// Relative file name next to the descriptor (`NAME-root.raw`).
    pub file: String,
    pub use_: DiskUse,
    pub size_mb: u64,
    /// Mount point, or `swap`.
    pub mount: String,
    /// Filesystem type as recorded (`swap` for swap).
    pub fstype: String,
}

/// Every decision about the appliance, made once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appliance {
    pub name: String,
    pub version: Option<String>,
    pub release: Option<String>,
    pub label: String,
    pub description: Option<String>,
    /// virt-image arch: i686, x86_64, ppc, sparc or mips.
    pub arch: String,
    /// In grammar order: pae, acpi, apic.
    pub features: Vec<String>,
    pub xen_pv: bool,
    pub vcpu: u32,
    pub memory_kib: u64,
    pub interfaces: u32,
    pub graphics: String,
    /// The root filesystem's disk first, then the others in fstab order.
    pub disks: Vec<Disk>,
    /// The defaults taken where neither the facts nor the spec decided, one
    /// sentence each, for the command's output and the recipe's README.
    pub notes: Vec<String>,
}

const FEATURES: [&str; 3] = ["pae", "acpi", "apic"];
/// The appliance's memory unless the spec says otherwise: a modest machine,
/// never the recording host's (a workstation's 24 GiB is no appliance's).
pub const DEFAULT_MEMORY_KIB: u64 = 1024 * 1024;
/// The appliance's vCPUs unless the spec says otherwise.
pub const DEFAULT_VCPU: u32 = 2;
/// The root disk when nothing measured the root's usage (a chroot's
/// `/etc/fstab` lists no root filesystem): a fixed, documented size, since
/// the output must depend on the recording alone, not on the machine that
/// generates it.
pub const DEFAULT_ROOT_MB: u64 = 4096;

/// A system disk sized from its recorded usage: used + half of it, at
/// least 1 GiB more, rounded up to 256 MiB.
pub fn system_size_mb(used_mb: u64) -> u64 {
    let grown = used_mb.saturating_add((used_mb / 2).max(1024));
    grown.div_ceil(256).saturating_mul(256)
}

/// The virt-image arch for a `uname -m` value, if the grammar has one.
pub fn map_arch(machine: &str) -> Option<&'static str> {
    Some(match machine {
        "x86_64" | "amd64" => "x86_64",
        "i386" | "i486" | "i586" | "i686" => "i686",
        "ppc" | "ppc64" => "ppc",
        "sparc" | "sparc64" => "sparc",
        "mips" => "mips",
        _ => return None,
    })
}

/// Which disk (if any) an fstab entry needs: bind mounts, pseudo and
/// network filesystems and removable media (`noauto`) need none.
pub fn disk_use(fs: &FsFact) -> Option<DiskUse> {
    let opts: Vec<&str> = fs.options.split(',').collect();
    if opts
        .iter()
        .any(|o| matches!(*o, "bind" | "rbind" | "noauto"))
    {
        return None;
    }
    let block = fs.device.starts_with("/dev/")
        || ["UUID=", "LABEL=", "PARTUUID=", "PARTLABEL="]
            .iter()
            .any(|p| fs.device.starts_with(p));
    if !block || matches!(fs.fstype.as_str(), "iso9660" | "udf" | "none") {
        return None;
    }
    if fs.fstype == "swap" {
        return Some(DiskUse::Scratch);
    }
    if !fs.mount_point.starts_with('/') {
        return None;
    }
    Some(match fs.mount_point.as_str() {
        "/" | "/boot" | "/boot/efi" | "/usr" | "/var" => DiskUse::System,
        "/tmp" | "/var/tmp" => DiskUse::Scratch,
        _ => DiskUse::User,
    })
}

fn is_generic_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-:/".contains(c))
}

fn is_ver_string(s: &str) -> bool {
    let part = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit() || c == '.');
    match s.split_once('-') {
        Some((a, b)) => part(a) && part(b),
        None => part(s),
    }
}

/// A name the grammar accepts: other characters become `_`.
fn sanitise_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.+-:/".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() {
        "appliance".to_string()
    } else {
        n
    }
}

/// A file-name-safe slug (the grammar's relFilePath without `/`).
pub(crate) fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn default_size_mb(use_: DiskUse, mount: &str, memory_kib: u64) -> u64 {
    match (use_, mount) {
        (_, "/") => DEFAULT_ROOT_MB,
        (_, "swap") => (memory_kib / 1024).clamp(512, 4096),
        (DiskUse::System, _) | (DiskUse::Scratch, _) => 1024,
        (DiskUse::User, _) => 4096,
    }
}

/// Decide the appliance of a change set: facts first, then the spec.
pub fn appliance(cs: &ChangeSet, spec: &Spec) -> Result<Appliance, Error> {
    let facts: &Facts = &cs.session.facts;
    let name = match &spec.name {
        Some(n) if !is_generic_name(n) => {
            return Err(spec_err(
                "name",
                format!("'{n}' must match [A-Za-z0-9_.+-:/]+"),
            ))
        }
        Some(n) => n.clone(),
        None => sanitise_name(&cs.session.name),
    };
    for (key, v) in [("version", &spec.version), ("release", &spec.release)] {
        if let Some(v) = v {
            if !is_ver_string(v) {
                return Err(spec_err(
                    key,
                    format!("'{v}' must be digits and dots, optionally -digits (e.g. 1.2-3)"),
                ));
            }
        }
    }
    let arch = match &spec.arch {
        Some(a) => map_arch(a)
            .filter(|m| m == a)
            .ok_or_else(|| {
                spec_err(
                    "arch",
                    format!("'{a}' is not one of i686, x86_64, ppc, sparc, mips"),
                )
            })?
            .to_string(),
        None => map_arch(&facts.arch)
            .ok_or_else(|| Error::Arch {
                arch: facts.arch.clone(),
            })?
            .to_string(),
    };
    let wanted: Vec<String> = match &spec.features {
        Some(fs) => {
            if let Some(bad) = fs.iter().find(|f| !FEATURES.contains(&f.as_str())) {
                return Err(spec_err(
                    "features",
                    format!("'{bad}' is not one of pae, acpi, apic"),
                ));
            }
            fs.clone()
        }
        None => facts.cpu_flags.clone(),
    };
    let features = FEATURES
        .iter()
        .filter(|f| wanted.iter().any(|w| w == *f))
        .map(|f| f.to_string())
        .collect();
    let mut notes = Vec::new();
    let vcpu = match spec.vcpu {
        Some(v) if !(1..=u32::from(u16::MAX)).contains(&v) => {
            return Err(spec_err("vcpu", format!("{v} is not between 1 and 65535")))
        }
        Some(v) => v,
        None => DEFAULT_VCPU,
    };
    let memory_kib = match &spec.memory_kib {
        Some(m) => {
            let kib = m.in_units(1024).map_err(|r| spec_err("memory_kib", r))?;
            if !(4000..=u64::from(u32::MAX)).contains(&kib) {
                return Err(spec_err(
                    "memory_kib",
                    format!("{kib} KiB is outside 4000..=4294967295 (the grammar's minimum is 4000 KiB)"),
                ));
            }
            kib
        }
        None => DEFAULT_MEMORY_KIB,
    };
    if spec.vcpu.is_none() {
        notes.push(format!(
            "{vcpu} vCPUs: cft's default, not the recording host's {} (the spec's vcpu overrides it)",
            facts.vcpus
        ));
    }
    if spec.memory_kib.is_none() {
        notes.push(format!(
            "{} MiB of memory: cft's default, not the recording host's {} MiB (the spec's memory_kib overrides it, e.g. memory_kib = \"2G\")",
            memory_kib / 1024,
            facts.memory_kib / 1024
        ));
    }
    let interfaces = spec.interfaces.unwrap_or_else(|| {
        let physical = facts.interfaces.iter().filter(|i| i.physical).count();
        let n = if physical > 0 {
            physical
        } else {
            facts.interfaces.len()
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    });
    let graphics = match spec.graphics.as_deref() {
        None => "vnc".to_string(),
        Some(g @ ("vnc" | "spice")) => g.to_string(),
        Some(g) => return Err(spec_err("graphics", format!("'{g}' is not vnc or spice"))),
    };
    let disks = disks(facts, spec, &name, memory_kib, &mut notes)?;
    Ok(Appliance {
        label: spec.label.clone().unwrap_or_else(|| name.clone()),
        description: spec
            .description
            .clone()
            .or_else(|| cs.session.description.clone()),
        name,
        version: spec.version.clone(),
        release: spec.release.clone(),
        arch,
        features,
        xen_pv: facts.xen_pv,
        vcpu,
        memory_kib,
        interfaces,
        graphics,
        disks,
        notes,
    })
}

/// One disk being decided: its mount point, use, size and where the size
/// came from, filesystem type.
struct Found {
    mount: String,
    use_: DiskUse,
    /// Recorded total size.
    size: Option<u64>,
    /// Recorded used size.
    used: Option<u64>,
    /// The spec's size, which wins.
    spec_size: Option<u64>,
    fstype: String,
}

fn disks(
    facts: &Facts,
    spec: &Spec,
    name: &str,
    memory_kib: u64,
    notes: &mut Vec<String>,
) -> Result<Vec<Disk>, Error> {
    let mut found: Vec<Found> = Vec::new();
    for fs in &facts.filesystems {
        let Some(use_) = disk_use(fs) else { continue };
        let mount = if fs.fstype == "swap" {
            "swap".to_string()
        } else {
            fs.mount_point.clone()
        };
        if mount != "swap" && found.iter().any(|f| f.mount == mount) {
            continue;
        }
        found.push(Found {
            mount,
            use_,
            size: fs.size_mb,
            used: fs.used_mb,
            spec_size: None,
            fstype: fs.fstype.clone(),
        });
    }
    let root_added =
        !found.iter().any(|f| f.mount == "/") && !spec.disks.iter().any(|d| d.mount == "/");
    if root_added {
        // A chroot or a debootstrapped root: its /etc/fstab lists no root
        // filesystem. The appliance still needs one system disk.
        found.push(Found {
            mount: "/".into(),
            use_: DiskUse::System,
            size: None,
            used: None,
            spec_size: None,
            fstype: "ext4".into(),
        });
        notes.push(format!(
            "one system disk for / (ext4, {DEFAULT_ROOT_MB} MiB): the recorded /etc/fstab lists no root filesystem and its usage was not measured, so this is cft's fixed default; set [[disks]] mount = \"/\" size = \"8G\" in the spec to change it"
        ));
    }
    for (i, d) in spec.disks.iter().enumerate() {
        let key = |k: &str| format!("disks[{i}].{k}");
        if d.mount != "swap" && !d.mount.starts_with('/') {
            return Err(spec_err(
                key("mount"),
                format!("'{}' is not an absolute mount point or 'swap'", d.mount),
            ));
        }
        if d.mount
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'')
        {
            return Err(spec_err(
                key("mount"),
                format!("'{}' holds blanks or quotes", d.mount),
            ));
        }
        let use_ = match d.use_.as_deref() {
            None => None,
            Some(u) => Some(DiskUse::parse(u).ok_or_else(|| {
                spec_err(key("use"), format!("'{u}' is not system, user or scratch"))
            })?),
        };
        let size = match &d.size {
            None => None,
            Some(s) => Some(s.in_units(1 << 20).map_err(|r| spec_err(key("size"), r))?),
        };
        if size == Some(0) {
            return Err(spec_err(key("size"), "a disk needs at least 1 MiB"));
        }
        if let Some(t) = &d.fstype {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(spec_err(
                    key("fstype"),
                    format!("'{t}' is not a filesystem type"),
                ));
            }
        }
        match found.iter_mut().find(|f| f.mount == d.mount) {
            Some(f) => {
                f.use_ = use_.unwrap_or(f.use_);
                f.spec_size = size;
                if let Some(t) = &d.fstype {
                    f.fstype = t.clone();
                }
            }
            None => {
                let probe = FsFact {
                    device: "/dev/spec".into(),
                    mount_point: d.mount.clone(),
                    fstype: if d.mount == "swap" {
                        "swap".into()
                    } else {
                        "ext4".into()
                    },
                    options: "defaults".into(),
                    ..FsFact::default()
                };
                let use_ = use_.or_else(|| disk_use(&probe)).unwrap_or(DiskUse::User);
                let fstype = d.fstype.clone().unwrap_or(probe.fstype);
                found.push(Found {
                    mount: d.mount.clone(),
                    use_,
                    size: None,
                    used: None,
                    spec_size: size,
                    fstype,
                });
            }
        }
    }
    if !found.iter().any(|f| f.use_ == DiskUse::System) {
        return Err(spec_err(
            "disks",
            "no system disk: give one of the [[disks]] use = \"system\" (the root filesystem is, unless the spec says otherwise)",
        ));
    }
    // The root filesystem's disk boots: it comes first.
    found.sort_by_key(|f| f.mount != "/");
    let base = slug(name);
    let mut disks: Vec<Disk> = Vec::new();
    for f in found {
        let stem = match f.mount.as_str() {
            "/" => "root".to_string(),
            m => slug(m.trim_start_matches('/')),
        };
        let mut file = format!("{base}-{stem}.raw");
        let mut n = 2;
        while disks.iter().any(|d| d.file == file) {
            file = format!("{base}-{stem}{n}.raw");
            n += 1;
        }
        let size_mb = match (f.spec_size, f.use_, f.used, f.size.filter(|s| *s > 0)) {
            (Some(s), ..) => s,
            // The system is what the appliance ships: sized from what it
            // holds, not from the recording host's disk.
            (None, DiskUse::System, Some(used), total) => {
                let s = system_size_mb(used);
                notes.push(format!(
                    "the system disk for {} is {s} MiB: the recorded usage ({used} MiB) plus headroom{}; the spec's [[disks]] size overrides it",
                    f.mount,
                    total.map_or(String::new(), |t| format!(", not the recording host's {t} MiB"))
                ));
                s
            }
            // Data and scratch keep the recorded capacity.
            (None, _, _, Some(total)) => total,
            (None, use_, ..) => {
                let s = if f.mount == "/" {
                    DEFAULT_ROOT_MB
                } else {
                    default_size_mb(use_, &f.mount, memory_kib)
                };
                if !(root_added && f.mount == "/") {
                    notes.push(format!(
                        "the disk for {} is {s} MiB: no size was recorded, so this is cft's default; the spec's [[disks]] size overrides it",
                        f.mount
                    ));
                }
                s
            }
        };
        disks.push(Disk {
            file,
            use_: f.use_,
            size_mb,
            mount: f.mount,
            fstype: f.fstype,
        });
    }
    Ok(disks)
}

/// Device name number `i` with a prefix: `vda`, ..., `vdz`, `vdaa`.
pub(crate) fn dev_name(prefix: &str, i: usize) -> String {
    let letter = |n: usize| char::from(b'a' + (n % 26) as u8);
    if i < 26 {
        format!("{prefix}{}", letter(i))
    } else {
        format!("{prefix}{}{}", letter(i / 26 - 1), letter(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_mapping_cases() {
        let cases = [
            ("x86_64", Some("x86_64")),
            ("amd64", Some("x86_64")),
            ("i386", Some("i686")),
            ("i586", Some("i686")),
            ("i686", Some("i686")),
            ("ppc", Some("ppc")),
            ("ppc64", Some("ppc")),
            ("sparc64", Some("sparc")),
            ("mips", Some("mips")),
            ("aarch64", None),
            ("ppc64le", None),
            ("riscv64", None),
            ("s390x", None),
            ("", None),
        ];
        for (machine, want) in cases {
            assert_eq!(map_arch(machine), want, "{machine}");
        }
    }

    fn fs(device: &str, mount: &str, fstype: &str, options: &str) -> FsFact {
        FsFact {
            device: device.into(),
            mount_point: mount.into(),
            fstype: fstype.into(),
            options: options.into(),
            ..FsFact::default()
        }
    }

    #[test]
    fn which_filesystems_need_a_disk() {
        use DiskUse::*;
        let cases = [
            (
                "root by UUID",
                fs("UUID=0a-1b", "/", "ext4", "errors=remount-ro"),
                Some(System),
            ),
            (
                "data by LABEL",
                fs("LABEL=pg", "/var/lib/postgresql", "xfs", "noatime"),
                Some(User),
            ),
            (
                "srv on a device",
                fs("/dev/vdc1", "/srv", "ext4", "defaults"),
                Some(User),
            ),
            ("swap", fs("/dev/vda2", "none", "swap", "sw"), Some(Scratch)),
            (
                "/tmp on a device",
                fs("/dev/vdd1", "/tmp", "ext4", "defaults"),
                Some(Scratch),
            ),
            (
                "/boot",
                fs("PARTUUID=x", "/boot", "ext2", "defaults"),
                Some(System),
            ),
            (
                "tmpfs /tmp",
                fs("tmpfs", "/tmp", "tmpfs", "mode=1777"),
                None,
            ),
            ("bind mount", fs("/srv/a", "/srv/b", "none", "bind"), None),
            (
                "bind of a device path",
                fs("/dev/vdb1", "/x", "ext4", "rw,bind"),
                None,
            ),
            ("nfs", fs("nas:/export", "/mnt/nas", "nfs", "ro"), None),
            ("cifs", fs("//srv/share", "/mnt/s", "cifs", "guest"), None),
            ("proc", fs("proc", "/proc", "proc", "defaults"), None),
            (
                "cdrom",
                fs("/dev/sr0", "/media/cdrom0", "udf,iso9660", "user,noauto"),
                None,
            ),
        ];
        for (name, f, want) in cases {
            assert_eq!(disk_use(&f), want, "{name}");
        }
    }

    #[test]
    fn escaping_and_names() {
        assert_eq!(
            xml_escape("a&b<c>d\"e'f\u{1}g"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f\u{FFFD}g"
        );
        assert_eq!(sanitise_name("web setup/é"), "web_setup/_");
        assert_eq!(sanitise_name(""), "appliance");
        assert!(is_ver_string("1.2-3") && is_ver_string("10"));
        assert!(!is_ver_string("1.2-") && !is_ver_string("v1") && !is_ver_string(""));
        assert_eq!(dev_name("vd", 0), "vda");
        assert_eq!(dev_name("vd", 25), "vdz");
        assert_eq!(dev_name("vd", 26), "vdaa");
    }
}
