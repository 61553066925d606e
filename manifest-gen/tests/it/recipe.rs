//! The recipe bundle from the library: a golden listing of what a fixed
//! change set's bundle holds (paths, modes, owners, sizes), byte-identical
//! rebuilds, private files kept 0600, checks that fail without their
//! validators, hostile archives refused before anything reaches the disk,
//! a symlink in the modulepath never followed, and the bundle's kickstart
//! merged with a site's. `recipe_tools` (tier 2) runs the real validators.

use crate::common;
use flate2::read::GzDecoder;
use manifest_gen::descriptor::Spec;
use manifest_gen::recipe::{self, InstallOutcome, Outcome, Tools};
use manifest_gen::ModuleOptions;
use recorder::model::ChangeSet;
use recorder::model::FsFact;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn fs(device: &str, mount: &str, fstype: &str, size: u64) -> FsFact {
    FsFact {
        device: device.into(),
        mount_point: mount.into(),
        fstype: fstype.into(),
        options: "defaults".into(),
        size_mb: Some(size),
        used_mb: None,
    }
}

/// A fixture with the machine facts an appliance needs.
pub fn appliance(f: &common::Fixture) -> ChangeSet {
    let mut cs = f.change_set();
    let facts = &mut cs.session.facts;
    facts.vcpus = 2;
    facts.memory_kib = 2_097_152;
    facts.cpu_flags = vec!["acpi".into(), "apic".into()];
    facts.filesystems = vec![
        fs("/dev/vda1", "/", "ext4", 10240),
        fs("/dev/vdb1", "/srv", "xfs", 20480),
        fs("/dev/vda2", "none", "swap", 1024),
    ];
    cs
}

pub fn build(f: &common::Fixture, opts: &ModuleOptions) -> recipe::Bundle {
    recipe::build(&appliance(f), &f.blobs, opts, &Spec::default()).expect("builds")
}

pub fn opts(name: &str) -> ModuleOptions {
    ModuleOptions::new(name)
}

/// `tar tv`-like lines read back from the bytes, plus the gzip header.
fn listing(bytes: &[u8]) -> String {
    let mut out = format!(
        "gzip: flags {:#04x}, mtime {}, os {}\n",
        bytes[3],
        u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        bytes[9]
    );
    let mut ar = tar::Archive::new(GzDecoder::new(bytes));
    for e in ar.entries().expect("entries") {
        let e = e.expect("entry");
        let h = e.header();
        let kind = if h.entry_type().is_dir() { 'd' } else { '-' };
        out.push_str(&format!(
            "{kind} {:04o} {}:{} {}/{} {} {:>5} {}\n",
            h.mode().expect("mode"),
            h.uid().expect("uid"),
            h.gid().expect("gid"),
            h.username().ok().flatten().unwrap_or("?"),
            h.groupname().ok().flatten().unwrap_or("?"),
            h.mtime().expect("mtime"),
            e.size(),
            String::from_utf8_lossy(&e.path_bytes()),
        ));
    }
    out
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn golden_bundle_listing() {
    let b = build(&common::basic(), &opts("web_setup"));
    assert_eq!(b.top, "web-setup");
    let text = listing(&b.bytes);
    assert!(
        text.lines().skip(1).all(|l| l.contains(" 1700000100 ")),
        "every mtime is the session's finish time:\n{text}"
    );
    crate::assert_golden("recipe__bundle_listing", &text);
}

#[test]
fn the_same_session_gives_byte_identical_bundles() {
    for f in [common::basic(), common::awkward(), common::secrets()] {
        let a = build(&f, &opts("m"));
        let b = recipe::build(
            &appliance(&f),
            &f.blobs.clone(),
            &opts("m"),
            &Spec::default(),
        )
        .expect("builds");
        assert!(a.bytes == b.bytes, "{}: bundles differ", f.name);
        assert_eq!(a.listing, b.listing, "{}", f.name);
    }
}

#[test]
fn private_files_stay_private() {
    let f = common::secrets();
    let mut o = opts("ssh");
    o.include_secrets = true;
    let b = build(&f, &o);
    assert!(b.private);
    let private: Vec<&str> = b
        .listing
        .iter()
        .filter(|l| l.mode == 0o600)
        .map(|l| l.path.as_str())
        .collect();
    assert_eq!(
        private,
        ["ssh/modules/ssh/files/etc/ssh/ssh_host_ed25519_key"],
        "{:#?}",
        b.listing
    );
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ssh.tar.gz");
    recipe::write_bundle(&b, &out).expect("writes");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a bundle holding secrets is written 0600");
    assert!(!build(&f, &opts("ssh")).private, "withheld by default");
}

#[test]
fn missing_validators_fail_except_puppet_which_is_skipped() {
    let b = build(&common::basic(), &opts("m"));
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "b.tar.gz", &b.bytes);
    let r = recipe::verify_with(&file, &Tools::default()).expect("verifies");
    let by = |prefix: &str| {
        r.checks
            .iter()
            .find(|c| c.name.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} check"))
    };
    assert_eq!(by("descriptor").outcome, Outcome::Fail);
    assert!(by("descriptor").detail.contains("libxml2-utils"));
    assert_eq!(by("kickstart").outcome, Outcome::Fail);
    assert!(by("kickstart").detail.contains("pykickstart"));
    let p = by("puppet parser validate");
    assert_eq!(p.outcome, Outcome::Skipped);
    assert!(
        p.detail.contains("skipped: puppet not found"),
        "{}",
        p.detail
    );
}

/// Path, type, size claimed in the header, link target.
type Raw<'a> = (&'a [u8], tar::EntryType, u64, &'a [u8]);

/// A gzip tar written header by header, so it can hold what the tar crate
/// would refuse to write (`..`, absolute paths).
fn hostile(entries: &[Raw]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    for (path, kind, size, link) in entries {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().expect("gnu").name[..path.len()].copy_from_slice(path);
        h.as_gnu_mut().expect("gnu").linkname[..link.len()].copy_from_slice(link);
        h.set_entry_type(*kind);
        h.set_mode(0o644);
        h.set_size(*size);
        h.set_cksum();
        let data = vec![b'x'; usize::try_from((*size).min(16)).unwrap()];
        t.append(&h, &data[..]).expect("append");
    }
    t.into_inner().expect("tar").finish().expect("gz")
}

#[test]
fn hostile_archives_are_refused_naming_the_entry() {
    use tar::EntryType::{Block, Char, Directory, Fifo, Link, Regular, Symlink};
    let top: Raw = (b"r/", Directory, 0, b"");
    let cases: Vec<(&str, Vec<Raw>, &str, &str)> = vec![
        (
            "absolute",
            vec![(b"/tmp/cft-evil", Regular, 4, b"")],
            "/tmp/cft-evil",
            "absolute",
        ),
        (
            "dot-dot",
            vec![top, (b"r/../cft-evil", Regular, 4, b"")],
            "r/../cft-evil",
            "'..'",
        ),
        (
            "symlink",
            vec![top, (b"r/l", Symlink, 0, b"/etc/passwd")],
            "r/l",
            "symbolic link",
        ),
        (
            "hard link",
            vec![top, (b"r/h", Link, 0, b"r/x")],
            "r/h",
            "hard link",
        ),
        (
            "char device",
            vec![top, (b"r/c", Char, 0, b"")],
            "r/c",
            "character device",
        ),
        (
            "block device",
            vec![top, (b"r/b", Block, 0, b"")],
            "r/b",
            "block device",
        ),
        ("fifo", vec![top, (b"r/f", Fifo, 0, b"")], "r/f", "fifo"),
        (
            "duplicate",
            vec![top, (b"r/a", Regular, 4, b""), (b"r/a", Regular, 4, b"")],
            "r/a",
            "twice",
        ),
        (
            "oversized",
            vec![top, (b"r/big", Regular, (256 << 20) + 1, b"")],
            "r/big",
            "limit",
        ),
        (
            "second top-level directory",
            vec![top, (b"s/x", Regular, 4, b"")],
            "s/x",
            "top-level",
        ),
        (
            "top-level file",
            vec![(b"r", Regular, 4, b"")],
            "'r'",
            "directory",
        ),
        (
            "non-UTF-8 name",
            vec![top, (b"r/\xff", Regular, 4, b"")],
            "r/",
            "UTF-8",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    for (name, entries, entry, reason) in cases {
        let file = write(tmp.path(), "bad.tar.gz", &hostile(&entries));
        let r = recipe::verify_with(&file, &Tools::default()).expect("verifies");
        assert_eq!(r.checks.len(), 1, "{name}: stops at the archive: {r:?}");
        let c = &r.checks[0];
        assert_eq!(
            (c.name.as_str(), c.outcome),
            ("archive", Outcome::Fail),
            "{name}"
        );
        assert!(c.detail.contains(entry), "{name}: {}", c.detail);
        assert!(c.detail.contains(reason), "{name}: {}", c.detail);

        let modules = tmp.path().join("modules");
        let err = recipe::install(&file, &modules, true).expect_err(name);
        assert!(err.to_string().contains(entry), "{name}: {err}");
        let left: Vec<_> = std::fs::read_dir(&modules).unwrap().collect();
        assert!(left.is_empty(), "{name}: nothing left in the modulepath");
    }
    assert!(!Path::new("/tmp/cft-evil").exists());
    let garbage = write(tmp.path(), "garbage.tar.gz", b"not a gzip stream at all");
    let r = recipe::verify_with(&garbage, &Tools::default()).expect("verifies");
    assert_eq!(r.checks[0].outcome, Outcome::Fail);
    assert!(
        r.checks[0].detail.contains("garbage.tar.gz"),
        "{:?}",
        r.checks
    );
}

#[test]
fn a_newer_version_replaces_an_older_one_and_never_the_reverse() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = |version: &str| {
        let mut o = opts("m");
        o.version = version.into();
        let b = build(&common::basic(), &o);
        write(tmp.path(), &format!("m-{version}.tar.gz"), &b.bytes)
    };
    let (v1, v2, v10) = (bundle("1.2.0"), bundle("1.10.0"), bundle("10.0.0"));
    let modules = tmp.path().join("modules");
    let meta = || std::fs::read_to_string(modules.join("m/metadata.json")).unwrap();
    assert_eq!(
        recipe::install(&v1, &modules, false).unwrap().outcome,
        InstallOutcome::Installed
    );
    // 1.10.0 > 1.2.0: versions compare as numbers, not text.
    assert_eq!(
        recipe::install(&v2, &modules, false).unwrap().outcome,
        InstallOutcome::Upgraded {
            from: "1.2.0".into(),
            to: "1.10.0".into()
        }
    );
    assert!(meta().contains("\"1.10.0\""), "{}", meta());
    let err = recipe::install(&v1, &modules, false).expect_err("no downgrade");
    assert!(
        err.to_string()
            .ends_with("(version 1.10.0; the bundle's is 1.2.0)"),
        "{err}"
    );
    assert!(meta().contains("\"1.10.0\""), "left alone");
    assert_eq!(
        recipe::install(&v10, &modules, false).unwrap().outcome,
        InstallOutcome::Upgraded {
            from: "1.10.0".into(),
            to: "10.0.0".into()
        }
    );
    assert_eq!(
        recipe::install(&v1, &modules, true).unwrap().outcome,
        InstallOutcome::Replaced,
        "--force downgrades"
    );
    // Another module of the same directory name is not an upgrade.
    let mut other = opts("m");
    other.version = "99.0.0".into();
    other.author = "someone".into();
    let b = build(&common::basic(), &other);
    let foreign = write(tmp.path(), "foreign.tar.gz", &b.bytes);
    assert!(recipe::install(&foreign, &modules, false).is_err());
}

#[test]
fn install_never_follows_a_symlink_in_the_modulepath() {
    let b = build(&common::basic(), &opts("m"));
    let tmp = tempfile::tempdir().unwrap();
    let file = write(tmp.path(), "b.tar.gz", &b.bytes);
    // The same module elsewhere, and a symlink to it where ours goes.
    let elsewhere = tmp.path().join("elsewhere");
    let first = recipe::install(&file, &elsewhere, false).expect("installs");
    assert_eq!(first.outcome, InstallOutcome::Installed);
    let modules = tmp.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("m"), modules.join("m")).unwrap();

    let err = recipe::install(&file, &modules, false).expect_err("a symlink is not the module");
    assert_eq!(err.hint(), Some(manifest_gen::Hint::Force), "{err}");
    assert!(
        err.to_string()
            .ends_with("/m already holds a different module (the bundle's version is 0.1.0)"),
        "{err}"
    );
    let done = recipe::install(&file, &modules, true).expect("forced");
    assert_eq!(done.outcome, InstallOutcome::Replaced);
    let meta = std::fs::symlink_metadata(modules.join("m")).unwrap();
    assert!(meta.is_dir(), "the symlink was replaced by the module");
    assert!(
        elsewhere.join("m/manifests/init.pp").is_file(),
        "the symlink's target is untouched"
    );
    let again = recipe::install(&file, &modules, false).expect("same content");
    assert_eq!(again.outcome, InstallOutcome::AlreadyInstalled);
    let names: Vec<String> = std::fs::read_dir(&modules)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["m"], "no temporary directory left behind");
}

/// The site kickstart the instantiation tests use.
pub const SITE_KS: &[u8] = b"lang en_US.UTF-8\nkeyboard --vckeymap=us --xlayouts=us\ntimezone Etc/UTC --utc\nrootpw --lock\nnetwork --bootproto=dhcp --device=link --activate\nreboot\n";

/// The bundle of the basic change set merged with [`SITE_KS`].
pub fn instantiated(dir: &Path) -> String {
    let b = build(&common::basic(), &opts("web_setup"));
    let file = write(dir, "b.tar.gz", &b.bytes);
    let site = write(dir, "site.ks", SITE_KS);
    recipe::instantiate(&file, &site, &recipe::Apply::Masterless).expect("instantiates")
}

#[test]
fn the_bundles_kickstart_instantiates_with_a_site_kickstart() {
    let tmp = tempfile::tempdir().unwrap();
    let full = instantiated(tmp.path());
    assert!(full.contains("include web_setup"), "{full}");
    assert!(full.contains("timezone Etc/UTC --utc\n"), "{full}");
}
