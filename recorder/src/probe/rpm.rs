//! The rpm probe: installed packages of an rpm-based target through one
//! `rpm --root ROOT -qa` call (the database is binary, so rpm itself reads
//! it), and dnf's user-installed list for auto/manual marks when dnf is
//! there. The text parsers are pure and unit-tested; no rpm system is
//! exercised end to end here.

use super::fs::{bad_input, os};
use crate::error::{Error, Result};
use crate::model::{Package, PackageFamily, PackageSnapshot, PackageState};
use crate::target::Target;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// Where rpm databases live (first match wins), and a file that shows one
/// is really there (Debian can have an empty `/var/lib/rpm`).
const DB_DIRS: &[&[u8]] = &[b"/usr/lib/sysimage/rpm", b"/var/lib/rpm"];
const DB_FILES: &[&str] = &["rpmdb.sqlite", "Packages.db", "Packages"];

/// One line per package: name, epoch, version-release, arch, requires, provides.
pub const QUERY_FORMAT: &str =
    "%{NAME}\t%{EPOCH}\t%{VERSION}-%{RELEASE}\t%{ARCH}\t[%{REQUIRENAME},]\t[%{PROVIDENAME},]\n";

/// The packages rpm knows, `None` without an rpm database (or without an
/// `rpm` binary on the host to read it, which is logged).
pub fn probe(target: &Target) -> Result<Option<PackageSnapshot>> {
    let Some(dbpath) = DB_DIRS.iter().copied().find(|d| has_db(target, d)) else {
        return Ok(None);
    };
    let Some(rpm) = crate::tools::find_program("rpm") else {
        tracing::warn!(
            "{} holds an rpm database but there is no rpm program on this host; packages are not recorded",
            target.host_path(dbpath).display()
        );
        return Ok(None);
    };
    let root = target.host_path(b"/");
    #[allow(clippy::disallowed_methods)] // rpm as tools::find_program found it
    let mut cmd = Command::new(&rpm);
    cmd.arg("--root")
        .arg(&root)
        .arg("--dbpath")
        .arg(os(dbpath))
        .args(["-qa", "--qf", QUERY_FORMAT]);
    let text = run(cmd, &rpm)?;
    let mut packages: BTreeMap<String, Package> = BTreeMap::new();
    for p in parse_qa(&text)? {
        // Install-only packages (kernels) repeat a name: keep the newest.
        match packages.get(&p.key()) {
            Some(old) if compare_evr(&old.version, &p.version) != Ordering::Less => {}
            _ => {
                packages.insert(p.key(), p);
            }
        }
    }
    let user = crate::tools::find_program("dnf").and_then(|dnf| user_installed(&dnf, &root));
    if let Some(user) = &user {
        for p in packages.values_mut() {
            p.auto = !user.contains(&(p.name.clone(), p.arch.clone()));
        }
    }
    Ok(Some(PackageSnapshot {
        family: Some(PackageFamily::Rpm),
        packages,
        marks_known: user.is_some(),
        ..PackageSnapshot::default()
    }))
}

fn has_db(target: &Target, dir: &[u8]) -> bool {
    let hp = target.host_path(dir);
    std::fs::symlink_metadata(&hp).is_ok_and(|m| m.is_dir())
        && DB_FILES
            .iter()
            .any(|f| std::fs::symlink_metadata(hp.join(f)).is_ok_and(|m| m.is_file()))
}

fn run(mut cmd: Command, program: &Path) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Error::io(program, e))?;
    if !out.status.success() {
        return Err(bad_input(
            program,
            format!(
                "failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    // Names and versions are ASCII; anything else is not worth failing on.
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// dnf's user-installed packages, `None` if dnf cannot tell (logged).
fn user_installed(dnf: &Path, root: &Path) -> Option<BTreeSet<(String, String)>> {
    #[allow(clippy::disallowed_methods)] // dnf as tools::find_program found it
    let mut cmd = Command::new(dnf);
    cmd.arg("--installroot")
        .arg(root)
        .args([
            "-q",
            "-C",
            "--disablerepo=*",
            "repoquery",
            "--userinstalled",
        ])
        // dnf 5 prints no newline of its own, dnf 4 one more: blank lines are skipped.
        .args(["--qf", "%{name}\t%{arch}\n"]);
    match run(cmd, dnf) {
        Ok(text) => Some(parse_userinstalled(&text)),
        Err(e) => {
            tracing::warn!("{e}; package auto/manual marks are unknown");
            None
        }
    }
}

/// `name\tarch` lines from `dnf repoquery --userinstalled`.
pub fn parse_userinstalled(text: &str) -> BTreeSet<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim().split_once('\t'))
        .map(|(n, a)| (n.trim().to_string(), a.trim().to_string()))
        .collect()
}

/// Parse `rpm -qa --qf QUERY_FORMAT` output. The `gpg-pubkey` pseudo
/// packages (imported keys, not installable) are left out.
pub fn parse_qa(text: &str) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let [name, epoch, vr, arch, requires, provides] = f.as_slice() else {
            return Err(bad_input(
                "rpm -qa",
                format!(
                    "line {}: expected 6 tab-separated fields, got {}",
                    i + 1,
                    f.len()
                ),
            ));
        };
        if *name == "gpg-pubkey" {
            continue;
        }
        let version = match *epoch {
            "(none)" | "" => vr.to_string(),
            e => format!("{e}:{vr}"),
        };
        let list = |s: &str| -> Vec<String> {
            let set: BTreeSet<String> = s
                .split(',')
                .map(str::trim)
                // rpmlib(...) are features of rpm itself, not packages.
                .filter(|n| !n.is_empty() && !n.starts_with("rpmlib("))
                .map(str::to_string)
                .collect();
            set.into_iter().collect()
        };
        out.push(Package {
            name: name.to_string(),
            arch: if *arch == "(none)" {
                String::new()
            } else {
                arch.to_string()
            },
            version,
            state: PackageState::Installed,
            auto: false,
            held: false,
            priority: None,
            depends: list(requires),
            provides: list(provides),
        });
    }
    Ok(out)
}

/// Compare `[EPOCH:]VERSION-RELEASE` strings the way rpm does.
pub fn compare_evr(a: &str, b: &str) -> Ordering {
    fn split(s: &str) -> (u64, &str, &str) {
        let (epoch, rest) = match s.split_once(':') {
            Some((e, r)) if e.bytes().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), r),
            _ => (0, s),
        };
        let (v, r) = rest.rsplit_once('-').unwrap_or((rest, ""));
        (epoch, v, r)
    }
    let (ea, va, ra) = split(a);
    let (eb, vb, rb) = split(b);
    ea.cmp(&eb)
        .then_with(|| rpmvercmp(va, vb))
        .then_with(|| rpmvercmp(ra, rb))
}

/// rpm's `rpmvercmp`: alternating numeric and alphabetic segments, `~`
/// sorts before anything, `^` after the end.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    if a == b {
        return Ordering::Equal;
    }
    let skip = |s: &[u8]| -> usize {
        s.iter()
            .position(|c| c.is_ascii_alphanumeric() || *c == b'~' || *c == b'^')
            .unwrap_or(s.len())
    };
    loop {
        a = &a[skip(a)..];
        b = &b[skip(b)..];
        match (a.first(), b.first()) {
            (Some(b'~'), Some(b'~')) => {
                (a, b) = (&a[1..], &b[1..]);
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (Some(b'^'), Some(b'^')) => {
                (a, b) = (&a[1..], &b[1..]);
                continue;
            }
            (None, Some(b'^')) => return Ordering::Less,
            (Some(b'^'), None) => return Ordering::Greater,
            (Some(b'^'), _) => return Ordering::Less,
            (_, Some(b'^')) => return Ordering::Greater,
            (None, _) | (_, None) => break,
            _ => {}
        }
        let numeric = a[0].is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let la = a.iter().position(|c| !class(c)).unwrap_or(a.len());
        let lb = b.iter().position(|c| !class(c)).unwrap_or(b.len());
        let (sa, sb) = (&a[..la], &b[..lb]);
        if sb.is_empty() {
            // Segments of different kinds: numbers are newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            let trim =
                |s: &'_ [u8]| -> usize { s.iter().position(|&c| c != b'0').unwrap_or(s.len()) };
            let (sa, sb) = (&sa[trim(sa)..], &sb[trim(sb)..]);
            sa.len().cmp(&sb.len()).then_with(|| sa.cmp(sb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        (a, b) = (&a[la..], &b[lb..]);
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, _) => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QA: &str = "bash\t(none)\t5.1.8-9.el9\tx86_64\t/bin/sh,libc.so.6()(64bit),rpmlib(CompressedFileNames),filesystem,\t/bin/bash,bash,bash(x86-64),config(bash),\n\
NetworkManager\t1\t1.46.0-1.el9\tx86_64\tNetworkManager-libnm(x86-64),libc.so.6()(64bit),\tNetworkManager,NetworkManager(x86-64),\n\
gpg-pubkey\t(none)\tfd431d51-4ae0493b\t(none)\t\t\n\
\n\
tzdata\t(none)\t2024a-1.el9\tnoarch\t\t\n";

    #[test]
    fn parse_qa_sample() {
        let got = parse_qa(QA).unwrap();
        let summary: Vec<(String, &str, &str)> = got
            .iter()
            .map(|p| (p.key(), p.version.as_str(), p.arch.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("bash:x86_64".into(), "5.1.8-9.el9", "x86_64"),
                ("NetworkManager:x86_64".into(), "1:1.46.0-1.el9", "x86_64"),
                ("tzdata:noarch".into(), "2024a-1.el9", "noarch"),
            ]
        );
        assert_eq!(
            got[0].depends,
            ["/bin/sh", "filesystem", "libc.so.6()(64bit)"]
        );
        assert_eq!(
            got[0].provides,
            ["/bin/bash", "bash", "bash(x86-64)", "config(bash)"]
        );
        assert!(got[2].depends.is_empty() && got[2].provides.is_empty());
        assert!(got
            .iter()
            .all(|p| p.state == PackageState::Installed && !p.auto));
    }

    #[test]
    fn parse_qa_errors_name_the_line() {
        let err = parse_qa("bash\t(none)\t5.1-1\tx86_64\t\t\nbroken\tline\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("rpm -qa: line 2: expected 6 tab-separated fields, got 2"),
            "{err}"
        );
    }

    #[test]
    fn parse_userinstalled_skips_blank_lines() {
        let got = parse_userinstalled("bash\tx86_64\n\nvim-enhanced\tx86_64\n\n");
        let want: BTreeSet<(String, String)> = [("bash", "x86_64"), ("vim-enhanced", "x86_64")]
            .into_iter()
            .map(|(n, a)| (n.to_string(), a.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rpmvercmp_cases() {
        use Ordering::*;
        // From rpm's own test suite (tests/rpmvercmp.at).
        let cases: &[(&str, &str, Ordering)] = &[
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0", Greater),
            ("2.0", "2.0.1", Less),
            ("2.0.1a", "2.0.1a", Equal),
            ("2.0.1a", "2.0.1", Greater),
            ("5.5p1", "5.5p10", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("8", "xyz.4", Greater),
            ("5.5p2", "5.6p1", Less),
            ("1.0010", "1.9", Greater),
            ("1.05", "1.5", Equal),
            ("1.0", "1", Greater),
            ("2.50", "2.5", Greater),
            ("fc4", "fc.4", Equal),
            ("FC5", "fc4", Less),
            ("2a", "2.0", Less),
            ("1.0", "1.fc4", Greater),
            ("3.0.0_fc", "3.0.0.fc", Equal),
            ("1++", "1_", Equal),
            ("1.0~rc1", "1.0~rc1", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0", "1.0~rc1", Greater),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^20160101", "1.0.1", Less),
            ("1.0^git1", "1.0^git2", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("1.0^git1~pre", "1.0^git1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), *want, "{a} vs {b}");
        }
    }

    #[test]
    fn compare_evr_cases() {
        use Ordering::*;
        let cases: &[(&str, &str, Ordering)] = &[
            ("1:1.0-1", "2.0-1", Greater),
            ("0:2.0-1", "2.0-1", Equal),
            ("1.0-2", "1.0-10", Less),
            ("5.14.0-362.el9", "5.14.0-70.el9", Greater),
            ("1.0", "1.0-1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_evr(a, b), *want, "{a} vs {b}");
        }
    }

    #[test]
    fn no_rpm_database_means_no_rpm() {
        let tmp = tempfile::tempdir().unwrap();
        // Debian may carry an empty /var/lib/rpm.
        std::fs::create_dir_all(tmp.path().join("var/lib/rpm")).unwrap();
        let t = Target::new(std::os::unix::ffi::OsStrExt::as_bytes(
            tmp.path().as_os_str(),
        ));
        assert_eq!(probe(&t).unwrap(), None);
    }
}
