//! System probes: what the package manager, the account databases and the
//! service manager say about the observed system, read at `begin` and at
//! `finish` so attribution can diff them into package, user, group and
//! service resources.
//!
//! Probes read the target's own files under its root (never the host's
//! NSS, `systemctl` or a per-package subprocess), so they work in a chroot
//! and stay fast. Directory symlinks are resolved the way the target itself
//! would see them (inside the root, never escaping it: `/lib -> usr/lib`
//! works, `/etc -> /host/etc` cannot reach the host); the files themselves
//! are opened with `O_NOFOLLOW | O_NONBLOCK` and must be regular files.

pub mod accounts;
pub mod dpkg;
pub(crate) mod fs;
pub mod repos;
pub mod rpm;
pub mod services;

use crate::error::Result;
use crate::model::{Package, PackageSnapshot, SystemSnapshot};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Run all the probes. A system without a package database has `family: None`
/// and no packages; missing account files or unit directories mean none.
pub fn snapshot(target: &Target) -> Result<SystemSnapshot> {
    let packages = match dpkg::probe(target)? {
        Some(p) => p,
        None => rpm::probe(target)?.unwrap_or_default(),
    };
    Ok(SystemSnapshot {
        packages,
        accounts: accounts::probe(target)?,
        services: services::probe(target)?,
    })
}

/// Of a set of newly installed packages, the names of those that no other
/// one of them depends on (through its name or a name it provides): what
/// the admin most likely asked for when no auto/manual marks exist.
///
/// Dependency cycles terminate: the packages of a cycle (a strongly
/// connected component) that nothing outside depends on are represented by
/// their lexicographically smallest name. Dependencies are taken from `all`
/// when it has the package (the freshest data), else from `changed`.
/// Sorted, without duplicates.
pub fn leaves(changed: &[Package], all: &PackageSnapshot) -> Vec<String> {
    let mut nodes: BTreeMap<String, &Package> = BTreeMap::new();
    for p in changed {
        let key = p.key();
        let fresh = all.packages.get(&key).unwrap_or(p);
        nodes.entry(key).or_insert(fresh);
    }
    let nodes: Vec<&Package> = nodes.into_values().collect();
    let mut providers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, p) in nodes.iter().enumerate() {
        for name in std::iter::once(&p.name).chain(&p.provides) {
            providers.entry(name).or_default().push(i);
        }
    }
    let adj: Vec<Vec<usize>> = nodes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let set: BTreeSet<usize> = p
                .depends
                .iter()
                .flat_map(|d| providers.get(d.as_str()).into_iter().flatten())
                .copied()
                .filter(|&j| j != i)
                .collect();
            set.into_iter().collect()
        })
        .collect();
    let comp = strongly_connected(&adj);
    let ncomp = comp.iter().map(|c| c + 1).max().unwrap_or(0);
    let mut has_incoming = vec![false; ncomp];
    for (v, out) in adj.iter().enumerate() {
        for &w in out {
            if comp[v] != comp[w] {
                has_incoming[comp[w]] = true;
            }
        }
    }
    let mut rep: Vec<Option<&str>> = vec![None; ncomp];
    for (i, p) in nodes.iter().enumerate() {
        let r = &mut rep[comp[i]];
        match r {
            Some(cur) if *cur <= p.name.as_str() => {}
            _ => *r = Some(&p.name),
        }
    }
    let out: BTreeSet<String> = (0..ncomp)
        .filter(|&c| !has_incoming[c])
        .filter_map(|c| rep[c].map(str::to_string))
        .collect();
    out.into_iter().collect()
}

/// Tarjan's algorithm without recursion (dependency chains can be long):
/// the component number of each node.
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let n = adj.len();
    let (mut index, mut low, mut comp) = (vec![NONE; n], vec![0; n], vec![NONE; n]);
    let mut on_stack = vec![false; n];
    let (mut stack, mut next, mut ncomp) = (Vec::new(), 0, 0);
    for start in 0..n {
        if index[start] != NONE {
            continue;
        }
        let mut calls = vec![(start, 0usize)];
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (v, ref mut edge)) = calls.last_mut() {
            if let Some(&w) = adj[v].get(*edge) {
                *edge += 1;
                if index[w] == NONE {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = ncomp;
                    if w == v {
                        break;
                    }
                }
                ncomp += 1;
            }
        }
    }
    comp
}

/// A fixture root under `recorder/tests/fixtures/probe`.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> Target {
    use std::os::unix::ffi::OsStrExt;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/probe")
        .join(name);
    Target::new(dir.as_os_str().as_bytes())
}

/// A temporary root holding `files` (relative path, content).
#[cfg(test)]
pub(crate) fn test_root(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Target) {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    for (p, data) in files {
        let p = tmp.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let t = Target::new(tmp.path().as_os_str().as_bytes());
    (tmp, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PackageFamily, PackageState};
    use std::os::unix::ffi::OsStrExt;

    fn pkg(name: &str, depends: &[&str], provides: &[&str]) -> Package {
        Package {
            name: name.into(),
            arch: "amd64".into(),
            version: "1".into(),
            state: PackageState::Installed,
            auto: false,
            held: false,
            priority: None,
            depends: depends.iter().map(|s| s.to_string()).collect(),
            provides: provides.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn leaves_cases() {
        type Case<'a> = (&'a str, Vec<Package>, &'a [&'a str]);
        let cases: Vec<Case> = vec![
            ("nothing", vec![], &[]),
            (
                "a chain keeps its head",
                vec![
                    pkg("a", &["b"], &[]),
                    pkg("b", &["c"], &[]),
                    pkg("c", &[], &[]),
                ],
                &["a"],
            ),
            (
                "independent packages are all leaves",
                vec![pkg("a", &[], &[]), pkg("b", &["libc6"], &[])],
                &["a", "b"],
            ),
            (
                "a dependency through a virtual name",
                vec![
                    pkg("mutt", &["mail-transport-agent"], &[]),
                    pkg("exim4", &[], &["mail-transport-agent"]),
                ],
                &["mutt"],
            ),
            (
                "a self-dependency is no edge",
                vec![pkg("a", &["a"], &[])],
                &["a"],
            ),
            (
                "a two-cycle nobody needs keeps its smallest name",
                vec![pkg("zeta", &["alpha"], &[]), pkg("alpha", &["zeta"], &[])],
                &["alpha"],
            ),
            (
                "a three-cycle",
                vec![
                    pkg("b", &["c"], &[]),
                    pkg("c", &["a"], &[]),
                    pkg("a", &["b"], &[]),
                ],
                &["a"],
            ),
            (
                "a cycle something depends on is no leaf",
                vec![
                    pkg("app", &["x"], &[]),
                    pkg("x", &["y"], &[]),
                    pkg("y", &["x"], &[]),
                ],
                &["app"],
            ),
            (
                "two cycles, one needed by the other",
                vec![
                    pkg("a", &["b", "c"], &[]),
                    pkg("b", &["a"], &[]),
                    pkg("c", &["d"], &[]),
                    pkg("d", &["c"], &[]),
                    pkg("lone", &[], &[]),
                ],
                &["a", "lone"],
            ),
            (
                "two architectures of one name",
                vec![
                    pkg("libfoo", &[], &[]),
                    Package {
                        arch: "i386".into(),
                        ..pkg("libfoo", &[], &[])
                    },
                ],
                &["libfoo"],
            ),
        ];
        for (name, changed, want) in cases {
            let got = leaves(&changed, &PackageSnapshot::default());
            assert_eq!(got, *want, "{name}");
        }
    }

    #[test]
    fn leaves_prefer_the_snapshots_dependencies() {
        let mut all = PackageSnapshot::default();
        let fresh = pkg("a", &["b"], &[]);
        all.packages.insert(fresh.key(), fresh);
        let stale = [pkg("a", &[], &[]), pkg("b", &[], &[])];
        assert_eq!(leaves(&stale, &all), ["a"]);
    }

    #[test]
    fn leaves_of_a_long_chain_do_not_overflow_the_stack() {
        let n = 100_000;
        let chain: Vec<Package> = (0..n)
            .map(|i| {
                let next = format!("p{}", (i + 1) % n);
                pkg(&format!("p{i}"), &[next.as_str()], &[])
            })
            .collect();
        // One big cycle: one representative.
        assert_eq!(leaves(&chain, &PackageSnapshot::default()), ["p0"]);
    }

    #[test]
    fn snapshot_of_an_empty_root_is_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let s = snapshot(&Target::new(tmp.path().as_os_str().as_bytes())).unwrap();
        assert_eq!(s, SystemSnapshot::default());
    }

    #[test]
    fn snapshot_of_the_bookworm_fixture_round_trips_through_json() {
        let s = snapshot(&fixture("bookworm")).unwrap();
        assert_eq!(s.packages.family, Some(PackageFamily::Dpkg));
        assert_eq!(s.packages.packages.len(), 158);
        assert!(s.packages.marks_known);
        assert_eq!(s.accounts.users.len(), 20);
        assert_eq!(s.accounts.groups.len(), 41);
        let json = serde_json::to_string(&s).unwrap();
        let back: SystemSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        // Deterministic: the same input gives the same bytes.
        let again = serde_json::to_string(&snapshot(&fixture("bookworm")).unwrap()).unwrap();
        assert_eq!(json, again);
    }
}
