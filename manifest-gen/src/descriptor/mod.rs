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

mod xml;

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
    pub vcpu: Option<u32>,
    /// At least 4000 (the grammar's minimum).
    pub memory_kib: Option<u64>,
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
    /// Size in MB.
    pub size: Option<u64>,
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
}

const FEATURES: [&str; 3] = ["pae", "acpi", "apic"];
const DEFAULT_MEMORY_KIB: u64 = 1024 * 1024;

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
        (_, "/") => 8192,
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
    let vcpu = match spec.vcpu {
        Some(v) if !(1..=u32::from(u16::MAX)).contains(&v) => {
            return Err(spec_err("vcpu", format!("{v} is not between 1 and 65535")))
        }
        Some(v) => v,
        None => facts.vcpus.clamp(1, u32::from(u16::MAX)),
    };
    let memory_kib = match spec.memory_kib {
        Some(m) if !(4000..=u64::from(u32::MAX)).contains(&m) => {
            return Err(spec_err(
                "memory_kib",
                format!("{m} KiB is outside 4000..=4294967295 (the grammar's minimum is 4000 KiB)"),
            ))
        }
        Some(m) => m,
        None if facts.memory_kib < 4000 => DEFAULT_MEMORY_KIB,
        None => facts.memory_kib.min(u64::from(u32::MAX)),
    };
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
    let disks = disks(facts, spec, &name, memory_kib)?;
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
    })
}

fn disks(facts: &Facts, spec: &Spec, name: &str, memory_kib: u64) -> Result<Vec<Disk>, Error> {
    // (mount, use, recorded size, fstype)
    let mut found: Vec<(String, DiskUse, Option<u64>, String)> = Vec::new();
    for fs in &facts.filesystems {
        let Some(use_) = disk_use(fs) else { continue };
        let mount = if fs.fstype == "swap" {
            "swap".to_string()
        } else {
            fs.mount_point.clone()
        };
        if mount != "swap" && found.iter().any(|f| f.0 == mount) {
            continue;
        }
        found.push((mount, use_, fs.size_mb, fs.fstype.clone()));
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
        if d.size == Some(0) {
            return Err(spec_err(key("size"), "a disk needs at least 1 MB"));
        }
        if let Some(t) = &d.fstype {
            if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(spec_err(
                    key("fstype"),
                    format!("'{t}' is not a filesystem type"),
                ));
            }
        }
        match found.iter_mut().find(|f| f.0 == d.mount) {
            Some(f) => {
                f.1 = use_.unwrap_or(f.1);
                f.2 = d.size.or(f.2);
                if let Some(t) = &d.fstype {
                    f.3 = t.clone();
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
                found.push((d.mount.clone(), use_, d.size, fstype));
            }
        }
    }
    if !found.iter().any(|f| f.1 == DiskUse::System) {
        return Err(spec_err(
            "disks",
            "no system disk: the recorded facts list no root filesystem (an old session, or a root without /etc/fstab); add [[disks]] with mount = \"/\", use = \"system\" and a size",
        ));
    }
    // The root filesystem's disk boots: it comes first.
    found.sort_by_key(|f| f.0 != "/");
    let base = slug(name);
    let mut disks: Vec<Disk> = Vec::new();
    for (mount, use_, size, fstype) in found {
        let stem = match mount.as_str() {
            "/" => "root".to_string(),
            m => slug(m.trim_start_matches('/')),
        };
        let mut file = format!("{base}-{stem}.raw");
        let mut n = 2;
        while disks.iter().any(|d| d.file == file) {
            file = format!("{base}-{stem}{n}.raw");
            n += 1;
        }
        disks.push(Disk {
            file,
            use_,
            size_mb: size
                .filter(|s| *s > 0)
                .unwrap_or_else(|| default_size_mb(use_, &mount, memory_kib)),
            mount,
            fstype,
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
