//! End-to-end for the recipe bundle: changes recorded in a real Debian
//! root become a recipe (`cft recipe create`, with a site parameter on a
//! config file), which `cft recipe verify` judges with the real validators,
//! `cft recipe install` puts into the modulepath a fresh root's own Puppet
//! uses, and Puppet applies there (no --modulepath: the install location
//! must be the right one), twice: the second run must change nothing.
//! With `include MODULE` every recorded path matches the recorded root; in
//! another fresh root a site's class declaration sets the parameter and
//! the file shows the site's value.
//!
//! Needs root and what `scripts/setup-host.sh` installs; a missing tool
//! fails the test with that message, it never skips.

use crate::util::CFT;
use std::ffi::OsStr;
use std::path::Path;
use testkit::cli::{command, AbortOnPanic};
use testkit::rootfs::{assert_same_paths, Rootfs};
use testkit::tools::{ksvalidator_dir, require_testbed};

const SCENARIO: &str = r#"
printf 'Welcome to the recipe appliance\n' > /etc/motd
mkdir -p /srv/app/conf
printf 'listen = 8080\n$HOME <%%= x %%>\n' > /srv/app/conf/app.conf
chmod 0640 /srv/app/conf/app.conf
chown www-data:www-data /srv/app/conf/app.conf
ln -s /srv/app/conf/app.conf /etc/app.conf
rm /etc/issue.net
"#;

/// cft with a private database and ksvalidator on PATH; returns the output.
fn cft(db: &Path, args: &[&OsStr]) -> std::process::Output {
    let venv = ksvalidator_dir();
    let path = std::env::var("PATH").unwrap_or_default();
    command(CFT, db)
        .env("PATH", format!("{}:{path}", venv.display()))
        .args(args)
        .output()
        .expect("run cft")
}

fn ok(db: &Path, args: &[&OsStr]) -> String {
    let out = cft(db, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "cft {args:?}:\n{text}");
    text
}

#[test]
fn a_recipe_installs_and_applies_in_a_fresh_root() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let recorded = Rootfs::new();
    ok(
        &db,
        &[
            "begin".as_ref(),
            "e2r".as_ref(),
            "--root".as_ref(),
            recorded.0.as_os_str(),
        ],
    );
    let guard = AbortOnPanic::new(CFT, &db);
    recorded.sh(SCENARIO);
    ok(&db, &["finish".as_ref(), "e2r".as_ref()]);
    drop(guard);

    // debootstrap leaves /etc/fstab unconfigured: the spec names the disk.
    let spec = tmp.path().join("appliance.toml");
    std::fs::write(
        &spec,
        "version = \"1.0\"\n[[disks]]\nmount = \"/\"\nsize = 4096\n",
    )
    .unwrap();
    let bundle = tmp.path().join("e2r-1.0.tar.gz");
    let made = ok(
        &db,
        &[
            "recipe".as_ref(),
            "create".as_ref(),
            "e2r".as_ref(),
            "-o".as_ref(),
            bundle.as_os_str(),
            "--spec".as_ref(),
            spec.as_os_str(),
            "--param".as_ref(),
            "listen_port=/srv/app/conf/app.conf:8080".as_ref(),
        ],
    );
    assert!(made.contains("in e2r-1.0/"), "{made}");
    let verified = ok(
        &db,
        &["recipe".as_ref(), "verify".as_ref(), bundle.as_os_str()],
    );
    assert!(
        verified.contains("OK: 7 checks passed")
            && verified.contains("puppet epp validate")
            && !verified.contains("SKIP"),
        "{verified}"
    );

    let applied = Rootfs::new();
    install(&db, &bundle, &applied);

    // Puppet's own modulepath, twice: changes, then none.
    apply_twice(&applied, "include e2r");
    let store = recorder::Store::open_existing(&db).unwrap();
    let cs = store.change_set("e2r").unwrap();
    assert!(cs.changes.len() >= 5, "{:#?}", cs.changes);
    assert_same_paths(
        cs.changes.iter().map(|c| c.path.as_slice()),
        &recorded,
        &applied,
    );
    let conf = std::fs::read(applied.host(b"/srv/app/conf/app.conf")).unwrap();
    assert_eq!(conf, b"listen = 8080\n$HOME <%= x %>\n");

    // A site's own value, through the class declaration.
    let site = Rootfs::new();
    install(&db, &bundle, &site);
    apply_twice(&site, "class { 'e2r': listen_port => '9090' }");
    let conf = std::fs::read(site.host(b"/srv/app/conf/app.conf")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&conf),
        "listen = 9090\n$HOME <%= x %>\n",
        "the site's value"
    );
    let motd = std::fs::read(site.host(b"/etc/motd")).unwrap();
    assert_eq!(motd, b"Welcome to the recipe appliance\n");
}

/// `cft recipe install` into the first directory of the root's own
/// Puppet's basemodulepath.
fn install(db: &Path, bundle: &Path, root: &Rootfs) {
    let base = root.sh("puppet config print basemodulepath");
    let modulepath = base
        .trim()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(modulepath.starts_with('/'), "basemodulepath: {base}");
    let host_mp = root.host(modulepath.as_bytes());
    let installed = ok(
        db,
        &[
            "recipe".as_ref(),
            "install".as_ref(),
            bundle.as_os_str(),
            "--modulepath".as_ref(),
            host_mp.as_os_str(),
        ],
    );
    assert!(installed.contains("module 'e2r' installed"), "{installed}");
}

/// `puppet apply -e CODE` twice in the root: changes, then none.
fn apply_twice(root: &Rootfs, code: &str) {
    let script = format!(
        "for run in 1 2; do rc=0; puppet apply --color=false --detailed-exitcodes -e \"{code}\" || rc=$?; echo \"run $run: exit $rc\"; done"
    );
    let apply = root.sh(&script);
    assert!(
        apply.contains("run 1: exit 2") && apply.contains("run 2: exit 0"),
        "puppet apply {code} (changes, then idempotent):\n{apply}"
    );
}
