//! Integration tests of the real `cft` binary on temporary trees (`--root`),
//! with real inotify and a real SQLite database.

use crate::util::{Stored, CFT};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use testkit::cli::{has, stderr, stdout, write, Env};

#[test]
fn records_every_kind_of_file_change() {
    let env = Env::new(CFT);
    write(&env.p("/etc/app.conf"), "old\n");
    write(&env.p("/etc/gone.conf"), "bye\n");
    write(&env.p("/etc/mode.conf"), "same\n");
    write(&env.p("/etc/type"), "was a file\n");
    std::os::unix::fs::symlink("/etc/one", env.p("/etc/link")).unwrap();
    std::fs::create_dir_all(env.p("/srv/olddir/sub")).unwrap();
    write(&env.p("/srv/olddir/sub/f"), "x");
    let out = env.begin("web", &["--description", "test session"]);
    assert!(out.contains("recording session 'web'"), "{out}");
    assert!(out.contains("/etc, /srv"), "{out}");

    write(&env.p("/etc/app.conf"), "new\n");
    write(&env.p("/etc/created.conf"), "hello\n");
    std::fs::remove_file(env.p("/etc/gone.conf")).unwrap();
    std::fs::set_permissions(
        env.p("/etc/mode.conf"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::remove_file(env.p("/etc/type")).unwrap();
    std::os::unix::fs::symlink("/etc/app.conf", env.p("/etc/type")).unwrap();
    std::fs::remove_file(env.p("/etc/link")).unwrap();
    std::os::unix::fs::symlink("/etc/two", env.p("/etc/link")).unwrap();
    std::fs::create_dir_all(env.p("/srv/www/html")).unwrap();
    write(&env.p("/srv/www/html/index.html"), "<h1>hi</h1>\n");
    std::fs::remove_dir_all(env.p("/srv/olddir")).unwrap();

    let fin = env.finish("web");
    assert!(fin.contains("finished session 'web'"), "{fin}");
    assert!(!fin.contains("full rescan"), "{fin}");
    let c = env.changes("web");
    let want: &[(&str, &[u8])] = &[
        ("modified", b"/etc/app.conf"),
        ("created", b"/etc/created.conf"),
        ("removed", b"/etc/gone.conf"),
        ("metadata", b"/etc/mode.conf"),
        ("type_changed", b"/etc/type"),
        ("retargeted", b"/etc/link"),
        ("dir_created", b"/srv/www"),
        ("dir_created", b"/srv/www/html"),
        ("created", b"/srv/www/html/index.html"),
        ("dir_removed", b"/srv/olddir"),
        ("dir_removed", b"/srv/olddir/sub"),
        ("removed", b"/srv/olddir/sub/f"),
    ];
    for (k, p) in want {
        assert!(
            has(&c, k, p),
            "missing {k} {}: {c:?}",
            String::from_utf8_lossy(p)
        );
    }
    assert_eq!(c.len(), want.len(), "unexpected extra changes: {c:?}");
    // The untouched file is not a change; neither is /etc's own mtime.
    assert!(!c.iter().any(|(_, p)| p == b"/etc/hosts" || p == b"/etc"));

    let cs = env.change_set("web");
    let app = cs
        .changes
        .iter()
        .find(|c| c.path == b"/etc/app.conf")
        .unwrap();
    let store = env.store();
    use recorder::model::BlobSource;
    let after = app.after.as_ref().unwrap();
    assert_eq!(store.blob(&after.hash.unwrap()).unwrap().unwrap(), b"new\n");
    let before = app.before.as_ref().unwrap();
    assert_eq!(
        store.blob(&before.hash.unwrap()).unwrap().unwrap(),
        b"old\n"
    );
    assert_eq!(cs.session.description.as_deref(), Some("test session"));
    assert_eq!(cs.session.facts.os_id, "debian");
    assert_eq!(cs.session.facts.hostname, "testhost");

    let show = env.ok(["show", "web"]);
    assert!(show.contains("retargeted    /etc/link  symlink"), "{show}");
    let list = env.ok(["list"]);
    assert!(list.contains("web") && list.contains("finished"), "{list}");
}

#[test]
fn database_is_private() {
    let env = Env::new(CFT);
    env.begin("priv", &[]);
    env.finish("priv");
    let dir = env.db.parent().unwrap();
    assert_eq!(std::fs::metadata(dir).unwrap().mode() & 0o777, 0o700);
    for entry in std::fs::read_dir(dir).unwrap() {
        let e = entry.unwrap();
        let mode = e.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", e.path().display());
    }
}

#[test]
fn one_recording_session_per_root() {
    let env = Env::new(CFT);
    env.begin("first", &[]);
    let out = env.run([
        "begin",
        "second",
        "--root",
        env.root.to_str().unwrap(),
        "--no-default-watch",
        "--watch",
        "/etc",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("'first' is already recording"), "{err}");
    let status = env.ok(["status"]);
    assert!(
        status.contains("session 'first'") && status.contains("daemon:      running"),
        "{status}"
    );
    env.finish("first");
    assert!(env.ok(["status"]).contains("no session is recording"));
}

#[test]
fn renames_are_paired_by_cookie() {
    let env = Env::new(CFT);
    write(&env.p("/etc/a.conf"), "a");
    std::fs::create_dir_all(env.p("/srv/dir1/inner")).unwrap();
    write(&env.p("/srv/dir1/inner/f"), "f");
    env.begin("mv", &[]);
    std::fs::rename(env.p("/etc/a.conf"), env.p("/etc/b.conf")).unwrap();
    std::fs::rename(env.p("/srv/dir1"), env.p("/srv/dir2")).unwrap();
    // The moved directory is still watched, under its new name.
    write(&env.p("/srv/dir2/inner/g"), "g");
    env.finish("mv");
    let c = env.changes("mv");
    for (k, p) in [
        ("removed", &b"/etc/a.conf"[..]),
        ("created", b"/etc/b.conf"),
        ("dir_removed", b"/srv/dir1"),
        ("dir_created", b"/srv/dir2"),
        ("created", b"/srv/dir2/inner/f"),
        ("created", b"/srv/dir2/inner/g"),
    ] {
        assert!(
            has(&c, k, p),
            "missing {k} {}: {c:?}",
            String::from_utf8_lossy(p)
        );
    }
    let show = env.ok(["show", "mv", "--events"]);
    assert!(
        show.contains("renamed     watcher  /etc/a.conf -> /etc/b.conf"),
        "{show}"
    );
    assert!(
        show.contains("renamed     watcher  /srv/dir1 -> /srv/dir2"),
        "{show}"
    );
    assert!(
        show.contains("created     watcher  /srv/dir2/inner/g"),
        "{show}"
    );
}

#[test]
fn mkdir_race_new_directories_are_read_after_their_watch() {
    let env = Env::new(CFT);
    env.begin("race", &[]);
    let base = env.p("/srv");
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg("mkdir -p a/b/c && echo x > a/b/c/f")
        .current_dir(&base)
        .status()
        .unwrap();
    assert!(st.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Written after the race: only seen if a/b/c got its watch.
    write(&env.p("/srv/a/b/c/later"), "y");
    env.finish("race");
    let c = env.changes("race");
    for p in [&b"/srv/a"[..], b"/srv/a/b", b"/srv/a/b/c"] {
        assert!(has(&c, "dir_created", p), "{c:?}");
    }
    assert!(has(&c, "created", b"/srv/a/b/c/f"), "{c:?}");
    assert!(has(&c, "created", b"/srv/a/b/c/later"), "{c:?}");
    let show = env.ok(["show", "race", "--events"]);
    assert!(
        show.lines()
            .any(|l| l.contains("/srv/a/b/c/later") && l.contains("watcher")),
        "the watch on a/b/c was not in place:\n{show}"
    );
    assert!(show.lines().any(|l| l.ends_with("/srv/a/b/c/f")), "{show}");
}

#[test]
fn created_and_removed_within_the_session_is_no_change() {
    let env = Env::new(CFT);
    env.begin("tmp", &[]);
    write(&env.p("/etc/transient"), "x");
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::remove_file(env.p("/etc/transient")).unwrap();
    env.finish("tmp");
    assert!(env.changes("tmp").is_empty(), "{:?}", env.changes("tmp"));
    let show = env.ok(["show", "tmp", "--events"]);
    assert!(
        show.contains("created     watcher  /etc/transient"),
        "{show}"
    );
    assert!(
        show.contains("removed     watcher  /etc/transient"),
        "{show}"
    );
}

#[test]
fn queue_overflow_forces_a_complete_rescan() {
    let mut env = Env::new(CFT);
    // Stall the reader so the kernel queue (16384 by default) overflows,
    // long enough for a loaded machine to write the flood first.
    env.extra_env
        .push(("CFT_TEST_STALL_READER_MS".into(), "8000".into()));
    // Watched from the start: a directory made later would only be read
    // (add-watch-then-read) once the stalled reader wakes, without events.
    std::fs::create_dir(env.p("/srv/flood")).unwrap();
    env.begin("flood", &[]);
    let max: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(16384);
    let n = max + 4000;
    for i in 0..n {
        write(&env.p(&format!("/srv/flood/f{i}")), "x");
    }
    let fin = env.finish("flood");
    assert!(fin.contains("full rescan"), "{fin}");
    assert!(fin.contains("overflowed"), "{fin}");
    let c = env.changes("flood");
    let created = c.iter().filter(|(k, _)| k == "created").count();
    assert_eq!(created, n, "every file of the flood is in the change set");
    let show = env.ok(["show", "flood", "--events"]);
    assert!(show.contains("overflow"), "the overflow is in the timeline");
}

#[test]
fn a_killed_daemon_is_detected_and_finish_rescans() {
    let env = Env::new(CFT);
    write(&env.p("/etc/before"), "1");
    env.begin("killed", &[]);
    write(&env.p("/etc/before"), "2");
    let pid = env.daemon_pid("killed");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for _ in 0..200 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Made while nobody watched: only a rescan can find these.
    write(&env.p("/etc/after"), "3");
    std::fs::create_dir_all(env.p("/srv/deep/er")).unwrap();
    write(&env.p("/srv/deep/er/file"), "4");
    let status = env.ok(["status"]);
    assert!(status.contains("NOT RUNNING"), "{status}");
    let fin = env.finish("killed");
    assert!(
        fin.contains("full rescan") && fin.contains("not running"),
        "{fin}"
    );
    let c = env.changes("killed");
    assert!(has(&c, "modified", b"/etc/before"), "{c:?}");
    assert!(has(&c, "created", b"/etc/after"), "{c:?}");
    assert!(has(&c, "created", b"/srv/deep/er/file"), "{c:?}");
    assert_eq!(c.len(), 5, "{c:?}");
}

#[test]
fn resume_continues_a_finished_session() {
    let env = Env::new(CFT);
    write(&env.p("/etc/a"), "a0");
    write(&env.p("/etc/b"), "b0");
    env.begin("long", &[]);
    write(&env.p("/etc/a"), "a1");
    env.finish("long");
    assert_eq!(env.changes("long").len(), 1);
    // A resume of a session that is not finished is refused.
    let out = env.ok(["begin", "--resume", "long"]);
    assert!(out.contains("resumed"), "{out}");
    let again = env.run(["begin", "--resume", "long"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("recording, not finished"),
        "{}",
        stderr(&again)
    );
    write(&env.p("/etc/b"), "b1");
    write(&env.p("/srv/new"), "n");
    env.finish("long");
    let c = env.changes("long");
    assert!(has(&c, "modified", b"/etc/a"), "{c:?}");
    assert!(has(&c, "modified", b"/etc/b"), "{c:?}");
    assert!(has(&c, "created", b"/srv/new"), "{c:?}");
    // Changed back to the baseline: no longer a change.
    env.ok(["begin", "--resume", "long"]);
    write(&env.p("/etc/a"), "a0");
    env.finish("long");
    assert!(!has(&env.changes("long"), "modified", b"/etc/a"));
}

/// Issue 9: `--resume` ignored the files changed between the two
/// recordings (while it picked up packages and users): an edit made in the
/// gap was dropped. The gap is now swept at resume, and said.
#[test]
fn resume_records_what_changed_between_the_recordings() {
    let env = Env::new(CFT);
    write(&env.p("/etc/stock"), "stock\n");
    write(&env.p("/etc/keep"), "keep\n");
    env.begin("gap", &[]);
    write(&env.p("/etc/app.conf"), "v1\n");
    env.finish("gap");
    // Nothing records now.
    write(&env.p("/etc/app.conf"), "v2, same size? no\n");
    write(&env.p("/etc/new-in-gap"), "new\n");
    std::fs::remove_file(env.p("/etc/stock")).unwrap();
    std::fs::set_permissions(env.p("/etc/keep"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.ok(["begin", "--resume", "gap"]);
    assert!(
        out.contains("gap:") && out.contains("4 paths changed"),
        "{out}"
    );
    write(&env.p("/srv/later"), "after the resume\n");
    let fin = env.finish("gap");
    assert!(fin.contains("not recording"), "the gap is told: {fin}");
    let c = env.changes("gap");
    for (k, p) in [
        ("created", &b"/etc/app.conf"[..]),
        ("created", b"/etc/new-in-gap"),
        ("removed", b"/etc/stock"),
        ("metadata", b"/etc/keep"),
        ("created", b"/srv/later"),
    ] {
        assert!(
            has(&c, k, p),
            "missing {k} {}: {c:?}",
            String::from_utf8_lossy(p)
        );
    }
    let cs = env.change_set("gap");
    let conf = cs
        .changes
        .iter()
        .find(|c| c.path == b"/etc/app.conf")
        .unwrap();
    assert_eq!(
        conf.after.as_ref().and_then(|a| a.hash),
        Some(recorder::model::ContentHash::of(b"v2, same size? no\n")),
        "the gap's content, not the first recording's"
    );
}

#[test]
fn ignore_rules_builtin_file_and_flags() {
    let env = Env::new(CFT);
    let rules = env.tmp.path().join("rules");
    write(&rules, "# site rules\n/srv/cache/\n");
    let mut cmd = env.cmd();
    cmd.env("CFT_IGNORE_FILE", &rules).args([
        "begin",
        "ign",
        "--root",
        env.root.to_str().unwrap(),
        "--no-default-watch",
        "--watch",
        "/etc",
        "--watch",
        "/srv",
        "--ignore",
        "*.log",
    ]);
    assert!(cmd.status().unwrap().success());
    write(&env.p("/etc/.app.conf.swp"), "swap");
    write(&env.p("/etc/app.conf~"), "backup");
    write(&env.p("/etc/4913"), "");
    write(&env.p("/etc/passwd.12345"), "tmp");
    write(&env.p("/srv/app.log"), "log");
    std::fs::create_dir_all(env.p("/srv/cache/x")).unwrap();
    write(&env.p("/srv/cache/x/blob"), "c");
    write(&env.p("/etc/app.conf"), "real");
    env.finish("ign");
    let c = env.changes("ign");
    assert_eq!(c, vec![("created".to_string(), b"/etc/app.conf".to_vec())]);
    let bad = env.run([
        "begin",
        "badpat",
        "--root",
        env.root.to_str().unwrap(),
        "--ignore",
        "/etc/{a,b",
    ]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("/etc/{a,b"), "{}", stderr(&bad));
}

#[test]
fn awkward_names_and_contents_are_recorded_exactly() {
    let env = Env::new(CFT);
    env.begin("odd", &[]);
    let names: Vec<&[u8]> = vec![
        b"/etc/new\nline",
        b"/etc/quote's \"double\"",
        b"/etc/dollar $HOME ${x}",
        b"/etc/back\\slash",
        b"/etc/tab\there",
        b"/etc/latin1-\xe9\xff",
        b"/etc/unicode-\xc3\xa9t\xc3\xa9",
        b"/etc/-leading-dash",
    ];
    for n in &names {
        write(&env.pb(n), n);
    }
    let long = format!("/etc/{}", "L".repeat(255));
    write(&env.p(&long), "long name");
    let mut deep = String::from("/srv");
    for i in 0..60 {
        deep.push_str(&format!("/d{i}"));
    }
    std::fs::create_dir_all(env.p(&deep)).unwrap();
    write(&env.p(&format!("{deep}/leaf")), "deep");
    write(&env.p("/etc/nul"), b"a\0b\0\xff\xfe binary");
    write(&env.p("/etc/crlf"), "line1\r\nline2\r\n");
    write(&env.p("/etc/no-newline"), "<%= evil %> ${x} $y 'q' \\");
    std::os::unix::fs::symlink("/nonexistent/target", env.p("/etc/dangling")).unwrap();
    std::os::unix::fs::symlink("loop2", env.p("/etc/loop1")).unwrap();
    std::os::unix::fs::symlink("loop1", env.p("/etc/loop2")).unwrap();
    write(&env.p("/etc/hard1"), "shared inode");
    std::fs::hard_link(env.p("/etc/hard1"), env.p("/etc/hard2")).unwrap();
    nix::unistd::mkfifo(
        &env.p("/etc/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o640),
    )
    .unwrap();
    let sock = std::os::unix::net::UnixListener::bind(env.p("/srv/sock")).unwrap();
    env.finish("odd");
    drop(sock);

    let cs = env.change_set("odd");
    let find = |p: &[u8]| cs.changes.iter().find(|c| c.path == p);
    let store = env.store();
    use recorder::model::BlobSource;
    for n in &names {
        let c = find(n).unwrap_or_else(|| panic!("missing {:?}", String::from_utf8_lossy(n)));
        let h = c.after.as_ref().unwrap().hash.unwrap();
        assert_eq!(store.blob(&h).unwrap().unwrap(), *n);
    }
    assert!(find(long.as_bytes()).is_some());
    assert!(find(format!("{deep}/leaf").as_bytes()).is_some());
    let nul = find(b"/etc/nul")
        .unwrap()
        .after
        .as_ref()
        .unwrap()
        .hash
        .unwrap();
    assert_eq!(store.blob(&nul).unwrap().unwrap(), b"a\0b\0\xff\xfe binary");
    let dangling = find(b"/etc/dangling").unwrap().after.clone().unwrap();
    assert_eq!(
        dangling.link_target.as_deref(),
        Some(&b"/nonexistent/target"[..])
    );
    assert_eq!(
        find(b"/etc/loop1")
            .unwrap()
            .after
            .as_ref()
            .unwrap()
            .link_target
            .as_deref(),
        Some(&b"loop2"[..])
    );
    for hl in [&b"/etc/hard1"[..], b"/etc/hard2"] {
        assert_eq!(
            find(hl).unwrap().after.as_ref().unwrap().kind,
            recorder::model::EntryKind::File
        );
    }
    let fifo = find(b"/etc/fifo").unwrap().after.clone().unwrap();
    assert_eq!(fifo.kind, recorder::model::EntryKind::Fifo);
    assert_eq!(fifo.mode, 0o640);
    assert_eq!(
        find(b"/srv/sock").unwrap().after.as_ref().unwrap().kind,
        recorder::model::EntryKind::Socket
    );
    assert!(cs
        .notices
        .iter()
        .any(|n| n.kind == recorder::model::NoticeKind::Special));

    // The module is generated; the non-UTF-8 name is reported, not dropped.
    let out_dir = env.tmp.path().join("odd");
    let out = env.ok(["manifest", "odd", "-o", out_dir.to_str().unwrap()]);
    assert!(out.contains("latin1-\\xe9\\xff"), "{out}");
    let readme = std::fs::read_to_string(out_dir.join("README.md")).unwrap();
    assert!(readme.contains("latin1-\\xe9\\xff"), "{readme}");
    let show = env.ok(["show", "odd"]);
    assert!(show.contains("/etc/new\\nline"), "{show}");
}

#[test]
fn secrets_never_reach_the_module_unless_asked() {
    let env = Env::new(CFT);
    std::fs::create_dir_all(env.p("/etc/ssh")).unwrap();
    env.begin("sec", &[]);
    let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n";
    write(&env.p("/etc/ssh/ssh_host_ed25519_key"), key);
    std::fs::create_dir_all(env.p("/srv/app")).unwrap();
    write(&env.p("/srv/app/tls.pem"), format!("cert\n{key}"));
    write(
        &env.p("/etc/shadow"),
        "root:$6$salt$hashhashhash:19000:0:99999:7:::\n",
    );
    write(&env.p("/etc/app.conf"), "not secret\n");
    let fin = env.finish("sec");
    assert!(fin.contains("secret"), "{fin}");
    let cs = env.change_set("sec");
    let secret: Vec<_> = cs
        .changes
        .iter()
        .filter(|c| c.secret)
        .map(|c| c.path.clone())
        .collect();
    assert_eq!(
        secret,
        vec![
            b"/etc/shadow".to_vec(),
            b"/etc/ssh/ssh_host_ed25519_key".to_vec(),
            b"/srv/app/tls.pem".to_vec()
        ]
    );
    let plain = env.tmp.path().join("plain");
    let out = env.ok(["manifest", "sec", "-o", plain.to_str().unwrap()]);
    assert!(out.contains("must be supplied"), "{out}");
    for f in walk_files(&plain) {
        let data = std::fs::read(&f).unwrap();
        for needle in [
            &b"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"[..],
            b"hashhashhash",
        ] {
            assert!(
                !data.windows(needle.len()).any(|w| w == needle),
                "{} leaks a secret",
                f.display()
            );
        }
    }
    let with = env.tmp.path().join("with");
    env.ok([
        "manifest",
        "sec",
        "-o",
        with.to_str().unwrap(),
        "--include-secrets",
    ]);
    let mut shipped = 0;
    for f in walk_files(&with) {
        let data = std::fs::read(&f).unwrap();
        if data.windows(10).any(|w| w == b"b3BlbnNzaC") {
            shipped += 1;
            let mode = std::fs::metadata(&f).unwrap().mode() & 0o777;
            assert_eq!(
                mode,
                0o600,
                "{} holds a secret but is {mode:o}",
                f.display()
            );
        }
    }
    assert_eq!(
        shipped, 2,
        "both private keys are shipped with --include-secrets"
    );
}

/// Files larger than cft holds in memory (1 MiB) take the streamed way:
/// the baseline's and finish's contents are streamed into the pack and
/// the module's copies out of it, byte for byte; a private key inside one
/// still makes it a secret; and the database holds none of them.
#[test]
fn large_files_are_streamed_exactly_and_still_checked_for_secrets() {
    let env = Env::new(CFT);
    let noise = |seed: u32, n: usize| -> Vec<u8> {
        (0..n as u32)
            .map(|i| (i.wrapping_add(seed).wrapping_mul(2654435761) >> 13) as u8)
            .collect()
    };
    std::fs::create_dir_all(env.p("/srv/data")).unwrap();
    std::fs::write(env.p("/srv/data/kept.bin"), noise(1, 3 << 20)).unwrap();
    std::fs::write(env.p("/srv/data/changed.bin"), noise(2, 3 << 20)).unwrap();
    env.begin("big", &["--content-cap", "16777216"]);
    let changed = noise(3, (5 << 20) + 17);
    std::fs::write(env.p("/srv/data/changed.bin"), &changed).unwrap();
    let created: Vec<u8> = "upstream = backend;\n".repeat(200_000).into_bytes();
    std::fs::write(env.p("/srv/data/created.conf"), &created).unwrap();
    let mut keyed = noise(4, 2 << 20);
    let key = b"-----BEGIN RSA PRIVATE KEY-----\n";
    keyed[(1 << 20) + 5..(1 << 20) + 5 + key.len()].copy_from_slice(key);
    std::fs::write(env.p("/srv/data/bundle.pem.bin"), &keyed).unwrap();
    env.finish("big");

    let cs = env.change_set("big");
    let secret: Vec<&[u8]> = cs
        .changes
        .iter()
        .filter(|c| c.secret)
        .map(|c| c.path.as_slice())
        .collect();
    assert_eq!(secret, vec![&b"/srv/data/bundle.pem.bin"[..]]);
    let out = env.tmp.path().join("mod");
    env.ok(["manifest", "big", "-o", out.to_str().unwrap()]);
    for (rel, want) in [
        ("files/srv/data/changed.bin", &changed),
        ("files/srv/data/created.conf", &created),
    ] {
        let got = std::fs::read(out.join(rel)).unwrap();
        assert!(
            got == *want,
            "{rel}: {} bytes, not the {} recorded",
            got.len(),
            want.len()
        );
    }
    assert!(!out.join("files/srv/data/bundle.pem.bin").exists());
    assert!(!out.join("files/srv/data/kept.bin").exists());
    // The contents live in the pack (compressed), none in the database.
    let mut wal = env.db.clone().into_os_string();
    wal.push("-wal");
    let db =
        std::fs::metadata(&env.db).unwrap().len() + std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert!(db < 1 << 20, "the database and its WAL are {db} bytes");
}

/// The daemon reads what is written during the session as it comes, and
/// finish takes those reads unless the file moved since: whatever happens
/// after a capture (written again in place at the same size, replaced by
/// a rename, its mode changed), the module holds what is on disk at finish.
#[test]
fn what_the_daemon_captured_gives_way_to_what_is_there_at_finish() {
    let env = Env::new(CFT);
    std::fs::create_dir_all(env.p("/srv/app")).unwrap();
    env.begin("cap", &[]);
    for i in 0..300 {
        write(
            &env.p(&format!("/srv/app/f{i:03}.conf")),
            format!("value = {i:04}\n"),
        );
    }
    // Long enough for the capture (a 200 ms gather, ctimes 100 ms old).
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let store = env.store();
    let id = store.session("cap").unwrap().id;
    let seen = store.seen(id).unwrap();
    assert!(
        seen.len() >= 250,
        "captured during the session: {}",
        seen.len()
    );
    for i in (0..300).step_by(30) {
        // In place, the same size: only the stamp tells.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(env.p(&format!("/srv/app/f{i:03}.conf")))
            .unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, b"VALUE", 0).unwrap();
    }
    write(&env.p("/srv/app/next"), "replaced = yes\n");
    std::fs::rename(env.p("/srv/app/next"), env.p("/srv/app/f001.conf")).unwrap();
    std::fs::set_permissions(
        env.p("/srv/app/f002.conf"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    env.finish("cap");
    let out = env.tmp.path().join("mod");
    env.ok(["manifest", "cap", "-o", out.to_str().unwrap()]);
    for i in 0..300 {
        let rel = format!("srv/app/f{i:03}.conf");
        let want = std::fs::read(env.p(&format!("/{rel}"))).unwrap();
        let got = std::fs::read(out.join("files").join(&rel)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{rel}"
        );
    }
    let pp = std::fs::read_to_string(out.join("manifests/files.pp")).unwrap();
    let at = pp.find("/srv/app/f002.conf").unwrap();
    assert!(
        pp[at..].lines().take(8).any(|l| l.contains("'0600'")),
        "{pp}"
    );
}

/// A capture that keeps up with a steady stream of writes finds the
/// newest files too fresh to trust (ctime under 100 ms old): it asks them
/// again once settled, so finish has none left to read.
#[test]
fn files_too_fresh_when_first_captured_are_captured_once_settled() {
    let env = Env::new(CFT);
    std::fs::create_dir_all(env.p("/srv/app")).unwrap();
    env.begin("fresh", &[]);
    // A burst: the writer hands paths over every 4096 events, not every
    // 200 ms, and the capture reads them within milliseconds.
    const N: usize = 6000;
    for i in 0..N {
        write(&env.p(&format!("/srv/app/f{i:04}")), format!("v {i}\n"));
    }
    let store = env.store();
    let id = store.session("fresh").unwrap().id;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut seen = store.seen(id).unwrap().len();
    while seen < N && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        seen = store.seen(id).unwrap().len();
    }
    assert_eq!(seen, N, "captured during the session");
    env.finish("fresh");
}

fn walk_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn manifest_output_is_deterministic() {
    let env = Env::new(CFT);
    env.begin("det", &[]);
    for i in 0..20 {
        write(&env.p(&format!("/etc/conf{i}")), format!("value {i}\n"));
    }
    std::fs::create_dir_all(env.p("/srv/a/b")).unwrap();
    std::os::unix::fs::symlink("/etc/conf1", env.p("/srv/a/b/l")).unwrap();
    env.finish("det");
    let one = env.tmp.path().join("one");
    let two = env.tmp.path().join("two");
    env.ok(["manifest", "det", "-o", one.to_str().unwrap()]);
    env.ok(["manifest", "det", "-o", two.to_str().unwrap()]);
    let mut a: Vec<_> = walk_files(&one)
        .into_iter()
        .map(|f| {
            (
                f.strip_prefix(&one).unwrap().to_path_buf(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect();
    let mut b: Vec<_> = walk_files(&two)
        .into_iter()
        .map(|f| {
            (
                f.strip_prefix(&two).unwrap().to_path_buf(),
                std::fs::read(&f).unwrap(),
            )
        })
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert!(a.iter().any(|(p, _)| p.ends_with("files/etc/conf7")));
}

#[test]
fn record_runs_the_command_and_returns_its_status() {
    let env = Env::new(CFT);
    let out_dir = env.tmp.path().join("mod");
    let target = env.p("/etc/recorded.conf");
    let out = env.run([
        "record",
        "rec",
        "--root",
        env.root.to_str().unwrap(),
        "--no-default-watch",
        "--watch",
        "/etc",
        "-o",
        out_dir.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        &format!("echo recorded > '{}'; exit 3", target.display()),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stdout(&out).contains("finished session 'rec'"));
    assert!(has(&env.changes("rec"), "created", b"/etc/recorded.conf"));
    assert_eq!(
        std::fs::read(out_dir.join("files/etc/recorded.conf")).unwrap(),
        b"recorded\n"
    );
    let manifests: String = std::fs::read_dir(out_dir.join("manifests"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(manifests.contains("'/etc/recorded.conf'"), "{manifests}");
}

#[test]
fn bad_input_gets_clear_errors_and_loses_nothing() {
    let env = Env::new(CFT);
    let root = env.root.to_str().unwrap().to_string();
    std::os::unix::fs::symlink("/etc", env.p("/linked")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["finish", "nosuch"], "no cft database"),
        (&["show", "nosuch"], "no cft database"),
        (
            &["begin", "bad/name", "--root", &root],
            "invalid session name 'bad/name'",
        ),
        (
            &["begin", "w", "--root", &root, "--watch", "/linked/below"],
            "--watch /linked/below: /linked is a symbolic link, which cft never follows",
        ),
        (
            &["begin", "w", "--root", &root, "--watch", "relative"],
            "absolute",
        ),
        (
            &["begin", "w", "--root", "/definitely/not/here"],
            "/definitely/not/here",
        ),
    ];
    for (args, want) in cases {
        let out = env.run(*args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{args:?}: {}", stderr(&out));
    }
    env.begin("kept", &[]);
    let missing = env.run(["show", "nosuch"]);
    assert!(
        stderr(&missing).contains("no session named 'nosuch'"),
        "{}",
        stderr(&missing)
    );
    write(&env.p("/etc/kept"), "k");
    let m = env.run([
        "manifest",
        "kept",
        "-o",
        env.tmp.path().join("m").to_str().unwrap(),
    ]);
    assert!(stderr(&m).contains("still recording"), "{}", stderr(&m));
    let e = env.run(["erase", "kept"]);
    assert!(stderr(&e).contains("cft abort"), "{}", stderr(&e));
    env.finish("kept");
    let bad_mod = env.run([
        "manifest",
        "kept",
        "-o",
        env.tmp.path().join("m").to_str().unwrap(),
        "--module-name",
        "Bad-Name",
    ]);
    assert!(
        stderr(&bad_mod).contains("--module-name"),
        "{}",
        stderr(&bad_mod)
    );
    assert!(has(&env.changes("kept"), "created", b"/etc/kept"));
    assert!(env.run(["finish"]).status.code() == Some(1));
}

#[test]
fn abort_discards_and_erase_deletes() {
    let env = Env::new(CFT);
    env.begin("gone", &[]);
    write(&env.p("/etc/x"), "x");
    let pid = env.daemon_pid("gone");
    let out = env.ok(["abort"]);
    assert!(out.contains("aborted session 'gone'"), "{out}");
    assert!(
        recorder::daemon::process_start(pid).is_none(),
        "daemon still running"
    );
    assert!(!env.ok(["list"]).contains("gone"));
    env.begin("kept", &[]);
    env.finish("kept");
    env.ok(["erase", "kept"]);
    assert!(env.ok(["list"]).contains("no sessions"));
}

#[test]
fn unreadable_files_are_reported_not_fatal() {
    // One file cft cannot read: a write-only file of our own, or, as root
    // (who reads everything), root's file read by cft run as `nobody` on a
    // tree `nobody` owns.
    use std::os::unix::process::CommandExt;
    let env = Env::new(CFT);
    let as_root = nix::unistd::geteuid().is_root();
    if as_root {
        chown_tree(env.tmp.path(), 65534, 65534);
        std::fs::set_permissions(env.tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    write(&env.p("/etc/locked"), "secret");
    if as_root {
        std::os::unix::fs::chown(env.p("/etc/locked"), Some(0), Some(0)).unwrap();
    }
    let mode = if as_root { 0o600 } else { 0o200 };
    std::fs::set_permissions(env.p("/etc/locked"), std::fs::Permissions::from_mode(mode)).unwrap();
    let unprivileged = |args: &[&str]| {
        let mut c = env.cmd();
        if as_root {
            c.uid(65534).gid(65534);
        }
        c.args(args).output().expect("run cft")
    };
    let root = env.root.to_str().unwrap().to_string();
    let out = unprivileged(&[
        "begin",
        "nob",
        "--root",
        &root,
        "--no-default-watch",
        "--watch",
        "/etc",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("could not be read"),
        "{}",
        stdout(&out)
    );
    std::fs::write(env.p("/etc/locked"), "changed").unwrap();
    let fin = unprivileged(&["finish", "nob"]);
    assert!(fin.status.success(), "{}", stderr(&fin));
    let text = stdout(&fin);
    assert!(
        text.contains("unreadable")
            && text.contains("/etc/locked")
            && text.contains("ermission denied"),
        "{text}"
    );
}

/// `chown -R uid:gid dir`, without following links.
fn chown_tree(dir: &std::path::Path, uid: u32, gid: u32) {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid)).unwrap();
    if std::fs::symlink_metadata(dir).unwrap().is_dir() {
        for e in std::fs::read_dir(dir).unwrap() {
            chown_tree(&e.unwrap().path(), uid, gid);
        }
    }
}

#[test]
fn a_directory_renamed_from_an_ignored_name_is_watched_dpkg_new() {
    // dpkg unpacks a new directory as `x.dpkg-new` (ignored) and renames it.
    let env = Env::new(CFT);
    env.begin("dpkgnew", &[]);
    std::fs::create_dir_all(env.p("/etc/app.dpkg-new/sub")).unwrap();
    write(&env.p("/etc/app.dpkg-new/sub/f"), "unpacked");
    std::fs::rename(env.p("/etc/app.dpkg-new"), env.p("/etc/app")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    write(&env.p("/etc/app/sub/later"), "made by a postinst");
    env.finish("dpkgnew");
    let show = env.ok(["show", "dpkgnew", "--events"]);
    assert!(
        show.lines()
            .any(|l| l.contains("watcher") && l.ends_with("/etc/app/sub/later")),
        "the renamed directory was not watched:\n{show}"
    );
    let c = env.changes("dpkgnew");
    assert!(has(&c, "created", b"/etc/app/sub/later"), "{c:?}");
    assert!(
        !c.iter().any(|(_, p)| p.starts_with(b"/etc/app.dpkg-new")),
        "{c:?}"
    );
}

/// Issue 9: `apt-get install nginx` makes `/var/www`, a default root that
/// did not exist at begin; `--watch DIR` of a directory still to come was
/// refused. Both are recorded once they appear, deep trees made at once
/// included.
#[test]
fn roots_that_appear_during_the_session_are_recorded() {
    let env = Env::new(CFT);
    let out = env.begin_with("later", &["--watch", "/data/app/conf"]);
    assert!(out.contains("later:") && out.contains("/var/www"), "{out}");
    assert!(out.contains("/data/app/conf"), "{out}");
    std::fs::create_dir_all(env.p("/var/www/html/deep/er")).unwrap();
    write(&env.p("/var/www/html/deep/er/index.html"), "hi\n");
    std::fs::create_dir_all(env.p("/data/app/conf")).unwrap();
    write(&env.p("/data/app/conf/app.ini"), "x=1\n");
    write(&env.p("/data/app/outside"), "not under a root\n");
    env.finish("later");
    let c = env.changes("later");
    for (k, p) in [
        ("dir_created", &b"/var/www"[..]),
        ("dir_created", b"/var/www/html/deep/er"),
        ("created", b"/var/www/html/deep/er/index.html"),
        ("dir_created", b"/data/app/conf"),
        ("created", b"/data/app/conf/app.ini"),
    ] {
        assert!(
            has(&c, k, p),
            "missing {k} {}: {c:?}",
            String::from_utf8_lossy(p)
        );
    }
    assert!(
        !c.iter()
            .any(|(_, p)| p == b"/data/app/outside" || p == b"/data/app"),
        "only the root and below: {c:?}"
    );
}

/// A root deleted during the session is waited for again; one moved away
/// is recorded as removed, and what is then written to it elsewhere is not
/// recorded.
#[test]
fn a_root_removed_or_moved_away_is_recorded_and_waited_for_again() {
    let env = Env::new(CFT);
    std::fs::create_dir_all(env.p("/data/a")).unwrap();
    write(&env.p("/data/a/old"), "old\n");
    std::fs::create_dir_all(env.p("/data/b")).unwrap();
    write(&env.p("/data/b/f"), "f\n");
    env.begin_with(
        "again",
        &[
            "--no-default-watch",
            "--watch",
            "/data/a",
            "--watch",
            "/data/b",
        ],
    );
    std::fs::remove_dir_all(env.p("/data/a")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    std::fs::create_dir_all(env.p("/data/a/sub")).unwrap();
    write(&env.p("/data/a/sub/new"), "new\n");
    std::fs::rename(env.p("/data/b"), env.p("/moved")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    write(&env.p("/moved/late"), "written after the move\n");
    env.finish("again");
    let c = env.changes("again");
    for (k, p) in [
        ("removed", &b"/data/a/old"[..]),
        ("created", b"/data/a/sub/new"),
        ("dir_removed", b"/data/b"),
        ("removed", b"/data/b/f"),
    ] {
        assert!(
            has(&c, k, p),
            "missing {k} {}: {c:?}",
            String::from_utf8_lossy(p)
        );
    }
    assert!(
        !c.iter().any(|(_, p)| p.starts_with(b"/moved")),
        "outside every root: {c:?}"
    );
}

/// Tier 2: a private user namespace (`unshare --user`), which a machine
/// may refuse to an unprivileged user.
#[cfg(testbed)]
#[test]
fn watch_limit_degrades_to_a_rescan_and_names_the_sysctl() {
    // The watch limit is per user namespace (Linux >= 5.11): lower it in a
    // private one so nothing else on the machine is affected.
    let unshare = testkit::tools::tool("unshare");
    testkit::tools::require_root();
    let env = Env::new(CFT);
    std::fs::create_dir_all(env.p("/etc/a/b/c/d/e")).unwrap();
    let script = format!(
        "echo 3 > /proc/sys/user/max_inotify_watches && exec \"$0\" --db '{}' begin lim --root '{}' --no-default-watch --watch /etc --watch /srv",
        env.db.display(),
        env.root.display()
    );
    let out = std::process::Command::new(unshare)
        .args(["--user", "--map-root-user", "sh", "-c", &script])
        .arg(CFT) // $0 of the script
        .env("CFT_IGNORE_FILE", "/nonexistent")
        .output()
        .expect("unshare");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("watch limit was reached") && text.contains("max_user_watches"),
        "{text}"
    );
    write(&env.p("/etc/a/b/c/d/e/unwatched"), "x");
    let fin = env.finish("lim");
    assert!(
        fin.contains("full rescan") && fin.contains("fs.inotify.max_user_watches"),
        "{fin}"
    );
    assert!(has(
        &env.changes("lim"),
        "created",
        b"/etc/a/b/c/d/e/unwatched"
    ));
}
