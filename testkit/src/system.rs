//! The whole-system comparison of a recorded root with an applied root.
//!
//! A [`Snapshot`] holds every entry under the admin areas ([`AREAS`]), the
//! package set, accounts, unit enablement, alternatives, diversions and
//! locales of one Debian root. Two snapshots are compared item by item
//! ([`diff`]) and the differences judged ([`judge`]): what two untouched
//! roots of the two variants already differ in, exactly (the floor), is subtracted,
//! [`VOLATILE`] differences are set aside with their reasons, and what the
//! module's README says it could not express is explained. Everything else
//! is a failure.
//!
//! Files are read from the host side without following any link. The rest
//! comes from the root's own tools, run inside it by the caller
//! ([`PROBE_SCRIPT`]), so nothing here trusts cft's own probes. Owners are
//! compared by name. User and group ids below 1000 are not compared by
//! number (system ids depend on install order: the Puppet variant already
//! has a `puppet` account), nor is the day a password last changed.

use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// The trees compared entry by entry.
pub const AREAS: &[&str] = &[
    "/etc",
    "/srv",
    "/opt",
    "/usr/local",
    "/var/www",
    "/home",
    "/root",
    "/var/spool/cron",
];

/// Account databases: their content is compared as accounts (names, not
/// line order or system ids); their mode and owner as files.
const ACCOUNT_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/subuid",
    "/etc/subgid",
];

/// Run inside a root (`sh -euc`); [`Snapshot::take`] parses its output.
pub const PROBE_SCRIPT: &str = r#"
echo '#probe packages'
dpkg-query -W -f='${binary:Package}\t${Version}\t${db:Status-Want}\t${db:Status-Status}\n'
echo '#probe passwd'
getent passwd
echo '#probe group'
getent group
echo '#probe shadow'
getent shadow
echo '#probe units'
systemctl list-unit-files --no-legend --no-pager --full
echo '#probe alternatives'
update-alternatives --get-selections
echo '#probe diversions'
dpkg-divert --list
echo '#probe locales'
locale -a
echo '#probe end'
"#;

/// What an item is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    File,
    Package,
    User,
    Group,
    Unit,
    Alternative,
    Diversion,
    Locale,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Package => "package",
            Kind::User => "user",
            Kind::Group => "group",
            Kind::Unit => "unit",
            Kind::Alternative => "alternative",
            Kind::Diversion => "diversion",
            Kind::Locale => "locale",
        }
    }
}

/// An item's compared attributes, by name.
pub type Attrs = BTreeMap<&'static str, String>;

/// One root, as the comparison sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub items: BTreeMap<(Kind, String), Attrs>,
}

/// One way the two roots differ. `attr` is `"present"` when the item exists
/// on one side only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Difference {
    pub kind: Kind,
    pub id: String,
    pub attr: &'static str,
    pub recorded: Option<String>,
    pub applied: Option<String>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (k, id) = (self.kind.as_str(), &self.id);
        match (self.attr, &self.recorded, &self.applied) {
            ("present", Some(_), None) => write!(f, "{k} {id}: only in the recorded root"),
            ("present", None, Some(_)) => write!(f, "{k} {id}: only in the applied root"),
            (attr, r, a) => write!(
                f,
                "{k} {id}: {attr}: recorded {}, applied {}",
                r.as_deref().unwrap_or("-"),
                a.as_deref().unwrap_or("-")
            ),
        }
    }
}

/// A difference that is no fault of the module, and why.
pub struct Volatile {
    pub kind: Kind,
    /// A glob over the item's id (`*` crosses `/`).
    pub id: &'static str,
    /// Only when the item is a symlink to this target (on either side).
    pub link_to: Option<&'static str>,
    pub reason: &'static str,
}

/// Differences that are volatile by nature, each with its reason. Keep it
/// short and reviewed: everything not here must be equal or explained.
pub const VOLATILE: &[Volatile] = &[
    Volatile {
        kind: Kind::File,
        id: "/etc/machine-id",
        link_to: None,
        reason: "made once per machine by systemd-machine-id-setup",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/ssh/ssh_host_*",
        link_to: None,
        reason: "SSH host keys are generated per machine by openssh-server's postinst",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/ld.so.cache",
        link_to: None,
        reason: "rebuilt by ldconfig; its bytes depend on the order libraries were installed",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/{passwd,group,shadow,gshadow,subuid,subgid}-",
        link_to: None,
        reason: "the backup the shadow tools write before each change",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/.pwd.lock",
        link_to: None,
        reason: "the shadow tools' lock file, made on first use",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/ssl/{private/ssl-cert-snakeoil.key,certs/ssl-cert-snakeoil.pem}",
        link_to: None,
        reason: "a self-signed key and certificate that ssl-cert's postinst generates per machine",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/aliases.db",
        link_to: None,
        reason: "newaliases rebuilds it from /etc/aliases; two builds of the same table differ (Berkeley DB pages hold stale bytes)",
    },
    Volatile {
        kind: Kind::File,
        id: "/etc/ssl/certs/*",
        link_to: Some("ssl-cert-snakeoil.pem"),
        reason: "the hash link of the per-machine snakeoil certificate",
    },
];

fn glob(pattern: &str) -> GlobMatcher {
    Glob::new(pattern)
        .unwrap_or_else(|e| panic!("bad volatile pattern {pattern}: {e}"))
        .compile_matcher()
}

impl Volatile {
    fn matches(&self, d: &Difference, recorded: &Snapshot, applied: &Snapshot) -> bool {
        if d.kind != self.kind || !glob(self.id).is_match(&d.id) {
            return false;
        }
        match self.link_to {
            None => true,
            Some(to) => [recorded, applied].iter().any(|s| {
                s.items
                    .get(&(d.kind, d.id.clone()))
                    .and_then(|a| a.get("target"))
                    .is_some_and(|t| t == to)
            }),
        }
    }
}

/// Every way `applied` differs from `recorded`, sorted.
pub fn diff(recorded: &Snapshot, applied: &Snapshot) -> Vec<Difference> {
    let keys: BTreeSet<&(Kind, String)> =
        recorded.items.keys().chain(applied.items.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (kind, id) = (key.0, key.1.clone());
        match (recorded.items.get(key), applied.items.get(key)) {
            (Some(_), None) => out.push(Difference {
                kind,
                id,
                attr: "present",
                recorded: Some("present".into()),
                applied: None,
            }),
            (None, Some(_)) => out.push(Difference {
                kind,
                id,
                attr: "present",
                recorded: None,
                applied: Some("present".into()),
            }),
            (Some(r), Some(a)) => {
                let attrs: BTreeSet<&&'static str> = r.keys().chain(a.keys()).collect();
                for attr in attrs {
                    let (rv, av) = (r.get(*attr), a.get(*attr));
                    if rv != av {
                        out.push(Difference {
                            kind,
                            id: id.clone(),
                            attr,
                            recorded: rv.cloned(),
                            applied: av.cloned(),
                        });
                    }
                }
            }
            (None, None) => {}
        }
    }
    out
}

/// The differences of one comparison, sorted into what they are.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Failures: not in the floor, not volatile, not explained.
    pub unexplained: Vec<Difference>,
    /// Listed by the module as something it could not express, with why.
    pub explained: Vec<(Difference, String)>,
    pub volatile: Vec<(Difference, &'static str)>,
    /// Exactly as between two untouched roots of the two variants (values
    /// included: "only in the applied root" in the floor does not excuse
    /// "only in the recorded root").
    pub floor: Vec<Difference>,
}

impl Verdict {
    /// The failures, one per line.
    pub fn report(&self) -> String {
        self.unexplained.iter().map(|d| format!("{d}\n")).collect()
    }
}

/// Sort the differences between two roots: `floor` holds the differences
/// of two untouched roots of the same two variants, `explain` gives the
/// module's reason for a difference it could not avoid.
pub fn judge(
    recorded: &Snapshot,
    applied: &Snapshot,
    floor: &[Difference],
    explain: &dyn Fn(&Difference) -> Option<String>,
) -> Verdict {
    let floor: BTreeSet<&Difference> = floor.iter().collect();
    let mut v = Verdict::default();
    for d in diff(recorded, applied) {
        if floor.contains(&d) {
            v.floor.push(d);
        } else if let Some(vol) = VOLATILE
            .iter()
            .find(|vol| vol.matches(&d, recorded, applied))
        {
            v.volatile.push((d, vol.reason));
        } else if let Some(why) = explain(&d) {
            v.explained.push((d, why));
        } else {
            v.unexplained.push(d);
        }
    }
    v
}

impl Snapshot {
    /// Read the root at `root` (a host path): its files directly, the rest
    /// from `probe`, the output of [`PROBE_SCRIPT`] run inside it.
    pub fn take(root: &Path, probe: &str) -> Result<Snapshot, String> {
        let mut s = Snapshot::default();
        let names = Names::read(root);
        for area in AREAS {
            s.walk(root, area, &names)?;
        }
        s.parse_probe(probe)?;
        Ok(s)
    }

    fn put(&mut self, kind: Kind, id: String, attrs: Attrs) {
        self.items.insert((kind, id), attrs);
    }

    fn walk(&mut self, root: &Path, area: &str, names: &Names) -> Result<(), String> {
        let host = root.join(area.trim_start_matches('/'));
        if std::fs::symlink_metadata(&host).is_err() {
            return Ok(());
        }
        let walker = walkdir::WalkDir::new(&host)
            .follow_links(false)
            .follow_root_links(false)
            .same_file_system(true)
            .sort_by_file_name();
        for entry in walker {
            let entry = entry.map_err(|e| format!("walking {}: {e}", host.display()))?;
            let rel = entry
                .path()
                .strip_prefix(root)
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            let id = format!("/{}", escape(rel.as_os_str().as_bytes()));
            let md = entry
                .path()
                .symlink_metadata()
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            let ft = md.file_type();
            let mut a = Attrs::new();
            let kind = if ft.is_file() {
                "file"
            } else if ft.is_dir() {
                "dir"
            } else if ft.is_symlink() {
                "link"
            } else if ft.is_fifo() {
                "fifo"
            } else if ft.is_socket() {
                "socket"
            } else if ft.is_char_device() {
                "chardev"
            } else {
                "blockdev"
            };
            a.insert("type", kind.into());
            a.insert("owner", names.user(md.uid()));
            a.insert("group", names.group(md.gid()));
            if ft.is_symlink() {
                let t = std::fs::read_link(entry.path())
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?;
                a.insert("target", escape(t.as_os_str().as_bytes()));
            } else {
                a.insert("mode", format!("{:04o}", md.mode() & 0o7777));
            }
            if ft.is_file() && !ACCOUNT_FILES.contains(&id.as_str()) {
                a.insert("content", sha256(entry.path())?);
            }
            self.put(Kind::File, id, a);
        }
        Ok(())
    }

    fn parse_probe(&mut self, probe: &str) -> Result<(), String> {
        let mut sections: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut current: Option<&str> = None;
        for line in probe.lines() {
            if let Some(name) = line.strip_prefix("#probe ") {
                current = Some(name);
                sections.entry(name).or_default();
            } else if let Some(c) = current {
                if !line.trim().is_empty() {
                    sections.entry(c).or_default().push(line);
                }
            }
        }
        if current != Some("end") {
            return Err(format!("the probe output is incomplete:\n{probe}"));
        }
        let section = |name: &str| -> Result<&Vec<&str>, String> {
            sections
                .get(name)
                .ok_or_else(|| format!("the probe output has no {name} section"))
        };
        for line in section("packages")? {
            let f: Vec<&str> = line.split('\t').collect();
            let [name, version, want, status] = f[..] else {
                return Err(format!("package line: {line}"));
            };
            if status == "not-installed" {
                continue;
            }
            let mut a = Attrs::new();
            a.insert("state", status.into());
            a.insert("held", (want == "hold").to_string());
            a.insert("version", version.into());
            self.put(Kind::Package, name.into(), a);
        }
        let groups: Vec<Vec<&str>> = section("group")?
            .iter()
            .map(|l| l.split(':').collect())
            .collect();
        let group_of: HashMap<&str, &str> = groups
            .iter()
            .filter(|g| g.len() >= 3)
            .map(|g| (g[2], g[0]))
            .collect();
        let mut member_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for g in &groups {
            let [name, _, gid, members] = g[..] else {
                return Err(format!("group line: {}", g.join(":")));
            };
            let mut m: Vec<&str> = members.split(',').filter(|m| !m.is_empty()).collect();
            m.sort_unstable();
            for u in &m {
                member_of.entry(u).or_default().push(name);
            }
            let mut a = Attrs::new();
            a.insert("gid", id_number(gid));
            a.insert("members", m.join(","));
            self.put(Kind::Group, name.into(), a);
        }
        let shadow: HashMap<&str, Vec<&str>> = section("shadow")?
            .iter()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .filter(|f| f.len() >= 9)
            .map(|f| (f[0], f))
            .collect();
        for line in section("passwd")? {
            let f: Vec<&str> = line.split(':').collect();
            let [name, _, uid, gid, gecos, home, shell] = f[..] else {
                return Err(format!("passwd line: {line}"));
            };
            let mut a = Attrs::new();
            a.insert("uid", id_number(uid));
            a.insert(
                "group",
                group_of
                    .get(gid)
                    .map_or_else(|| format!("#{gid}"), |g| g.to_string()),
            );
            a.insert("gecos", gecos.into());
            a.insert("home", home.into());
            a.insert("shell", shell.into());
            let mut groups = member_of.get(name).cloned().unwrap_or_default();
            groups.sort_unstable();
            a.insert("groups", groups.join(","));
            if let Some(s) = shadow.get(name) {
                a.insert("password", s[1].into());
                // Field 3, the day of the last change, is the day the test ran.
                a.insert("aging", s[3..8].join(":"));
            }
            self.put(Kind::User, name.into(), a);
        }
        for line in section("units")? {
            let mut w = line.split_whitespace();
            let (Some(unit), Some(state)) = (w.next(), w.next()) else {
                return Err(format!("unit line: {line}"));
            };
            let mut a = Attrs::new();
            a.insert("state", state.into());
            self.put(Kind::Unit, unit.into(), a);
        }
        for line in section("alternatives")? {
            let w: Vec<&str> = line.split_whitespace().collect();
            let [name, status, value] = w[..] else {
                return Err(format!("alternatives line: {line}"));
            };
            let mut a = Attrs::new();
            a.insert("status", status.into());
            a.insert("value", value.into());
            self.put(Kind::Alternative, name.into(), a);
        }
        for line in section("diversions")? {
            let (local, rest) = match line.strip_prefix("local diversion of ") {
                Some(r) => (true, r),
                None => (
                    false,
                    line.strip_prefix("diversion of ")
                        .ok_or_else(|| format!("diversion line: {line}"))?,
                ),
            };
            let (from, rest) = rest
                .split_once(" to ")
                .ok_or_else(|| format!("diversion line: {line}"))?;
            let (to, by) = match rest.split_once(" by ") {
                Some((to, by)) => (to, by),
                None => (rest, if local { "local" } else { "" }),
            };
            let mut a = Attrs::new();
            a.insert("to", to.into());
            a.insert("by", by.into());
            self.put(Kind::Diversion, from.into(), a);
        }
        for line in section("locales")? {
            self.put(Kind::Locale, line.trim().into(), Attrs::new());
        }
        Ok(())
    }
}

/// Ids from 1000 up are the admin's and compared as numbers; lower ones
/// are allocated by install order.
fn id_number(id: &str) -> String {
    match id.parse::<u32>() {
        Ok(n) if n >= 1000 => n.to_string(),
        Ok(_) => "system".into(),
        Err(_) => id.into(),
    }
}

/// User and group names of one root, from its own files.
struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    fn read(root: &Path) -> Names {
        let table = |file: &str| -> HashMap<u32, String> {
            let text = std::fs::read(root.join(file)).unwrap_or_default();
            String::from_utf8_lossy(&text)
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    Some((f.get(2)?.parse().ok()?, f[0].to_string()))
                })
                .collect()
        };
        Names {
            users: table("etc/passwd"),
            groups: table("etc/group"),
        }
    }

    fn user(&self, uid: u32) -> String {
        self.users
            .get(&uid)
            .cloned()
            .unwrap_or_else(|| format!("#{uid}"))
    }

    fn group(&self, gid: u32) -> String {
        self.groups
            .get(&gid)
            .cloned()
            .unwrap_or_else(|| format!("#{gid}"))
    }
}

fn sha256(path: &Path) -> Result<String, String> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>())
}

/// A path for people and for ids, escaped as cft's `display_path` does
/// (so README entries match): UTF-8 as is, other bytes as `\xNN`.
fn escape(p: &[u8]) -> String {
    let mut out = String::new();
    for chunk in p.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests;
