//! `cft recipe` end to end on a session recorded on a `--root` tree: create
//! (deterministic, module options and spec honoured), verify (a changed
//! byte, a removed file and an added file each fail naming the file),
//! install into a modulepath (again: "already installed"; changed: refused
//! without --force, replaced with it), and instantiate with a site
//! kickstart, a conflicting one refused. Tier 2 (`validated`) runs verify
//! with every validator (every check OK; an invalid kickstart fails) and
//! judges the instantiated kickstarts with `ksvalidator`; a missing tool
//! fails the test, naming `scripts/setup-host.sh`.

use crate::util::CFT;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use testkit::cli::{stderr, stdout, write, Env};

const SITE: &str = "\
# site settings
lang en_US.UTF-8
keyboard --vckeymap=us --xlayouts=us
timezone Etc/UTC --utc
rootpw --lock
network --bootproto=dhcp --device=link --activate
text
reboot

%packages
vim-enhanced
%end

%post
echo 'site post' > /root/site-post
%end
";

/// A finished session `web` with a data filesystem.
fn recorded() -> Env {
    let env = Env::new(CFT);
    write(
        &env.p("/etc/fstab"),
        "UUID=6f1c-root / ext4 errors=remount-ro 0 1\n/dev/vdb1 /srv ext4 defaults 0 2\n",
    );
    env.begin("web", &["--description", "static site"]);
    std::fs::create_dir_all(env.p("/srv/www")).unwrap();
    write(&env.p("/srv/www/index.html"), "<h1>hello</h1>\n");
    write(&env.p("/etc/motd"), "recipe test\n");
    env.finish("web");
    env
}

fn create(env: &Env, out: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "recipe".to_string(),
        "create".into(),
        "web".into(),
        "-o".into(),
        out.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    env.ok(&args)
}

/// `cft recipe verify` with no validator on PATH, whatever the machine has.
fn verify_without_validators(env: &Env, file: &Path) -> Output {
    env.cmd()
        .env("PATH", env.tmp.path().join("no-validators"))
        .args(["recipe".as_ref(), "verify".as_ref(), file.as_os_str()])
        .output()
        .expect("run cft")
}

/// The failed checks of a verify report, less those only failed for want
/// of a validator.
fn failures(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| l.starts_with("FAIL ") && !l.contains("not found on PATH"))
        .collect()
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
}

/// Extract `bundle` into `dir` with the system's tar, let `change` edit
/// the tree, and pack it again as `out`.
fn repack(bundle: &Path, dir: &Path, out: &Path, change: impl FnOnce(&Path)) {
    std::fs::create_dir_all(dir).unwrap();
    sh(Command::new("tar")
        .arg("-xzf")
        .arg(bundle)
        .arg("-C")
        .arg(dir));
    change(&dir.join("web-1.0"));
    sh(Command::new("tar")
        .arg("-czf")
        .arg(out)
        .arg("-C")
        .arg(dir)
        .arg("web-1.0"));
}

fn spec(env: &Env) -> PathBuf {
    let spec = env.tmp.path().join("appliance.toml");
    write(&spec, "version = \"1.0\"\nmemory_kib = 524288\n");
    spec
}

/// Two builds of one session, and the short form, as `web-1.0.tar.gz`.
fn created(env: &Env) -> PathBuf {
    let spec = spec(env);
    let a = env.tmp.path().join("web-1.0.tar.gz");
    let b = env.tmp.path().join("again.tar.gz");
    let spec_arg = spec.to_str().unwrap();
    let out = create(env, &a, &["--spec", spec_arg]);
    assert!(out.contains("in web-1.0/"), "{out}");
    create(env, &b, &["--spec", spec_arg]);
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap(),
        "two builds of one session differ"
    );
    // `cft recipe NAME -o FILE` is `create` without the word.
    let c = env.tmp.path().join("short.tar.gz");
    env.ok([
        "recipe",
        "web",
        "-o",
        c.to_str().unwrap(),
        "--spec",
        spec_arg,
    ]);
    assert!(
        std::fs::read(&a).unwrap() == std::fs::read(&c).unwrap(),
        "`cft recipe NAME -o` differs from `cft recipe create NAME -o`"
    );
    a
}

#[test]
fn create_is_deterministic() {
    let env = recorded();
    let bundle = created(&env);
    let v = verify_without_validators(&env, &bundle);
    let text = stdout(&v);
    for want in [
        "OK   archive",
        "OK   checksums",
        "OK   metadata.json (modules/web)",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    assert_eq!(failures(&text), Vec::<&str>::new(), "{text}");
}

#[test]
fn module_options_reach_the_bundle() {
    let env = recorded();
    let file = env.tmp.path().join("r.tar.gz");
    let spec = spec(&env);
    create(
        &env,
        &file,
        &[
            "--module-name",
            "webapp",
            "--pin-versions",
            "--spec",
            spec.to_str().unwrap(),
        ],
    );
    let list = Command::new("tar").arg("-tzf").arg(&file).output().unwrap();
    let list = stdout(&list);
    assert!(
        list.contains("web-1.0/modules/webapp/manifests/init.pp"),
        "{list}"
    );
    let out = env.run([
        "recipe",
        "create",
        "web",
        "-o",
        "x.tgz",
        "--module-name",
        "Bad-Name",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--module-name"), "{}", stderr(&out));
}

/// A change made to an extracted bundle before it is packed again.
type Edit = Box<dyn FnOnce(&Path)>;

#[test]
fn tampered_missing_and_extra_files_fail_naming_the_file() {
    let env = recorded();
    let good = env.tmp.path().join("web-1.0.tar.gz");
    create(&env, &good, &["--spec", spec(&env).to_str().unwrap()]);
    // A captured file: a changed byte there breaks nothing but the checksum.
    let motd = "modules/web/files/etc/motd";
    let cases: [(&str, Edit, &str); 3] = [
        (
            "one changed byte",
            Box::new(move |d: &Path| {
                let p = d.join(motd);
                let mut bytes = std::fs::read(&p).unwrap();
                bytes[0] ^= 0x20;
                std::fs::write(&p, bytes).unwrap();
            }),
            "FAIL checksums: modules/web/files/etc/motd: content does not match",
        ),
        (
            "a removed file",
            Box::new(|d: &Path| std::fs::remove_file(d.join("README.md")).unwrap()),
            "FAIL checksums: README.md: listed in SHA256SUMS but missing",
        ),
        (
            "an added file",
            Box::new(|d: &Path| std::fs::write(d.join("extra.txt"), "x").unwrap()),
            "FAIL checksums: extra.txt: in the bundle but not listed in SHA256SUMS",
        ),
    ];
    for (i, (name, change, want)) in cases.into_iter().enumerate() {
        let bad = env.tmp.path().join(format!("bad{i}.tar.gz"));
        repack(&good, &env.tmp.path().join(format!("x{i}")), &bad, change);
        let v = verify_without_validators(&env, &bad);
        let text = stdout(&v);
        assert_eq!(v.status.code(), Some(1), "{name}: {text}");
        let failed = failures(&text);
        assert!(
            failed.len() == 1 && failed[0].starts_with(want),
            "{name}: not one failure, {want:?}:\n{text}"
        );
        let out = env.run([
            "recipe".as_ref(),
            "install".as_ref(),
            bad.as_os_str(),
            "--modulepath".as_ref(),
            env.tmp.path().join("mp").as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: install refused");
        assert!(
            stderr(&out).contains("checksums"),
            "{name}: {}",
            stderr(&out)
        );
    }
}

/// Write SHA256SUMS of an extracted bundle again, after an edit.
fn resum(d: &Path) {
    sh(Command::new("sh")
        .arg("-c")
        .arg("find . -type f ! -name SHA256SUMS | sed 's|^\\./||' | sort | xargs -d '\\n' sha256sum > SHA256SUMS")
        .current_dir(d));
}

/// A stand-in `ksvalidator` on PATH: notes that it ran, where its TMPDIR
/// is and that directory's mode, leaves a temporary copy there as
/// pykickstart does, and prints the file it was given.
fn fake_ksvalidator(env: &Env) -> (PathBuf, PathBuf) {
    let bin = env.tmp.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let marker = env.tmp.path().join("ksvalidator-ran");
    let script = bin.join("ksvalidator");
    write(
        &script,
        format!(
            "#!/bin/sh\nPATH=/usr/bin:/bin\necho \"$TMPDIR\" > '{m}'\nstat -c %a \"$TMPDIR\" >> '{m}'\nmktemp \"$TMPDIR/tmpXXXXXX-ks.cfg\" >> '{m}'\ncat \"$1\"\n",
            m = marker.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, marker)
}

/// A bundle whose partial.ks pulls in another file (issue 14, item 5):
/// refused before any validator runs, and the file's content is not shown.
#[test]
fn verify_refuses_ksappend_and_include_before_any_validator() {
    let env = recorded();
    let good = env.tmp.path().join("web-1.0.tar.gz");
    create(&env, &good, &["--spec", spec(&env).to_str().unwrap()]);
    let secret = env.tmp.path().join("secret.txt");
    write(&secret, "the-host-secret-4711\n");
    let (bin, marker) = fake_ksvalidator(&env);
    let s = secret.display();
    let cases = [
        (
            "ksappend of a file",
            format!("%ksappend {s}"),
            1,
            "%ksappend",
        ),
        (
            "ksappend of a URL",
            "%ksappend http://127.0.0.1:9/x".into(),
            1,
            "%ksappend",
        ),
        ("include", format!("%include {s}"), 1, "%include"),
        (
            "after a form feed",
            format!("lang C\x0c%ksappend {s}"),
            2,
            "%ksappend",
        ),
    ];
    for (i, (name, line, at, what)) in cases.into_iter().enumerate() {
        let bad = env.tmp.path().join(format!("hostile{i}.tar.gz"));
        let change: Edit = Box::new(move |d: &Path| {
            let p = d.join("partial.ks");
            let ks = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, format!("{line}\n{ks}")).unwrap();
            resum(d);
        });
        repack(&good, &env.tmp.path().join(format!("h{i}")), &bad, change);
        let v = env
            .cmd()
            .env("PATH", &bin)
            .args(["recipe".as_ref(), "verify".as_ref(), bad.as_os_str()])
            .output()
            .unwrap();
        let text = format!("{}{}", stdout(&v), stderr(&v));
        assert_eq!(v.status.code(), Some(1), "{name}: {text}");
        let want = format!("FAIL kickstart (partial.ks): partial.ks line {at}: {what} is refused");
        assert!(text.contains(&want), "{name}: no {want:?} in\n{text}");
        assert!(
            !text.contains("the-host-secret-4711"),
            "{name}: the file was shown\n{text}"
        );
        assert!(!marker.exists(), "{name}: the validator ran");
        assert!(
            failures(&text).iter().all(|l| l.contains("kickstart")),
            "{name}: only the kickstart fails\n{text}"
        );
    }
}

/// Validators run with TMPDIR in verify's private directory (0700), and
/// what they leave there is gone afterwards.
#[test]
fn verify_runs_validators_in_a_private_directory_removed_afterwards() {
    let env = recorded();
    let bundle = env.tmp.path().join("web-1.0.tar.gz");
    create(&env, &bundle, &["--spec", spec(&env).to_str().unwrap()]);
    let (bin, marker) = fake_ksvalidator(&env);
    let v = env
        .cmd()
        .env("PATH", &bin)
        .env("TMPDIR", env.tmp.path())
        .args(["recipe".as_ref(), "verify".as_ref(), bundle.as_os_str()])
        .output()
        .unwrap();
    let text = stdout(&v);
    assert!(
        text.contains("OK   kickstart (partial.ks)"),
        "{text}{}",
        stderr(&v)
    );
    let noted = std::fs::read_to_string(&marker).expect("the validator ran");
    let lines: Vec<&str> = noted.lines().collect();
    let [tmpdir, mode, left] = lines[..] else {
        panic!("{noted}")
    };
    let tmpdir = Path::new(tmpdir);
    assert!(
        tmpdir.starts_with(env.tmp.path()) && tmpdir != env.tmp.path(),
        "TMPDIR {} is not verify's own directory",
        tmpdir.display()
    );
    assert_eq!(mode, "700", "TMPDIR is private");
    assert!(!Path::new(left).exists(), "{left} left behind");
    assert!(!tmpdir.exists(), "{} left behind", tmpdir.display());
}

#[test]
fn install_into_a_modulepath() {
    let env = recorded();
    let file = env.tmp.path().join("web.tar.gz");
    create(&env, &file, &[]);
    let mp = env.tmp.path().join("etc/puppet/code/modules");
    let install = |force: bool| {
        let mut args = vec![
            "recipe".to_string(),
            "install".into(),
            file.display().to_string(),
            "--modulepath".into(),
            mp.display().to_string(),
        ];
        if force {
            args.push("--force".into());
        }
        env.run(&args)
    };
    let first = install(false);
    assert!(
        first.status.success() && stdout(&first).contains("module 'web' installed"),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    let init = mp.join("web/manifests/init.pp");
    let original = std::fs::read(&init).unwrap();
    let again = install(false);
    assert!(
        again.status.success() && stdout(&again).contains("already installed"),
        "{}",
        stdout(&again)
    );

    std::fs::write(&init, "class web {}\n").unwrap();
    let refused = install(false);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("--force") && err.contains("web"), "{err}");
    assert_eq!(
        std::fs::read(&init).unwrap(),
        b"class web {}\n",
        "left alone"
    );

    let forced = install(true);
    assert!(stdout(&forced).contains("replaced"), "{}", stderr(&forced));
    assert_eq!(std::fs::read(&init).unwrap(), original);
    let names: Vec<String> = std::fs::read_dir(&mp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["web"],
        "no temporary directory left in the modulepath"
    );
}

/// The site kickstart merged with the bundle's (`full.ks`), and the
/// partial kickstart alone (`partial.ks`), which also works as a plain file.
fn instantiated(env: &Env) -> (PathBuf, PathBuf) {
    let file = env.tmp.path().join("web.tar.gz");
    create(env, &file, &[]);
    let site = env.tmp.path().join("site.ks");
    write(&site, SITE);
    let full = env.tmp.path().join("full.ks");
    let out = env.ok([
        "recipe".as_ref(),
        "instantiate".as_ref(),
        file.as_os_str(),
        "--site".as_ref(),
        site.as_os_str(),
        "-o".as_ref(),
        full.as_os_str(),
    ]);
    assert_eq!(
        out,
        format!(
            "wrote kickstart {} (its %post applies the module masterless)\n",
            full.display()
        )
    );
    let text = std::fs::read_to_string(&full).unwrap();
    for want in [
        "timezone Etc/UTC",
        "part / --fstype=ext4",
        "vim-enhanced\n",
        "include web'",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    let site_post = text.find("site post").unwrap();
    assert!(
        site_post < text.find("include web").unwrap(),
        "site %post first"
    );

    // The partial kickstart alone validates too, and works as a plain file.
    let partial = env.tmp.path().join("partial.ks");
    env.ok([
        "descriptor".as_ref(),
        "web".as_ref(),
        "--kickstart".as_ref(),
        "-o".as_ref(),
        partial.as_os_str(),
    ]);
    let from_plain = env.ok([
        "recipe".as_ref(),
        "instantiate".as_ref(),
        partial.as_os_str(),
        "--site".as_ref(),
        site.as_os_str(),
    ]);
    assert!(from_plain.contains("include web'"), "{from_plain}");
    (full, partial)
}

#[test]
fn instantiate_with_a_site_kickstart() {
    instantiated(&recorded());
}

#[test]
fn conflicting_site_kickstarts_are_refused() {
    let env = recorded();
    let file = env.tmp.path().join("web.tar.gz");
    create(&env, &file, &[]);
    let site = env.tmp.path().join("site.ks");
    // SITE has 16 lines: an added command is line 17.
    let cases = [
        (
            "boot loader",
            format!("{SITE}bootloader --location=none\n"),
            &[
                "conflicting `bootloader`",
                "site.ks line 17",
                "partial.ks line",
                "--boot-drive=vda",
            ][..],
        ),
        (
            "root filesystem",
            format!("{SITE}part / --size=1000\n"),
            &["conflicting `part /`", "site.ks line 17", "partial.ks line"][..],
        ),
        (
            "storage of its own",
            format!("{SITE}autopart\n"),
            &["remove `autopart`", "site.ks line 17"][..],
        ),
        (
            "an excluded package",
            SITE.replace("vim-enhanced\n", "vim-enhanced\n-puppet\n"),
            &[
                "conflicting `%packages puppet`",
                "site.ks line 12",
                "partial.ks line",
            ][..],
        ),
        (
            "a second timezone",
            format!("{SITE}timezone Europe/Paris\n"),
            &["site.ks line 17", "`timezone` is already set on line 4"][..],
        ),
    ];
    for (name, text, wants) in cases {
        write(&site, text);
        let out = env.run([
            "recipe".as_ref(),
            "instantiate".as_ref(),
            file.as_os_str(),
            "--site".as_ref(),
            site.as_os_str(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stdout(&out));
        let err = stderr(&out);
        for w in wants {
            assert!(err.contains(w), "{name}: no {w:?} in {err}");
        }
    }
    write(&site, "lang en_US.UTF-8\n");
    let out = env.run([
        "recipe".as_ref(),
        "instantiate".as_ref(),
        file.as_os_str(),
        "--site".as_ref(),
        site.as_os_str(),
    ]);
    assert!(
        stderr(&out).contains("incomplete: no keyboard, timezone, rootpw"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_documents_the_recipe_commands() {
    let env = Env::new(CFT);
    let help = env.ok(["recipe", "--help"]);
    for sub in ["create", "verify", "install", "instantiate"] {
        assert!(help.contains(sub), "{help}");
    }
    let create = env.ok(["recipe", "create", "--help"]);
    for opt in [
        "--module-name",
        "--include-secrets",
        "--pin-versions",
        "--spec",
        "mtime",
    ] {
        assert!(create.contains(opt), "{opt} not in\n{create}");
    }
}

/// Tier 2: the bundle and the kickstarts judged by the real validators.
#[cfg(testbed)]
mod validated {
    use super::{created, instantiated, recorded, repack, spec, Edit};
    use std::path::Path;
    use std::process::{Command, Output};
    use testkit::cli::{stderr, stdout, Env};
    use testkit::tools::{ksvalidator_dir, tool, SETUP};

    fn verify(env: &Env, file: &Path) -> Output {
        env.run(["recipe".as_ref(), "verify".as_ref(), file.as_os_str()])
    }

    /// [`recorded`], with cft seeing every validator (ksvalidator through
    /// PATH, as a user would set it up).
    fn recorded_with_validators() -> Env {
        tool("xmllint");
        tool("puppet");
        let mut env = recorded();
        let path = std::env::var("PATH").unwrap_or_default();
        env.extra_env.push((
            "PATH".into(),
            format!("{}:{path}", ksvalidator_dir().display()),
        ));
        env
    }

    #[test]
    fn a_created_recipe_verifies() {
        let env = recorded_with_validators();
        let bundle = created(&env);
        let v = verify(&env, &bundle);
        let text = stdout(&v);
        assert_eq!(v.status.code(), Some(0), "{text}{}", stderr(&v));
        for want in [
            "OK   archive",
            "OK   checksums",
            "OK   descriptor (appliance.xml)",
            "OK   kickstart (partial.ks)",
            "OK   metadata.json (modules/web)",
            "OK   puppet parser validate (modules/web",
            "OK: 6 checks passed",
        ] {
            assert!(text.contains(want), "no {want:?} in\n{text}");
        }
    }

    #[test]
    fn an_invalid_kickstart_fails_verify_naming_the_file() {
        let env = recorded_with_validators();
        let good = env.tmp.path().join("web-1.0.tar.gz");
        super::create(&env, &good, &["--spec", spec(&env).to_str().unwrap()]);
        let bad = env.tmp.path().join("bad.tar.gz");
        // Checksums updated: only the validator can tell.
        let change: Edit = Box::new(|d: &Path| {
            let p = d.join("partial.ks");
            let ks = std::fs::read_to_string(&p).unwrap();
            std::fs::write(&p, ks.replace("zerombr", "zerombr --bogus")).unwrap();
            let sums = Command::new("sh")
                .arg("-c")
                .arg("find . -type f ! -name SHA256SUMS | sed 's|^\\./||' | sort | xargs -d '\\n' sha256sum > SHA256SUMS")
                .current_dir(d)
                .output()
                .unwrap();
            assert!(sums.status.success(), "{}", stderr(&sums));
        });
        repack(&good, &env.tmp.path().join("x"), &bad, change);
        let v = verify(&env, &bad);
        let text = stdout(&v);
        assert_eq!(v.status.code(), Some(1), "{text}");
        let want = "FAIL kickstart (partial.ks): ksvalidator failed";
        assert!(text.contains(want), "no {want:?} in\n{text}");
        assert!(text.contains("FAILED: 1 of"), "one failure\n{text}");
    }

    fn ksvalidator(file: &Path) {
        let out = Command::new(ksvalidator_dir().join("ksvalidator"))
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("ksvalidator: {e}: {SETUP}"));
        assert!(
            out.status.success(),
            "ksvalidator {}: {}{}\n{}",
            file.display(),
            stdout(&out),
            stderr(&out),
            std::fs::read_to_string(file).unwrap_or_default()
        );
    }

    #[test]
    fn instantiated_kickstarts_validate() {
        let env = recorded();
        let (full, partial) = instantiated(&env);
        ksvalidator(&full);
        ksvalidator(&partial);
    }
}
