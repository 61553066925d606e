//! Everyday manners (issue 13): a closed pipe is a quiet end, a module
//! directory Puppet cannot load is refused before anything is written, and
//! completions and the manual page come from the same clap definitions.

use crate::util::CFT;
use std::io::Read;
use std::process::Stdio;
use testkit::cli::{stderr, Env};

fn session(env: &Env, name: &str) {
    for i in 0..2000 {
        testkit::cli::write(&env.p(&format!("/etc/f{i:04}")), "x\n");
    }
    env.begin(name, &[]);
    for i in 0..2000 {
        testkit::cli::write(&env.p(&format!("/etc/f{i:04}")), "y\n");
    }
    env.finish(name);
}

/// The reader takes one line and goes: cft ends without a panic or a
/// message, as cat does.
#[test]
fn a_closed_pipe_is_a_quiet_end() {
    let env = Env::new(CFT);
    session(&env, "big");
    for args in [
        &["show", "big", "--all"][..],
        &["show", "big", "--json"],
        &["list"],
        &["diff", "big"],
    ] {
        let mut child = env
            .cmd()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 16];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} said: {err}");
    }
}

#[test]
fn a_module_directory_puppet_cannot_load_is_refused() {
    let env = Env::new(CFT);
    env.begin("front-end", &[]);
    testkit::cli::write(&env.p("/etc/app.conf"), "x\n");
    env.finish("front-end");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("front-end");
    let out = env.run(["manifest", "front-end", "-o", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("module 'front_end' only in a directory named 'front_end'")
            && err.contains(&format!(
                "use -o {}",
                dir.path().join("front_end").display()
            )),
        "{err}"
    );
    assert!(!bad.exists(), "nothing written");
    let good = dir.path().join("front_end");
    env.ok(["manifest", "front-end", "-o", good.to_str().unwrap()]);
    assert!(good.join("manifests/init.pp").is_file());
    // `record -o` says so before it records anything.
    let out = env.run(["record", "again", "-o", bad.to_str().unwrap(), "--", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be a module's name"),
        "{}",
        stderr(&out)
    );
    assert!(!env.ok(["list"]).contains("again"));
}

#[test]
fn completions_and_the_manual_page() {
    let env = Env::new(CFT);
    for (shell, needle) in [
        ("bash", "complete -F _cft"),
        ("zsh", "#compdef cft"),
        ("fish", "complete -c cft"),
    ] {
        let s = env.ok(["completions", shell]);
        assert!(s.contains(needle), "{shell}: {}", &s[..s.len().min(300)]);
        assert!(s.contains("diff") && s.contains("manifest"), "{shell}");
    }
    let man = env.ok(["man"]);
    assert!(man.starts_with(".ie \\n(.g .ds Aq"), "{}", &man[..200]);
    assert!(
        man.contains(".TH cft 1") && man.contains("cft\\-diff"),
        "{}",
        &man[..man.len().min(2000)]
    );
}

/// `cargo install --path .` installs `cft` alone: with no `cft-shim`
/// beside it, `cft shim install` links the tools to cft, which is the shim
/// by a tool's name, and records the command.
#[test]
fn cft_alone_is_the_shim() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new(CFT);
    let bin = env.tmp.path().join("installed");
    std::fs::create_dir(&bin).unwrap();
    std::fs::copy(CFT, bin.join("cft")).unwrap();
    let tools = env.tmp.path().join("tools");
    std::fs::create_dir(&tools).unwrap();
    std::fs::write(
        tools.join("useradd"),
        "#!/bin/sh\necho \"real useradd $*\"\nexit 7\n",
    )
    .unwrap();
    std::fs::set_permissions(
        tools.join("useradd"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let shims = env.tmp.path().join("shims");
    let out = std::process::Command::new(bin.join("cft"))
        .env("CFT_DB", &env.db)
        .args(["shim", "install"])
        .arg(&shims)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_link(shims.join("useradd")).unwrap(),
        bin.join("cft")
    );

    env.begin("s", &[]);
    let path = format!("{}:{}:/usr/bin:/bin", shims.display(), tools.display());
    let out = std::process::Command::new(shims.join("useradd"))
        .args(["-m", "alice"])
        .env("PATH", &path)
        .env("CFT_DB", &env.db)
        .env("CFT_SESSION", "s")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "real useradd -m alice\n"
    );
    env.finish("s");
    let show = env.ok(["show", "s", "--commands"]);
    assert!(show.contains("/shims/useradd -m alice  [exit 7]"), "{show}");

    // And uninstall knows those links.
    let out = std::process::Command::new(bin.join("cft"))
        .args(["shim", "uninstall"])
        .arg(&shims)
        .output()
        .unwrap();
    assert!(
        stdout_has(&out, "removed 20 link(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn stdout_has(o: &std::process::Output, s: &str) -> bool {
    String::from_utf8_lossy(&o.stdout).contains(s)
}

/// "No session" says which database was looked in.
#[test]
fn no_session_names_the_database() {
    let env = Env::new(CFT);
    env.begin("s", &[]);
    env.finish("s");
    let db = env.db.display().to_string();
    let st = env.ok(["status"]);
    assert_eq!(st, format!("no session is recording (in {db})\n"));
    let out = env.run(["finish"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("no session is recording in {db}")),
        "{}",
        stderr(&out)
    );
    // Not a terminal: no colour in what cft says on stderr.
    assert!(!stderr(&out).contains('\x1b'), "{}", stderr(&out));
}

/// `cft record -o` finishes and writes the module itself: it does not tell
/// the user to do either.
#[test]
fn record_does_not_tell_you_to_do_what_it_did() {
    let env = Env::new(CFT);
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("demo");
    let out = env.ok([
        "record",
        "demo",
        "--root",
        env.root.to_str().unwrap(),
        "--no-default-watch",
        "--watch",
        "/etc",
        "-o",
        module.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &format!("echo x > {}", env.p("/etc/demo.conf").display()),
    ]);
    assert!(out.contains("finished session 'demo'"), "{out}");
    assert!(out.contains("wrote module 'demo'"), "{out}");
    assert!(!out.contains("finish with `cft finish"), "{out}");
    assert!(!out.contains("write the Puppet module with"), "{out}");
}

/// A user added without a password changes /etc/shadow but withholds
/// nothing: no "withheld" notice. One with a password: the notice says
/// where the hash went.
#[test]
fn the_shadow_notice_only_when_a_password_was_set() {
    for (hash, said) in [("!", false), ("$6$salt$HASH", true)] {
        let env = Env::new(CFT);
        testkit::cli::write(&env.p("/etc/shadow"), "root:*:19000:0:99999:7:::\n");
        env.begin("u", &[]);
        testkit::cli::write(
            &env.p("/etc/passwd"),
            "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
             alice:x:1001:1001::/home/alice:/bin/sh\n",
        );
        testkit::cli::write(
            &env.p("/etc/group"),
            "root:x:0:\nnogroup:x:65534:\nalice:x:1001:\n",
        );
        testkit::cli::write(
            &env.p("/etc/shadow"),
            format!("root:*:19000:0:99999:7:::\nalice:{hash}:19000:0:99999:7:::\n"),
        );
        let fin = env.finish("u");
        let show = env.ok(["show", "u"]);
        for text in [&fin, &show] {
            assert_eq!(text.contains("/etc/shadow: "), said, "{hash}: {text}");
        }
        if said {
            assert!(
                show.contains("/etc/shadow: holds password hashes"),
                "{show}"
            );
        }
    }
}

/// `manifest` and `show` without a name take the last finished session and
/// say so; `--dry-run` writes nothing and lists the resources; `--exclude`
/// leaves paths out and the README says so; metadata.json takes the
/// author, version, license and source.
#[test]
fn manifest_conveniences() {
    let env = Env::new(CFT);
    env.begin("one", &[]);
    testkit::cli::write(&env.p("/etc/one.conf"), "1\n");
    env.finish("one");
    env.begin("two", &[]);
    testkit::cli::write(&env.p("/etc/app.conf"), "a\n");
    std::fs::create_dir_all(env.p("/srv/cache")).unwrap();
    testkit::cli::write(&env.p("/srv/cache/blob"), "b\n");
    env.finish("two");

    let out = env.run(["show"]);
    assert!(
        stderr(&out).contains("using session 'two', the last one finished"),
        "{}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("session 'two'"));

    let dry = env.run(["manifest", "--dry-run", "--exclude", "/srv/cache"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let text = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(text.contains("(dry run: nothing written)"), "{text}");
    assert!(text.contains("  file /etc/app.conf\n"), "{text}");
    assert!(!text.contains("  file /srv/cache"), "{text}");
    assert!(
        text.contains(
            "not expressed:    /srv/cache: left out of the module on purpose (--exclude)"
        ),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("two");
    env.ok([
        "manifest",
        "two",
        "-o",
        module.to_str().unwrap(),
        "--exclude",
        "/srv/cache/",
        "--author",
        "acme",
        "--version",
        "2.1.0",
        "--license",
        "MIT",
        "--source",
        "https://git.example/acme/two",
    ]);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(module.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["name"], "acme-two");
    assert_eq!(meta["version"], "2.1.0");
    assert_eq!(meta["license"], "MIT");
    assert_eq!(meta["source"], "https://git.example/acme/two");
    assert!(!module.join("files/srv/cache/blob").exists());
    let readme = std::fs::read_to_string(module.join("README.md")).unwrap();
    assert!(
        readme.contains("/srv/cache") && readme.contains("--exclude"),
        "{readme}"
    );
    // A bad version names the option's field and value.
    let out = env.run(["manifest", "two", "--dry-run", "--version", "2.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid module version '2.1'"),
        "{}",
        stderr(&out)
    );
}
