//! Long walks in everyday use (issue 13, item 2): progress on a terminal
//! only, a word before a baseline grows large, and the home directories'
//! toolchains and caches left out of the baseline by default.

use crate::util::CFT;
use std::process::Command;
use testkit::cli::{stderr, write, Env};

/// A /srv of `dirs`×100 small files, and a finished session whose finish
/// re-read a new subtree of 1,000 files.
fn tree(env: &Env, dirs: usize) {
    for d in 0..dirs {
        let dir = env.p(&format!("/srv/d{d:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..100 {
            std::fs::write(dir.join(format!("f{f:03}")), "some content\n").unwrap();
        }
    }
}

fn more(env: &Env) {
    for f in 0..1000 {
        write(&env.p(&format!("/srv/new/f{f:04}")), "new\n");
    }
}

fn begin(env: &Env) -> Command {
    let mut c = env.cmd();
    c.args(["begin", "walk", "--root", env.root.to_str().unwrap()])
        .args(["--no-default-watch", "--watch", "/srv"]);
    c
}

/// Bytes only a terminal should get: a carriage return, an escape sequence
/// or the progress line's words.
fn drawn(err: &[u8]) -> bool {
    let text = String::from_utf8_lossy(err);
    err.contains(&b'\r') || err.contains(&0x1b) || text.contains("entries/s")
}

#[test]
fn no_progress_off_a_terminal() {
    let env = Env::new(CFT);
    tree(&env, 30);
    let out = begin(&env).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!drawn(&out.stderr), "begin: {:?}", stderr(&out));
    more(&env);
    let out = env.run(["finish", "walk"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!drawn(&out.stderr), "finish: {:?}", stderr(&out));
}

#[test]
fn progress_on_a_terminal() {
    let env = Env::new(CFT);
    tree(&env, 30);
    let (out, seen) = testkit::pty::stderr_on_terminal(begin(&env));
    let seen = String::from_utf8_lossy(&seen);
    assert!(out.status.success(), "{seen}");
    // Each step redraws the line: counts, bytes and rates.
    assert!(seen.contains("baseline of /srv: 1,024 entries"), "{seen:?}");
    assert!(seen.contains("entries/s"), "{seen:?}");
    assert!(seen.contains("KiB"), "{seen:?}");
    // The line is cleared before the summary, which goes to stdout.
    assert!(seen.contains("\r\x1b[2K"), "{seen:?}");
    more(&env);
    let mut finish = env.cmd();
    finish.args(["finish", "walk"]);
    let (out, seen) = testkit::pty::stderr_on_terminal(finish);
    let seen = String::from_utf8_lossy(&seen);
    assert!(out.status.success(), "{seen}");
    assert!(seen.contains("rescan of /srv/new: "), "{seen:?}");
    // A resume stats every entry again for what changed in the gap, and
    // says so as it goes.
    let mut resume = env.cmd();
    resume.args(["begin", "--resume", "walk"]);
    let (out, seen) = testkit::pty::stderr_on_terminal(resume);
    let seen = String::from_utf8_lossy(&seen);
    assert!(out.status.success(), "{seen}");
    assert!(
        seen.contains("gap sweep of /srv: 1,024 entries"),
        "{seen:?}"
    );
    env.ok(["abort", "walk"]);
}

/// A baseline root past the threshold gets one warning, on any stderr, with
/// the options that narrow it; a small one gets none.
#[test]
fn a_large_baseline_says_how_to_narrow_it() {
    let env = Env::new(CFT);
    tree(&env, 30);
    let out = begin(&env)
        .env("CFT_LARGE_BASELINE", "2000")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let warning = "cft: the baseline of /srv is large (2,048 entries so far); narrow it with \
                   --no-default-watch --watch DIR, or --ignore PATTERN\n";
    assert_eq!(err.matches(warning).count(), 1, "{err}");
    env.ok(["abort", "walk"]);

    let out = begin(&env)
        .env("CFT_LARGE_BASELINE", "5000")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("is large"), "{}", stderr(&out));
}

/// The toolchains and caches of /root and /home/* stay out of the
/// baseline and the change set by default; dotfiles and configs next to
/// them are recorded; a `!PATTERN` brings one back.
#[test]
fn home_toolchains_are_left_out_by_default() {
    use crate::util::Stored;
    let env = Env::new(CFT);
    let toolchain = [
        "/root/.rustup/toolchains/stable/bin/rustc",
        "/root/.cargo/registry/src/index/serde-1.0/lib.rs",
        "/root/.cache/pip/wheel",
        "/home/ann/.npm/_cacache/index",
        "/home/ann/app/node_modules/left-pad/index.js",
    ];
    let edited = [
        "/root/.bashrc",
        "/root/.cargo/config.toml",
        "/home/ann/.vimrc",
    ];
    for p in toolchain.iter().chain(&edited) {
        write(&env.p(p), "before\n");
    }
    let out = env.begin_with("homes", &[]);
    // /etc's five files, /etc, /root, /home and their few directories.
    let entries: u64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("baseline: "))
        .and_then(|l| l.split(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(entries < 20, "{out}");
    for p in toolchain.iter().chain(&edited) {
        write(&env.p(p), "after\n");
    }
    env.finish("homes");
    let changes = env.changes("homes");
    for p in edited {
        assert!(
            changes.iter().any(|(_, c)| c == p.as_bytes()),
            "{p}: {changes:?}"
        );
    }
    for p in toolchain {
        assert!(
            !changes.iter().any(|(_, c)| c.starts_with(p.as_bytes())),
            "{p}: {changes:?}"
        );
    }

    env.begin_with("back", &["--ignore", "!/root/.rustup/"]);
    write(&env.p(toolchain[0]), "again\n");
    env.finish("back");
    let changes = env.changes("back");
    assert!(
        changes.iter().any(|(_, c)| c == toolchain[0].as_bytes()),
        "{changes:?}"
    );
}

/// `cft extract` walks too: against a reference root, on a terminal, its
/// line names the walk, and never indicatif's empty default bar.
#[test]
fn extract_shows_progress_on_a_terminal() {
    let env = Env::new(CFT);
    tree(&env, 20);
    let reference = env.tmp.path().join("reference");
    for root in [&env.root, &reference] {
        write(&root.join("var/lib/dpkg/status"), "");
        write(&root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    }
    let mut cmd = env.cmd();
    cmd.args(["extract", "ex", "--root", env.root.to_str().unwrap()])
        .args(["--against", reference.to_str().unwrap()])
        .args(["--no-default-watch", "--watch", "/srv"]);
    let (out, seen) = testkit::pty::stderr_on_terminal(cmd);
    let seen = String::from_utf8_lossy(&seen);
    assert!(out.status.success(), "{seen}");
    assert!(seen.contains("extract of /srv: "), "{seen:?}");
    assert!(seen.contains("entries/s"), "{seen:?}");
    assert!(!seen.contains("0/0"), "{seen:?}");
}
