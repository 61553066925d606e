//! The fidelity corpus: everyday admin workflows (`tests/corpus/`), each
//! recorded as a cft session in a fresh Debian root, turned into a module,
//! applied twice with real Puppet in a fresh root of the Puppet variant,
//! and then compared with the recorded root as whole systems
//! (`testkit::system`).
//!
//! A difference is allowed only if it is volatile by nature, in the floor
//! (what two untouched roots of the two variants already differ in), or
//! listed by the module's README as something cft could not express. Each
//! group of cases shares one pair of roots; its cases run in order, and
//! after each one the two systems are compared again, so every difference
//! is charged to the case that made it. The test prints one row per case
//! and every difference, one per line.
//!
//! The runs are tier 2 (`run`): they need root, the Debian mirror the
//! roots were built from, and what `scripts/setup-host.sh` installs; a
//! missing tool fails the test. Reading the corpus and the README's "Not
//! expressed" section is tier 1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use testkit::system::{Difference, Kind};

/// Every group directory has a test in `run`.
#[test]
fn every_corpus_group_is_run() {
    let mut groups: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            e.file_type()
                .unwrap()
                .is_dir()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    groups.sort();
    assert_eq!(groups, ["apache", "db-mail", "resume", "system", "web"]);
    let n: usize = groups.iter().map(|g| cases(g).len()).sum();
    assert!(n >= 12, "the corpus has {n} cases");
    // A group's cases share one database: each name is a session's.
    for g in &groups {
        let names: Vec<String> = cases(g).into_iter().map(|c| c.name).collect();
        let unique: std::collections::BTreeSet<&String> = names.iter().collect();
        assert_eq!(
            unique.len(),
            names.len(),
            "{g}: two cases named alike: {names:?}"
        );
    }
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// One workflow: `NN-name.sh` with `#@ SECTION` headers.
struct Case {
    name: String,
    sections: BTreeMap<String, String>,
}

#[cfg_attr(not(testbed), allow(dead_code))]
impl Case {
    fn section(&self, name: &str) -> Option<&str> {
        self.sections.get(name).map(String::as_str)
    }
}

fn cases(group: &str) -> Vec<Case> {
    let dir = corpus_dir().join(group);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            let name = stem
                .split_once('-')
                .map_or(stem.clone(), |(_, n)| n.to_string());
            let mut sections: BTreeMap<String, String> = BTreeMap::new();
            let mut current: Option<String> = None;
            for line in text.lines() {
                if let Some(s) = line.strip_prefix("#@ ") {
                    current = Some(s.trim().to_string());
                    let known = ["before", "session", "gap", "resume", "expect"];
                    assert!(
                        known.contains(&s.trim()),
                        "{}: unknown section {s}",
                        f.display()
                    );
                } else if let Some(c) = &current {
                    let body = sections.entry(c.clone()).or_default();
                    body.push_str(line);
                    body.push('\n');
                }
            }
            assert!(
                sections.contains_key("session"),
                "{}: no session",
                f.display()
            );
            assert_eq!(
                sections.contains_key("gap"),
                sections.contains_key("resume"),
                "{}: a gap goes with a resume",
                f.display()
            );
            Case { name, sections }
        })
        .collect()
}

pub(crate) fn not_expressed_in(readme: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with("## ") {
            inside = line == "## Not expressed";
            continue;
        }
        let Some(item) = line.strip_prefix("- ").filter(|_| inside) else {
            continue;
        };
        let fence = item.len() - item.trim_start_matches('`').len();
        if fence == 0 {
            continue;
        }
        let rest = &item[fence..];
        let Some(end) = rest.find(&"`".repeat(fence)) else {
            continue;
        };
        let what = rest[..end].trim_matches(' ').to_string();
        let why = rest[end + fence..]
            .trim_start_matches(" (partly)")
            .trim_start_matches(": ")
            .to_string();
        out.push((what, why));
    }
    out
}

/// A README entry that covers the difference: the path or one of its
/// parents for files, `KIND NAME` for the rest.
pub(crate) fn explain(listed: &[(String, String)], d: &Difference) -> Option<String> {
    let candidates: Vec<String> = match d.kind {
        Kind::File => {
            let mut v = vec![d.id.clone()];
            let mut p = Path::new(&d.id);
            while let Some(up) = p.parent() {
                v.push(up.to_string_lossy().into_owned());
                p = up;
            }
            v
        }
        Kind::Unit => vec![format!("service {}", d.id)],
        other => vec![format!("{} {}", other.as_str(), d.id)],
    };
    listed
        .iter()
        .find(|(what, _)| candidates.contains(what))
        .map(|(_, why)| why.clone())
}

#[test]
fn readme_entries_are_parsed() {
    let readme = "# m\n\n## Not expressed\n\n- `/etc/a b`: it is a fifo.\n- `` /x`y ``: odd.\n- `/srv/f` (partly): no content.\n- `package jq`: held.\n\n## Recorder notices\n\n- `/etc/z`: no\n";
    let got = not_expressed_in(readme);
    assert_eq!(
        got,
        vec![
            ("/etc/a b".to_string(), "it is a fifo.".to_string()),
            ("/x`y".into(), "odd.".into()),
            ("/srv/f".into(), "no content.".into()),
            ("package jq".into(), "held.".into()),
        ]
    );
    let d = Difference {
        kind: Kind::File,
        id: "/etc/a b/inner".into(),
        attr: "present",
        recorded: None,
        applied: Some("present".into()),
    };
    assert_eq!(explain(&got, &d).as_deref(), Some("it is a fifo."));
    let pkg = Difference {
        kind: Kind::Package,
        id: "jq".into(),
        attr: "held",
        recorded: Some("true".into()),
        applied: Some("false".into()),
    };
    assert_eq!(explain(&got, &pkg).as_deref(), Some("held."));
}

/// Tier 2: each group recorded, applied and compared in Debian roots.
#[cfg(testbed)]
pub(crate) mod run {
    use super::{cases, explain, not_expressed_in};
    use crate::util::CFT;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;
    use std::time::Instant;
    use testkit::cli::{cft, AbortOnPanic};
    use testkit::rootfs::{check_and_apply, Rootfs};
    use testkit::system::{self, Difference, Snapshot};
    use testkit::tools::{require_testbed, testbed_dir};

    #[test]
    fn corpus_web() {
        run_group("web");
    }

    #[test]
    fn corpus_apache() {
        run_group("apache");
    }

    #[test]
    fn corpus_db_mail() {
        run_group("db-mail");
    }

    #[test]
    fn corpus_system() {
        run_group("system");
    }

    #[test]
    fn corpus_resume() {
        run_group("resume");
    }

    pub(crate) fn snapshot(root: &Rootfs) -> Snapshot {
        Snapshot::take(&root.0, &root.sh(system::PROBE_SCRIPT))
            .unwrap_or_else(|e| panic!("snapshot of {}: {e}", root.0.display()))
    }

    /// What two untouched roots of the two variants differ in, Puppet's own
    /// first run included: the floor every comparison stands on.
    pub(crate) fn floor() -> &'static [Difference] {
        static FLOOR: OnceLock<Vec<Difference>> = OnceLock::new();
        FLOOR.get_or_init(|| {
            let base = Rootfs::new_base();
            let puppet = Rootfs::new();
            puppet.sh("puppet apply --color=false -e '' >/dev/null");
            let d = system::diff(&snapshot(&base), &snapshot(&puppet));
            let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
            for x in &d {
                *by_kind.entry(x.kind.as_str()).or_default() += 1;
            }
            eprintln!(
                "floor: {} differences between untouched roots {by_kind:?}",
                d.len()
            );
            let listing: String = d.iter().map(|x| format!("{x}\n")).collect();
            let dir = reports_dir();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("floor.txt"), listing).unwrap();
            d
        })
    }

    /// One row of the corpus table.
    struct Row {
        case: String,
        resources: usize,
        unexplained: Vec<String>,
        explained: usize,
        seconds: f64,
    }

    fn run_group(group: &str) {
        require_testbed();
        let floor = floor();
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("state/cft.db");
        let cft = |args: &[&std::ffi::OsStr]| cft(CFT, &db, args);
        let recorded = Rootfs::new_base();
        let applied = Rootfs::new();
        let mut readmes: Vec<PathBuf> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut rows: Vec<Row> = Vec::new();
        for case in cases(group) {
            let t0 = Instant::now();
            if let Some(before) = case.section("before") {
                recorded.sh(before);
                applied.sh(before);
            }
            let name = case.name.as_str();
            cft(&[
                "begin".as_ref(),
                name.as_ref(),
                "--root".as_ref(),
                recorded.0.as_os_str(),
            ]);
            let abort = AbortOnPanic::new(CFT, &db);
            recorded.sh(case.section("session").unwrap());
            cft(&["finish".as_ref(), name.as_ref()]);
            if let (Some(gap), Some(resume)) = (case.section("gap"), case.section("resume")) {
                recorded.sh(gap);
                cft(&["begin".as_ref(), "--resume".as_ref(), name.as_ref()]);
                recorded.sh(resume);
                cft(&["finish".as_ref(), name.as_ref()]);
            }
            drop(abort);
            let module_name = name.replace('-', "_");
            let module = tmp.path().join("modules").join(&module_name);
            let made = cft(&[
                "manifest".as_ref(),
                name.as_ref(),
                "-o".as_ref(),
                module.as_os_str(),
            ]);
            let manifest = declaration(&module_name, &made, &recorded);
            if let Some(expect) = case.section("expect") {
                check_expectations(group, name, expect, &module);
            }
            check_and_apply(
                &module,
                &module_name,
                &manifest,
                &applied,
                &tmp.path().join("reports").join(name),
            );
            readmes.push(module.join("README.md"));
            let listed = not_expressed(&readmes);
            let verdict = system::judge(&snapshot(&recorded), &snapshot(&applied), floor, &|d| {
                explain(&listed, d)
            });
            let new: Vec<String> = verdict
                .unexplained
                .iter()
                .map(|d| d.to_string())
                .filter(|d| !seen.contains(d))
                .collect();
            seen.extend(new.iter().cloned());
            for (d, why) in &verdict.explained {
                eprintln!("{group}/{name}: explained: {d} ({why})");
            }
            for (d, why) in &verdict.volatile {
                eprintln!("{group}/{name}: volatile: {d} ({why})");
            }
            rows.push(Row {
                case: name.to_string(),
                resources: resources(&made),
                unexplained: new,
                explained: verdict.explained.len(),
                seconds: t0.elapsed().as_secs_f64(),
            });
        }
        let mut table = format!(
            "\ncorpus group {group}:\n| case | resources | unexplained | explained | seconds |\n| --- | --- | --- | --- | --- |\n"
        );
        for r in &rows {
            table.push_str(&format!(
                "| {} | {} | {} | {} | {:.0} |\n",
                r.case,
                r.resources,
                r.unexplained.len(),
                r.explained,
                r.seconds
            ));
        }
        for r in &rows {
            for d in &r.unexplained {
                table.push_str(&format!("{group}/{}: {d}\n", r.case));
            }
        }
        eprintln!("{table}");
        // scripts/test.sh prints these after the run: a passing test's output
        // is captured, and the figures belong in the log.
        let dir = reports_dir();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{group}.md")), &table).unwrap();
        assert!(
            rows.iter().all(|r| r.unexplained.is_empty()),
            "the applied system differs from the recorded one:{table}"
        );
    }

    /// What a state comparison cannot show (a restart relationship, a
    /// resource that must not be there): `has: TEXT` and `lacks: TEXT` lines,
    /// matched against the module's manifests, with runs of white space
    /// folded so alignment does not matter.
    fn check_expectations(group: &str, name: &str, expect: &str, module: &Path) {
        let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut files: Vec<PathBuf> = std::fs::read_dir(module.join("manifests"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let manifests = fold(
            &files
                .iter()
                .map(|f| std::fs::read_to_string(f).unwrap())
                .collect::<String>(),
        );
        for line in expect
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (want, text) = if let Some(t) = line.strip_prefix("has: ") {
                (true, t)
            } else if let Some(t) = line.strip_prefix("lacks: ") {
                (false, t)
            } else {
                panic!(
                    "{group}/{name}: expect lines are 'has: TEXT' or 'lacks: TEXT', not: {line}"
                );
            };
            assert_eq!(
                manifests.contains(&fold(text)),
                want,
                "{group}/{name}: the module {} {text:?}:\n{manifests}",
                if want { "lacks" } else { "has" }
            );
        }
    }

    /// Where the tables and the floor go: outside the repository, beside the
    /// test bed's other reports.
    fn reports_dir() -> PathBuf {
        testbed_dir().join("reports/corpus")
    }

    /// `wrote module 'x' to DIR: N resources, M files` -> N.
    fn resources(made: &str) -> usize {
        made.lines()
            .find_map(|l| {
                let (_, rest) = l.strip_prefix("wrote module ")?.rsplit_once(": ")?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or_else(|| panic!("no resource count in:\n{made}"))
    }

    /// The class declaration a site would write: every mandatory parameter
    /// gets the recorded value (a user's password hash, a file's content).
    pub(crate) fn declaration(module: &str, made: &str, recorded: &Rootfs) -> String {
        let mut params = Vec::new();
        for line in made.lines() {
            let Some(rest) = line.trim().strip_prefix("parameter $") else {
                continue;
            };
            let (name, rest) = rest.split_once(' ').unwrap();
            let what = rest
                .split_once("must be supplied: ")
                .map(|(_, w)| w)
                .unwrap_or_else(|| panic!("parameter line: {line}"));
            let value = if let Some(user) = what.strip_prefix("user ") {
                let user = user.split(':').next().unwrap();
                let shadow = std::fs::read_to_string(recorded.host(b"/etc/shadow")).unwrap();
                shadow
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{user}:")))
                    .and_then(|l| l.split(':').next())
                    .unwrap_or_else(|| panic!("no shadow entry for {user}"))
                    .to_string()
            } else {
                let path = what.split(": ").next().unwrap();
                std::fs::read_to_string(recorded.host(path.as_bytes()))
                    .unwrap_or_else(|e| panic!("{path}: {e}"))
            };
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            params.push(format!("{name} => Sensitive('{quoted}')"));
        }
        if params.is_empty() {
            format!("include {module}")
        } else {
            format!("class {{ '{module}': {} }}", params.join(", "))
        }
    }

    /// The entries of every README's "Not expressed" section: (what, why).
    fn not_expressed(readmes: &[PathBuf]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for readme in readmes {
            out.extend(not_expressed_in(&std::fs::read_to_string(readme).unwrap()));
        }
        out
    }
}
