//! Every `-o` writer against a link planted at its target (issue 14, item
//! 6): `descriptor -o`, `recipe instantiate -o`, `recipe create -o`,
//! `export -o` and `manifest -o DIR`. The file the link pointed to stays
//! unchanged; the output is a regular file (a real directory) with its
//! mode: 0600 for an instantiated kickstart holding `rootpw --iscrypted`
//! and for an export, 0644 otherwise.

use crate::util::CFT;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use testkit::cli::{write, Env};

const SITE: &str = "\
lang en_US.UTF-8
keyboard --vckeymap=us --xlayouts=us
timezone Etc/UTC --utc
rootpw --iscrypted $6$salt$hashhashhash
text
reboot
";

fn recorded() -> Env {
    let env = Env::new(CFT);
    write(
        &env.p("/etc/fstab"),
        "UUID=6f1c-root / ext4 errors=remount-ro 0 1\n",
    );
    env.begin("web", &[]);
    write(&env.p("/etc/motd"), "outputs test\n");
    env.finish("web");
    env
}

/// A "root-owned" file another user pointed a link at, and the link.
fn planted(env: &Env, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let victim = env.tmp.path().join(format!("{name}.victim"));
    fs::write(&victim, "precious\n").unwrap();
    let link = env.tmp.path().join(name);
    symlink(&victim, &link).unwrap();
    (victim, link)
}

fn assert_replaced(what: &str, victim: &Path, out: &Path, mode: u32) {
    assert_eq!(
        fs::read_to_string(victim).unwrap(),
        "precious\n",
        "{what}: written through the planted link"
    );
    let meta = fs::symlink_metadata(out).unwrap();
    assert!(meta.file_type().is_file(), "{what}: not a regular file");
    assert_eq!(meta.permissions().mode() & 0o7777, mode, "{what}: mode");
}

#[test]
fn o_does_not_write_through_a_planted_symlink() {
    let env = recorded();
    let (victim, out) = planted(&env, "descriptor.xml");
    env.ok([
        "descriptor".as_ref(),
        "web".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_replaced("descriptor -o", &victim, &out, 0o644);

    let (victim, out) = planted(&env, "partial.ks");
    env.ok([
        "descriptor".as_ref(),
        "web".as_ref(),
        "--kickstart".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_replaced("descriptor --kickstart -o", &victim, &out, 0o644);
    let partial = out;

    let site = env.tmp.path().join("site.ks");
    write(&site, SITE);
    let (victim, out) = planted(&env, "full.ks");
    env.ok([
        "recipe".as_ref(),
        "instantiate".as_ref(),
        partial.as_os_str(),
        "--site".as_ref(),
        site.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_replaced(
        "recipe instantiate -o (rootpw --iscrypted)",
        &victim,
        &out,
        0o600,
    );
    assert!(fs::read_to_string(&out)
        .unwrap()
        .contains("rootpw --iscrypted"));

    let (victim, out) = planted(&env, "web.tar.gz");
    env.ok([
        "recipe".as_ref(),
        "create".as_ref(),
        "web".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_replaced("recipe create -o", &victim, &out, 0o644);

    let (victim, out) = planted(&env, "web.cft");
    env.ok([
        "export".as_ref(),
        "web".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_replaced("export -o", &victim, &out, 0o600);
}

#[test]
fn manifest_o_does_not_write_through_a_planted_directory_link() {
    let env = recorded();
    let victim = env.tmp.path().join("victim");
    fs::create_dir(&victim).unwrap();
    let out = env.tmp.path().join("module");
    symlink(&victim, &out).unwrap();
    let run = env.run([
        "manifest".as_ref(),
        "web".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(1), "refused");
    assert!(
        testkit::cli::stderr(&run).contains("symbolic link"),
        "{}",
        testkit::cli::stderr(&run)
    );
    assert_eq!(
        fs::read_dir(&victim).unwrap().count(),
        0,
        "nothing written into the link's target"
    );
}
