//! Passwords on command lines (issue 14, item 7), end to end through the
//! real binary: typed lines logged by the recording shell's hook and tools
//! run through the shim, each carrying its own password, recorded in one
//! session whose commands each change a file. No byte of anything cft
//! prints or writes about the session holds any of the passwords: `show`
//! in every form, `list`, the module directory, the report, the export
//! (its zlib body decompressed).

use crate::util::CFT;
use std::io::Read;
use std::path::Path;
use testkit::cli::{stderr, write, Env};

/// Typed lines: (case, the line with `PW` where its password goes).
const LINES: &[(&str, &str)] = &[
    ("echo into chpasswd", "echo 'root:PW' | chpasswd"),
    ("printf into chpasswd", "printf 'a:PW\\n' | sudo chpasswd"),
    ("here-string", "chpasswd <<< 'root:PW'"),
    ("here-document", "chpasswd <<EOF\nroot:PW\nEOF"),
    ("passwd --stdin", "echo PW | passwd --stdin root"),
    ("curl -u", "curl -u admin:PW https://example.invalid/"),
    ("PGPASSWORD", "PGPASSWORD=PW psql -h db app"),
    ("sshpass -p", "sshpass -p PW ssh host true"),
    ("export", "export AWS_SECRET_ACCESS_KEY=PW"),
    ("redis-cli -a", "redis-cli -a PW ping"),
    ("docker login -p", "docker login -u me -p PW registry"),
    ("useradd -p", "useradd -m -p PW alice"),
    (
        "a URL's password",
        "git clone https://bob:PW@git.example.invalid/r",
    ),
    ("mysql -p", "mysql -uroot -pPW app"),
];

/// Tools run through the shim: (case, argv with `PW`).
const SHIMMED: &[(&str, &[&str])] = &[
    (
        "curl -u",
        &["curl", "-u", "admin:PW", "https://example.invalid/"],
    ),
    ("sshpass -p", &["sshpass", "-p", "PW", "true"]),
    ("redis-cli -a", &["redis-cli", "-a", "PW", "ping"]),
    (
        "docker login",
        &["docker", "login", "--password=PW", "registry"],
    ),
    ("useradd -p", &["useradd", "-p", "PW", "carol"]),
    ("mysql --password", &["mysql", "--password=PW", "app"]),
];

/// The password of case `i`: distinct, and no one a part of another.
fn password(i: usize) -> String {
    format!("Zq{i:02}sekritXy")
}

fn hook(env: &Env, session: &str, line: &str, act: impl FnOnce()) {
    let out = env
        .cmd()
        .args(["__hook", "start", "--pid", "4242", "--", line])
        .env("CFT_SESSION", session)
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty(), "{line}: no intent id: {}", stderr(&out));
    act();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let end = env
        .cmd()
        .args(["__hook", "end", &id, "0"])
        .env("CFT_SESSION", session)
        .status()
        .unwrap();
    assert!(end.success());
}

/// Every file below `dir`, read whole.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            out.push((e.path().to_path_buf(), std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

fn holds(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn no_password_on_a_command_line_reaches_any_output() {
    let env = Env::new(CFT);
    let fake = env.tmp.path().join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    let log = env.p("/etc/shimmed.log");
    for (_, argv) in SHIMMED {
        let tool = fake.join(argv[0]);
        write(&tool, "#!/bin/sh\necho \"$0 ran\" >> \"$CFT_TEST_LOG\"\n");
        std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
    }
    let shim_dir = env.tmp.path().join("shim");
    std::fs::create_dir_all(&shim_dir).unwrap();
    std::os::unix::fs::symlink(CFT, shim_dir.join("cft-shim")).unwrap();

    env.begin("pw", &[]);
    let mut secrets = Vec::new();
    for (i, (case, line)) in LINES.iter().enumerate() {
        let pw = password(i);
        let line = line.replace("PW", &pw);
        hook(&env, "pw", &line, || {
            write(&env.p(&format!("/etc/typed-{i}.conf")), format!("{case}\n"));
        });
        secrets.push((case.to_string(), pw));
    }
    for (j, (case, argv)) in SHIMMED.iter().enumerate() {
        let pw = password(LINES.len() + j);
        let args: Vec<String> = argv.iter().map(|a| a.replace("PW", &pw)).collect();
        let out = std::process::Command::new(shim_dir.join("cft-shim"))
            .args(&args)
            .env("CFT_DB", &env.db)
            .env("CFT_SESSION", "pw")
            .env("CFT_TEST_LOG", &log)
            .env("PATH", format!("{}:/usr/bin:/bin", fake.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{case}: {}", stderr(&out));
        std::thread::sleep(std::time::Duration::from_millis(50));
        secrets.push((format!("shim {case}"), pw));
    }
    env.finish("pw");

    // Everything cft says or writes of the session.
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    for args in [
        &["show", "pw"][..],
        &["show", "pw", "--all"],
        &["show", "pw", "--commands"],
        &["show", "pw", "--json"],
        &["show", "pw", "--events"],
        &["list"],
        &["list", "--json"],
    ] {
        outputs.push((args.join(" "), env.ok(args).into_bytes()));
    }
    let commands = String::from_utf8_lossy(&outputs[2].1).into_owned();
    assert!(
        commands.contains("chpasswd") && commands.contains("carol") && commands.contains("alice"),
        "the commands were recorded: {commands}"
    );
    let module = env.tmp.path().join("module");
    env.ok(["manifest", "pw", "-o", module.to_str().unwrap()]);
    for (p, data) in files_under(&module) {
        outputs.push((p.display().to_string(), data));
    }
    let report = env.tmp.path().join("report.html");
    env.ok(["report", "pw", "-o", report.to_str().unwrap()]);
    outputs.push(("report".into(), std::fs::read(&report).unwrap()));
    let export = env.tmp.path().join("pw.cftx");
    env.ok(["export", "pw", "-o", export.to_str().unwrap()]);
    let file = std::fs::read(&export).unwrap();
    let len = u64::from_be_bytes(file[8..16].try_into().unwrap()) as usize;
    let mut body = Vec::new();
    flate2::read::ZlibDecoder::new(&file[16..16 + len])
        .read_to_end(&mut body)
        .unwrap();
    outputs.push(("export (file)".into(), file));
    outputs.push(("export (body)".into(), body));

    for (case, pw) in &secrets {
        for (what, bytes) in &outputs {
            assert!(!holds(bytes, pw), "{case}: its password is in {what}");
        }
    }
}
