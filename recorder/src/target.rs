//! The observed system: where it lives on the host (`--root`), how its paths
//! map to host paths, and its user and group names.
//!
//! Names come from the target's own `/etc/passwd` and `/etc/group`, never
//! from the host's NSS, so a chroot's `www-data` is named correctly.

use crate::beneath::Root;
use crate::model::Name;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Target {
    /// Host path of the target's `/`, without a trailing slash (empty for `/`).
    prefix: Vec<u8>,
    users: HashMap<u32, Name>,
    groups: HashMap<u32, Name>,
}

impl Target {
    /// `root` is the host path of the observed system's `/`.
    pub fn new(root: &[u8]) -> Target {
        let mut prefix = root.to_vec();
        while prefix.last() == Some(&b'/') {
            prefix.pop();
        }
        let mut t = Target {
            prefix,
            users: HashMap::new(),
            groups: HashMap::new(),
        };
        t.reload_names();
        t
    }

    /// Re-read `/etc/passwd` and `/etc/group` (accounts change in a session).
    pub fn reload_names(&mut self) {
        let root = self.root().ok();
        let read = |p: &[u8]| root.as_ref().and_then(|r| r.read_regular(p).ok());
        self.users = read_id_names(read(b"/etc/passwd"));
        self.groups = read_id_names(read(b"/etc/group"));
    }

    /// The target's root held open: every read of the target goes through
    /// it, beneath the root and following no link (`crate::beneath`).
    pub fn root(&self) -> std::io::Result<Root> {
        Root::open(&self.host_path(b"/"))
    }

    /// The host path of a target path.
    pub fn host_path(&self, target: &[u8]) -> PathBuf {
        let mut v = self.prefix.clone();
        v.extend_from_slice(target);
        if v.is_empty() {
            v.push(b'/');
        }
        PathBuf::from(OsStr::from_bytes(&v))
    }

    /// The target path of a host path below the root, if it is below it.
    pub fn target_path(&self, host: &Path) -> Option<Vec<u8>> {
        let h = host.as_os_str().as_bytes();
        if self.prefix.is_empty() {
            return Some(h.to_vec());
        }
        let rest = h.strip_prefix(&self.prefix[..])?;
        if rest.is_empty() {
            Some(b"/".to_vec())
        } else if rest.starts_with(b"/") {
            Some(rest.to_vec())
        } else {
            None
        }
    }

    pub fn user_name(&self, uid: u32) -> Option<Name> {
        self.users.get(&uid).cloned()
    }

    pub fn group_name(&self, gid: u32) -> Option<Name> {
        self.groups.get(&gid).cloned()
    }
}

/// `name:x:id:...` lines to an id -> name map; malformed lines are skipped
/// (the first name for an id wins, as with getpwuid).
fn read_id_names(data: Option<Vec<u8>>) -> HashMap<u32, Name> {
    let mut out = HashMap::new();
    let Some(data) = data else {
        return out;
    };
    for line in data.split(|&b| b == b'\n') {
        let mut fields = line.split(|&b| b == b':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let (Ok(name), Some(id)) = (
            std::str::from_utf8(name),
            std::str::from_utf8(id)
                .ok()
                .and_then(|s| s.parse::<u32>().ok()),
        ) else {
            continue;
        };
        if !name.is_empty() && !name.starts_with('#') {
            out.entry(id).or_insert_with(|| name.into());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_target_paths() {
        let t = Target::new(b"/srv/root/");
        assert_eq!(t.host_path(b"/etc/x"), PathBuf::from("/srv/root/etc/x"));
        assert_eq!(t.host_path(b"/"), PathBuf::from("/srv/root/"));
        assert_eq!(
            t.target_path(Path::new("/srv/root/etc/x")),
            Some(b"/etc/x".to_vec())
        );
        assert_eq!(t.target_path(Path::new("/srv/root")), Some(b"/".to_vec()));
        assert_eq!(t.target_path(Path::new("/srv/rootx/etc")), None);
        let host = Target::new(b"/");
        assert_eq!(host.host_path(b"/etc"), PathBuf::from("/etc"));
        assert_eq!(host.target_path(Path::new("/etc")), Some(b"/etc".to_vec()));
    }

    #[test]
    fn names_come_from_the_targets_files_and_survive_junk() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("etc")).unwrap();
        std::fs::write(
            tmp.path().join("etc/passwd"),
            b"root:x:0:0:root:/root:/bin/bash\n\ntruncated:x\nbad:x:notanumber:0::/:\n\xff:x:7:7::/:\nalice:x:1000:1000::/home/alice:/bin/sh\ndup:x:1000:1:::\n",
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("etc/group"),
            b"root:x:0:\nweb:x:1001:alice\n",
        )
        .unwrap();
        let t = Target::new(tmp.path().as_os_str().as_bytes());
        assert_eq!(t.user_name(0).as_deref(), Some("root"));
        assert_eq!(t.user_name(1000).as_deref(), Some("alice"));
        assert_eq!(t.user_name(7), None);
        assert_eq!(t.group_name(1001).as_deref(), Some("web"));
        assert_eq!(t.group_name(5), None);
    }
}
