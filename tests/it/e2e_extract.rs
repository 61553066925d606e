//! Extraction end to end (issue 11): a Debian root configured by hand
//! with no session becomes, through `cft extract` and `cft manifest`, a
//! module that rebuilds it. The two machines are compared as whole
//! systems, as in the fidelity corpus; against a reference root the module
//! is the one a recording of the same work gives; rotated logs and no logs
//! at all are accounted for.

use crate::e2e_corpus::run::{declaration, floor, snapshot};
use crate::e2e_corpus::{explain, not_expressed_in};
use crate::util::CFT;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::cli::cft;
use testkit::rootfs::{check_and_apply, Rootfs};
use testkit::system;
use testkit::tools::require_testbed;

/// What the machine was installed with (before the admin's own work).
const INSTALLED: &str = "apt-get install -y -q rsync >/dev/null 2>&1";

/// The admin's work, by hand: a package install, an edited stock
/// conffile, a deleted stock file, a purge, a disabled package service, a
/// group and a user, content under /srv and /var/www, a symlink and a
/// binary file. The pauses are a person's: package logs count seconds.
const BY_HAND: &str = r#"
apt-get install -y -q nginx >/dev/null 2>&1
sleep 1.5
sed -i 's/worker_connections 768;/worker_connections 1024;/' /etc/nginx/nginx.conf
rm /etc/nginx/koi-win
systemctl disable nginx.service 2>/dev/null
sleep 1.5
apt-get purge -y -q rsync >/dev/null 2>&1
sleep 1.5
groupadd web
useradd -m -g web -s /bin/bash -c 'Alice Admin' alice
mkdir -p /srv/app /var/www/app
printf 'hello\n' > /srv/app/app.conf
printf '<h1>app</h1>\n' > /var/www/app/index.html
ln -s /srv/app/app.conf /etc/app.conf
printf '\000\001\002\377\376binary\000' > /srv/app/blob.bin
"#;

/// Every resource the admin's work needs, and nothing else.
const EXPECTED: &[&str] = &[
    "file /etc/app.conf",
    "file /etc/nginx/koi-win",
    "file /etc/nginx/nginx.conf",
    "file /srv/app",
    "file /srv/app/app.conf",
    "file /srv/app/blob.bin",
    "file /var/www/app",
    "file /var/www/app/index.html",
    "group web",
    "package nginx",
    "package rsync",
    "service nginx",
    "user alice",
];

fn cft_in(db: &Path, args: &[&str]) -> String {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    cft(CFT, db, &args)
}

/// A machine installed with INSTALLED, then configured BY_HAND; the time
/// between the two, for `--since`.
fn hand_made() -> (Rootfs, String) {
    let machine = Rootfs::new_base();
    machine.sh(INSTALLED);
    std::thread::sleep(Duration::from_millis(1100));
    let since = utc_now();
    std::thread::sleep(Duration::from_millis(1100));
    machine.sh(BY_HAND);
    (machine, since)
}

fn utc_now() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M:%S"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `KIND TITLE` of every resource of the module, sorted.
fn resources(module: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(module.join("manifests")).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        for line in text.lines() {
            let l = line.trim_start();
            if let Some((kind, rest)) = l.split_once(" { '") {
                if let Some(title) = rest.strip_suffix("':") {
                    if !kind.contains(' ') && kind != "class" {
                        out.push(format!("{kind} {title}"));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

fn manifest(db: &Path, name: &str, out: &Path) -> String {
    cft_in(
        db,
        &[
            "manifest",
            name,
            "-o",
            out.to_str().unwrap(),
            "--module-name",
            "hand",
        ],
    )
}

/// The manifests and shipped files of a module, by relative path.
fn module_files(module: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(module)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .filter(|e| e.file_name() != "README.md")
        .map(|e| {
            let rel = e.path().strip_prefix(module).unwrap().to_path_buf();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_machine_configured_by_hand_extracts_to_a_module_that_rebuilds_it() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let (machine, since) = hand_made();
    let t0 = std::time::Instant::now();
    let said = cft_in(
        &db,
        &[
            "extract",
            "hand",
            "--root",
            machine.0.to_str().unwrap(),
            "--since",
            &since,
        ],
    );
    let took = t0.elapsed();
    eprintln!("extract took {:.2} s\n{said}", took.as_secs_f64());
    assert!(said.contains("against the package defaults"), "{said}");
    assert!(
        said.contains("install boundary:") && said.contains("the time asked for"),
        "{said}"
    );
    let module = tmp.path().join("modules/hand");
    let made = manifest(&db, "hand", &module);
    assert_eq!(
        resources(&module),
        EXPECTED,
        "nothing the packages or the installer made, nothing the admin did missing"
    );
    // The module rebuilds the machine: applied twice (the second run
    // changes nothing) in a fresh root installed the same way, then the
    // two systems compared whole.
    let applied = Rootfs::new();
    applied.sh(INSTALLED);
    check_and_apply(
        &module,
        "hand",
        &declaration("hand", &made, &machine),
        &applied,
        &tmp.path().join("reports"),
    );
    let readme = std::fs::read_to_string(module.join("README.md")).unwrap();
    let listed = not_expressed_in(&readme);
    let verdict = system::judge(&snapshot(&machine), &snapshot(&applied), floor(), &|d| {
        explain(&listed, d)
    });
    assert!(
        verdict.unexplained.is_empty(),
        "the applied system differs from the hand-made one:\n{}",
        verdict.report()
    );
    // What it assumed is in the module's README.
    for said in [
        "the time asked for",
        "package logs read",
        "cannot be found without a recording",
    ] {
        assert!(readme.contains(said), "the README says {said:?}:\n{readme}");
    }

    // Against a reference root (the machine as it was installed), the
    // module is the one a recording of the same work gives.
    let reference = Rootfs::new_base();
    reference.sh(INSTALLED);
    let db2 = tmp.path().join("against/cft.db");
    let said = cft_in(
        &db2,
        &[
            "extract",
            "hand",
            "--root",
            machine.0.to_str().unwrap(),
            "--against",
            reference.0.to_str().unwrap(),
        ],
    );
    assert!(said.contains("against the reference root"), "{said}");
    let against = tmp.path().join("against/hand");
    manifest(&db2, "hand", &against);
    let recorded = Rootfs::new_base();
    recorded.sh(INSTALLED);
    let db3 = tmp.path().join("recorded/cft.db");
    cft_in(
        &db3,
        &["begin", "hand", "--root", recorded.0.to_str().unwrap()],
    );
    let abort = testkit::cli::AbortOnPanic::new(CFT, &db3);
    recorded.sh(BY_HAND);
    cft_in(&db3, &["finish", "hand"]);
    drop(abort);
    let recording = tmp.path().join("recorded/hand");
    manifest(&db3, "hand", &recording);
    assert_eq!(resources(&against), resources(&recording));
    assert_eq!(
        module_files(&against),
        module_files(&recording),
        "the same manifests and files as a recording"
    );
}

#[test]
fn rotated_logs_and_no_logs_are_accounted_for() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let machine = Rootfs::new_base();
    machine.sh("apt-get install -y -q jq >/dev/null 2>&1");
    // logrotate's way: the older half gzipped, the newer half .1, a new log.
    machine.sh(
        "cd /var/log; n=$(wc -l < dpkg.log); h=$((n / 2)); head -n $h dpkg.log | gzip > dpkg.log.2.gz; \
         tail -n +$((h + 1)) dpkg.log > dpkg.log.1; : > dpkg.log; \
         gzip -c apt/history.log > apt/history.log.1.gz; : > apt/history.log",
    );
    let db = tmp.path().join("rotated/cft.db");
    let said = cft_in(
        &db,
        &["extract", "rot", "--root", machine.0.to_str().unwrap()],
    );
    assert!(
        said.contains("/var/log/dpkg.log.2.gz, /var/log/dpkg.log.1, /var/log/dpkg.log")
            && said.contains("/var/log/apt/history.log.1.gz"),
        "every rotated log is read and named: {said}"
    );
    assert!(
        said.contains("installed jq") && said.contains("(asked for)"),
        "{said}"
    );
    assert!(said.contains("debootstrap's log"), "{said}");

    machine.sh("rm -f /var/log/dpkg.log* /var/log/apt/history.log* /var/log/bootstrap.log");
    let db = tmp.path().join("none/cft.db");
    let said = cft_in(
        &db,
        &["extract", "none", "--root", machine.0.to_str().unwrap()],
    );
    for assumed in [
        "install boundary: none found",
        "no dpkg or apt logs",
        "priority required, important and standard were taken as the installed system",
    ] {
        assert!(said.contains(assumed), "says {assumed:?}: {said}");
    }
    assert!(
        said.contains("installed jq") && said.contains("(asked for)"),
        "jq is optional and marked manual: the admin's: {said}"
    );
}
