//! The README's commands, run as written (issue 13, item 12): the block
//! after `<!-- readme-test: chroot-recording -->` is taken from README.md
//! itself, so the documentation and this test cannot drift apart, and run
//! by bash as root in a fresh Debian root, with only `ROOT` and the host's
//! state directory filled in and the typed session on the recording
//! shell's stdin. The mounts happen in a private mount namespace
//! (`unshare --mount`), so a failure leaves none on the host.

use crate::util::CFT;
use std::path::Path;
use std::process::Command;
use testkit::cli::feed;
use testkit::rootfs::Rootfs;
use testkit::tools::{require, require_testbed, tool};

/// The first fenced block after `marker` in `text`.
fn block_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let rest = &text[text
        .find(marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"))..];
    let start = rest
        .find("```sh\n")
        .expect("a ```sh block after the marker")
        + 6;
    let end = rest[start..].find("\n```").expect("the block ends") + start;
    &rest[start..end]
}

const TYPED: &str = "printf 'listen=8080\\n' > /etc/app.conf
mkdir -p /srv/www && echo hello > /srv/www/index.html
exit
";

#[test]
fn readme_chroot_recording_runs_as_written() {
    require_testbed();
    require(&["chroot", "mount", "umount", "bash"]);
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = block_after(&readme, "<!-- readme-test: chroot-recording -->");
    for word in ["ROOT", "/var/lib/cft-rooted", "record web", "manifest web"] {
        assert!(
            block.contains(word),
            "the README block lost {word}:\n{block}"
        );
    }
    let root = Rootfs::new_base();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let script = block
        .replace("/var/lib/cft-rooted", state.to_str().unwrap())
        .replace("ROOT", root.0.to_str().unwrap());
    let host_runtime = tmp.path().join("run-user-0");
    std::fs::create_dir(&host_runtime).unwrap();
    let bin = Path::new(CFT).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(tool("unshare"));
    cmd.args(["--mount", "--propagation", "private", "--"])
        .arg(tool("bash"))
        .args(["-euc", &script])
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("SHELL", "/bin/bash")
        .env("HOME", "/root")
        .env_remove("CFT_DB")
        // The host's runtime directory, carried into the chroot where it
        // is not: the recording shell's files go to /run instead.
        .env("XDG_RUNTIME_DIR", &host_runtime);
    let (ok, out) = feed(cmd, TYPED);
    assert!(ok, "the README's block failed:\n{script}\n---\n{out}");
    assert!(out.contains("[cft:web]"), "no recording prompt:\n{out}");
    assert!(out.contains("finished session 'web'"), "{out}");

    // The module, written on the host, manages what was typed inside.
    let module = tmp.path().join("modules/web");
    let manifests = std::fs::read_to_string(module.join("manifests/files.pp"))
        .unwrap_or_else(|e| panic!("{}: {e}\n{out}", module.display()));
    for p in ["/etc/app.conf", "/srv/www/index.html"] {
        assert!(
            manifests.contains(&format!("file {{ '{p}':")),
            "{p}:\n{manifests}"
        );
    }
    // Every typed line is an intent, with what it made.
    let show = testkit::cli::cft(
        CFT,
        &state.join("cft.db"),
        &["show".as_ref(), "web".as_ref(), "--commands".as_ref()],
    );
    assert!(
        show.contains("typed printf 'listen=8080\\n' > /etc/app.conf  [ok]"),
        "{show}"
    );
    assert!(show.contains("changed file /etc/app.conf"), "{show}");
    assert!(show.contains("typed exit  [ok]"), "{show}");
    // Nothing of cft stayed in the recorded system: the mount points are
    // empty, the database is the host's.
    for dir in ["/run/cft/bin", "/run/cft/state"] {
        let left: Vec<_> = std::fs::read_dir(root.host(dir.as_bytes()))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{dir} holds {left:?}");
    }
    assert!(state.join("cft.db").is_file());
}

/// `cmd` (a shell script) run as root inside `root` in `/root`, with the
/// cft just built on `PATH`; returns its output, failing on an error.
fn in_root(root: &Rootfs, script: &str) -> String {
    let bin = Path::new(CFT).parent().unwrap();
    let out = Command::new(testkit::rootfs::script("in-root.sh"))
        .arg(&root.0)
        .args(["bash", "-euc", script])
        .env("IN_ROOT_BIND", format!("{}:/run/cft/bin:ro", bin.display()))
        .env(
            "IN_ROOT_ENV",
            "PATH=/run/cft/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("IN_ROOT_WORKDIR", "/root")
        .output()
        .expect("in-root.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script}\n---\n{text}");
    text
}

/// The quick start's first block, as written: its recording part on one
/// fresh machine (records only /srv, writes the module), its apply part on
/// another one with `modules/` copied over.
#[test]
fn readme_quick_start_runs_as_written() {
    require_testbed();
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let block = block_after(&readme, "<!-- readme-test: quick-start -->");
    let (record, apply) = block
        .split_once("# on a fresh machine, with modules/ copied over:\n")
        .unwrap_or_else(|| panic!("the quick start lost its two machines:\n{block}"));
    assert!(
        record.contains("--no-default-watch --watch /srv"),
        "{record}"
    );

    let recorded = Rootfs::new_base();
    let out = in_root(&recorded, record);
    assert!(out.contains("class demo"), "cat shows the module:\n{out}");
    // It recorded what it says: /srv and nothing else.
    let show = in_root(&recorded, "cft show demo --files");
    assert!(show.contains("  watching: /srv\n"), "{show}");
    let paths: Vec<&str> = show
        .lines()
        .skip_while(|l| !l.starts_with("files changed"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(!paths.is_empty(), "{show}");
    assert!(paths.iter().all(|p| p.starts_with("/srv")), "{show}");

    let fresh = Rootfs::new();
    let from = recorded.host(b"/root/modules");
    let to = fresh.host(b"/root/modules");
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(&to)
        .status()
        .unwrap();
    assert!(copied.success());
    in_root(&fresh, apply);
    assert_eq!(
        std::fs::read_to_string(fresh.host(b"/srv/demo/index.html")).unwrap(),
        "hello\n"
    );
}
