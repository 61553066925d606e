//! `cft shim install` / `cft shim uninstall` with the real `cft` binary:
//! which links are made, what is left alone, what is removed.

use crate::util::CFT;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

fn cft(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(CFT).args(args).output().unwrap()
}

fn target(link: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_link(link).ok()
}

#[test]
fn install_links_the_tools_and_uninstall_removes_only_those_links() {
    let tmp = tempfile::tempdir().unwrap();
    let shim = tmp.path().join("bin/cft-shim");
    std::fs::create_dir_all(shim.parent().unwrap()).unwrap();
    std::fs::write(&shim, "").unwrap();
    let dir = tmp.path().join("shims");
    std::fs::create_dir(&dir).unwrap();
    // Not ours: a real file and a link elsewhere, named like wrapped tools.
    std::fs::write(dir.join("dpkg"), "mine").unwrap();
    symlink("/usr/bin/true", dir.join("rpm")).unwrap();
    std::fs::write(dir.join("notes"), "keep").unwrap();

    let out = cft(&[
        "shim".as_ref(),
        "install".as_ref(),
        dir.as_os_str(),
        "--shim".as_ref(),
        shim.as_os_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("18 tool(s)"), "{text}");
    assert!(
        text.contains("left alone (not links to cft-shim or cft): dpkg, rpm"),
        "{text}"
    );
    let shim = std::fs::canonicalize(&shim).unwrap();
    for t in ["apt-get", "systemctl", "update-rc.d", "useradd", "passwd"] {
        assert_eq!(target(&dir.join(t)), Some(shim.clone()), "{t}");
    }
    assert_eq!(std::fs::read(dir.join("dpkg")).unwrap(), b"mine");
    assert_eq!(
        target(&dir.join("rpm")).unwrap(),
        Path::new("/usr/bin/true")
    );

    // Again, with a chosen list: replaces its own links, idempotent.
    let out = cft(&[
        "shim".as_ref(),
        "install".as_ref(),
        dir.as_os_str(),
        "--tools".as_ref(),
        "apt-get,mytool".as_ref(),
        "--shim".as_ref(),
        shim.as_os_str(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(target(&dir.join("mytool")), Some(shim.clone()));

    let out = cft(&["shim".as_ref(), "uninstall".as_ref(), dir.as_os_str()]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed 19 link(s)"),
        "{out:?}"
    );
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["dpkg", "notes", "rpm"]);
}

#[test]
fn install_refuses_bad_tool_names_and_a_missing_shim() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shims");
    let out = cft(&[
        "shim".as_ref(),
        "install".as_ref(),
        dir.as_os_str(),
        "--shim".as_ref(),
        tmp.path().join("nope/cft-shim").as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope/cft-shim"),
        "{out:?}"
    );
    let shim = tmp.path().join("cft-shim");
    std::fs::write(&shim, "").unwrap();
    let out = cft(&[
        "shim".as_ref(),
        "install".as_ref(),
        dir.as_os_str(),
        "--tools".as_ref(),
        "../etc/passwd".as_ref(),
        "--shim".as_ref(),
        shim.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!dir.exists());
}
