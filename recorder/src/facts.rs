//! Facts about the recorded machine, taken at `begin` for the appliance
//! descriptor: os-release and fstab from the target's tree, CPUs, memory,
//! CPU flags and network interfaces from the running kernel (a chroot
//! shares it), and its rpm repositories.

use crate::model::{Facts, FsFact, NetInterface};
use crate::target::Target;
use std::path::{Path, PathBuf};

/// Facts about the target: os-release from its tree, the rest from the
/// running kernel (a chroot shares it).
pub fn facts(target: &Target) -> Facts {
    let mut f = Facts::default();
    // Read inside the root, never through a link out of it (Debian's
    // /etc/os-release is a link: its target is read the same way).
    let os = crate::probe::fs::read_target(target, b"/etc/os-release")
        .or_else(|| crate::probe::fs::read_target(target, b"/usr/lib/os-release"))
        .unwrap_or_default();
    for line in String::from_utf8_lossy(&os).lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "ID" => f.os_id = v,
            "VERSION_ID" => f.os_version_id = v,
            "NAME" => f.os_name = v,
            "PRETTY_NAME" => f.os_pretty_name = v,
            _ => {}
        }
    }
    let uts = nix::sys::utsname::uname().ok();
    f.hostname = crate::probe::fs::read_target(target, b"/etc/hostname")
        .and_then(|s| {
            String::from_utf8_lossy(&s)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .filter(|s| !s.is_empty())
        .or_else(|| {
            uts.as_ref()
                .map(|u| u.nodename().to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    if let Some(u) = uts {
        f.arch = u.machine().to_string_lossy().into_owned();
        f.kernel = u.release().to_string_lossy().into_owned();
    }
    // Hardware is the host's (a chroot shares it); fstab is the target's.
    f.vcpus = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(0);
    f.memory_kib = std::fs::read_to_string("/proc/meminfo")
        .map(|s| parse_meminfo_total(&s))
        .unwrap_or(0);
    f.cpu_flags = std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| parse_cpu_flags(&s))
        .unwrap_or_default();
    f.interfaces = read_interfaces(Path::new("/sys/class/net"));
    f.xen_pv = is_xen_pv(Path::new("/sys/hypervisor"));
    f.repos = crate::probe::repos::read(target);
    let host_mounts = std::fs::read_to_string("/proc/self/mounts")
        .map(|s| parse_fstab(&s))
        .unwrap_or_default();
    let mut fss = crate::probe::fs::read_target(target, b"/etc/fstab")
        .map(|s| parse_fstab(&String::from_utf8_lossy(&s)))
        .unwrap_or_default();
    if target.host_path(b"/") == Path::new("/") {
        // The running system: mounted block devices fstab does not list
        // (the root of an image without an fstab, say). First mount of a
        // device wins: later ones are bind mounts.
        for m in &host_mounts {
            let known = fss
                .iter()
                .any(|f| f.mount_point == m.mount_point || f.device == m.device);
            if m.device.starts_with("/dev/") && !known {
                fss.push(m.clone());
            }
        }
    }
    let swaps = if target.host_path(b"/") == Path::new("/") {
        std::fs::read_to_string("/proc/swaps").unwrap_or_default()
    } else {
        String::new()
    };
    for fs in &mut fss {
        if fs.fstype == "swap" {
            fs.size_mb = swap_size_mb(&swaps, &fs.device);
            continue;
        }
        // Sizes only for what is really mounted there on this host: the
        // directory of an unmounted chroot would report the host's disk.
        let host = target.host_path(fs.mount_point.as_bytes());
        let host_s = host.to_string_lossy();
        if fs.mount_point.starts_with('/') && host_mounts.iter().any(|m| m.mount_point == host_s) {
            if let Some((total, used)) = statvfs_mb(&host) {
                fs.size_mb = Some(total);
                fs.used_mb = Some(used);
            }
        }
    }
    f.filesystems = fss;
    f
}

/// `MemTotal:  24684092 kB` -> KiB.
fn parse_meminfo_total(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The descriptor-relevant flags of the first `flags` line, sorted.
fn parse_cpu_flags(cpuinfo: &str) -> Vec<String> {
    let Some(line) = cpuinfo
        .lines()
        .find(|l| l.split(':').next().map(str::trim) == Some("flags"))
    else {
        return Vec::new();
    };
    let flags: Vec<&str> = line
        .split_once(':')
        .map(|(_, v)| v)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let mut out: Vec<String> = ["acpi", "apic", "pae"]
        .iter()
        .filter(|f| flags.contains(f))
        .map(|f| f.to_string())
        .collect();
    out.sort();
    out
}

/// Every interface but `lo`, with its MAC and whether a device backs it.
fn read_interfaces(class_net: &Path) -> Vec<NetInterface> {
    let Ok(dir) = std::fs::read_dir(class_net) else {
        return Vec::new();
    };
    let mut out: Vec<NetInterface> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            if name == "lo" {
                return None;
            }
            let p = e.path();
            let mac = std::fs::read_to_string(p.join("address"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            Some(NetInterface {
                name,
                mac,
                physical: p.join("device").exists(),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `/sys/hypervisor/type` is `xen` and the guest is paravirtualised
/// (`guest_type` is `PV`, or absent on kernels before 4.x, which were PV).
fn is_xen_pv(hypervisor: &Path) -> bool {
    let read = |n: &str| {
        std::fs::read_to_string(hypervisor.join(n))
            .ok()
            .map(|s| s.trim().to_string())
    };
    read("type").as_deref() == Some("xen")
        && matches!(read("guest_type").as_deref(), None | Some("PV"))
}

/// fstab (or `/proc/self/mounts`) lines: comments and blank lines skipped,
/// `\040`-style octal escapes decoded, short lines dropped.
fn parse_fstab(text: &str) -> Vec<FsFact> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut it = line.split_whitespace().map(unescape_octal);
            let (device, mount_point, fstype) = (it.next()?, it.next()?, it.next()?);
            let options = it.next().unwrap_or_else(|| "defaults".to_string());
            Some(FsFact {
                device,
                mount_point,
                fstype,
                options,
                size_mb: None,
                used_mb: None,
            })
        })
        .collect()
}

fn unescape_octal(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if let Ok(v) = u8::try_from(v) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The size of an active swap device from `/proc/swaps` (KiB), matching the
/// fstab spec resolved through `/dev/disk/by-*` links.
fn swap_size_mb(proc_swaps: &str, spec: &str) -> Option<u64> {
    let dev = resolve_device(spec)?;
    proc_swaps.lines().skip(1).find_map(|l| {
        let mut f = l.split_whitespace();
        let (name, _, size) = (f.next()?, f.next()?, f.next()?);
        if std::fs::canonicalize(name).ok()? != dev {
            return None;
        }
        size.parse::<u64>().ok().map(|k| k / 1024)
    })
}

fn resolve_device(spec: &str) -> Option<PathBuf> {
    let path = if let Some((kind, v)) = spec.split_once('=') {
        let dir = match kind {
            "UUID" => "by-uuid",
            "LABEL" => "by-label",
            "PARTUUID" => "by-partuuid",
            "PARTLABEL" => "by-partlabel",
            _ => return None,
        };
        Path::new("/dev/disk").join(dir).join(v)
    } else {
        PathBuf::from(spec)
    };
    std::fs::canonicalize(path).ok()
}

/// (total, used) in MB of the filesystem mounted at `path`.
fn statvfs_mb(path: &Path) -> Option<(u64, u64)> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    let frsize = st.fragment_size() as u64;
    let total = st.blocks() as u64 * frsize;
    let used = (st.blocks() as u64).saturating_sub(st.blocks_free() as u64) * frsize;
    Some((total / (1024 * 1024), used / (1024 * 1024)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fstab_parsing_cases() {
        let fstab = "\
# /etc/fstab: static file system information.
#
UUID=0a1b-2c3d /               ext4    errors=remount-ro 0 1
LABEL=pgdata   /var/lib/postgresql xfs noatime 0 2
/dev/vda2      none            swap    sw              0 0
   # indented comment
/srv/a         /srv/b          none    bind            0 0
tmpfs          /tmp            tmpfs   mode=1777       0 0
nas:/export    /mnt/nas        nfs     ro,soft         0 0
/dev/vdc1      /srv/with\\040space ext4
short
";
        let got: Vec<(String, String, String, String)> = parse_fstab(fstab)
            .into_iter()
            .map(|f| (f.device, f.mount_point, f.fstype, f.options))
            .collect();
        let want = [
            ("UUID=0a1b-2c3d", "/", "ext4", "errors=remount-ro"),
            ("LABEL=pgdata", "/var/lib/postgresql", "xfs", "noatime"),
            ("/dev/vda2", "none", "swap", "sw"),
            ("/srv/a", "/srv/b", "none", "bind"),
            ("tmpfs", "/tmp", "tmpfs", "mode=1777"),
            ("nas:/export", "/mnt/nas", "nfs", "ro,soft"),
            ("/dev/vdc1", "/srv/with space", "ext4", "defaults"),
        ];
        let want: Vec<(String, String, String, String)> = want
            .iter()
            .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn hardware_fact_parsers() {
        assert_eq!(
            parse_meminfo_total("MemFree: 1 kB\nMemTotal:       24684092 kB\n"),
            24684092
        );
        assert_eq!(parse_meminfo_total("garbage"), 0);
        let cpuinfo = "processor\t: 0\nflags\t\t: fpu vme pae mce apic sep\n\nprocessor\t: 1\nflags\t\t: acpi\n";
        assert_eq!(parse_cpu_flags(cpuinfo), ["apic", "pae"]);
        assert!(parse_cpu_flags("").is_empty());
    }

    #[test]
    fn interfaces_and_xen_from_sysfs_trees() {
        let tmp = tempfile::tempdir().unwrap();
        let net = tmp.path().join("net");
        for (n, mac, dev) in [
            ("lo", "00:00:00:00:00:00", false),
            ("eth0", "52:54:00:12:34:56", true),
            ("br0", "52:54:00:aa:bb:cc", false),
        ] {
            std::fs::create_dir_all(net.join(n)).unwrap();
            std::fs::write(net.join(n).join("address"), format!("{mac}\n")).unwrap();
            if dev {
                std::fs::create_dir(net.join(n).join("device")).unwrap();
            }
        }
        let got = read_interfaces(&net);
        let names: Vec<(&str, &str, bool)> = got
            .iter()
            .map(|i| (i.name.as_str(), i.mac.as_str(), i.physical))
            .collect();
        assert_eq!(
            names,
            [
                ("br0", "52:54:00:aa:bb:cc", false),
                ("eth0", "52:54:00:12:34:56", true)
            ]
        );
        let hv = tmp.path().join("hypervisor");
        assert!(!is_xen_pv(&hv), "no /sys/hypervisor");
        std::fs::create_dir(&hv).unwrap();
        std::fs::write(hv.join("type"), "xen\n").unwrap();
        assert!(is_xen_pv(&hv), "old kernel: no guest_type");
        std::fs::write(hv.join("guest_type"), "HVM\n").unwrap();
        assert!(!is_xen_pv(&hv), "Xen HVM");
        std::fs::write(hv.join("guest_type"), "PV\n").unwrap();
        assert!(is_xen_pv(&hv));
    }

    #[test]
    fn facts_of_a_chroot_use_its_fstab_and_the_hosts_hardware() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("etc")).unwrap();
        std::fs::write(
            tmp.path().join("etc/fstab"),
            "/dev/vda1 / ext4 defaults 0 1\n/dev/vdb1 /var/lib/postgresql ext4 defaults 0 2\n",
        )
        .unwrap();
        std::fs::create_dir(tmp.path().join("etc/yum.repos.d")).unwrap();
        std::fs::write(
            tmp.path().join("etc/yum.repos.d/b.repo"),
            "[b]\nbaseurl=http://b/\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("etc/yum.repos.d/a.repo"),
            "[a]\nmirrorlist=http://a\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("etc/yum.repos.d/x.txt"), "[x]\n").unwrap();
        std::os::unix::fs::symlink(
            "/etc/yum.repos.d/a.repo",
            tmp.path().join("etc/yum.repos.d/l.repo"),
        )
        .unwrap();
        let f = facts(&Target::new(tmp.path().as_os_str().as_encoded_bytes()));
        let ids: Vec<&str> = f.repos.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "repo files only, never through a symlink");
        let mps: Vec<&str> = f
            .filesystems
            .iter()
            .map(|f| f.mount_point.as_str())
            .collect();
        assert_eq!(mps, ["/", "/var/lib/postgresql"], "only the chroot's fstab");
        assert!(
            f.filesystems.iter().all(|f| f.size_mb.is_none()),
            "not mounted here"
        );
        assert!(f.vcpus >= 1);
        assert!(f.memory_kib > 4000);
        assert!(f.interfaces.iter().all(|i| i.name != "lo"));
    }
}
