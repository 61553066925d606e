//! End-to-end site parameters: record a configuration file holding a site
//! value (twice, among text that looks like template syntax) in a real
//! Debian root, generate the module with `--param`, and apply it with real
//! Puppet in fresh roots (twice each: the second run must change nothing):
//! with the default it writes exactly the recorded file; with a site value
//! from a class declaration, or from Hiera, it writes that value wherever
//! the literal was, and nowhere else.
//!
//! Needs root and the tools `scripts/setup-host.sh` installs; a missing tool
//! fails the test with that message, it never skips.

use crate::util::CFT;
use std::os::unix::fs::MetadataExt;
use testkit::cli::{cft, AbortOnPanic};
use testkit::rootfs::{check_and_apply, check_and_apply_env, Rootfs};
use testkit::tools::require_testbed;

const LITERAL: &str = "smtp.example.com";

const SCENARIO: &str = r#"
mkdir -p /etc/app
cat > /etc/app/mail.conf <<'EOF'
# outgoing mail for the app
relayhost = smtp.example.com
# template syntax stays text: <% x %> <%= y %> <%- z -%> %%> ${w} 'q' \
fallback_relay = [smtp.example.com]:587
EOF
chmod 0640 /etc/app/mail.conf
printf 'Mail leaves through smtp.example.com\n' > /etc/app/motd
"#;

#[test]
fn site_parameter_applies_default_and_site_values_with_real_puppet() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let cft = |args: &[&std::ffi::OsStr]| cft(CFT, &db, args);
    let recorded = Rootfs::new();
    cft(&[
        "begin".as_ref(),
        "mailapp".as_ref(),
        "--root".as_ref(),
        recorded.0.as_os_str(),
    ]);
    let guard = AbortOnPanic::new(CFT, &db);
    recorded.sh(SCENARIO);
    cft(&["finish".as_ref(), "mailapp".as_ref()]);
    drop(guard);

    let conf = std::fs::read_to_string(recorded.host(b"/etc/app/mail.conf")).unwrap();
    let motd = std::fs::read_to_string(recorded.host(b"/etc/app/motd")).unwrap();
    assert_eq!(conf.matches(LITERAL).count(), 2, "{conf}");
    assert!(conf.contains("<% x %>"), "{conf}");

    let module = tmp.path().join("mailapp");
    // The literal is there twice: every occurrence is asked for (`*`).
    let param = format!("mailhub=/etc/app/mail.conf:*:{LITERAL}");
    let made = cft(&[
        "manifest".as_ref(),
        "mailapp".as_ref(),
        "-o".as_ref(),
        module.as_os_str(),
        "--param".as_ref(),
        param.as_ref(),
    ]);
    assert!(
        made.contains("site parameter $mailhub (default 'smtp.example.com'): /etc/app/mail.conf (2 occurrences, lines 2, 4)"),
        "{made}"
    );
    assert!(module.join("templates/etc/app/mail.conf.epp").is_file());
    assert!(
        module.join("files/etc/app/motd").is_file(),
        "no parameter, no template"
    );

    // The default: exactly the recorded file, mode included.
    let default = Rootfs::empty();
    check_and_apply(
        &module,
        "mailapp",
        "include mailapp",
        &default,
        &tmp.path().join("reports-default"),
    );
    assert_file(&default, "/etc/app/mail.conf", &conf, 0o640);
    assert_file(&default, "/etc/app/motd", &motd, 0o644);

    // A site's value from a resource-like class declaration.
    let declared = Rootfs::empty();
    check_and_apply(
        &module,
        "mailapp",
        "class { 'mailapp': mailhub => 'mail.site.test' }",
        &declared,
        &tmp.path().join("reports-declared"),
    );
    assert_file(
        &declared,
        "/etc/app/mail.conf",
        &conf.replace(LITERAL, "mail.site.test"),
        0o640,
    );
    assert_file(&declared, "/etc/app/motd", &motd, 0o644);

    // A site's value from Hiera's automatic parameter lookup.
    let hiera = Rootfs::new();
    std::fs::create_dir_all(hiera.host(b"/etc/cft-hiera/data")).unwrap();
    std::fs::write(
        hiera.host(b"/etc/cft-hiera/hiera.yaml"),
        "---\nversion: 5\nhierarchy:\n  - name: common\n    datadir: /etc/cft-hiera/data\n    path: common.yaml\n",
    )
    .unwrap();
    std::fs::write(
        hiera.host(b"/etc/cft-hiera/data/common.yaml"),
        "---\nmailapp::mailhub: 'mail.hiera.test'\n",
    )
    .unwrap();
    check_and_apply_env(
        &module,
        "mailapp",
        "include mailapp",
        &hiera,
        &tmp.path().join("reports-hiera"),
        &[("PUPPET_ARGS", "--hiera_config=/etc/cft-hiera/hiera.yaml")],
    );
    assert_file(
        &hiera,
        "/etc/app/mail.conf",
        &conf.replace(LITERAL, "mail.hiera.test"),
        0o640,
    );
    assert_file(&hiera, "/etc/app/motd", &motd, 0o644);
}

/// The file at `target` in `root` holds exactly `want`, with `mode`.
fn assert_file(root: &Rootfs, target: &str, want: &str, mode: u32) {
    let path = root.host(target.as_bytes());
    let got = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{target} on the applied system: {e}"));
    assert_eq!(got, want, "{target}");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.mode() & 0o7777, mode, "{target}: mode");
}
