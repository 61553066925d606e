//! End-to-end for packages, accounts and services: a session in a real
//! Debian root that installs and removes packages, edits their
//! configuration, adds groups and users and changes services is turned into
//! a module, applied with real Puppet in a fresh copy, and the two systems
//! are compared with independent tools (dpkg-query, getent, systemctl,
//! file contents).
//!
//! Needs root, network access to the Debian mirror the test root uses, and
//! what `scripts/setup-host.sh` installs; a missing tool fails the test.

use crate::util::CFT;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use testkit::cli::{cft, AbortOnPanic};
use testkit::rootfs::{check_and_apply, Rootfs};
use testkit::tools::require_testbed;

/// Host path of a target path in a root.
fn host(r: &Rootfs, target: &str) -> PathBuf {
    r.host(target.as_bytes())
}

/// Both systems start like this (outside the session).
const BEFORE: &str = "apt-get install -y -q cowsay >/dev/null";

const SCENARIO: &str = r#"
apt-get install -y -q nginx jq >/dev/null
sed -i 's/worker_connections 768;/worker_connections 1024;/' /etc/nginx/nginx.conf
printf 'server { listen 8080; root /srv/www; }\n' > /etc/nginx/conf.d/app.conf
rm /etc/nginx/koi-win
apt-get purge -y -q cowsay >/dev/null
groupadd web
useradd -m -g web -G web -s /bin/bash -c 'Alice Admin' alice
echo 'alice:correct horse battery' | chpasswd
useradd -M -s /usr/sbin/nologin -c 'batch jobs' batch
usermod -s /bin/sh games
cat > /etc/systemd/system/app.service <<'EOF'
[Unit]
Description=the app
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
EOF
systemctl enable app.service 2>/dev/null
systemctl disable e2scrub_reap.service 2>/dev/null
"#;

#[test]
fn packages_accounts_and_services_reapply_with_real_puppet() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let cft = |args: &[&std::ffi::OsStr]| cft(CFT, &db, args);

    let recorded = Rootfs::new();
    let applied = Rootfs::new();
    recorded.sh(BEFORE);
    applied.sh(BEFORE);
    cft(&[
        "begin".as_ref(),
        "sys".as_ref(),
        "--root".as_ref(),
        recorded.0.as_os_str(),
    ]);
    let abort = AbortOnPanic::new(CFT, &db);
    recorded.sh(SCENARIO);
    let fin = cft(&["finish".as_ref(), "sys".as_ref()]);
    drop(abort);
    assert!(!fin.contains("full rescan"), "{fin}");

    let module = tmp.path().join("sys");
    let made = cft(&[
        "manifest".as_ref(),
        "sys".as_ref(),
        "-o".as_ref(),
        module.as_os_str(),
    ]);
    let manifests = read_manifests(&module);

    // Only what the admin did to files is a file resource: nothing the
    // packages installed untouched, no account database, no enablement link.
    let titles = file_titles(&manifests);
    let nginx: Vec<&String> = titles
        .iter()
        .filter(|t| t.starts_with("/etc/nginx"))
        .collect();
    assert_eq!(
        nginx,
        vec![
            "/etc/nginx/conf.d/app.conf",
            "/etc/nginx/koi-win",
            "/etc/nginx/nginx.conf"
        ],
        "{titles:#?}"
    );
    for t in &titles {
        assert!(
            !t.starts_with("/etc/passwd")
                && !t.starts_with("/etc/shadow")
                && !t.starts_with("/etc/group")
                && !t.contains(".wants/")
                && !t.starts_with("/etc/rc"),
            "{t} should not be a file resource"
        );
    }
    assert!(manifests.contains("package { 'nginx':"), "{manifests}");
    assert!(manifests.contains("package { 'jq':"), "{manifests}");
    assert!(manifests.contains("package { 'cowsay':"), "{manifests}");
    assert!(
        !manifests.contains("package { 'nginx-common':"),
        "a dependency was pinned:\n{manifests}"
    );
    assert!(manifests.contains("user { 'alice':"), "{manifests}");
    assert!(manifests.contains("group { 'web':"), "{manifests}");
    assert!(!manifests.contains("user { 'www-data':"), "{manifests}");
    assert!(
        manifests.contains("service { 'e2scrub_reap':"),
        "{manifests}"
    );
    assert!(manifests.contains("service { 'app':"), "{manifests}");
    // The password hash never reaches the module: it is a parameter.
    let shadow = std::fs::read_to_string(host(&recorded, "/etc/shadow")).unwrap();
    let hash = shadow
        .lines()
        .find_map(|l| l.strip_prefix("alice:"))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_string();
    assert!(!manifests.contains(&hash), "the password hash leaked");

    // Supply every mandatory parameter the way a site would.
    let mut params = Vec::new();
    for line in made.lines() {
        let Some(rest) = line.trim().strip_prefix("parameter $") else {
            continue;
        };
        let name = rest.split_whitespace().next().unwrap();
        let value = if rest.contains("alice") {
            hash.clone()
        } else {
            panic!("unexpected parameter: {line}")
        };
        params.push(format!("{name} => Sensitive('{value}')"));
    }
    assert!(
        !params.is_empty(),
        "alice's password must be a parameter:\n{made}"
    );
    let manifest = format!("class {{ 'sys': {} }}", params.join(", "));
    check_and_apply(
        &module,
        "sys",
        &manifest,
        &applied,
        &tmp.path().join("reports"),
    );

    // Compare with tools independent of cft.
    let q = "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n' | sort";
    assert_eq!(recorded.sh(q), applied.sh(q), "installed packages differ");
    let manual = "apt-mark showmanual | sort";
    assert_eq!(
        recorded.sh(manual),
        applied.sh(manual),
        "manually installed sets differ"
    );
    let accounts = "getent passwd alice batch games; getent group web; id alice";
    assert_eq!(
        recorded.sh(accounts),
        applied.sh(accounts),
        "accounts differ"
    );
    let pw = "getent shadow alice | cut -d: -f1-2";
    assert_eq!(recorded.sh(pw), applied.sh(pw), "alice's password differs");
    let home = "stat -c '%n %U %G %a' /home/alice";
    assert_eq!(recorded.sh(home), applied.sh(home));
    let enabled = "for u in app.service e2scrub_reap.service nginx.service; do echo \"$u $(systemctl is-enabled $u || true)\"; done";
    assert_eq!(
        recorded.sh(enabled),
        applied.sh(enabled),
        "service enablement differs"
    );
    for f in [
        "/etc/nginx/nginx.conf",
        "/etc/nginx/conf.d/app.conf",
        "/etc/systemd/system/app.service",
    ] {
        let (a, b) = (host(&recorded, f), host(&applied, f));
        assert_eq!(
            std::fs::read(&a).ok(),
            std::fs::read(&b).ok(),
            "{f} differs"
        );
        let (ma, mb) = (
            std::fs::metadata(&a).unwrap(),
            std::fs::metadata(&b).unwrap(),
        );
        assert_eq!(
            (ma.mode(), ma.uid(), ma.gid()),
            (mb.mode(), mb.uid(), mb.gid()),
            "{f} metadata"
        );
    }
    assert!(
        !host(&applied, "/etc/nginx/koi-win").exists(),
        "the removed stock file came back"
    );
}

fn read_manifests(module: &Path) -> String {
    let mut out = String::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(module.join("manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        out.push_str(&std::fs::read_to_string(f).unwrap());
    }
    out
}

/// Titles of `file { 'TITLE':` resources (single-line titles only).
fn file_titles(manifests: &str) -> Vec<String> {
    let mut t: Vec<String> = manifests
        .lines()
        .filter_map(|l| l.trim().strip_prefix("file { '"))
        .filter_map(|l| l.strip_suffix("':"))
        .map(str::to_string)
        .collect();
    t.sort();
    t
}
