//! Client/server end to end: recipes served by a real Puppet server
//! (Debian's `puppetserver`, started once for the whole test on loopback,
//! with its own CA; `testkit::server`) to agents in fresh Debian roots.
//!
//! - Two versions of one appliance are recorded in two fresh roots (v2 is
//!   a re-recording that changes a file, adds a package and a file, and no
//!   longer has one of v1's files) and packaged as recipes, v2 with
//!   `--previous` v1.
//! - `cft recipe install --environment --node` puts v1 on the server and
//!   classifies one node; the mandatory parameter (a withheld password
//!   hash) is set in the environment's Hiera, as an admin would.
//! - A node that was not classified gets nothing.
//! - The agent root is handed to the server by the kickstart's own
//!   `%post` scripts (`recipe instantiate --server`, checked by
//!   ksvalidator, then run in the root), and converges to v1: the
//!   whole-system comparison with v1's recorded root shows nothing the
//!   module's README or the kickstart does not explain, and a second agent
//!   run changes nothing.
//! - v2 installed on the server: the next agent run moves the same root to
//!   v2, with nothing unexplained against v2's recorded root but what v2's
//!   README lists as left as v1 left it; again a second run changes nothing.
//!
//! The timings (server start, each agent run) go to the test bed's
//! reports (`reports/server.md`) and to stderr.

use crate::e2e_corpus::run::{floor, snapshot};
use crate::e2e_corpus::{explain, not_expressed_in};
use crate::util::CFT;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use testkit::cli::{command, AbortOnPanic};
use testkit::rootfs::Rootfs;
use testkit::server::PuppetServer;
use testkit::system::{self, Difference, Kind};
use testkit::tools::{ksvalidator_dir, require, require_testbed, testbed_dir};

const V1: &str = r#"
useradd -m -s /bin/bash appadmin
echo 'appadmin:Sekret-v1' | chpasswd
apt-get install -y -q tree >/dev/null
mkdir -p /srv/app
printf 'port = 8080\n' > /srv/app/app.conf
printf 'kept by v1 only\n' > /srv/app/legacy.conf
printf 'Welcome to app v1\n' > /etc/motd
"#;

const V2: &str = r#"
useradd -m -s /bin/bash appadmin
echo 'appadmin:Sekret-v2' | chpasswd
apt-get install -y -q tree jq >/dev/null
mkdir -p /srv/app
printf 'port = 9090\n' > /srv/app/app.conf
printf 'workers = 4\n' > /srv/app/workers.conf
printf 'Welcome to app v2\n' > /etc/motd
"#;

const ENV: &str = "cfttest";
const NODE: &str = "agent1.cft.test";
const UNCLASSIFIED: &str = "agent0.cft.test";

/// The site's kickstart: its %post names the node, as sites do.
const SITE: &str = "\
lang en_US.UTF-8
keyboard --vckeymap=us --xlayouts=us
timezone Etc/UTC --utc
rootpw --lock
network --bootproto=dhcp --device=link --activate
reboot

%post
puppet config set --section main certname agent1.cft.test
%end
";

fn run(db: &Path, args: &[&OsStr]) -> String {
    let venv = ksvalidator_dir();
    let path = std::env::var("PATH").unwrap_or_default();
    let out = command(CFT, db)
        .env("PATH", format!("{}:{path}", venv.display()))
        .args(args)
        .output()
        .expect("run cft");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "cft {args:?}:\n{text}");
    text
}

macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(AsRef::<OsStr>::as_ref(&$a)),*] };
}

/// Record `script` as session `name` in a fresh base root.
fn record(db: &Path, name: &str, script: &str) -> Rootfs {
    let root = Rootfs::new_base();
    run(db, args!["begin", name, "--root", root.0]);
    let guard = AbortOnPanic::new(CFT, db);
    root.sh(script);
    run(db, args!["finish", name]);
    drop(guard);
    root
}

/// `puppet agent --test` in `root`; its exit code (0: no changes, 2:
/// changes) and output. Anything else fails the test.
fn agent(root: &Rootfs, port: u16, extra: &[&str]) -> (i32, String, Duration) {
    let t0 = Instant::now();
    let mut cmd = std::process::Command::new(testkit::rootfs::script("in-root.sh"));
    cmd.arg(&root.0).args([
        "puppet",
        "agent",
        "--test",
        "--color=false",
        "--detailed-exitcodes",
        "--server",
        "localhost",
        "--serverport",
        &port.to_string(),
    ]);
    let out = cmd.args(extra).output().expect("in-root.sh puppet agent");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 2,
        "puppet agent exited {code}:\n{text}"
    );
    (code, text, t0.elapsed())
}

/// The chroot `%post` scripts of a complete kickstart, in order.
fn chroot_posts(ks: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in ks.lines() {
        match &mut cur {
            None if line.starts_with("%post") && !line.contains("--nochroot") => {
                cur = Some(String::new());
            }
            Some(body) if line == "%end" => {
                out.push(std::mem::take(body));
                cur = None;
            }
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The items of the README's "Left as the previous version left it".
fn left_alone(readme: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in readme.lines() {
        if line.starts_with("## ") {
            inside = line == "## Left as the previous version left it";
            continue;
        }
        if let Some(item) = line.strip_prefix("- `").filter(|_| inside) {
            let what = item.trim_end_matches('`').to_string();
            out.push((what, "left as the previous version left it".to_string()));
        }
    }
    out
}

/// What the kickstart's agent %post itself configures.
fn bootstrap(d: &Difference) -> Option<String> {
    let why = "configured by the kickstart's agent %post (server, certname, service enabled)";
    // `systemctl enable puppet`: the unit's wants link, and the SysV
    // start links Debian's systemctl adds for its init script.
    let enable_link = d.id.starts_with("/etc/systemd/system/")
        && d.id.ends_with(".wants/puppet.service")
        || d.id.starts_with("/etc/rc") && d.id.ends_with(".d/S01puppet");
    if d.kind == Kind::File
        && (d.id == "/etc/puppet/code/modules"
            || d.id.starts_with("/etc/puppet/code/modules/app/")
            || d.id == "/etc/puppet/code/modules/app")
    {
        return Some("the recipe's module, where the kickstart's copy script puts it".into());
    }
    match d.kind {
        Kind::File if d.id == "/etc/puppet/puppet.conf" || enable_link => Some(why.into()),
        Kind::Unit if d.id.starts_with("puppet.") => Some(why.into()),
        _ => None,
    }
}

/// The masterless way, for comparison: v1's kickstart with the mandatory
/// parameter from the site's `# cft-param` line, its apply script run in
/// a fresh root where the copy script would have put the module.
fn masterless(db: &Path, bundle: &Path, recorded: &Rootfs) -> system::Verdict {
    let root = Rootfs::new();
    let modules = root.host(b"/etc/puppet/code/modules");
    run(
        db,
        args!["recipe", "install", bundle, "--modulepath", modules],
    );
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.ks");
    let hash = shadow_hash(recorded, "appadmin");
    let commands = SITE.split("%post").next().unwrap();
    std::fs::write(
        &site,
        format!("{commands}# cft-param appadmin_password={hash}\n"),
    )
    .unwrap();
    let ks = dir.path().join("masterless.ks");
    run(
        db,
        args!["recipe", "instantiate", bundle, "--site", site, "-o", ks],
    );
    let text = std::fs::read_to_string(&ks).unwrap();
    let posts = chroot_posts(&text);
    assert_eq!(posts.len(), 1, "the apply script:\n{text}");
    assert!(posts[0].contains("Sensitive("), "{}", posts[0]);
    root.sh(&posts[0]);
    assert!(
        !root.host(b"/root/cft-site.pp").exists(),
        "the values do not outlive the run"
    );
    let readme = std::fs::read_to_string(modules.join("app/README.md")).unwrap();
    verdict(recorded, &root, &not_expressed_in(&readme))
}

fn shadow_hash(root: &Rootfs, user: &str) -> String {
    let shadow = std::fs::read_to_string(root.host(b"/etc/shadow")).unwrap();
    shadow
        .lines()
        .find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some(user)).then(|| f.next().unwrap().to_string())
        })
        .unwrap_or_else(|| panic!("no {user} in /etc/shadow"))
}

/// The node's Hiera data, as the admin writes it.
fn node_data(server: &PuppetServer, hash: &str) {
    let dir = server.environment(ENV).join("data/nodes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{NODE}.yaml")),
        format!(
            "---\nlookup_options:\n  app::appadmin_password:\n    convert_to: Sensitive\napp::appadmin_password: '{hash}'\n"
        ),
    )
    .unwrap();
}

fn verdict(recorded: &Rootfs, applied: &Rootfs, listed: &[(String, String)]) -> system::Verdict {
    system::judge(&snapshot(recorded), &snapshot(applied), floor(), &|d| {
        explain(listed, d).or_else(|| bootstrap(d))
    })
}

#[test]
fn recipes_served_by_a_puppet_server_converge_and_update_agents() {
    require_testbed();
    require(&["puppetserver", "curl"]);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let v1 = tmp.path().join("app-1.0.0.tar.gz");
    let v2 = tmp.path().join("app-2.0.0.tar.gz");

    // Record while the server starts (it must start on this thread: it
    // dies with the thread that spawned it).
    let recording = {
        let (db, v1, v2) = (db.clone(), v1.clone(), v2.clone());
        std::thread::spawn(move || {
            let r1 = record(&db, "app-v1", V1);
            let r2 = record(&db, "app-v2", V2);
            run(
                &db,
                args![
                    "recipe",
                    "create",
                    "app-v1",
                    "-o",
                    v1,
                    "--module-name",
                    "app",
                    "--version",
                    "1.0.0"
                ],
            );
            run(
                &db,
                args![
                    "recipe",
                    "create",
                    "app-v2",
                    "-o",
                    v2,
                    "--module-name",
                    "app",
                    "--version",
                    "2.0.0",
                    "--previous",
                    "app-v1"
                ],
            );
            let masterless = masterless(&db, &v1, &r1);
            (r1, r2, masterless)
        })
    };
    let server = PuppetServer::start(&[NODE, UNCLASSIFIED]);
    let started = server.started_in;
    eprintln!("puppetserver serving after {:.1} s", started.as_secs_f64());
    let (r1, r2, masterless) = recording.join().expect("recording");
    let codedir = server.codedir.clone();

    // v1 on the server, one node classified.
    let installed = run(
        &db,
        args![
            "recipe",
            "install",
            v1,
            "--environment",
            ENV,
            "--codedir",
            codedir,
            "--node",
            NODE
        ],
    );
    for want in [
        format!("created environment {ENV}"),
        "module 'app' installed".to_string(),
        format!("node {NODE} now gets class 'app'"),
        "mandatory parameter app::appadmin_password (Sensitive[String]): not set yet".to_string(),
    ] {
        assert!(installed.contains(&want), "{want}:\n{installed}");
    }
    node_data(&server, &shadow_hash(&r1, "appadmin"));
    let again = run(
        &db,
        args![
            "recipe",
            "install",
            v1,
            "--environment",
            ENV,
            "--codedir",
            codedir,
            "--node",
            NODE
        ],
    );
    assert!(
        again.contains("already installed")
            && again.contains(&format!("node {NODE} already gets class 'app'"))
            && again.contains("app::appadmin_password (Sensitive[String]): set in"),
        "{again}"
    );

    // A node nobody classified gets nothing.
    let applied = Rootfs::new();
    let motd = std::fs::read(applied.host(b"/etc/motd")).unwrap();
    let (code, text, unclassified) = agent(
        &applied,
        server.port,
        &["--certname", UNCLASSIFIED, "--environment", ENV],
    );
    assert_eq!(code, 0, "an unclassified node changes nothing:\n{text}");
    assert_eq!(std::fs::read(applied.host(b"/etc/motd")).unwrap(), motd);
    assert!(!applied.host(b"/srv/app").exists());

    // The kickstart hands the machine to the server: its chroot %post
    // scripts (the site's, then the recipe's) run in the root.
    let site = tmp.path().join("site.ks");
    std::fs::write(&site, SITE).unwrap();
    let ks = tmp.path().join("full.ks");
    let server_arg = format!("localhost:{}", server.port);
    run(
        &db,
        args![
            "recipe",
            "instantiate",
            v1,
            "--site",
            site,
            "--server",
            server_arg,
            "--environment",
            ENV,
            "-o",
            ks
        ],
    );
    let ks_text = std::fs::read_to_string(&ks).unwrap();
    assert!(
        !ks_text.contains("$6$"),
        "no password hash in a server kickstart"
    );
    let validated = std::process::Command::new(ksvalidator_dir().join("ksvalidator"))
        .arg(&ks)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "ksvalidator: {}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    let posts = chroot_posts(&ks_text);
    assert_eq!(posts.len(), 2, "the site's and the agent's:\n{ks_text}");
    let t0 = Instant::now();
    for body in &posts {
        applied.sh(body);
    }
    let first = t0.elapsed();
    let readme1 =
        std::fs::read_to_string(server.environment(ENV).join("modules/app/README.md")).unwrap();
    let v1_verdict = verdict(&r1, &applied, &not_expressed_in(&readme1));
    let (code, text, second) = agent(&applied, server.port, &[]);
    assert_eq!(code, 0, "the second agent run changes nothing:\n{text}");

    // v2 on the server; the node's data gets v2's hash.
    let upgraded = run(
        &db,
        args![
            "recipe",
            "install",
            v2,
            "--environment",
            ENV,
            "--codedir",
            codedir,
            "--node",
            NODE
        ],
    );
    assert!(
        upgraded.contains("module 'app' upgraded from 1.0.0 to 2.0.0")
            && upgraded.contains(&format!("node {NODE} already gets class 'app'")),
        "{upgraded}"
    );
    node_data(&server, &shadow_hash(&r2, "appadmin"));
    let (code, text, update) = agent(&applied, server.port, &[]);
    assert_eq!(code, 2, "v2 changes the machine:\n{text}");
    let readme2 =
        std::fs::read_to_string(server.environment(ENV).join("modules/app/README.md")).unwrap();
    let left = left_alone(&readme2);
    assert!(
        left.iter().any(|(w, _)| w == "/srv/app/legacy.conf"),
        "v2's README lists what v1 managed and v2 does not:\n{readme2}"
    );
    let mut listed = not_expressed_in(&readme2);
    listed.extend(left.iter().cloned());
    let v2_verdict = verdict(&r2, &applied, &listed);
    let (code, text, after_update) = agent(&applied, server.port, &[]);
    assert_eq!(code, 0, "the run after the update changes nothing:\n{text}");

    let left_seen: Vec<String> = v2_verdict
        .explained
        .iter()
        .filter(|(_, why)| why.starts_with("left as"))
        .map(|(d, _)| d.to_string())
        .collect();
    let report = format!(
        "\npuppet server (client/server mode):\n| step | seconds |\n| --- | --- |\n\
         | server start (spawn to status running) | {:.1} |\n\
         | first agent run, unclassified node | {:.1} |\n\
         | first agent run, classified, via the kickstart's %post | {:.1} |\n\
         | second agent run | {:.1} |\n\
         | v1 -> v2 agent run | {:.1} |\n\
         | run after the update | {:.1} |\n\
         v1: {} unexplained, {} explained; v2: {} unexplained, {} explained ({} left as v1 left it: {:?}); v1 masterless: {} unexplained, {} explained\n",
        started.as_secs_f64(),
        unclassified.as_secs_f64(),
        first.as_secs_f64(),
        second.as_secs_f64(),
        update.as_secs_f64(),
        after_update.as_secs_f64(),
        v1_verdict.unexplained.len(),
        v1_verdict.explained.len(),
        v2_verdict.unexplained.len(),
        v2_verdict.explained.len(),
        left_seen.len(),
        left_seen,
        masterless.unexplained.len(),
        masterless.explained.len(),
    );
    eprintln!("{report}");
    let dir: PathBuf = testbed_dir().join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.md"), &report).unwrap();
    assert!(
        v1_verdict.unexplained.is_empty(),
        "v1 from the server differs from the recorded root:\n{}",
        v1_verdict.report()
    );
    assert!(
        v2_verdict.unexplained.is_empty(),
        "v2 from the server differs from v2's recorded root:\n{}",
        v2_verdict.report()
    );
    assert!(
        masterless.unexplained.is_empty(),
        "v1 applied masterless, its password from the site kickstart, differs from the recorded root:\n{}",
        masterless.report()
    );
    assert!(
        !left_seen.is_empty(),
        "the update leaves v1's legacy file, and the README explains it"
    );
    drop(server);
}

/// Without `--codedir`, the server's code directory is what Puppet says:
/// cft run inside a Debian root with Puppet installs into that root's
/// `/etc/puppet/code/environments/ENV`.
#[test]
fn the_code_directory_is_puppets_own() {
    require_testbed();
    let env = testkit::cli::Env::new(CFT);
    env.begin("webapp", &[]);
    testkit::cli::write(&env.p("/srv/site/index.html"), "hi\n");
    env.finish("webapp");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("site.tar.gz");
    env.ok([
        "recipe".as_ref(),
        "create".as_ref(),
        "webapp".as_ref(),
        "-o".as_ref(),
        bundle.as_os_str(),
    ]);
    let root = Rootfs::new();
    let bin = Path::new(CFT).parent().unwrap();
    let out = std::process::Command::new(testkit::rootfs::script("in-root.sh"))
        .arg(&root.0)
        .args([
            "/run/cft/bin/cft",
            "--db",
            "/run/cft/in/cft.db",
            "recipe",
            "install",
            "/run/cft/in/site.tar.gz",
            "--environment",
            "staging",
        ])
        .env(
            "IN_ROOT_BIND",
            format!(
                "{}:/run/cft/bin:ro {}:/run/cft/in",
                bin.display(),
                dir.path().display()
            ),
        )
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("created environment staging: /etc/puppet/code/environments/staging"),
        "{text}"
    );
    assert!(root
        .host(b"/etc/puppet/code/environments/staging/modules/webapp/manifests/init.pp")
        .is_file());
}
