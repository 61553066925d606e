use super::*;
use std::os::unix::fs::PermissionsExt;

const PROBE: &str = "#probe packages
nginx\t1.22\tinstall\tinstalled
gone\t1.0\tdeinstall\tconfig-files
purged\t\tpurge\tnot-installed
held\t2.0\thold\tinstalled
#probe passwd
root:x:0:0:root:/root:/bin/bash
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/bash
#probe group
root:x:0:
web:x:1000:alice
adm:x:4:alice,root
#probe shadow
root:*:20000:0:99999:7:::
alice:$y$hash:20001:0:99999:7:::
#probe units
nginx.service                          enabled  enabled
e2scrub_reap.service                   disabled enabled
#probe alternatives
editor                         manual   /usr/bin/vim.basic
#probe diversions
diversion of /bin/sh to /bin/sh.distrib by dash
local diversion of /etc/issue to /etc/issue.distrib
#probe locales
C.utf8
#probe end
";

fn root() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    std::fs::create_dir_all(r.join("etc/nginx")).unwrap();
    // The files belong to whoever runs the test (root or not): the root's
    // own account files name that owner, as a real root names its own.
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(r).unwrap();
    std::fs::write(
        r.join("etc/passwd"),
        format!("keeper:x:{}:{}::/:/bin/sh\n", meta.uid(), meta.gid()),
    )
    .unwrap();
    std::fs::write(r.join("etc/group"), format!("keeper:x:{}:\n", meta.gid())).unwrap();
    std::fs::write(r.join("etc/nginx/nginx.conf"), "worker 1;\n").unwrap();
    std::os::unix::fs::symlink("/etc/nginx/nginx.conf", r.join("etc/link")).unwrap();
    tmp
}

fn ids(diffs: &[Difference]) -> Vec<String> {
    diffs.iter().map(|d| d.to_string()).collect()
}

#[test]
fn the_probe_output_becomes_items() {
    let tmp = root();
    let s = Snapshot::take(tmp.path(), PROBE).unwrap();
    let get = |k: Kind, id: &str| s.items.get(&(k, id.to_string())).cloned();
    let nginx = get(Kind::Package, "nginx").unwrap();
    assert_eq!(nginx["state"], "installed");
    assert_eq!(nginx["held"], "false");
    assert_eq!(get(Kind::Package, "gone").unwrap()["state"], "config-files");
    assert!(get(Kind::Package, "purged").is_none(), "not installed");
    assert_eq!(get(Kind::Package, "held").unwrap()["held"], "true");
    let alice = get(Kind::User, "alice").unwrap();
    assert_eq!(alice["uid"], "1000");
    assert_eq!(alice["group"], "web");
    assert_eq!(alice["groups"], "adm,web");
    assert_eq!(alice["password"], "$y$hash");
    assert_eq!(alice["aging"], "0:99999:7::", "the change day is left out");
    assert_eq!(get(Kind::User, "www-data").unwrap()["uid"], "system");
    assert_eq!(get(Kind::Group, "adm").unwrap()["members"], "alice,root");
    assert_eq!(
        get(Kind::Unit, "e2scrub_reap.service").unwrap()["state"],
        "disabled"
    );
    assert_eq!(
        get(Kind::Alternative, "editor").unwrap()["value"],
        "/usr/bin/vim.basic"
    );
    let issue = get(Kind::Diversion, "/etc/issue").unwrap();
    assert_eq!(
        (issue["to"].as_str(), issue["by"].as_str()),
        ("/etc/issue.distrib", "local")
    );
    assert_eq!(get(Kind::Diversion, "/bin/sh").unwrap()["by"], "dash");
    assert!(get(Kind::Locale, "C.utf8").is_some());
    let conf = get(Kind::File, "/etc/nginx/nginx.conf").unwrap();
    assert_eq!(conf["type"], "file");
    assert_eq!(conf["owner"], "keeper", "by name, from the root's passwd");
    assert!(conf["content"].len() == 64, "{conf:?}");
    let link = get(Kind::File, "/etc/link").unwrap();
    assert_eq!(link["target"], "/etc/nginx/nginx.conf");
    assert!(!link.contains_key("mode"), "a link's mode means nothing");
    assert!(
        !get(Kind::File, "/etc/passwd")
            .unwrap()
            .contains_key("content"),
        "account files are compared as accounts"
    );
}

#[test]
fn truncated_probe_output_is_an_error() {
    let tmp = root();
    let cut = PROBE.replace("#probe end\n", "");
    let err = Snapshot::take(tmp.path(), &cut).unwrap_err();
    assert!(err.contains("incomplete"), "{err}");
}

#[test]
fn every_attribute_that_differs_is_reported() {
    let (a, b) = (root(), root());
    std::fs::write(b.path().join("etc/nginx/nginx.conf"), "worker 2;\n").unwrap();
    std::fs::set_permissions(
        b.path().join("etc/nginx/nginx.conf"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::remove_file(b.path().join("etc/link")).unwrap();
    std::os::unix::fs::symlink("/elsewhere", b.path().join("etc/link")).unwrap();
    std::fs::write(b.path().join("etc/new"), "x").unwrap();
    std::fs::write(a.path().join("etc/old"), "x").unwrap();
    let probe_b = PROBE
        .replace(
            "nginx.service                          enabled",
            "nginx.service disabled",
        )
        .replace("held\t2.0\thold", "held\t2.0\tinstall");
    let (sa, sb) = (
        Snapshot::take(a.path(), PROBE).unwrap(),
        Snapshot::take(b.path(), &probe_b).unwrap(),
    );
    let got = ids(&diff(&sa, &sb));
    let mode = std::fs::metadata(a.path().join("etc/nginx/nginx.conf"))
        .unwrap()
        .permissions()
        .mode()
        & 0o7777;
    let want = vec![
        "file /etc/link: target: recorded /etc/nginx/nginx.conf, applied /elsewhere".to_string(),
        "file /etc/new: only in the applied root".into(),
        format!("file /etc/nginx/nginx.conf: mode: recorded {mode:04o}, applied 0600"),
        "file /etc/old: only in the recorded root".into(),
        "package held: held: recorded true, applied false".into(),
        "unit nginx.service: state: recorded enabled, applied disabled".into(),
    ];
    let mut got_no_content: Vec<String> = got
        .iter()
        .filter(|l| !l.contains(": content:"))
        .cloned()
        .collect();
    got_no_content.sort();
    let mut want = want;
    want.sort();
    assert_eq!(got_no_content, want);
    assert!(
        got.iter()
            .any(|l| l.starts_with("file /etc/nginx/nginx.conf: content:")),
        "{got:#?}"
    );
}

#[test]
fn judge_sets_aside_the_floor_the_volatile_and_the_explained() {
    let (a, b) = (root(), root());
    std::fs::write(a.path().join("etc/machine-id"), "1\n").unwrap();
    std::fs::write(b.path().join("etc/machine-id"), "2\n").unwrap();
    std::fs::write(b.path().join("etc/puppet.conf"), "x").unwrap();
    // In the floor as only in the applied root, here only in the recorded
    // one: the floor does not excuse it.
    std::fs::write(a.path().join("etc/flipped"), "x").unwrap();
    std::fs::write(b.path().join("etc/unexplained"), "x").unwrap();
    std::fs::write(b.path().join("etc/explained"), "x").unwrap();
    std::os::unix::fs::symlink("ssl-cert-snakeoil.pem", a.path().join("etc/abcd1234.0")).unwrap();
    std::fs::create_dir_all(a.path().join("etc/ssl/certs")).unwrap();
    std::fs::create_dir_all(b.path().join("etc/ssl/certs")).unwrap();
    std::os::unix::fs::symlink(
        "ssl-cert-snakeoil.pem",
        a.path().join("etc/ssl/certs/abcd1234.0"),
    )
    .unwrap();
    let (sa, sb) = (
        Snapshot::take(a.path(), PROBE).unwrap(),
        Snapshot::take(b.path(), PROBE).unwrap(),
    );
    let only_applied = |id: &str| Difference {
        kind: Kind::File,
        id: id.into(),
        attr: "present",
        recorded: None,
        applied: Some("present".into()),
    };
    let floor = vec![
        only_applied("/etc/puppet.conf"),
        only_applied("/etc/flipped"),
    ];
    let v = judge(&sa, &sb, &floor, &|d| {
        (d.id == "/etc/explained").then(|| "cannot".to_string())
    });
    assert_eq!(
        ids(&v.unexplained),
        vec![
            "file /etc/abcd1234.0: only in the recorded root",
            "file /etc/flipped: only in the recorded root",
            "file /etc/unexplained: only in the applied root"
        ],
        "a snakeoil-named link outside /etc/ssl/certs is no excuse"
    );
    assert_eq!(
        ids(&v.floor),
        vec!["file /etc/puppet.conf: only in the applied root"]
    );
    assert_eq!(v.explained.len(), 1);
    let vol: Vec<String> = v.volatile.iter().map(|(d, _)| d.id.clone()).collect();
    assert_eq!(vol, vec!["/etc/machine-id", "/etc/ssl/certs/abcd1234.0"]);
    assert_eq!(
        v.report(),
        "file /etc/abcd1234.0: only in the recorded root\nfile /etc/flipped: only in the recorded root\nfile /etc/unexplained: only in the applied root\n"
    );
}

#[test]
fn odd_names_are_escaped_not_dropped() {
    let tmp = root();
    let name = std::ffi::OsStr::from_bytes(b"etc/a\xffb\nc");
    std::fs::write(tmp.path().join(name), "x").unwrap();
    let s = Snapshot::take(tmp.path(), PROBE).unwrap();
    assert!(s
        .items
        .contains_key(&(Kind::File, "/etc/a\\xffb\\nc".to_string())));
}
