//! The dpkg probe: installed packages from `/var/lib/dpkg/status` and apt's
//! auto marks from `/var/lib/apt/extended_states`; and, loaded on demand
//! (`files`), which package owns a path and what it shipped there, so
//! attribution can tell a package's own files from the admin's edits.
//!
//! Everything is parsed from the files themselves, as bytes: no `dpkg-query`
//! subprocess, so a whole system is read in milliseconds, chroots included.

use super::fs::{at_line, read_file, utf8_line};
use crate::error::Result;
use crate::model::{Package, PackageFamily, PackageSnapshot, PackageState};
use crate::target::Target;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

mod files;
pub mod state;
pub use files::{md5_hex, DpkgFiles, Md5Writer};

pub const STATUS: &[u8] = b"/var/lib/dpkg/status";
pub const EXTENDED_STATES: &[u8] = b"/var/lib/apt/extended_states";
pub const DIVERSIONS: &[u8] = b"/var/lib/dpkg/diversions";
pub const INFO_DIR: &[u8] = b"/var/lib/dpkg/info";

/// A configuration file as recorded in the status file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conffile {
    pub path: Vec<u8>,
    /// The md5 of the shipped version (`newconffile` while unpacking).
    pub md5: String,
    /// No longer shipped by the package, left on disk.
    pub obsolete: bool,
}

/// One package paragraph of the status file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    pub package: Package,
    pub conffiles: Vec<Conffile>,
}

/// The packages dpkg knows, `None` if there is no dpkg database.
pub fn probe(target: &Target) -> Result<Option<PackageSnapshot>> {
    let Some((path, data)) = read_file(target, STATUS)? else {
        return Ok(None);
    };
    let entries = parse_status(&path, &data)?;
    let marks = match read_file(target, EXTENDED_STATES)? {
        Some((path, data)) => Some(parse_extended_states(&path, &data)?),
        None => None,
    };
    let mut packages = BTreeMap::new();
    for StatusEntry { mut package, .. } in entries {
        if let Some(marks) = &marks {
            package.auto = auto_mark(marks, &package.name, &package.arch);
        }
        // dpkg never repeats a package; if a damaged file does, the first wins.
        packages.entry(package.key()).or_insert(package);
    }
    Ok(Some(PackageSnapshot {
        family: Some(PackageFamily::Dpkg),
        packages,
        marks_known: marks.is_some(),
        alternatives: state::alternatives(target)?,
        diversions: state::diversions(target)?,
    }))
}

/// apt records `Architecture: all` packages under the native architecture,
/// and old files name no architecture at all.
fn auto_mark(marks: &HashMap<(String, String), bool>, name: &str, arch: &str) -> bool {
    let get = |a: &str| marks.get(&(name.to_string(), a.to_string())).copied();
    get(arch)
        .or_else(|| get(""))
        .or_else(|| {
            (arch == "all")
                .then(|| {
                    marks
                        .iter()
                        .filter(|((n, _), _)| n == name)
                        .min_by(|a, b| a.0.cmp(b.0))
                        .map(|(_, &auto)| auto)
                })
                .flatten()
        })
        .unwrap_or(false)
}

// ---- deb822 -------------------------------------------------------------

/// One field: its value's first line and continuation lines, trimmed.
struct Field<'a> {
    /// Lower-case (field names are case-insensitive).
    name: String,
    line: usize,
    lines: Vec<&'a [u8]>,
}

struct Paragraph<'a> {
    line: usize,
    fields: Vec<Field<'a>>,
}

impl<'a> Paragraph<'a> {
    fn get(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A field's value on one line (continuations joined by spaces).
    fn text(&self, path: &Path, name: &str) -> Result<Option<String>> {
        let Some(f) = self.get(name) else {
            return Ok(None);
        };
        let mut out = String::new();
        for (i, l) in f.lines.iter().enumerate() {
            let s = utf8_line(path, f.line + i, l)?;
            if !s.is_empty() {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(s);
            }
        }
        Ok(Some(out))
    }
}

fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !first.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !last.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    b
}

/// Split a control file into paragraphs. Errors name the file and line.
fn paragraphs<'a>(path: &Path, data: &'a [u8]) -> Result<Vec<Paragraph<'a>>> {
    let mut out = Vec::new();
    let mut cur: Option<Paragraph<'a>> = None;
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if trim(line).is_empty() {
            out.extend(cur.take());
            continue;
        }
        if line.starts_with(b"#") {
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            let Some(field) = cur.as_mut().and_then(|p| p.fields.last_mut()) else {
                return Err(at_line(path, n, "continuation line outside a field"));
            };
            field.lines.push(trim(line));
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(at_line(path, n, "expected 'Field: value'"));
        };
        let name = &line[..colon];
        if !name.iter().all(|b| b.is_ascii_graphic()) {
            return Err(at_line(
                path,
                n,
                format!("bad field name {}", crate::model::display_path(name)),
            ));
        }
        let p = cur.get_or_insert_with(|| Paragraph {
            line: n,
            fields: Vec::new(),
        });
        p.fields.push(Field {
            name: String::from_utf8_lossy(name).to_ascii_lowercase(),
            line: n,
            lines: vec![trim(&line[colon + 1..])],
        });
    }
    out.extend(cur);
    Ok(out)
}

/// Parse a dpkg status file. Errors name the file and line.
pub fn parse_status(path: &Path, data: &[u8]) -> Result<Vec<StatusEntry>> {
    let mut out = Vec::new();
    for p in paragraphs(path, data)? {
        let Some(name) = p.text(path, "package")? else {
            return Err(at_line(path, p.line, "paragraph without a Package field"));
        };
        let Some(status) = p.text(path, "status")? else {
            return Err(at_line(
                path,
                p.line,
                format!("package {name}: no Status field"),
            ));
        };
        let words: Vec<&str> = status.split_whitespace().collect();
        let state = match words.as_slice() {
            // Configured, only triggers pending: the package is there.
            [_, _, "installed" | "triggers-pending" | "triggers-awaited"] => {
                PackageState::Installed
            }
            [_, _, "config-files"] => PackageState::ConfigFiles,
            [_, _, other] => PackageState::Other(other.to_string()),
            _ => {
                let line = p.get("status").map_or(p.line, |f| f.line);
                return Err(at_line(
                    path,
                    line,
                    format!("package {name}: expected 'Status: WANT FLAG STATUS', got '{status}'"),
                ));
            }
        };
        let mut depends = relation_names(&p.text(path, "depends")?.unwrap_or_default());
        depends.extend(relation_names(
            &p.text(path, "pre-depends")?.unwrap_or_default(),
        ));
        depends.sort();
        depends.dedup();
        let mut conffiles = Vec::new();
        if let Some(f) = p.get("conffiles") {
            for (i, l) in f.lines.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
                conffiles.push(parse_conffile(l).ok_or_else(|| {
                    at_line(path, f.line + i, "expected ' /path md5 [obsolete]'")
                })?);
            }
        }
        out.push(StatusEntry {
            package: Package {
                name,
                arch: p.text(path, "architecture")?.unwrap_or_default(),
                version: p.text(path, "version")?.unwrap_or_default(),
                state,
                auto: false,
                held: words[0] == "hold",
                priority: p.text(path, "priority")?,
                depends,
                provides: relation_names(&p.text(path, "provides")?.unwrap_or_default()),
            },
            conffiles,
        });
    }
    Ok(out)
}

/// Package names of a relationship field, every alternative included, without
/// versions, architecture qualifiers or restrictions; sorted, no duplicates.
pub fn relation_names(field: &str) -> Vec<String> {
    let mut out: Vec<String> = field
        .split([',', '|'])
        .filter_map(|alt| {
            let alt = alt.trim();
            let end = alt
                .find(|c: char| c.is_whitespace() || "([<:".contains(c))
                .unwrap_or(alt.len());
            (end > 0).then(|| alt[..end].to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// ` /etc/x md5hex [obsolete] [remove-on-upgrade]` (the path may hold spaces).
fn parse_conffile(line: &[u8]) -> Option<Conffile> {
    let mut rest = trim(line);
    let mut obsolete = false;
    loop {
        let i = rest.iter().rposition(|c| c.is_ascii_whitespace())?;
        let (head, word) = (trim(&rest[..i]), &rest[i + 1..]);
        match word {
            b"obsolete" => obsolete = true,
            b"remove-on-upgrade" => {}
            _ => {
                let md5 = std::str::from_utf8(word).ok()?.to_string();
                return head.starts_with(b"/").then(|| Conffile {
                    path: head.to_vec(),
                    md5,
                    obsolete,
                });
            }
        }
        rest = head;
    }
}

/// apt's marks: `(name, arch)` -> auto-installed (`arch` empty when the
/// paragraph names none: it applies to every architecture).
pub fn parse_extended_states(path: &Path, data: &[u8]) -> Result<HashMap<(String, String), bool>> {
    let mut out = HashMap::new();
    for p in paragraphs(path, data)? {
        let Some(name) = p.text(path, "package")? else {
            return Err(at_line(path, p.line, "paragraph without a Package field"));
        };
        let arch = p.text(path, "architecture")?.unwrap_or_default();
        let auto = p.text(path, "auto-installed")?.is_some_and(|v| v == "1");
        out.entry((name, arch)).or_insert(auto);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{fixture, test_root as root};

    const P: &str = "/r/var/lib/dpkg/status";

    fn status(text: &[u8]) -> Result<Vec<StatusEntry>> {
        parse_status(Path::new(P), text)
    }

    #[test]
    fn status_errors_name_the_file_and_line() {
        let cases: &[(&str, &[u8], &str)] = &[
            (
                "continuation first",
                b" indented\nPackage: a\n",
                "line 1: continuation line outside a field",
            ),
            (
                "no colon",
                b"Package: a\nStatus install ok installed\n",
                "line 2: expected 'Field: value'",
            ),
            (
                "no package",
                b"Package: a\nStatus: install ok installed\n\nVersion: 1\n",
                "line 4: paragraph without a Package field",
            ),
            (
                "no status",
                b"Package: a\nVersion: 1\n",
                "line 1: package a: no Status field",
            ),
            (
                "short status",
                b"Package: a\nStatus: installed\n",
                "line 2: package a: expected 'Status",
            ),
            (
                "non-UTF-8 name",
                b"Status: install ok installed\nPackage: a\xff\n",
                "line 2: not valid UTF-8: a\\xff",
            ),
            (
                "non-UTF-8 depends continuation",
                b"Package: a\nStatus: install ok installed\nDepends: b,\n c\xfe\n",
                "line 4: not valid UTF-8",
            ),
            ("bad field name", b"Pack age: a\n", "line 1: bad field name"),
            (
                "bad conffile",
                b"Package: a\nStatus: install ok installed\nConffiles:\n /etc/x\n",
                "line 4: expected ' /path md5",
            ),
        ];
        for (name, text, want) in cases {
            let err = status(text).unwrap_err().to_string();
            assert!(err.starts_with(P) && err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn status_fields_and_states() {
        let text =
            b"Package: a\nstatus: install ok installed\nARCHITECTURE: amd64\nVersion: 1:2.0-1\n\
Depends: b (>= 1), c:any | d [amd64],\n e\nPre-Depends: f\nProvides: v (= 1), w\n\
Description: long\n text \xff not parsed\n\n\
Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 3\n\n\
# a comment\nPackage: half\nStatus: install reinstreq half-configured\n\n\
Package: trig\nStatus: install ok triggers-pending\nArchitecture: amd64\n";
        let got = status(text).unwrap();
        let a = &got[0].package;
        assert_eq!(
            (a.name.as_str(), a.arch.as_str(), a.version.as_str()),
            ("a", "amd64", "1:2.0-1")
        );
        assert_eq!(a.depends, ["b", "c", "d", "e", "f"]);
        assert_eq!(a.provides, ["v", "w"]);
        assert_eq!(a.key(), "a:amd64");
        let states: Vec<&PackageState> = got.iter().map(|e| &e.package.state).collect();
        assert_eq!(
            states,
            [
                &PackageState::Installed,
                &PackageState::ConfigFiles,
                &PackageState::Other("half-configured".into()),
                &PackageState::Installed,
            ]
        );
        assert_eq!(got[2].package.key(), "half");
    }

    #[test]
    fn relation_names_cases() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("empty", "", &[]),
            (
                "versions",
                "libc6 (>= 2.34), zlib1g (>= 1:1.1.4)",
                &["libc6", "zlib1g"],
            ),
            (
                "alternatives all kept",
                "debconf (>= 0.5) | debconf-2.0",
                &["debconf", "debconf-2.0"],
            ),
            ("arch qualifier", "python3:any (>= 3.9~)", &["python3"]),
            (
                "restrictions",
                "foo [linux-any] <!nocheck>, bar",
                &["bar", "foo"],
            ),
            ("duplicates", "a, a (<< 2), a", &["a"]),
            ("odd spacing", " a ,b| c ", &["a", "b", "c"]),
        ];
        for (name, field, want) in cases {
            assert_eq!(relation_names(field), *want, "{name}");
        }
    }

    #[test]
    fn conffile_cases() {
        let cf = |p: &str, m: &str, o: bool| Conffile {
            path: p.into(),
            md5: m.into(),
            obsolete: o,
        };
        let cases: &[(&str, &[u8], Option<Conffile>)] = &[
            (
                "plain",
                b" /etc/issue 349d61a0e072d678e3e94923f0c3ce0e",
                Some(cf("/etc/issue", "349d61a0e072d678e3e94923f0c3ce0e", false)),
            ),
            (
                "obsolete",
                b" /etc/old abc obsolete",
                Some(cf("/etc/old", "abc", true)),
            ),
            (
                "remove-on-upgrade",
                b"/etc/x abc remove-on-upgrade",
                Some(cf("/etc/x", "abc", false)),
            ),
            (
                "space in path",
                b"/etc/a b abc",
                Some(cf("/etc/a b", "abc", false)),
            ),
            (
                "newconffile",
                b"/etc/n newconffile",
                Some(cf("/etc/n", "newconffile", false)),
            ),
            ("no md5", b"/etc/x", None),
            ("relative", b"etc/x abc", None),
        ];
        for (name, line, want) in cases {
            assert_eq!(parse_conffile(line), *want, "{name}");
        }
    }

    #[test]
    fn the_bookworm_status_and_marks() {
        let s = probe(&fixture("bookworm")).unwrap().unwrap();
        assert_eq!(s.family, Some(PackageFamily::Dpkg));
        assert!(s.marks_known);
        assert_eq!(s.packages.len(), 158);
        assert!(s
            .packages
            .values()
            .all(|p| p.state == PackageState::Installed));
        let dash = &s.packages["dash:amd64"];
        assert_eq!(dash.version, "0.5.12-2");
        assert_eq!(dash.depends, ["debianutils", "dpkg", "libc6"]);
        assert!(!dash.auto);
        let agent = &s.packages["puppet-agent:all"];
        assert!(agent.depends.iter().any(|d| d == "debconf-2.0"));
        assert!(!agent.auto, "installed by name");
        // apt files Architecture: all packages under the native arch.
        assert!(s.packages["lsb-release:all"].auto);
        assert_eq!(s.packages["base-files:amd64"].provides, ["base"]);
        let entries = parse_status(
            Path::new(P),
            &std::fs::read(fixture_path("var/lib/dpkg/status")).unwrap(),
        )
        .unwrap();
        let base = entries
            .iter()
            .find(|e| e.package.name == "base-files")
            .unwrap();
        assert!(base.conffiles.contains(&Conffile {
            path: b"/etc/issue".to_vec(),
            md5: "349d61a0e072d678e3e94923f0c3ce0e".into(),
            obsolete: false,
        }));
    }

    fn fixture_path(rel: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/probe/bookworm")
            .join(rel)
    }

    #[test]
    fn marks_without_extended_states_are_unknown() {
        let (_tmp, t) = root(&[(
            "var/lib/dpkg/status",
            b"Package: a\nStatus: install ok installed\nArchitecture: all\n",
        )]);
        let s = probe(&t).unwrap().unwrap();
        assert!(!s.marks_known);
        assert!(!s.packages["a:all"].auto);
    }

    #[test]
    fn marks_without_an_architecture_apply_to_all() {
        let (_tmp, t) = root(&[
            (
                "var/lib/dpkg/status",
                b"Package: a\nStatus: install ok installed\nArchitecture: amd64\n\n\
Package: a\nStatus: install ok installed\nArchitecture: i386\n\n\
Package: b\nStatus: install ok installed\nArchitecture: amd64\n",
            ),
            ("var/lib/apt/extended_states", b"Package: a\nAuto-Installed: 1\n\nPackage: b\nArchitecture: amd64\nAuto-Installed: 0\n"),
        ]);
        let s = probe(&t).unwrap().unwrap();
        let auto: Vec<(&str, bool)> = s
            .packages
            .iter()
            .map(|(k, p)| (k.as_str(), p.auto))
            .collect();
        assert_eq!(
            auto,
            [("a:amd64", true), ("a:i386", true), ("b:amd64", false)]
        );
    }

    #[test]
    fn no_status_file_means_no_dpkg() {
        let (_tmp, t) = root(&[]);
        assert_eq!(probe(&t).unwrap(), None);
        assert!(DpkgFiles::load(&t).unwrap().is_empty());
    }
}
