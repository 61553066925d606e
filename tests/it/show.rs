//! `cft show` made to be read: one `apt-get install` of a package with
//! many files fits on a screen, a removed tree is one line, filters pick
//! sections, and `--json` has everything as data without a password hash.

use crate::util::CFT;
use testkit::cli::{write, Env};

/// A session that installs `ca-certificates` (300 files under
/// /etc/ssl/certs), edits one file, removes a tree of 41 entries and adds
/// a user with a password.
fn session() -> Env {
    let env = Env::new(CFT);
    write(
        &env.p("/var/lib/dpkg/status"),
        "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\n\n",
    );
    write(&env.p("/etc/shadow"), "root:*:19000:0:99999:7:::\n");
    for i in 0..40 {
        write(&env.p(&format!("/srv/old/f{i:02}")), "x\n");
    }
    write(&env.p("/etc/app.conf"), "a\n");
    env.begin("certs", &[]);
    let (mut list, mut sums) = (String::from("/etc/ssl\n/etc/ssl/certs\n"), String::new());
    for i in 0..300 {
        let p = format!("/etc/ssl/certs/cert-{i:03}.pem");
        let content = format!("cert {i}\n");
        write(&env.p(&p), &content);
        list.push_str(&p);
        list.push('\n');
        let md5 = recorder::probe::dpkg::md5_hex(content.as_bytes());
        sums.push_str(&format!("{md5}  {}\n", &p[1..]));
    }
    write(&env.p("/var/lib/dpkg/info/ca-certificates.list"), list);
    write(&env.p("/var/lib/dpkg/info/ca-certificates.md5sums"), sums);
    write(
        &env.p("/var/lib/dpkg/status"),
        "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4\n\n\
         Package: ca-certificates\nStatus: install ok installed\nArchitecture: all\nVersion: 20230311\n\n",
    );
    write(&env.p("/etc/app.conf"), "b\n");
    std::fs::remove_dir_all(env.p("/srv/old")).unwrap();
    write(
        &env.p("/etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
         deploy:x:1001:1001::/home/deploy:/bin/sh\n",
    );
    write(
        &env.p("/etc/group"),
        "root:x:0:\nnogroup:x:65534:\ndeploy:x:1001:\n",
    );
    write(
        &env.p("/etc/shadow"),
        "root:*:19000:0:99999:7:::\ndeploy:$6$salt$SECRETHASHVALUE:19000:0:99999:7:::\n",
    );
    env.finish("certs");
    env
}

#[test]
fn one_package_install_fits_on_a_screen() {
    let env = session();
    let out = env.ok(["show", "certs"]);
    let lines = out.lines().count();
    eprintln!("cft show: {lines} lines for 300 package files, 1 edit, a removed tree of 41");
    assert!(lines <= 40, "{lines} lines:\n{out}");
    assert!(
        out.contains("  ca-certificates  302 files (300 created, 2 dir_created)\n"),
        "{out}"
    );
    assert!(out.contains("  modified      /etc/app.conf"), "{out}");
    assert!(
        out.contains(
            "  dir_removed   /srv/old    (and 40 beneath it, removed; --all lists them)\n"
        ) || out.contains("/srv/old") && out.contains("(and 40 beneath it"),
        "{out}"
    );
    assert!(!out.contains("cert-001.pem"), "{out}");
    assert!(out.contains("summary:\n"), "{out}");
    assert!(out.contains("by 1 package"), "{out}");

    let all = env.ok(["show", "certs", "--all"]);
    assert!(all.contains("/etc/ssl/certs/cert-299.pem"), "--all unfolds");
    assert!(all.contains("/srv/old/f39"), "--all unfolds the tree");
    assert!(all.lines().count() > 340, "{}", all.lines().count());
}

#[test]
fn filters_pick_sections() {
    let env = session();
    let acc = env.ok(["show", "certs", "--accounts"]);
    assert!(acc.contains("  user         created deploy"), "{acc}");
    assert!(!acc.contains("/etc/app.conf"), "{acc}");
    assert!(!acc.contains("package      "), "{acc}");
    let files = env.ok(["show", "certs", "--files"]);
    assert!(files.contains("/etc/app.conf"), "{files}");
    assert!(!files.contains("created deploy"), "{files}");
    let pk = env.ok(["show", "certs", "--packages", "--accounts"]);
    assert!(
        pk.contains("package      installed ca-certificates"),
        "{pk}"
    );
    assert!(pk.contains("created deploy"), "{pk}");
    // Words, not Rust's Debug names.
    assert!(!pk.contains("Installed") && !pk.contains("Created"), "{pk}");
}

#[test]
fn json_has_every_change_and_no_hash() {
    let env = session();
    let out = env.ok(["show", "certs", "--json"]);
    assert!(
        !out.contains("SECRETHASHVALUE"),
        "a password hash in show --json"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "cft-show/1");
    assert_eq!(v["session"]["name"], "certs");
    assert_eq!(v["session"]["state"], "finished");
    let files = v["files"].as_array().unwrap();
    let by_pkg = files
        .iter()
        .filter(|f| f["origin"]["by"] == "package" && f["origin"]["name"] == "ca-certificates")
        .count();
    assert_eq!(by_pkg, 302);
    let app = files.iter().find(|f| f["path"] == "/etc/app.conf").unwrap();
    assert_eq!(app["change"], "modified");
    assert_eq!(app["after"]["type"], "file");
    let users = v["users"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["name"], "deploy");
    assert_eq!(users[0]["password_changed"], true);
    assert_eq!(v["packages"][0]["name"], "ca-certificates");

    // list and status too.
    let list: serde_json::Value = serde_json::from_str(&env.ok(["list", "--json"])).unwrap();
    assert_eq!(list["sessions"][0]["name"], "certs");
    assert_eq!(list["sessions"][0]["state"], "finished");
    assert!(list["sessions"][0]["changes"].as_u64().unwrap() > 300);
    env.begin("next", &[]);
    let st: serde_json::Value = serde_json::from_str(&env.ok(["status", "--json"])).unwrap();
    assert_eq!(st["recording"][0]["name"], "next");
    assert!(st["recording"][0]["daemon_pid"].as_i64().is_some());
    assert_eq!(st["recording"][0]["daemon_alive"], true);
}
