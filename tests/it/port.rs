//! `cft export` and `cft import` across two databases, as two machines
//! would use them: a session recorded in one, exported, imported into the
//! other (also under another name with `--as`), where `show` and
//! `manifest` work and write the same module. Damaged, future and
//! conflicting files are refused and leave the second database unchanged.

use crate::util::{Stored, CFT};
use sha2::{Digest, Sha256};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use testkit::cli::{stderr, write, Env};

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// A finished session "web" in `env`: edits, a new tree, a removal, a
/// mode change and a private key.
fn recorded(env: &Env) {
    write(&env.p("/etc/app.conf"), "port = 80\n");
    write(&env.p("/etc/gone.conf"), "bye\n");
    write(&env.p("/etc/mode.conf"), "same\n");
    env.begin("web", &["--description", "a web server"]);
    write(&env.p("/etc/app.conf"), "port = 8080\n");
    std::fs::remove_file(env.p("/etc/gone.conf")).unwrap();
    std::fs::set_permissions(
        env.p("/etc/mode.conf"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::create_dir_all(env.p("/srv/www")).unwrap();
    write(&env.p("/srv/www/index.html"), "<h1>hi</h1>\n");
    write(&env.p("/srv/www/caf\u{e9}.txt"), "\u{e9}\n");
    std::fs::create_dir_all(env.p("/etc/ssl/private")).unwrap();
    write(
        &env.p("/etc/ssl/private/site.key"),
        "-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n",
    );
    env.finish("web");
}

fn manifest(env: &Env, name: &str, dir: &Path, extra: &[&str]) -> Vec<(PathBuf, Vec<u8>)> {
    let mut args = vec!["manifest", name, "-o", dir.to_str().unwrap()];
    args.extend(extra);
    env.ok(&args);
    tree(dir)
}

#[test]
fn a_session_moves_between_databases_and_makes_the_same_module() {
    let a = Env::new(CFT);
    recorded(&a);
    let out = a.tmp.path().join("web.cftx");
    let said = a.ok([
        "export",
        "web",
        "-o",
        out.to_str().unwrap(),
        "--include-secrets",
    ]);
    assert!(said.contains("exported session 'web'"), "{said}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the export is private");
    // Deterministic: the same session, the same bytes (the file is replaced).
    let first = std::fs::read(&out).unwrap();
    a.ok([
        "export",
        "web",
        "-o",
        out.to_str().unwrap(),
        "--include-secrets",
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), first);

    let b = Env::new(CFT);
    let said = b.ok(["import", out.to_str().unwrap()]);
    assert!(said.contains("imported session 'web'"), "{said}");
    assert_eq!(
        a.change_set("web").changes,
        b.change_set("web").changes,
        "the same change set"
    );
    let show = b.ok(["show", "web"]);
    assert!(show.contains("session 'web' (finished)"), "{show}");
    assert!(show.contains("/srv/www/index.html"), "{show}");
    for extra in [&[][..], &["--include-secrets"][..]] {
        let ma = manifest(&a, "web", &a.tmp.path().join("mod"), extra);
        let mb = manifest(&b, "web", &b.tmp.path().join("mod"), extra);
        assert!(ma.len() > 3, "{ma:?}");
        assert_eq!(ma, mb, "the same module {extra:?}");
    }

    // Under another name: the same module but for the session's name.
    b.ok(["import", out.to_str().unwrap(), "--as", "imported-web"]);
    let ma = manifest(
        &a,
        "web",
        &a.tmp.path().join("mod2"),
        &["--module-name", "web"],
    );
    let mb = manifest(
        &b,
        "imported-web",
        &b.tmp.path().join("mod2"),
        &["--module-name", "web"],
    );
    let text = |m: Vec<(PathBuf, Vec<u8>)>, from: &str| -> Vec<(PathBuf, String)> {
        m.into_iter()
            .map(|(p, bytes)| (p, String::from_utf8_lossy(&bytes).replace(from, "web")))
            .collect()
    };
    assert_eq!(text(ma, "web"), text(mb, "imported-web"));
    let list = b.ok(["list"]);
    assert!(
        list.contains("web") && list.contains("imported-web"),
        "{list}"
    );
    // Finished for good: there is no baseline here to record against.
    let out = b.run(["begin", "--resume", "web"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("session 'web' was imported from"),
        "{}",
        stderr(&out)
    );
    assert!(b.ok(["show", "web"]).contains("(finished)"));
}

#[test]
fn without_secrets_the_import_says_what_was_left_out() {
    let a = Env::new(CFT);
    recorded(&a);
    let out = a.tmp.path().join("web.cftx");
    let said = a.ok(["export", "web", "-o", out.to_str().unwrap()]);
    assert!(
        said.contains("the content of the secret file /etc/ssl/private/site.key"),
        "{said}"
    );
    assert!(!String::from_utf8_lossy(&std::fs::read(&out).unwrap()).contains("MIIsecret"));
    let b = Env::new(CFT);
    let said = b.ok(["import", out.to_str().unwrap(), "--as", "review"]);
    assert!(said.contains("(exported as 'web')"), "{said}");
    assert!(said.contains("/etc/ssl/private/site.key"), "{said}");
    let show = b.ok(["show", "review"]);
    assert!(
        show.contains("not in this imported session: the content of the secret file"),
        "{show}"
    );
    // The module still works: the key is a parameter to supply.
    let m = manifest(&b, "review", &b.tmp.path().join("mod"), &[]);
    assert!(!m.is_empty());
    let err = b.run([
        "manifest",
        "review",
        "-o",
        b.tmp.path().join("mod2").to_str().unwrap(),
        "--include-secrets",
    ]);
    // With secrets asked for, the content is simply not there to copy.
    assert!(err.status.success(), "{}", stderr(&err));
    let m2 = tree(&b.tmp.path().join("mod2"));
    assert!(!m2
        .iter()
        .any(|(_, bytes)| String::from_utf8_lossy(bytes).contains("MIIsecret")));
}

/// `file` with the version set to `version` and the checksum made right.
fn resealed(file: &[u8], version: u32) -> Vec<u8> {
    let mut f = file[..file.len() - 32].to_vec();
    f[4..8].copy_from_slice(&version.to_be_bytes());
    let digest = Sha256::digest(&f);
    f.extend_from_slice(&digest);
    f
}

#[test]
fn damaged_future_and_conflicting_files_are_refused_and_change_nothing() {
    let a = Env::new(CFT);
    recorded(&a);
    let good = a.tmp.path().join("web.cftx");
    a.ok(["export", "web", "-o", good.to_str().unwrap()]);
    let bytes = std::fs::read(&good).unwrap();
    let b = Env::new(CFT);
    b.ok(["import", good.to_str().unwrap()]);
    let before = (b.ok(["list"]), b.store().sessions().unwrap().len());

    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x20;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("tampered", flipped, "checksum mismatch"),
        (
            "truncated",
            bytes[..bytes.len() - 100].to_vec(),
            "truncated",
        ),
        (
            "future",
            resealed(&bytes, 99),
            "made by a newer cft (export format version 99",
        ),
        (
            "taken",
            bytes.clone(),
            "a session named 'web' already exists",
        ),
    ];
    for (name, data, want) in cases {
        let path = b.tmp.path().join(format!("{name}.cftx"));
        std::fs::write(&path, &data).unwrap();
        let out = b.run(["import", path.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert!(
            err.contains(path.to_str().unwrap()),
            "{name} names the file: {err}"
        );
        assert_eq!(
            (b.ok(["list"]), b.store().sessions().unwrap().len()),
            before,
            "{name}: the database is unchanged"
        );
    }
    let out = b.run(["import", good.to_str().unwrap()]);
    assert!(stderr(&out).contains("--as NAME"), "{}", stderr(&out));
}
