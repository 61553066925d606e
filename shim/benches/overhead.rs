//! What the shim adds to a command: `true` run directly vs through a
//! `true` link to cft-shim, median of many runs, with no session recording
//! and with one recording `/` (each run then writes an intent); "no
//! database" is the cost of the extra process alone.
//!
//! `cargo bench -p shim --bench overhead` (or `shim/bench.sh`); `RUNS=N`
//! changes the number of runs per case (default 300).

// A benchmark runs the baselines it measures against by name.
#![allow(clippy::disallowed_methods)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

fn median_ms(program: &Path, db: &Path, path: &str, runs: usize) -> f64 {
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let status = Command::new(program)
                .env("PATH", path)
                .env("CFT_DB", db)
                .env_remove("CFT_SESSION")
                .env_remove("CFT_INTENT_PARENT")
                .stdin(Stdio::null())
                .status()
                .expect("run");
            assert!(status.success(), "{} failed", program.display());
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let tmp = tempfile::tempdir().expect("tempdir");
    let shims = tmp.path().join("shims");
    std::fs::create_dir(&shims).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_cft-shim"), shims.join("true")).unwrap();
    let real = Path::new("/usr/bin/true");
    let path = format!("{}:/usr/bin:/bin", shims.display());
    let db = tmp.path().join("state/cft.db");
    let mut store = recorder::Store::open(&db).expect("store");

    println!("cft-shim overhead, median of {runs} runs of `true`");
    let report = |label: &str, db: &Path| {
        // Warm up the page cache and the database.
        median_ms(&shims.join("true"), db, &path, 10);
        let direct = median_ms(real, db, &path, runs);
        let wrapped = median_ms(&shims.join("true"), db, &path, runs);
        println!(
            "{label:<24} direct {direct:.3} ms  wrapped {wrapped:.3} ms  added {:.3} ms  ratio {:.2}x",
            wrapped - direct,
            wrapped / direct
        );
    };
    report("no database:", &tmp.path().join("none/cft.db"));
    report("no session recording:", &db);
    store
        .create_session(&recorder::store::NewSession {
            name: "bench".into(),
            description: None,
            root: b"/".to_vec(),
            watched: vec![],
            content_cap: 0,
            ignore_patterns: vec![],
            facts: Default::default(),
        })
        .expect("session");
    report("session recording /:", &db);
    let id = store.session("bench").expect("session").id;
    println!(
        "intents recorded: {}",
        store.intents(id).expect("intents").len()
    );
}
