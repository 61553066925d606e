//! File ownership for attribution: which package installed a path and the
//! md5 it shipped there, from dpkg's `info/*.list` and `info/*.md5sums`, the
//! conffiles of the status file and `/var/lib/dpkg/diversions`; merged-/usr
//! aliases (`/bin` = `/usr/bin`) are looked up under both names.

use super::{parse_status, DIVERSIONS, INFO_DIR, STATUS};
use crate::error::Result;
use crate::probe::fs::{at_line, read_beneath, read_dir, read_file, resolve};
use crate::target::Target;

/// `md5sum` of some bytes, as lower-case hex (dpkg's `md5sums` format).
pub fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    hex(&Md5::digest(data))
}

/// An MD5 computed as bytes are written to it: a content too large to
/// hold is compared with its package's checksum as it streams.
#[derive(Default)]
pub struct Md5Writer(md5::Md5);

impl Md5Writer {
    pub fn hex(self) -> String {
        use md5::Digest;
        hex(&self.0.finalize())
    }
}

impl std::io::Write for Md5Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        md5::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hex(d: &[u8]) -> String {
    let mut s = String::with_capacity(32);
    for &b in d {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    s
}

/// Which package owns each path and the md5 it shipped, built from dpkg's
/// info directory. Load it when attribution needs it; it is not part of the
/// stored snapshot.
///
/// Paths live in one byte arena with sorted `(range, …)` tables: no
/// allocation or hashing per path, so a whole system loads in milliseconds.
#[derive(Clone, Debug, Default)]
pub struct DpkgFiles {
    /// Owners as dpkg names them (`pkg`, or `pkg:arch` for Multi-Arch: same).
    packages: Vec<String>,
    arena: Vec<u8>,
    /// (path, package index), sorted, no duplicates.
    owners: Vec<(Span, u32)>,
    /// (path, md5 hex), sorted, one per path.
    md5s: Vec<(Span, [u8; 32])>,
    /// Merged-/usr: (`/bin`, `/usr/bin`)... when the first is a link to the second.
    aliases: Vec<(Vec<u8>, Vec<u8>)>,
    /// Conffiles no package ships any more, sorted.
    obsolete: Vec<Vec<u8>>,
}

/// A path in `DpkgFiles::arena`.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u32,
    len: u32,
}

use super::state::{parse_diversions, Diversions};

/// Top-level directories that merged-/usr systems link into `/usr`.
const USR_MERGED: &[&[u8]] = &[b"/bin", b"/sbin", b"/lib", b"/lib32", b"/lib64", b"/libx32"];

impl DpkgFiles {
    /// Read the whole index (empty without a dpkg database).
    pub fn load(target: &Target) -> Result<DpkgFiles> {
        let mut files = DpkgFiles::default();
        let diversions = match read_file(target, DIVERSIONS)? {
            Some((path, data)) => parse_diversions(&path, &data)?,
            None => Diversions::new(),
        };
        // (path, priority: conffiles beat md5sums, then first wins, md5)
        let mut md5s: Vec<(Span, u8, usize, [u8; 32])> = Vec::new();
        if let Some((dir, entries)) = read_dir(target, INFO_DIR)? {
            for e in entries.iter().filter(|e| e.file_type.is_file()) {
                let (stem, is_md5sums) = match (
                    e.name.strip_suffix(b".list"),
                    e.name.strip_suffix(b".md5sums"),
                ) {
                    (Some(stem), _) => (stem, false),
                    (_, Some(stem)) => (stem, true),
                    _ => continue,
                };
                let Ok(stem) = std::str::from_utf8(stem) else {
                    continue; // not a package name
                };
                let tp = crate::model::join(&dir, &e.name);
                let hp = target.host_path(&tp);
                let Some(data) = read_beneath(target, &tp)? else {
                    continue;
                };
                let pkg = stem.split(':').next().unwrap_or(stem);
                if is_md5sums {
                    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
                        if line.is_empty() {
                            continue;
                        }
                        let (md5, rel) = md5sums_line(line)
                            .ok_or_else(|| at_line(&hp, i + 1, "expected 'MD5  path'"))?;
                        let span = files.push_path(&diversions, b"/", rel, pkg);
                        md5s.push((span, 1, md5s.len(), md5));
                    }
                } else {
                    files.packages.push(stem.to_string());
                    let idx = (files.packages.len() - 1) as u32;
                    for line in data.split(|&b| b == b'\n') {
                        if !line.is_empty() && line != b"/." {
                            let span = files.push_path(&diversions, b"", line, pkg);
                            files.owners.push((span, idx));
                        }
                    }
                }
            }
        }
        if let Some((path, data)) = read_file(target, STATUS)? {
            for entry in parse_status(&path, &data)? {
                for c in entry.conffiles {
                    if c.obsolete {
                        files.obsolete.push(c.path.clone());
                    }
                    if let Some(m) = hex32(c.md5.as_bytes()) {
                        let span = files.push_path(&diversions, b"", &c.path, &entry.package.name);
                        md5s.push((span, 0, md5s.len(), m));
                    }
                }
            }
        }
        let arena = std::mem::take(&mut files.arena);
        let at = |s: &Span| &arena[s.start as usize..(s.start + s.len) as usize];
        files
            .owners
            .sort_unstable_by(|a, b| at(&a.0).cmp(at(&b.0)).then(a.1.cmp(&b.1)));
        files
            .owners
            .dedup_by(|a, b| a.1 == b.1 && at(&a.0) == at(&b.0));
        md5s.sort_unstable_by(|a, b| at(&a.0).cmp(at(&b.0)).then((a.1, a.2).cmp(&(b.1, b.2))));
        md5s.dedup_by(|a, b| at(&a.0) == at(&b.0));
        files.md5s = md5s.into_iter().map(|(s, _, _, m)| (s, m)).collect();
        files.obsolete.sort();
        files.obsolete.dedup();
        files.arena = arena;
        for dir in USR_MERGED {
            let usr = [&b"/usr"[..], dir].concat();
            let is_link = std::fs::symlink_metadata(target.host_path(dir))
                .is_ok_and(|m| m.file_type().is_symlink());
            if is_link && resolve(target, dir)?.as_deref() == Some(&usr[..]) {
                files.aliases.push((dir.to_vec(), usr));
            }
        }
        Ok(files)
    }

    /// Store `prefix + path` (after diversions) in the arena.
    fn push_path(
        &mut self,
        diversions: &Diversions,
        prefix: &[u8],
        path: &[u8],
        pkg: &str,
    ) -> Span {
        let start = self.arena.len();
        self.arena.extend_from_slice(prefix);
        self.arena.extend_from_slice(path);
        if !diversions.is_empty() {
            if let Some((to, by)) = diversions.get(&self.arena[start..]) {
                if by.as_deref() != Some(pkg) {
                    self.arena.truncate(start);
                    self.arena.extend_from_slice(to);
                }
            }
        }
        Span {
            start: start as u32,
            len: (self.arena.len() - start) as u32,
        }
    }

    fn at(&self, s: Span) -> &[u8] {
        &self.arena[s.start as usize..(s.start + s.len) as usize]
    }

    /// `path` and, on merged-/usr systems, its other name (`/bin/x` and `/usr/bin/x`).
    fn names(&self, path: &[u8]) -> Vec<Vec<u8>> {
        let mut out = vec![path.to_vec()];
        for (short, long) in &self.aliases {
            for (from, to) in [(short, long), (long, short)] {
                if let Some(rest) = path.strip_prefix(&from[..]) {
                    if rest.starts_with(b"/") {
                        out.push([&to[..], rest].concat());
                    }
                }
            }
        }
        out
    }

    fn owner_indices(&self, path: &[u8]) -> Vec<u32> {
        for name in self.names(path) {
            let i = self
                .owners
                .partition_point(|(s, _)| self.at(*s) < &name[..]);
            let found: Vec<u32> = self.owners[i..]
                .iter()
                .take_while(|(s, _)| self.at(*s) == &name[..])
                .map(|(_, p)| *p)
                .collect();
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// The package that installed `path` (the first of several, in name
    /// order), as dpkg names it: `pkg` or `pkg:arch`.
    pub fn owner_of(&self, path: &[u8]) -> Option<&str> {
        self.owners_of(path).into_iter().next()
    }

    /// Every package that installed `path` (directories have many), sorted.
    pub fn owners_of(&self, path: &[u8]) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .owner_indices(path)
            .into_iter()
            .map(|i| self.packages[i as usize].as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The md5 (lower-case hex) of `path` as its package shipped it:
    /// `md5sums` for plain files, the status file for conffiles.
    pub fn stock_md5(&self, path: &[u8]) -> Option<&str> {
        self.names(path).iter().find_map(|name| {
            let i = self.md5s.partition_point(|(s, _)| self.at(*s) < &name[..]);
            let (s, m) = self.md5s.get(i)?;
            (self.at(*s) == &name[..]).then(|| std::str::from_utf8(m).ok())?
        })
    }

    /// Every file a package shipped with a checksum (md5sums and
    /// conffiles) at or below `dir`, with its owner, sorted: what should be
    /// there. Conffiles a package no longer ships (obsolete) are left out.
    pub fn shipped_under(&self, dir: &[u8]) -> Vec<(Vec<u8>, &str)> {
        let lo = self.md5s.partition_point(|(s, _)| self.at(*s) < dir);
        self.md5s[lo..]
            .iter()
            .map(|(s, _)| self.at(*s))
            .take_while(|p| p.starts_with(dir))
            .filter(|p| crate::model::is_within(p, dir))
            .filter(|p| {
                self.obsolete
                    .binary_search_by(|o| o.as_slice().cmp(p))
                    .is_err()
            })
            .filter_map(|p| Some((p.to_vec(), self.owner_of(p)?)))
            .collect()
    }

    /// Number of (path, package) ownership records.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }
}

/// `md5  relative/path` (or ` *path` for binary mode): the md5 and the path
/// without a leading `./` or `/`.
fn md5sums_line(line: &[u8]) -> Option<([u8; 32], &[u8])> {
    let md5 = hex32(line.get(..32)?)?;
    if !matches!(line.get(32..34), Some(b"  " | b" *")) {
        return None;
    }
    let rel = &line[34..];
    let rel = rel.strip_prefix(b"./").unwrap_or(rel);
    let rel = rel.strip_prefix(b"/").unwrap_or(rel);
    (!rel.is_empty()).then_some((md5, rel))
}

/// 32 hex digits, lower-cased.
fn hex32(b: &[u8]) -> Option<[u8; 32]> {
    let mut out: [u8; 32] = b.try_into().ok()?;
    for c in &mut out {
        if !c.is_ascii_hexdigit() {
            return None;
        }
        c.make_ascii_lowercase();
    }
    Some(out)
}

/// `/var/lib/dpkg/diversions`: triples of lines `from`, `to`, `package`
/// (`:` for a local diversion). A diversion by another package (or a local
/// one) moves a package's file to `to`.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{fixture, test_root as root};

    #[test]
    fn ownership_and_stock_md5_of_the_bookworm_fixture() {
        let f = DpkgFiles::load(&fixture("bookworm")).unwrap();
        type Case<'a> = (&'a str, &'a [u8], Option<&'a str>, Option<&'a str>);
        let cases: &[Case] = &[
            (
                "plain file",
                b"/bin/dash",
                Some("dash"),
                Some("623e332d8ae2db8a2d050dcce9510b47"),
            ),
            (
                "multi-arch: same",
                b"/usr/lib/x86_64-linux-gnu/libacl.so.1.1.2301",
                Some("libacl1:amd64"),
                None,
            ),
            (
                "conffile md5 from status",
                b"/etc/issue",
                Some("base-files"),
                Some("349d61a0e072d678e3e94923f0c3ce0e"),
            ),
            (
                "conffile of a package without its list",
                b"/etc/init.d/puppet",
                None,
                Some("23e01a632b7d1c771448618d31724873"),
            ),
            (
                "the diverter keeps its own path",
                b"/bin/sh",
                Some("dash"),
                None,
            ),
            ("unowned", b"/etc/motd.admin", None, None),
            ("the root is nobody's", b"/.", None, None),
        ];
        for (name, path, owner, md5) in cases {
            assert_eq!(f.owner_of(path), *owner, "{name}");
            if md5.is_some() {
                assert_eq!(f.stock_md5(path), *md5, "{name}");
            }
        }
        assert!(f
            .stock_md5(b"/usr/lib/x86_64-linux-gnu/libacl.so.1.1.2301")
            .is_some());
        assert!(f.owners_of(b"/usr/share/doc").len() >= 3);
        assert!(f.len() > 50);
    }

    #[test]
    fn diversions_move_other_packages_files() {
        let (_tmp, t) = root(&[
            ("var/lib/dpkg/diversions", b"/bin/sh\n/bin/sh.distrib\ndash\n/etc/local.conf\n/etc/local.conf.orig\n:\n"),
            ("var/lib/dpkg/info/dash.list", b"/.\n/bin\n/bin/sh\n"),
            ("var/lib/dpkg/info/dash.md5sums", b"00000000000000000000000000000001  bin/sh\n"),
            ("var/lib/dpkg/info/bash:amd64.list", b"/.\n/bin\n/bin/sh\n/etc/local.conf\n"),
            (
                "var/lib/dpkg/info/bash:amd64.md5sums",
                b"00000000000000000000000000000002  bin/sh\n00000000000000000000000000000003 */etc/local.conf\n",
            ),
        ]);
        let f = DpkgFiles::load(&t).unwrap();
        assert_eq!(f.owner_of(b"/bin/sh"), Some("dash"));
        assert_eq!(
            f.stock_md5(b"/bin/sh"),
            Some("00000000000000000000000000000001")
        );
        assert_eq!(f.owner_of(b"/bin/sh.distrib"), Some("bash:amd64"));
        assert_eq!(
            f.stock_md5(b"/bin/sh.distrib"),
            Some("00000000000000000000000000000002")
        );
        // A local diversion moves every package's file.
        assert_eq!(f.owner_of(b"/etc/local.conf"), None);
        assert_eq!(f.owner_of(b"/etc/local.conf.orig"), Some("bash:amd64"));
        assert_eq!(
            f.stock_md5(b"/etc/local.conf.orig"),
            Some("00000000000000000000000000000003")
        );
        assert_eq!(f.owners_of(b"/bin"), ["bash:amd64", "dash"]);
    }

    #[test]
    fn merged_usr_names_find_the_same_files() {
        let (tmp, t) = root(&[
            ("usr/bin/.keep", b""),
            ("usr/lib/.keep", b""),
            (
                "var/lib/dpkg/info/dash.list",
                b"/.\n/bin\n/bin/dash\n/usr/bin/other\n",
            ),
            (
                "var/lib/dpkg/info/dash.md5sums",
                b"00000000000000000000000000000001  bin/dash\n",
            ),
        ]);
        std::os::unix::fs::symlink("usr/bin", tmp.path().join("bin")).unwrap();
        // An absolute link is resolved inside the root too.
        std::os::unix::fs::symlink("/usr/lib", tmp.path().join("lib")).unwrap();
        std::fs::create_dir(tmp.path().join("sbin")).unwrap();
        let f = DpkgFiles::load(&t).unwrap();
        for path in [&b"/bin/dash"[..], b"/usr/bin/dash"] {
            assert_eq!(
                f.owner_of(path),
                Some("dash"),
                "{}",
                String::from_utf8_lossy(path)
            );
            assert_eq!(f.stock_md5(path), Some("00000000000000000000000000000001"));
        }
        assert_eq!(f.owner_of(b"/bin/other"), Some("dash"));
        assert_eq!(f.owner_of(b"/binx/dash"), None);
        assert_eq!(f.aliases.len(), 2, "{:?}", f.aliases);
    }

    #[test]
    fn damaged_info_files_are_errors_naming_file_and_line() {
        let cases: &[(&str, &str, &[u8], &str)] = &[
            (
                "short md5",
                "var/lib/dpkg/info/a.md5sums",
                b"0123  x\n",
                "a.md5sums: line 1: expected 'MD5  path'",
            ),
            (
                "not hex",
                "var/lib/dpkg/info/a.md5sums",
                b"00000000000000000000000000000001  ok\nzz000000000000000000000000000000  x\n",
                "a.md5sums: line 2",
            ),
            (
                "truncated diversions",
                "var/lib/dpkg/diversions",
                b"/a\n/b\n",
                "diversions: line 2: truncated",
            ),
        ];
        for (name, file, data, want) in cases {
            let (_tmp, t) = root(&[(file, data)]);
            let err = DpkgFiles::load(&t).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn md5_hex_matches_md5sum() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/probe/bookworm");
        let dash = std::fs::read(dir.join("var/lib/dpkg/info/dash.list")).unwrap();
        assert_eq!(
            md5_hex(&dash),
            "7926746f4a758f02fe11f42efa7ae4cd",
            "md5sum dash.list"
        );
    }

    #[test]
    fn non_utf8_paths_survive() {
        let (_tmp, t) = root(&[
            ("var/lib/dpkg/info/a.list", b"/etc/caf\xe9\n"),
            (
                "var/lib/dpkg/info/a.md5sums",
                b"0123456789abcdef0123456789ABCDEF  etc/caf\xe9\n",
            ),
        ]);
        let f = DpkgFiles::load(&t).unwrap();
        assert_eq!(f.owner_of(b"/etc/caf\xe9"), Some("a"));
        assert_eq!(
            f.stock_md5(b"/etc/caf\xe9"),
            Some("0123456789abcdef0123456789abcdef")
        );
    }
}
