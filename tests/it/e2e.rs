//! End-to-end: record file changes made inside a real Debian root
//! filesystem (debootstrap, chroot), generate the module, check it with the
//! real `puppet parser validate` and `puppet-lint`, apply it with real Puppet
//! in a fresh copy of the same system (twice: the second run must change
//! nothing), then compare the two systems path by path.
//!
//! Needs root and the tools `scripts/setup-host.sh` installs; a missing tool
//! fails the test with that message, it never skips.

use crate::util::CFT;
use testkit::cli::{cft, AbortOnPanic};
use testkit::rootfs::{assert_same_paths, check_and_apply, Rootfs};
use testkit::tools::require_testbed;

/// The scenario: what an admin does by hand in a fresh VM.
const SCENARIO: &str = r#"
printf 'Welcome to the web appliance\n' > /etc/motd
mkdir -p /srv/app/conf /srv/app/data
cat > /srv/app/conf/app.conf <<'EOF'
# literal Puppet and ERB syntax must survive: $HOME ${x} <%= y %> 'q' "dq" \n \
listen = 8080
EOF
chmod 0640 /srv/app/conf/app.conf
chown www-data:www-data /srv/app/data
printf 'line1\r\nline2 no newline' > '/srv/app/conf/crlf and spaces $x.txt'
printf 'odd name\n' > "$(printf '/srv/app/conf/new\nline\ttab '"'"'quote')"
printf '\000\001\002\377binary' > /srv/app/data/blob.bin
chown 4242:4242 /srv/app/data/blob.bin
mkdir -p /opt/tool/bin
printf '#!/bin/sh\necho tool\n' > /opt/tool/bin/run
chmod 4755 /opt/tool/bin/run
ln -s /srv/app/conf/app.conf /etc/app.conf
ln -sfn /usr/share/zoneinfo/Europe/Paris /etc/localtime
rm /etc/issue.net
rm -r /etc/apache2
chmod 0600 /etc/fstab
rm /etc/issue && ln -s /etc/motd /etc/issue
# an editor's atomic save: temp file renamed over the original
printf 'localhost-only\n' > /etc/host.conf.tmp && mv /etc/host.conf.tmp /etc/host.conf
# noise that must not become resources
printf x > /etc/.motd.swp && rm /etc/.motd.swp
printf x > /etc/4913 && rm /etc/4913
printf x > /srv/app/scratch && rm /srv/app/scratch
cat > /srv/app/conf/tls.key <<'EOF'
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJustATestKeyNotRealButLongEnough0123456789
-----END PRIVATE KEY-----
EOF
chmod 0600 /srv/app/conf/tls.key
"#;

#[test]
fn recorded_changes_reapply_with_real_puppet() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let cft = |args: &[&std::ffi::OsStr]| cft(CFT, &db, args);
    let recorded = Rootfs::new();
    let began = cft(&[
        "begin".as_ref(),
        "e2e".as_ref(),
        "--root".as_ref(),
        recorded.0.as_os_str(),
    ]);
    assert!(
        began.contains("/etc, /home, /opt, /root, /srv, /usr/local")
            && began.contains("later:    /var/spool/cron, /var/www"),
        "{began}"
    );
    let guard = AbortOnPanic::new(CFT, &db);
    recorded.sh(SCENARIO);
    let fin = cft(&["finish".as_ref(), "e2e".as_ref()]);
    drop(guard);
    assert!(!fin.contains("full rescan"), "{fin}");

    let store = recorder::Store::open_existing(&db).unwrap();
    let cs = store.change_set("e2e").unwrap();
    let paths: Vec<String> = cs
        .changes
        .iter()
        .map(|c| format!("{} {}", c.kind, String::from_utf8_lossy(&c.path)))
        .collect();
    let want = [
        "modified /etc/motd",
        "dir_created /srv/app",
        "created /srv/app/conf/app.conf",
        "metadata /etc/fstab",
        "created /etc/app.conf",
        "retargeted /etc/localtime",
        "removed /etc/issue.net",
        "dir_removed /etc/apache2",
        "removed /etc/apache2/conf-available/javascript-common.conf",
        "type_changed /etc/issue",
        "modified /etc/host.conf",
        "created /opt/tool/bin/run",
        "created /srv/app/conf/tls.key",
        "created /srv/app/conf/new\nline\ttab 'quote",
    ];
    for w in want {
        assert!(paths.iter().any(|p| p == w), "missing '{w}' in {paths:#?}");
    }
    for noise in [
        "/etc/.motd.swp",
        "/etc/4913",
        "/srv/app/scratch",
        "/etc/host.conf.tmp",
    ] {
        assert!(
            !paths.iter().any(|p| p.ends_with(noise)),
            "{noise} in {paths:#?}"
        );
    }

    let module = tmp.path().join("e2e");
    let made = cft(&[
        "manifest".as_ref(),
        "e2e".as_ref(),
        "-o".as_ref(),
        module.as_os_str(),
    ]);
    // The private key is a mandatory parameter, never a file in the module.
    let param = made
        .lines()
        .find_map(|l| l.trim().strip_prefix("parameter $"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no secret parameter announced:\n{made}"))
        .to_string();
    let key = std::fs::read_to_string(recorded.host(b"/srv/app/conf/tls.key")).unwrap();
    let init = std::fs::read_to_string(module.join("manifests/init.pp")).unwrap();
    assert!(!init.contains("JustATestKey"), "{init}");

    let applied = Rootfs::empty();
    let manifest = format!(
        "class {{ 'e2e': {param} => Sensitive('{}') }}",
        key.replace('\\', "\\\\").replace('\'', "\\'")
    );
    check_and_apply(
        &module,
        "e2e",
        &manifest,
        &applied,
        &tmp.path().join("reports"),
    );

    assert_same_paths(
        cs.changes.iter().map(|c| c.path.as_slice()),
        &recorded,
        &applied,
    );
}
