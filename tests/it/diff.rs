//! `cft diff` on two sessions of related scenarios recorded on a temporary
//! `--root` tree: the same web server on another port, with an extra
//! package, a user removed and a service disabled. Exact entries, in text
//! and in JSON; exit codes as diff(1).

use crate::util::CFT;
use testkit::cli::{stderr, stdout, write, Env};

const UNIT: &str = "[Unit]\nDescription=app\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";
const WANTS: &str = "/etc/systemd/system/multi-user.target.wants/app.service";

fn stanza(name: &str, version: &str) -> String {
    format!(
        "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
    )
}

/// The machine before either session: a user `olduser`, the unit `app`
/// enabled, `base-files` installed. (olduser's uid is no test user's: the
/// files the test writes are owned by whoever runs it, by name if the
/// tree's passwd knows the uid.)
fn reset(env: &Env) {
    for d in ["etc/nginx", "etc/systemd", "lib", "var"] {
        let _ = std::fs::remove_dir_all(env.p(d));
    }
    write(
        &env.p("/etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nolduser:x:4711:4711:Old User:/home/olduser:/bin/sh\n",
    );
    write(&env.p("/etc/group"), "root:x:0:\nolduser:x:4711:\n");
    write(&env.p("/lib/systemd/system/app.service"), UNIT);
    std::fs::create_dir_all(env.p("/etc/systemd/system/multi-user.target.wants")).unwrap();
    std::os::unix::fs::symlink("/lib/systemd/system/app.service", env.p(WANTS)).unwrap();
    write(&env.p("/var/lib/dpkg/status"), stanza("base-files", "12.4"));
}

/// One session: nginx installed and its site written; v2 listens on 8080,
/// installs curl too, removes olduser and disables app.
fn record(env: &Env, name: &str, v2: bool) {
    reset(env);
    env.begin(name, &[]);
    let mut status = stanza("base-files", "12.4") + &stanza("nginx", "1.22.1-9");
    if v2 {
        status += &stanza("curl", "7.88.1-10");
    }
    write(&env.p("/var/lib/dpkg/status"), status);
    let port = if v2 { "8080" } else { "80" };
    write(
        &env.p("/etc/nginx/sites-enabled/app"),
        format!("server {{\n    root /srv/app;\n    listen {port};\n    index index.html;\n}}\n"),
    );
    if v2 {
        write(&env.p("/etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        write(&env.p("/etc/group"), "root:x:0:\n");
        std::fs::remove_file(env.p(WANTS)).unwrap();
    }
    env.finish(name);
}

pub(crate) fn two_sessions() -> Env {
    let env = Env::new(CFT);
    record(&env, "web-v1", false);
    record(&env, "web-v2", true);
    env
}

#[test]
fn two_related_sessions_differ_by_exactly_their_changes() {
    let env = two_sessions();

    let out = env.run(["diff", "web-v1", "web-v2", "--name-status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "M\tfile\t/etc/nginx/sites-enabled/app\n\
         A\tpackage\tcurl\n\
         A\tgroup\tolduser\n\
         A\tuser\tolduser\n\
         A\tservice\tapp\n"
    );

    let full = stdout(&env.run(["diff", "web-v1", "web-v2", "--color", "never"]));
    assert!(
        full.starts_with("cft diff a: web-v1 (testhost)  b: web-v2 (testhost)\n"),
        "{full}"
    );
    for want in [
        "~ file /etc/nginx/sites-enabled/app\n",
        "    -    listen 80;\n",
        "    +    listen 8080;\n",
        "+ package curl (only in b)\n",
        "+ user olduser (only in b)\n    ensure: absent\n",
        "+ service app (only in b)\n    enable: false\n",
    ] {
        assert!(full.contains(want), "missing {want:?} in:\n{full}");
    }
    assert!(!full.contains('\x1b'), "no colour asked for: {full}");

    let stat = stdout(&env.run(["diff", "web-v1", "web-v2", "--stat"]));
    assert!(
        stat.ends_with(" 5 resources differ: 0 only in a, 4 only in b, 1 changed\n"),
        "{stat}"
    );
    assert!(stat.contains("content +1 -1"), "{stat}");

    // The other way round: the sides swap.
    let back = stdout(&env.run([
        "diff",
        "web-v2",
        "web-v1",
        "--name-status",
        "--kind",
        "account",
    ]));
    assert_eq!(back, "D\tgroup\tolduser\nD\tuser\tolduser\n");
}

#[test]
fn json_names_kind_identity_side_and_both_values() {
    let env = two_sessions();
    let out = env.run(["diff", "web-v1", "web-v2", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], "cft-diff/1");
    assert_eq!(v["a"]["session"], "web-v1");
    assert_eq!(v["b"]["session"], "web-v2");
    let entries = v["entries"].as_array().unwrap();
    let got: Vec<(String, String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().into(),
                e["title"].as_str().unwrap().into(),
                e["side"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("file", "/etc/nginx/sites-enabled/app", "both"),
        ("package", "curl", "only_b"),
        ("group", "olduser", "only_b"),
        ("user", "olduser", "only_b"),
        ("service", "app", "only_b"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    let file = &entries[0];
    let attrs = file["attributes"].as_array().unwrap();
    assert_eq!(attrs.len(), 1, "{attrs:?}");
    assert_eq!(attrs[0]["name"], "content");
    let (a, b) = (
        attrs[0]["a"].as_str().unwrap(),
        attrs[0]["b"].as_str().unwrap(),
    );
    assert!(
        a.starts_with("67 bytes, blake3 ") && b.starts_with("69 bytes, blake3 "),
        "{a} {b}"
    );
    assert_eq!(file["content"]["type"], "text");
    assert_eq!(file["content"]["added"], 1);
    assert_eq!(file["content"]["removed"], 1);
    let unified = file["content"]["unified"].as_str().unwrap();
    assert!(
        unified.contains("-    listen 80;\n+    listen 8080;\n"),
        "{unified}"
    );
    let svc = &entries[4]["attributes"];
    assert_eq!(svc[0]["name"], "enable");
    assert_eq!(svc[0]["a"], serde_json::Value::Null);
    assert_eq!(svc[0]["b"], "false");
}

#[test]
fn filters_exit_codes_and_baseline() {
    let env = two_sessions();
    // Limited to a path where the two agree: the same, exit 0.
    let out = env.run(["diff", "web-v1", "web-v2", "--kind", "file", "--", "/srv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Content ignored: the site no longer differs.
    let out = env.run([
        "diff",
        "web-v1",
        "web-v2",
        "--kind",
        "file",
        "--ignore-attr",
        "content",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A session against itself is the same.
    assert_eq!(env.run(["diff", "web-v1", "web-v1"]).status.code(), Some(0));

    // Trouble is 2, with the name in the message.
    let out = env.run(["diff", "web-v1", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));
    let out = env.run(["diff", "web-v1", "web-v2", "--kind", "flie"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--kind flie"), "{}", stderr(&out));

    // One session: against its own baseline.
    let out = env.run(["diff", "web-v2", "--color", "always"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("web-v2 baseline"), "{text}");
    assert!(text.contains('\x1b'), "colour asked for: {text}");
    let plain = stdout(&env.run(["diff", "web-v2", "--name-status"]));
    assert_eq!(
        plain,
        "A\tfile\t/etc/nginx\n\
         A\tfile\t/etc/nginx/sites-enabled\n\
         A\tfile\t/etc/nginx/sites-enabled/app\n\
         A\tpackage\tcurl\n\
         A\tpackage\tnginx\n\
         D\tgroup\tolduser\n\
         D\tuser\tolduser\n\
         M\tservice\tapp\n"
    );
    let svc = stdout(&env.run(["diff", "web-v2", "--kind", "service"]));
    assert!(
        svc.contains("~ service app\n    enablement: enabled -> disabled\n"),
        "{svc}"
    );
    // NO_COLOR is honoured by auto, and auto is off when piped anyway.
    let mut cmd = env.cmd();
    cmd.env("NO_COLOR", "1").args(["diff", "web-v2"]);
    assert!(!stdout(&cmd.output().unwrap()).contains('\x1b'));
}

/// Two machines record, a reviewer imports both exports into a third
/// database and diffs them: the same entries as in one database.
#[test]
fn sessions_from_two_machines_diff_after_import() {
    let (m1, m2, reviewer) = (Env::new(CFT), Env::new(CFT), Env::new(CFT));
    record(&m1, "web", false);
    record(&m2, "web", true);
    let dir = tempfile::tempdir().unwrap();
    let (f1, f2) = (dir.path().join("m1.cftx"), dir.path().join("m2.cftx"));
    m1.ok(["export", "web", "-o", f1.to_str().unwrap()]);
    m2.ok(["export", "web", "-o", f2.to_str().unwrap()]);
    reviewer.ok(["import", f1.to_str().unwrap(), "--as", "web-m1"]);
    reviewer.ok(["import", f2.to_str().unwrap(), "--as", "web-m2"]);
    let out = reviewer.run(["diff", "web-m1", "web-m2", "--name-status"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "M\tfile\t/etc/nginx/sites-enabled/app\n\
         A\tpackage\tcurl\n\
         A\tgroup\tolduser\n\
         A\tuser\tolduser\n\
         A\tservice\tapp\n"
    );
    // The content diff needs the imported contents, not only their hashes.
    let full = stdout(&reviewer.run(["diff", "web-m1", "web-m2", "--kind", "file"]));
    assert!(full.contains("    +    listen 8080;\n"), "{full}");
    // And each against its own baseline, from the imported baseline contents.
    let base = stdout(&reviewer.run(["diff", "web-m2", "--name-status"]));
    let local = stdout(&m2.run(["diff", "web", "--name-status"]));
    assert_eq!(base, local);
}
