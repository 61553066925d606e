//! Locks. The package managers' lock directories on a temporary `--root`
//! tree: a lock directory that is also inside a watched tree keeps
//! reporting the changes to its other files (the lock watch must not
//! replace the tree's). And the session's own: of a finish and an abort,
//! or two finishes, of one session at once, exactly one goes on.

use crate::util::{Stored, CFT};
use testkit::cli::{stderr, stdout, write, Env};

#[test]
fn a_watched_lock_directory_still_reports_its_other_files() {
    let env = Env::new(CFT);
    let dpkg = env.p("/var/lib/dpkg");
    std::fs::create_dir_all(&dpkg).unwrap();
    for f in ["lock", "lock-frontend", "statoverride"] {
        std::fs::write(dpkg.join(f), "").unwrap();
    }
    env.begin("l", &["--watch", "/var/lib/dpkg"]);
    // What dpkg does to its lock: open for writing, close.
    drop(
        std::fs::OpenOptions::new()
            .write(true)
            .open(dpkg.join("lock"))
            .unwrap(),
    );
    std::fs::write(dpkg.join("statoverride"), "root root 0755 /srv/x\n").unwrap();
    std::fs::write(dpkg.join("diversions"), "x\n").unwrap();
    let fin = env.finish("l");
    assert!(!fin.contains("full rescan"), "{fin}");
    let changes = env.changes("l");
    let paths: Vec<String> = changes
        .iter()
        .map(|(k, p)| format!("{k} {}", String::from_utf8_lossy(p)))
        .collect();
    assert!(
        paths.contains(&"modified /var/lib/dpkg/statoverride".to_string()),
        "{paths:#?}"
    );
    assert!(
        paths.contains(&"created /var/lib/dpkg/diversions".to_string()),
        "{paths:#?}"
    );
    assert!(
        !paths.iter().any(|p| p.ends_with("/lock")),
        "a lock is never a change: {paths:#?}"
    );
    // The lock was seen as such.
    let events = env.ok(["show", "l", "--events"]);
    assert!(events.contains("lock_opened"), "{events}");
}

/// Two commands on one recording session at the same moment, many times:
/// exactly one succeeds; the other fails with a message that names the
/// session and is no raw SQL error; the database stays whole. Both
/// finishes used to reconcile and store, and a finish racing an abort
/// printed SQLite's errors.
#[test]
fn of_two_commands_on_one_session_exactly_one_wins() {
    let env = Env::new(CFT);
    for f in 0..300 {
        write(&env.p(&format!("/srv/d/f{f}")), "x\n");
    }
    let pairs: &[(&str, &str)] = &[
        ("finish", "abort"),
        ("finish", "finish"),
        ("abort", "finish"),
    ];
    for run in 0..12 {
        for (a, b) in pairs {
            let name = format!("r{run}{a}{b}");
            env.begin(&name, &[]);
            write(&env.p("/srv/d/f0"), format!("{name}\n"));
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
            let go = |cmd: &'static str| {
                let (barrier, mut c) = (barrier.clone(), env.cmd());
                c.args([cmd, name.as_str()]);
                std::thread::spawn(move || {
                    barrier.wait();
                    c.output().unwrap()
                })
            };
            let (ta, tb) = (go(a), go(b));
            let outs = [(*a, ta.join().unwrap()), (*b, tb.join().unwrap())];
            let won: Vec<&str> = outs
                .iter()
                .filter(|(_, o)| o.status.success())
                .map(|(c, _)| *c)
                .collect();
            assert_eq!(won.len(), 1, "{name}: {outs:?}");
            let (_, lost) = outs.iter().find(|(_, o)| !o.status.success()).unwrap();
            let said = stderr(lost);
            assert!(said.contains(&format!("'{name}'")), "{name}: {said}");
            for raw in ["constraint", "FOREIGN KEY", "SQLITE", "no such table"] {
                assert!(!said.contains(raw), "{name}: {said}");
            }
            // Whole: the winner's outcome, and the store answers.
            let show = env.run(["show", &name, "--files"]);
            if won[0] == "finish" {
                assert!(show.status.success(), "{name}: {}", stderr(&show));
                assert!(stdout(&show).contains("/srv/d/f0"), "{name}");
            } else {
                assert!(stderr(&show).contains(&name), "{name}: {}", stderr(&show));
            }
            env.ok(["list"]);
        }
    }
    assert!(env.store().recording_sessions().unwrap().is_empty());
}
