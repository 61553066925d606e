//! The package managers' lock directories on a temporary `--root` tree: a
//! lock directory that is also inside a watched tree keeps reporting the
//! changes to its other files (the lock watch must not replace the tree's).

use crate::util::{Stored, CFT};
use testkit::cli::Env;

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
