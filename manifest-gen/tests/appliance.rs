//! The appliance outputs: golden snapshots of the virt-image descriptor,
//! the libvirt domain and the partial kickstart of a recorded database
//! server (root on /dev/vda1, /var/lib/postgresql on /dev/vdb1, swap), and
//! the same outputs judged by the real validators: `xmllint --relaxng
//! schemas/virt-image.rng`, `virt-xml-validate ... domain` and pykickstart's
//! `ksvalidator`. A missing validator fails the test, naming
//! `scripts/setup-host.sh`.
//!
//! Kickstart check (decided by what ksvalidator 3.78 reports): ksvalidator
//! does not require lang/keyboard/timezone/rootpw, so the partial file
//! alone must validate with 0 errors, and so must the partial file with a
//! minimal site part appended (the way it is meant to be used).

mod common;

use manifest_gen::descriptor::{self, Spec};
use manifest_gen::kickstart;
use recorder::model::ChangeSet;
use recorder::model::{FsFact, NetInterface};
use std::path::{Path, PathBuf};
use std::process::Command;

const SETUP: &str = "run scripts/setup-host.sh as root (installs libxml2-utils, libvirt-clients and the pykickstart venv)";

fn fs(device: &str, mount: &str, fstype: &str, size: Option<u64>) -> FsFact {
    FsFact {
        device: device.into(),
        mount_point: mount.into(),
        fstype: fstype.into(),
        options: "defaults".into(),
        size_mb: size,
        used_mb: size.map(|s| s / 4),
    }
}

/// A PostgreSQL server: root on vda1, its data on vdb1, swap on vda2, plus
/// entries that need no disk (tmpfs /tmp, a bind mount, NFS).
fn db_server() -> ChangeSet {
    let mut f = common::Fixture::new("pg-server");
    f.description = Some("PostgreSQL 15 with a <separate> data disk & swap".into());
    f.created_file(
        b"/etc/postgresql/15/main/conf.d/cft.conf",
        b"listen_addresses = '*'\n",
        0o644,
    );
    let mut cs = f.change_set();
    let facts = &mut cs.session.facts;
    facts.vcpus = 2;
    facts.memory_kib = 2_097_152;
    facts.cpu_flags = vec!["apic".into(), "pae".into()];
    facts.interfaces = vec![NetInterface {
        name: "ens3".into(),
        mac: "52:54:00:12:34:56".into(),
        physical: true,
    }];
    facts.filesystems = vec![
        fs("/dev/vda1", "/", "ext4", Some(10240)),
        fs("/dev/vdb1", "/var/lib/postgresql", "ext4", Some(20480)),
        fs("/dev/vda2", "none", "swap", Some(2048)),
        fs("tmpfs", "/tmp", "tmpfs", None),
        FsFact {
            options: "bind".into(),
            ..fs("/srv/exports", "/export", "none", None)
        },
        fs("nas:/backup", "/mnt/backup", "nfs", None),
    ];
    cs
}

fn spec(toml: &str) -> Spec {
    Spec::parse(toml).expect("spec")
}

fn tool(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| panic!("{name} is missing: {SETUP}"))
}

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn write_tmp(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// Run a validator; Err(its output) unless it exits 0.
fn validate(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} ({e}): {SETUP}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{cmd:?} exited {}:\n{text}", out.status))
    }
}

fn relaxng(xml: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "appliance.xml", xml);
    validate(
        Command::new(tool("xmllint"))
            .arg("--noout")
            .arg("--relaxng")
            .arg(project().join("schemas/virt-image.rng"))
            .arg(&f),
    )
}

fn libvirt_valid(xml: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "domain.xml", xml);
    tool("xmllint"); // virt-xml-validate runs it
    validate(
        Command::new(tool("virt-xml-validate"))
            .arg(&f)
            .arg("domain"),
    )
}

fn ksvalidator(text: &str) -> Result<String, String> {
    let testbed = std::env::var_os("TESTBED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/cft-testbed"));
    let venv = testbed.join("venv-pykickstart/bin/ksvalidator");
    assert!(venv.is_file(), "{} is missing: {SETUP}", venv.display());
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "partial.ks", text);
    validate(
        Command::new(project().join("testbed/validate-kickstart.sh"))
            .env_remove("KS_VERSION")
            .arg(&f),
    )
}

const SITE: &str = "lang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw --lock\n";

#[test]
fn golden_descriptor() {
    let xml = descriptor::descriptor(&db_server(), &Spec::default()).unwrap();
    insta::assert_snapshot!("descriptor", xml);
}

#[test]
fn golden_libvirt_domain() {
    let xml = descriptor::libvirt_domain(
        &db_server(),
        &Spec::default(),
        "pg-server-01",
        Some("52:54:00:AB:CD:EF"),
        Path::new("/var/lib/libvirt/images/pg"),
    )
    .unwrap();
    insta::assert_snapshot!("libvirt_domain", xml);
}

#[test]
fn golden_partial_kickstart() {
    let ks = kickstart::partial(&db_server(), &Spec::default(), "pg_server").unwrap();
    insta::assert_snapshot!("kickstart", ks);
}

#[test]
fn outputs_are_deterministic() {
    let cs = db_server();
    let s = Spec::default();
    assert_eq!(
        descriptor::descriptor(&cs, &s).unwrap(),
        descriptor::descriptor(&cs, &s).unwrap()
    );
    assert_eq!(
        kickstart::partial(&cs, &s, "pg").unwrap(),
        kickstart::partial(&cs, &s, "pg").unwrap()
    );
}

#[test]
fn descriptors_validate_against_the_virt_image_grammar() {
    let cases = [
        ("recorded, separate data filesystem", db_server(), Spec::default()),
        (
            "every override",
            db_server(),
            spec(
                r#"
                name = "acme/pg:15"
                version = "1.2"
                release = "3"
                label = "Acme's <PostgreSQL> & friends"
                description = "quotes \" and ' and control \u0001"
                arch = "i686"
                vcpu = 4
                memory_kib = 4000
                features = ["apic", "acpi"]
                interfaces = 3
                graphics = "spice"
                [[disks]]
                mount = "/var/lib/postgresql"
                size = 102400
                [[disks]]
                mount = "/srv"
                use = "user"
                size = 1
                "#,
            ),
        ),
        ("no interface, no features", db_server(), spec("interfaces = 0\nfeatures = []\n")),
        ("five disks: SCSI names", db_server(), spec(
            "[[disks]]\nmount = \"/a\"\n[[disks]]\nmount = \"/b\"\n[[disks]]\nmount = \"/tmp\"\n",
        )),
        ("xen paravirt", {
            let mut cs = db_server();
            cs.session.facts.xen_pv = true;
            cs
        }, Spec::default()),
    ];
    for (name, cs, s) in cases {
        let xml = descriptor::descriptor(&cs, &s).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = relaxng(&xml) {
            panic!("{name}: invalid descriptor\n{xml}\n{e}");
        }
        let dom = descriptor::libvirt_domain(&cs, &s, "vm", None, Path::new("/srv/vm/"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Err(e) = libvirt_valid(&dom) {
            panic!("{name}: invalid domain\n{dom}\n{e}");
        }
    }
}

#[test]
fn the_validators_do_reject_broken_output() {
    // Guards against a validator that passes everything.
    let xml = descriptor::descriptor(&db_server(), &Spec::default()).unwrap();
    assert!(relaxng(&xml.replace("use=\"user\"", "use=\"data\"")).is_err());
    assert!(relaxng(&xml.replace("<memory>2097152", "<memory>100")).is_err());
    let dom =
        descriptor::libvirt_domain(&db_server(), &Spec::default(), "vm", None, Path::new("/d"))
            .unwrap();
    assert!(libvirt_valid(
        &dom.replace("<vcpu>", "<vcpus>")
            .replace("</vcpu>", "</vcpus>")
    )
    .is_err());
    let ks = kickstart::partial(&db_server(), &Spec::default(), "pg").unwrap();
    assert!(ksvalidator(&ks.replace("--size=", "--sise=")).is_err());
    assert!(ksvalidator(&format!("{ks}bogus_command\n")).is_err());
}

#[test]
fn libvirt_domain_with_and_without_mac_validates() {
    let cs = db_server();
    for mac in [None, Some("52:54:00:00:00:01")] {
        let dom = descriptor::libvirt_domain(
            &cs,
            &Spec::default(),
            "pg & co",
            mac,
            Path::new("/var/lib/libvirt/images"),
        )
        .unwrap();
        assert_eq!(dom.contains("<mac "), mac.is_some(), "{dom}");
        libvirt_valid(&dom).unwrap_or_else(|e| panic!("{dom}\n{e}"));
    }
}

#[test]
fn partial_kickstart_validates_alone_and_with_a_site_part() {
    for (name, cs) in [
        ("debian-recorded", db_server()),
        ("rpm-recorded", {
            let mut cs = db_server();
            cs.session.facts.os_id = "fedora".into();
            cs
        }),
    ] {
        let ks = kickstart::partial(&cs, &Spec::default(), "pg_server").unwrap();
        for l in ["lang ", "keyboard ", "timezone ", "rootpw ", "network "] {
            assert!(
                !ks.lines().any(|x| x.starts_with(l)),
                "{name}: site command {l}in partial"
            );
        }
        ksvalidator(&ks).unwrap_or_else(|e| panic!("{name}: partial alone\n{ks}\n{e}"));
        ksvalidator(&format!("{SITE}{ks}"))
            .unwrap_or_else(|e| panic!("{name}: site + partial\n{e}"));
    }
}

#[test]
fn valid_overrides_change_the_output() {
    let cs = db_server();
    let base = descriptor::descriptor(&cs, &Spec::default()).unwrap();
    let cases = [
        ("memory_kib = 524288", "<memory>524288</memory>"),
        ("vcpu = 8", "<vcpu>8</vcpu>"),
        ("name = \"db\"", "<name>db</name>"),
        (
            "version = \"2.0\"\nrelease = \"1\"",
            "<name version=\"2.0\" release=\"1\">",
        ),
        ("arch = \"ppc\"", "<arch>ppc</arch>"),
        (
            "features = [\"acpi\"]",
            "<features>\n          <acpi/>\n        </features>",
        ),
        (
            "interfaces = 2",
            "<interface/>\n      <interface/>\n      <graphics/>",
        ),
        (
            "[[disks]]\nmount = \"swap\"\nsize = 512",
            "file=\"pg-server-swap.raw\" use=\"scratch\" size=\"512\"",
        ),
        (
            "[[disks]]\nmount = \"/var/lib/postgresql\"\nuse = \"system\"",
            "file=\"pg-server-var_lib_postgresql.raw\" use=\"system\"",
        ),
    ];
    for (toml, want) in cases {
        let xml = descriptor::descriptor(&cs, &spec(toml)).unwrap();
        assert_ne!(xml, base, "{toml}");
        assert!(xml.contains(want), "{toml}: no {want:?} in\n{xml}");
        relaxng(&xml).unwrap_or_else(|e| panic!("{toml}\n{e}"));
    }
    let dom = descriptor::libvirt_domain(
        &cs,
        &spec("graphics = \"spice\""),
        "vm",
        None,
        Path::new("/d"),
    )
    .unwrap();
    assert!(dom.contains("<graphics type=\"spice\"/>"), "{dom}");
    let ks = kickstart::partial(
        &cs,
        &spec("[[disks]]\nmount = \"/\"\nsize = 40960\nfstype = \"xfs\""),
        "pg",
    )
    .unwrap();
    assert!(
        ks.contains("part / --fstype=xfs --size=39932 --grow --ondisk=vda"),
        "{ks}"
    );
}

#[test]
fn invalid_overrides_are_refused_naming_the_key() {
    let cs = db_server();
    let cases = [
        ("memory_kib = 3999", "memory_kib"),
        ("name = \"bad name!\"", "name"),
        ("version = \"v1\"", "version"),
        ("release = \"1-2-3\"", "release"),
        ("arch = \"aarch64\"", "arch"),
        ("vcpu = 0", "vcpu"),
        ("vcpu = 70000", "vcpu"),
        ("features = [\"sse2\"]", "features"),
        ("graphics = \"sdl\"", "graphics"),
        (
            "[[disks]]\nmount = \"/var/lib/postgresql\"\nuse = \"data\"",
            "disks[0].use",
        ),
        ("[[disks]]\nmount = \"srv\"", "disks[0].mount"),
        ("[[disks]]\nmount = \"/x\"\nsize = 0", "disks[0].size"),
        ("[[disks]]\nmount = \"/\"\nuse = \"user\"", "disks"),
        ("memroy_kib = 8192", "memroy_kib"),
        ("vcpu = \"two\"", "vcpu"),
    ];
    for (toml, key) in cases {
        let err = Spec::parse(toml)
            .and_then(|s| descriptor::descriptor(&cs, &s))
            .expect_err(toml)
            .to_string();
        assert!(err.contains(key), "{toml}: {err:?} does not name {key}");
    }
}

#[test]
fn unmappable_arch_and_missing_root_are_explained() {
    let mut cs = db_server();
    cs.session.facts.arch = "aarch64".into();
    let err = descriptor::descriptor(&cs, &Spec::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'aarch64'") && err.contains("`arch`"), "{err}");
    assert!(descriptor::descriptor(&cs, &spec("arch = \"x86_64\"")).is_ok());

    // A session recorded before filesystems were facts.
    let mut cs = db_server();
    cs.session.facts.filesystems.clear();
    let err = descriptor::descriptor(&cs, &Spec::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("disks") && err.contains("no system disk"),
        "{err}"
    );
    let xml = descriptor::descriptor(&cs, &spec("[[disks]]\nmount = \"/\"\nsize = 4096")).unwrap();
    relaxng(&xml).unwrap();

    let err = kickstart::partial(&db_server(), &Spec::default(), "Bad-Name")
        .unwrap_err()
        .to_string();
    assert!(err.contains("'Bad-Name'"), "{err}");
    let err = descriptor::libvirt_domain(
        &db_server(),
        &Spec::default(),
        "vm",
        Some("nope"),
        Path::new("/d"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--mac"), "{err}");
    let err =
        descriptor::libvirt_domain(&db_server(), &Spec::default(), "vm", None, Path::new("rel"))
            .unwrap_err()
            .to_string();
    assert!(err.contains("--disk-dir"), "{err}");
}

/// An rpm-family machine: its enabled repositories become `repo` lines
/// (disabled ones and ones without a location do not), and the partial
/// kickstart still validates.
#[test]
fn rpm_repositories_become_repo_lines() {
    use recorder::model::RepoFact;
    let mut cs = db_server();
    cs.session.facts.os_id = "rocky".into();
    cs.session.facts.os_version_id = "9.4".into();
    cs.system.family = Some(recorder::model::PackageFamily::Rpm);
    let repo = |id: &str, base: Option<&str>, mirror: Option<&str>, enabled| RepoFact {
        id: id.into(),
        name: format!("{id} repository"),
        baseurl: base.map(String::from),
        mirrorlist: mirror.map(String::from),
        metalink: None,
        enabled,
    };
    cs.session.facts.repos = vec![
        repo(
            "baseos",
            None,
            Some(
                "https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever",
            ),
            true,
        ),
        repo(
            "appstream",
            Some("https://dl.rockylinux.org/pub/rocky/$releasever/AppStream/$basearch/os/"),
            None,
            true,
        ),
        repo(
            "devel",
            Some("https://dl.rockylinux.org/devel/"),
            None,
            false,
        ),
        repo("nowhere", None, None, true),
    ];
    let ks = kickstart::partial(&cs, &Spec::default(), "pg").unwrap();
    let repos: Vec<&str> = ks.lines().filter(|l| l.starts_with("repo ")).collect();
    assert_eq!(
        repos,
        [
            "repo --name=baseos --mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever",
            "repo --name=appstream --baseurl=https://dl.rockylinux.org/pub/rocky/$releasever/AppStream/$basearch/os/",
        ]
    );
    if let Err(e) = ksvalidator(&ks) {
        panic!("invalid kickstart\n{ks}\n{e}");
    }
}
