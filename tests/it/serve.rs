//! Recipes for a Puppet server, without one (tier 1): `recipe install
//! --environment` lays out and classifies an environment of a code
//! directory and refuses to touch what is not its own; `recipe
//! instantiate` takes mandatory parameters from the site (masterless) or
//! leaves them to the server (`--server`); `--previous` lists what the
//! replaced module managed. The real server is `e2e_server`'s.

use crate::util::CFT;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use testkit::cli::{stderr, stdout, write, Env};

/// A session that adds a user with a password and a config file.
fn recorded() -> Env {
    let env = Env::new(CFT);
    write(&env.p("/etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    write(&env.p("/etc/group"), "root:x:0:\n");
    write(&env.p("/etc/shadow"), "root:*:19000:0:99999:7:::\n");
    env.begin("app", &[]);
    write(
        &env.p("/etc/passwd"),
        "root:x:0:0:root:/root:/bin/bash\nalice:x:2001:2001::/home/alice:/bin/sh\n",
    );
    write(&env.p("/etc/group"), "root:x:0:\nalice:x:2001:\n");
    write(
        &env.p("/etc/shadow"),
        "root:*:19000:0:99999:7:::\nalice:$6$salt$ALICEHASH:19000:0:99999:7:::\n",
    );
    write(&env.p("/srv/app/app.conf"), "port = 8080\n");
    env.finish("app");
    env
}

fn bundle(env: &Env) -> PathBuf {
    let file = env.tmp.path().join("app.tar.gz");
    env.ok([
        "recipe".as_ref(),
        "create".as_ref(),
        "app".as_ref(),
        "-o".as_ref(),
        file.as_os_str(),
    ]);
    file
}

fn install(
    env: &Env,
    file: &Path,
    codedir: &Path,
    envname: &str,
    nodes: &[&str],
) -> std::process::Output {
    let mut args: Vec<String> = vec![
        "recipe".into(),
        "install".into(),
        file.display().to_string(),
        "--environment".into(),
        envname.into(),
        "--codedir".into(),
        codedir.display().to_string(),
    ];
    for n in nodes {
        args.push("--node".into());
        args.push((*n).into());
    }
    env.run(&args)
}

#[test]
fn an_environment_is_laid_out_and_nodes_classified_through_hiera() {
    let env = recorded();
    let file = bundle(&env);
    let code = env.tmp.path().join("code");
    let out = install(&env, &file, &code, "prod", &["web1.example.com"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    let e = code.join("environments/prod");
    for want in [
        format!("created environment prod: {}", e.display()),
        format!(
            "module 'app' installed: {}",
            e.join("modules/app").display()
        ),
        "node web1.example.com now gets class 'app'".to_string(),
        "mandatory parameter app::alice_password (Sensitive[String]): not set yet".to_string(),
        "convert_to: Sensitive".to_string(),
    ] {
        assert!(text.contains(&want), "{want}:\n{text}");
    }
    let read = |p: &str| std::fs::read_to_string(e.join(p)).unwrap();
    assert!(read("environment.conf").contains("\nenvironment_timeout = 0\n"));
    assert!(read("manifests/site.pp")
        .contains("\nlookup('classes', Array[String], 'unique', []).include\n"));
    assert!(read("hiera.yaml").contains("path: 'cft/nodes/%{trusted.certname}.yaml'"));
    assert!(
        read("data/cft/nodes/web1.example.com.yaml").ends_with("classes:\n  - 'app'\n"),
        "{}",
        read("data/cft/nodes/web1.example.com.yaml")
    );
    assert!(read("modules/app/manifests/init.pp").contains("class app"));

    // Data set, a second node, the first one already classified.
    write(
        &e.join("data/common.yaml"),
        "---\napp::alice_password: 'x'\n",
    );
    let out = install(
        &env,
        &file,
        &code,
        "prod",
        &["web1.example.com", "web2.example.com"],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    for want in [
        "module 'app' already installed",
        "node web1.example.com already gets class 'app'",
        "node web2.example.com now gets class 'app'",
        "app::alice_password (Sensitive[String]): set in the environment's Hiera data",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert!(!text.contains("created environment"), "{text}");
    assert!(read("data/cft/nodes/web2.example.com.yaml").contains("  - 'app'\n"));
}

#[test]
fn what_is_not_cfts_is_refused_before_the_module_changes() {
    let env = recorded();
    let file = bundle(&env);
    let code = env.tmp.path().join("code");
    let cases: [(&str, &str, &str, &[&str]); 3] = [
        (
            "manifests/site.pp",
            "node default { include base }\n",
            "add the line `lookup('classes', Array[String], 'unique', []).include`",
            &["n1"],
        ),
        (
            "hiera.yaml",
            "---\nversion: 5\nhierarchy: []\n",
            "has no `cft/nodes/%{trusted.certname}.yaml` level",
            &["n1"],
        ),
        (
            "data/cft/nodes/n1.yaml",
            "classes:\n  - 'other'\n",
            "not a file cft manages",
            &["n1"],
        ),
    ];
    for (i, (path, content, says, nodes)) in cases.into_iter().enumerate() {
        let name = format!("e{i}");
        let e = code.join("environments").join(&name);
        write(&e.join(path), content);
        if path.starts_with("data/") {
            // A valid classification around the foreign node file.
            install(&env, &file, &code, &name, &["other"]);
            std::fs::remove_dir_all(e.join("modules")).unwrap();
        }
        let out = install(&env, &file, &code, &name, nodes);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(err.contains(says) && err.contains(path), "{path}: {err}");
        assert_eq!(std::fs::read_to_string(e.join(path)).unwrap(), content);
        assert!(!e.join("modules/app").exists(), "{path}: module installed");
    }

    // A link where the environment goes is not followed.
    let elsewhere = env.tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, code.join("environments/linked")).unwrap();
    let out = install(&env, &file, &code, "linked", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("symlink is not followed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // Names reach paths and Puppet: checked, naming the argument.
    for (envname, node, says) in [
        ("Prod", "n1", "--environment 'Prod'"),
        ("../x", "n1", "--environment '../x'"),
        ("prod", "../n", "--node '../n'"),
        ("prod", "N1", "--node 'N1'"),
    ] {
        let out = install(&env, &file, &code, envname, &[node]);
        assert_eq!(out.status.code(), Some(1), "{envname} {node}");
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
    }
    assert!(!code.join("x").exists() && !code.join("environments/prod").exists());
}

const SITE: &str = "lang en_US.UTF-8\nkeyboard us\ntimezone Etc/UTC\nrootpw --lock\n";

fn instantiate(env: &Env, file: &Path, site: &str, extra: &[&str]) -> std::process::Output {
    let site_file = env.tmp.path().join("site.ks");
    write(&site_file, site);
    let mut args = vec![
        "recipe".to_string(),
        "instantiate".into(),
        file.display().to_string(),
        "--site".into(),
        site_file.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    env.run(&args)
}

#[test]
fn mandatory_parameters_come_from_the_site_or_the_server() {
    let env = recorded();
    let file = bundle(&env);
    // Masterless: refused until the site gives the value.
    let out = instantiate(&env, &file, SITE, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("alice_password")
            && err.contains("# cft-param NAME=VALUE")
            && err.contains("--server"),
        "{err}"
    );
    let ks = env.tmp.path().join("full.ks");
    let with_value = format!("{SITE}# cft-param alice_password=$6$salt$ALICEHASH\n");
    let out = instantiate(&env, &file, &with_value, &["-o", ks.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&ks).unwrap();
    assert!(
        text.contains("class { 'app':\n  alice_password => Sensitive('$6$salt$ALICEHASH'),\n}"),
        "{text}"
    );
    let mode = std::fs::metadata(&ks).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o600,
        "a kickstart holding a password hash is private"
    );

    // From a server: the hash stays out, and may not be given.
    let out = instantiate(
        &env,
        &file,
        SITE,
        &["--server", "puppet.example.com", "--environment", "prod"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "puppet config set --section main server puppet.example.com\n",
        "puppet config set --section main serverport 8140\n",
        "puppet config set --section main environment prod\n",
        "# The server's Hiera must set: app::alice_password.",
    ] {
        assert!(text.contains(want), "{want}:\n{text}");
    }
    assert!(
        !text.contains("ALICEHASH") && !text.contains("puppet apply"),
        "{text}"
    );
    let out = instantiate(
        &env,
        &file,
        &with_value,
        &["--server", "puppet.example.com"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Hiera"), "{}", stderr(&out));
    for bad in ["a b", "host:0", "$(reboot)"] {
        let out = instantiate(&env, &file, SITE, &["--server", bad]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(stderr(&out).contains("--server"), "{}", stderr(&out));
    }
    let out = instantiate(&env, &file, SITE, &["--environment", "prod"]);
    assert_eq!(out.status.code(), Some(2), "--environment needs --server");
}

#[test]
fn previous_lists_what_the_replaced_module_managed() {
    let env = Env::new(CFT);
    env.begin("v1", &[]);
    write(&env.p("/srv/app/app.conf"), "port = 1\n");
    write(&env.p("/srv/app/legacy.conf"), "old\n");
    env.finish("v1");
    env.begin("v2", &[]);
    write(&env.p("/srv/app/app.conf"), "port = 2\n");
    env.finish("v2");
    let module = env.tmp.path().join("app");
    let out = env.ok([
        "manifest".as_ref(),
        "v2".as_ref(),
        "--module-name".as_ref(),
        "app".as_ref(),
        "--previous".as_ref(),
        "v1".as_ref(),
        "-o".as_ref(),
        module.as_os_str(),
    ]);
    let readme = std::fs::read_to_string(module.join("README.md")).unwrap();
    let section = readme
        .split("## Left as the previous version left it\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no section:\n{readme}\n{out}"));
    let section = section.split("\n## ").next().unwrap();
    assert!(section.contains("session `v1`"), "{section}");
    assert!(
        section.contains("\n- `/srv/app/legacy.conf`\n"),
        "{section}"
    );
    assert!(!section.contains("app.conf"), "v2 manages it:\n{section}");

    let out = env.run(
        ["manifest", "v2", "--previous", "nope", "-o"]
            .iter()
            .map(|s| s.to_string())
            .chain([module.display().to_string()]),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--previous") && stderr(&out).contains("nope"),
        "{}",
        stderr(&out)
    );
}
