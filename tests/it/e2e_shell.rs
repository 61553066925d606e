//! End-to-end for the recording shell: a scripted session typed into
//! `cft record` inside a real Debian root (cft, cft-shim and the database
//! bind-mounted under /run, the way an admin runs cft inside a chroot or
//! VM) that uses apt-get, a heredoc, useradd, systemctl and a command cft
//! has no resource for. Checks the intents, the attribution of every
//! change, the explicit package set, the running state, that nothing of
//! the shell is left behind, and that the command promoted with
//! `--exec ID:creates=PATH` applies once and is idempotent under real
//! Puppet in a fresh root.
//!
//! Needs root, the Debian mirror, and what `scripts/setup-host.sh`
//! installs; a missing tool fails the test.

use crate::util::CFT;
use recorder::model::IntentSource;
use recorder::model::Subject;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::cli::{cft, feed};
use testkit::rootfs::{check_and_apply, script, Rootfs};
use testkit::tools::require_testbed;

const TYPED: &str = r#"apt-get install -y -q --no-install-recommends jq >/dev/null 2>&1
printf 'listen=8080\n' > /etc/app.conf
ls /etc >/dev/null
mkdir -p /var/lib/app && echo seeded > /var/lib/app/state
false
cat > /etc/systemd/system/app.service <<'EOF'
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
EOF
useradd -m -s /bin/bash deploy
systemctl enable app.service 2>/dev/null && systemctl start app.service 2>/dev/null
"#;

/// Type `typed` into `cft record web` run inside `root`.
fn record_in_root(root: &Rootfs, state: &Path, typed: &str) -> String {
    let bin = Path::new(CFT).parent().unwrap();
    assert!(
        bin.join("cft-shim").is_file(),
        "cft-shim is not built next to cft: run the tests with `cargo test --workspace` (scripts/test.sh)"
    );
    let mut cmd = Command::new(script("in-root.sh"));
    cmd.arg(&root.0)
        .args([
            "/run/cft/bin/cft",
            "--db",
            "/run/cft/state/cft.db",
            "record",
            "web",
        ])
        .env(
            "IN_ROOT_BIND",
            format!(
                "{}:/run/cft/bin:ro {}:/run/cft/state",
                bin.display(),
                state.display()
            ),
        )
        .env("IN_ROOT_ENV", "CFT_IGNORE_FILE=/nonexistent");
    let (ok, text) = feed(cmd, typed);
    assert!(ok, "cft record in the root:\n{text}");
    text
}

#[test]
fn typed_session_is_attributed_and_promoted_exec_is_idempotent() {
    require_testbed();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let db: PathBuf = state.join("cft.db");
    let cft = |args: &[&std::ffi::OsStr]| cft(CFT, &db, args);

    let recorded = Rootfs::new();
    let history_before = std::fs::read(recorded.host(b"/root/.bash_history")).ok();
    let out = record_in_root(&recorded, &state, TYPED);
    assert!(out.contains("[cft:web]"), "no prompt marker:\n{out}");
    assert!(out.contains("finished session 'web'"), "{out}");

    // Nothing of the shell stays behind or is recorded.
    assert_eq!(
        std::fs::read(recorded.host(b"/root/.bash_history")).ok(),
        history_before,
        "the recording shell wrote the recorded system's history"
    );
    let store = recorder::Store::open_existing(&db).unwrap();
    let cs = store.change_set("web").unwrap();
    for c in &cs.changes {
        let p = String::from_utf8_lossy(&c.path);
        assert!(
            !p.contains("cft") && !p.contains("history"),
            "{p} was recorded"
        );
    }

    // The typed lines, in order, with their status; tools nested in them.
    let why = &cs.why;
    let lines: Vec<(String, Option<i32>)> = why
        .intents
        .iter()
        .filter(|i| i.source == IntentSource::Line)
        .map(|i| (i.text(), i.exit_code))
        .collect();
    let texts: Vec<&str> = lines.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts.len(), 8, "{texts:#?}");
    assert!(texts[0].starts_with("apt-get install"), "{texts:#?}");
    assert!(texts[5].starts_with("cat > /etc/systemd/system/app.service <<'EOF'\n[Service]"));
    assert_eq!(lines[4], ("false".to_string(), Some(1)));
    let line_id = |prefix: &str| {
        why.intents
            .iter()
            .find(|i| i.source == IntentSource::Line && i.text().starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix}: {:#?}", why.intents))
            .id
    };
    let tool = |name: &str| {
        why.intents
            .iter()
            .find(|i| {
                i.source == IntentSource::Tool
                    && i.argv.first().is_some_and(|a| a.ends_with(name.as_bytes()))
            })
            .unwrap_or_else(|| panic!("no {name} intent: {:#?}", why.intents))
    };
    let apt = tool("apt-get");
    assert_eq!(apt.parent, Some(line_id("apt-get install")));
    assert_eq!(apt.exit_code, Some(0));
    let useradd = tool("useradd");
    assert_eq!(useradd.parent, Some(line_id("useradd")));
    let starts: Vec<&recorder::model::Intent> = why
        .intents
        .iter()
        .filter(|i| {
            i.source == IntentSource::Tool
                && i.argv.first().is_some_and(|a| a.ends_with(b"systemctl"))
        })
        .collect();
    assert_eq!(starts.len(), 2, "{starts:#?}");
    assert!(starts
        .iter()
        .all(|s| s.parent == Some(line_id("systemctl enable"))));

    // Every change attributed to the command during which it happened.
    let of = |subject, name: &str| {
        why.of(subject, name.as_bytes())
            .unwrap_or_else(|| panic!("{name} is not attributed: {:#?}", why.attributions))
            .id
    };
    assert_eq!(of(Subject::File, "/etc/app.conf"), line_id("printf"));
    assert_eq!(
        of(Subject::File, "/etc/systemd/system/app.service"),
        line_id("cat >")
    );
    assert_eq!(of(Subject::Package, "jq"), apt.id);
    let deps: Vec<&str> = cs
        .system
        .packages
        .iter()
        .filter(|p| !p.explicit)
        .map(|p| p.name.as_str())
        .collect();
    assert!(!deps.is_empty(), "jq pulled in no dependency?");
    for d in &deps {
        assert_eq!(of(Subject::Package, d), apt.id, "dependency {d}");
    }
    assert_eq!(of(Subject::User, "deploy"), useradd.id);
    let enable = starts
        .iter()
        .find(|s| s.argv.iter().any(|a| a == b"enable"))
        .unwrap();
    let _ = enable;
    assert!(why.of(Subject::Service, b"app.service").is_some());
    assert!(
        cs.changes
            .iter()
            .filter(|c| c.path.starts_with(b"/home/deploy"))
            .all(|c| why.of(Subject::File, &c.path).map(|i| i.id) == Some(useradd.id)),
        "the home directory is useradd's"
    );

    // Named on the install line: explicit; the rest are dependencies.
    let explicit: Vec<&str> = cs
        .system
        .packages
        .iter()
        .filter(|p| p.explicit)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(explicit, ["jq"]);
    // systemctl start in a chroot changes nothing on disk: the intent says.
    let app = cs
        .system
        .services
        .iter()
        .find(|s| s.unit == "app.service")
        .expect("app.service");
    assert_eq!(app.ensure, Some(recorder::model::Running::Running));

    // The command cft has no resource for is listed, and only it.
    let mkdir = line_id("mkdir -p /var/lib/app");
    let listed: Vec<i64> = why.unexpressed().iter().map(|i| i.id).collect();
    assert_eq!(listed, [mkdir], "{:#?}", why.intents);
    assert!(
        out.contains(&format!("#{mkdir:<5} mkdir -p /var/lib/app")),
        "finish did not list it:\n{out}"
    );
    let shown = cft(&["show".as_ref(), "web".as_ref()]);
    assert!(shown.contains("changed file /etc/app.conf"), "{shown}");

    // Promote it with a creates guard; apply twice in a fresh root.
    let module = tmp.path().join("web");
    let exec = format!("{mkdir}:creates=/var/lib/app/state");
    cft(&[
        "manifest".as_ref(),
        "web".as_ref(),
        "-o".as_ref(),
        module.as_os_str(),
        "--exec".as_ref(),
        exec.as_ref(),
    ]);
    let commands = std::fs::read_to_string(module.join("manifests/commands.pp")).unwrap();
    assert!(
        commands.contains("creates  => '/var/lib/app/state'"),
        "{commands}"
    );
    assert!(commands.contains("Package['jq']"), "{commands}");
    let readme = std::fs::read_to_string(module.join("README.md")).unwrap();
    assert!(readme.contains("## Change log"), "{readme}");
    assert!(
        readme.contains("`printf 'listen=8080\\n' > /etc/app.conf` (ok): file `/etc/app.conf`"),
        "{readme}"
    );

    let applied = Rootfs::new();
    let reports = tmp.path().join("reports");
    let log = check_and_apply(&module, "web", "include web", &applied, &reports);
    let state_file = std::fs::read(applied.host(b"/var/lib/app/state"))
        .unwrap_or_else(|e| panic!("the exec did not run: {e}\n{log}"));
    assert_eq!(state_file, b"seeded\n");
    assert_eq!(
        std::fs::read(applied.host(b"/etc/app.conf")).unwrap(),
        b"listen=8080\n"
    );
}
