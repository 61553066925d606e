//! Benchmark of the system probes on a real Debian root filesystem, against
//! dpkg's own tools on the same root, measured in the same run:
//!
//! 1. `probe::snapshot` (packages, accounts, services; run at begin and at
//!    finish) vs `dpkg-query -W` (packages only).
//! 2. Attributing 1,000 changed package files (ownership index, stock
//!    checksums, the diff) vs `dpkg-query -S` of the same 1,000 paths.
//!
//! `cargo bench -p recorder --bench probe` (as root: it extracts a root with
//! `testbed/make-rootfs.sh`), or set `CFT_BENCH_ROOT` to an existing root.
//! Prints medians and ratios; it asserts nothing.

// A benchmark runs the baselines it measures against by name.
#![allow(clippy::disallowed_methods)]

use recorder::attribute::{attribute, Inputs};
use recorder::model::SystemSnapshot;
use recorder::model::{Change, ChangeKind, ContentHash, Entry, EntryKind, Origin};
use recorder::probe::{self, dpkg::DpkgFiles};
use recorder::target::Target;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 15;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    let mut v = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        std::hint::black_box(f());
        v.push(t.elapsed());
    }
    median(v)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

struct Root(PathBuf, bool);

impl Drop for Root {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new(testbed("make-rootfs.sh"))
                .arg("remove")
                .arg(&self.0)
                .output();
        }
    }
}

fn testbed(s: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testbed")
        .join(s)
}

fn root() -> Root {
    if let Some(r) = std::env::var_os("CFT_BENCH_ROOT") {
        return Root(PathBuf::from(r), false);
    }
    let out = Command::new(testbed("make-rootfs.sh"))
        .args(["new", "--puppet"])
        .output()
        .expect("testbed/make-rootfs.sh (run scripts/setup-host.sh as root first)");
    assert!(
        out.status.success(),
        "make-rootfs.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Root(
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        true,
    )
}

/// 1,000 regular files that packages own, from their file lists.
fn package_files(root: &std::path::Path) -> Vec<Vec<u8>> {
    let mut lists: Vec<PathBuf> = std::fs::read_dir(root.join("var/lib/dpkg/info"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "list"))
        .collect();
    lists.sort();
    let mut out = Vec::new();
    for l in lists {
        for line in std::fs::read(&l).unwrap().split(|&b| b == b'\n') {
            let host = root.join(std::ffi::OsStr::from_bytes(&line[1.min(line.len())..]));
            if !line.is_empty() && std::fs::symlink_metadata(&host).is_ok_and(|m| m.is_file()) {
                out.push(line.to_vec());
                if out.len() == 1000 {
                    return out;
                }
            }
        }
    }
    out
}

fn main() {
    let root = root();
    let r = &root.0;
    let target = Target::new(r.as_os_str().as_bytes());
    let admindir = r.join("var/lib/dpkg");

    // 1. Probing at begin and finish vs dpkg-query -W.
    let probe_t = time(|| probe::snapshot(&target).unwrap());
    let query_t = time(|| {
        Command::new("dpkg-query")
            .arg(format!("--admindir={}", admindir.display()))
            .args(["-W", "-f", "${Package} ${Version} ${Architecture}\n"])
            .output()
            .unwrap()
    });
    let snap = probe::snapshot(&target).unwrap();

    // 2. Attribution of 1,000 changed package files, as if every package had
    // been installed in the session (the costliest case: every file's
    // content is checked against its stock md5).
    let paths = package_files(r);
    let contents: HashMap<Vec<u8>, Vec<u8>> = paths
        .iter()
        .map(|p| (p.clone(), std::fs::read(target.host_path(p)).unwrap()))
        .collect();
    let changes: Vec<Change> = paths
        .iter()
        .map(|p| {
            let data = &contents[p];
            Change {
                path: p.clone(),
                kind: ChangeKind::Created,
                before: None,
                after: Some(Entry {
                    path: p.clone(),
                    kind: EntryKind::File,
                    mode: 0o644,
                    uid: 0,
                    gid: 0,
                    owner: None,
                    group: None,
                    size: data.len() as u64,
                    mtime_ns: 0,
                    hash: Some(ContentHash::of(data)),
                    content_stored: true,
                    link_target: None,
                }),
                secret: false,
                origin: Origin::Admin,
                package: None,
            }
        })
        .collect();
    let final_md5 = |p: &[u8]| contents.get(p).map(|d| recorder::probe::dpkg::md5_hex(d));
    let before = SystemSnapshot::default();
    let watched = vec![b"/".to_vec()];
    let attr_t = time(|| {
        let files = DpkgFiles::load(&target).unwrap();
        let owner_of = |p: &[u8]| files.owner_of(p).map(str::to_string);
        let stock = |p: &[u8]| files.stock_md5(p).map(str::to_string);
        let inputs = Inputs {
            target: &target,
            watched: &watched,
            events: &[],
            owner_of: &owner_of,
            stock_md5: &stock,
            final_md5: &final_md5,
            intents: &[],
            events_lost: false,
        };
        let c = attribute(&before, &snap, changes.clone(), &inputs).changes;
        let packaged = c
            .iter()
            .filter(|c| matches!(c.origin, Origin::Package(_)))
            .count();
        assert_eq!(packaged, c.len(), "every stock file is the package's");
        c
    });
    let search_t = time(|| {
        Command::new("dpkg-query")
            .arg(format!("--admindir={}", admindir.display()))
            .arg("-S")
            .args(paths.iter().map(|p| std::ffi::OsStr::from_bytes(p)))
            .output()
            .unwrap()
    });

    println!(
        "root: {} ({} packages, {} files attributed)",
        r.display(),
        snap.packages.packages.len(),
        paths.len()
    );
    println!("medians of {RUNS} runs, same machine, same run");
    println!("{:<46} {:>10} {:>10} {:>7}", "", "cft", "baseline", "ratio");
    println!(
        "{:<46} {:>10} {:>10} {:>6.2}x",
        "probe (at begin or finish) vs dpkg-query -W",
        ms(probe_t),
        ms(query_t),
        probe_t.as_secs_f64() / query_t.as_secs_f64()
    );
    println!(
        "{:<46} {:>10} {:>10} {:>6.2}x",
        "attribute 1,000 files vs dpkg-query -S",
        ms(attr_t),
        ms(search_t),
        attr_t.as_secs_f64() / search_t.as_secs_f64()
    );
}
