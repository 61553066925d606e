//! The appliance outputs of a recorded database server (root on
//! /dev/vda1, /var/lib/postgresql on /dev/vdb1, swap): golden snapshots of
//! the virt-image descriptor, the libvirt domain and the partial
//! kickstart; what each spec override changes; refusals that name the spec
//! key or the argument. `appliance_tools` (tier 2) judges the same outputs
//! with the real validators.

use manifest_gen::descriptor::{self, Spec};
use manifest_gen::kickstart;
use manifest_gen::{DomainArg, Error, Hint};
use recorder::model::ChangeSet;
use recorder::model::{FsFact, NetInterface};
use std::path::Path;

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
pub fn db_server() -> ChangeSet {
    let mut f = crate::common::Fixture::new("pg-server");
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

pub fn spec(toml: &str) -> Spec {
    Spec::parse(toml).expect("spec")
}

/// A descriptor with every override, and other shapes the grammar must
/// accept: (case, change set, spec).
pub fn descriptor_cases() -> Vec<(&'static str, ChangeSet, Spec)> {
    vec![
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
    ]
}

/// Spec overrides and what each puts in the descriptor.
pub const OVERRIDES: &[(&str, &str)] = &[
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

/// The change set of an rpm-family machine with four repositories: two
/// enabled with a location, one disabled, one without a location.
pub fn rpm_server() -> ChangeSet {
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
    cs
}

#[test]
fn golden_descriptor() {
    let xml = descriptor::descriptor(&db_server(), &Spec::default()).unwrap();
    crate::assert_golden("appliance__descriptor", &xml);
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
    crate::assert_golden("appliance__libvirt_domain", &xml);
}

#[test]
fn golden_partial_kickstart() {
    let ks = kickstart::partial(&db_server(), &Spec::default(), "pg_server", &[]).unwrap();
    crate::assert_golden("appliance__kickstart", &ks);
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
        kickstart::partial(&cs, &s, "pg", &[]).unwrap(),
        kickstart::partial(&cs, &s, "pg", &[]).unwrap()
    );
}

#[test]
fn every_descriptor_case_gives_a_descriptor_and_a_domain() {
    for (name, cs, s) in descriptor_cases() {
        let xml = descriptor::descriptor(&cs, &s).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(xml.contains("<image>"), "{name}: {xml}");
        let dom = descriptor::libvirt_domain(&cs, &s, "vm", None, Path::new("/srv/vm/"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(dom.contains("<domain type=\"kvm\">"), "{name}: {dom}");
    }
}

#[test]
fn libvirt_domain_has_a_mac_only_when_given_one() {
    for mac in [None, Some("52:54:00:00:00:01")] {
        let dom = descriptor::libvirt_domain(
            &db_server(),
            &Spec::default(),
            "pg & co",
            mac,
            Path::new("/var/lib/libvirt/images"),
        )
        .unwrap();
        assert_eq!(dom.contains("<mac "), mac.is_some(), "{dom}");
    }
}

#[test]
fn partial_kickstart_leaves_the_site_commands_to_the_site() {
    let mut rpm = db_server();
    rpm.session.facts.os_id = "fedora".into();
    for (name, cs) in [("debian-recorded", db_server()), ("rpm-recorded", rpm)] {
        let ks = kickstart::partial(&cs, &Spec::default(), "pg_server", &[]).unwrap();
        for l in ["lang ", "keyboard ", "timezone ", "rootpw ", "network "] {
            assert!(
                !ks.lines().any(|x| x.starts_with(l)),
                "{name}: site command {l}in partial"
            );
        }
    }
}

#[test]
fn valid_overrides_change_the_output() {
    let cs = db_server();
    let base = descriptor::descriptor(&cs, &Spec::default()).unwrap();
    for (toml, want) in OVERRIDES {
        let xml = descriptor::descriptor(&cs, &spec(toml)).unwrap();
        assert_ne!(xml, base, "{toml}");
        assert!(xml.contains(want), "{toml}: no {want:?} in\n{xml}");
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
        &[],
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
    let hint = descriptor::descriptor(&cs, &Spec::default())
        .unwrap_err()
        .hint();
    assert_eq!(hint, Some(Hint::Spec));
    assert!(descriptor::descriptor(&cs, &spec("arch = \"x86_64\"")).is_ok());

    // A session recorded before filesystems were facts: the root gets the
    // default system disk (see `debootstrapped_root_gets_defaults_and_says_so`).
    let mut cs = db_server();
    cs.session.facts.filesystems.clear();
    let xml = descriptor::descriptor(&cs, &spec("[[disks]]\nmount = \"/\"\nsize = 4096")).unwrap();
    assert!(xml.contains("size=\"4096\""), "{xml}");

    let err = kickstart::partial(&db_server(), &Spec::default(), "Bad-Name", &[])
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
    .unwrap_err();
    assert!(
        matches!(&err, Error::Domain { arg: DomainArg::Mac, value, .. } if value == "nope"),
        "{err}"
    );
    assert!(err.to_string().starts_with("MAC address 'nope': "), "{err}");
    let err =
        descriptor::libvirt_domain(&db_server(), &Spec::default(), "vm", None, Path::new("rel"))
            .unwrap_err();
    assert!(
        matches!(&err, Error::Domain { arg: DomainArg::DiskDir, value, .. } if value == "rel"),
        "{err}"
    );
}

/// An rpm-family machine: its enabled repositories become `repo` lines;
/// disabled ones and ones without a location do not.
#[test]
fn rpm_repositories_become_repo_lines() {
    let ks = kickstart::partial(&rpm_server(), &Spec::default(), "pg", &[]).unwrap();
    let repos: Vec<&str> = ks.lines().filter(|l| l.starts_with("repo ")).collect();
    assert_eq!(
        repos,
        [
            "repo --name=baseos --mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever",
            "repo --name=appstream --baseurl=https://dl.rockylinux.org/pub/rocky/$releasever/AppStream/$basearch/os/",
        ]
    );
}

/// Regression (issue 13, item 6): a debootstrapped root (`/etc/fstab` says
/// `UNCONFIGURED FSTAB`, so no filesystem is recorded) on a big host was
/// refused until an appliance.toml was written, and would have copied the
/// host's memory. Now: one system disk of the documented default size,
/// modest memory and vCPUs, and a note for each default.
#[test]
fn debootstrapped_root_gets_defaults_and_says_so() {
    let mut cs = db_server();
    cs.session.facts.filesystems.clear();
    cs.session.facts.memory_kib = 24 * 1024 * 1024;
    cs.session.facts.vcpus = 16;
    let a = descriptor::appliance(&cs, &Spec::default()).unwrap();
    assert_eq!(a.memory_kib, descriptor::DEFAULT_MEMORY_KIB);
    assert_eq!(a.vcpu, descriptor::DEFAULT_VCPU);
    assert_eq!(a.disks.len(), 1, "{:?}", a.disks);
    let root = &a.disks[0];
    assert_eq!(
        (
            root.mount.as_str(),
            root.use_,
            root.size_mb,
            root.fstype.as_str()
        ),
        ("/", descriptor::DiskUse::System, 4096, "ext4")
    );
    let notes = a.notes.join("\n");
    for want in [
        "4096 MiB",
        "not measured",
        "1024 MiB of memory",
        "24576 MiB",
        "2 vCPUs",
    ] {
        assert!(notes.contains(want), "no {want:?} in\n{notes}");
    }
    // The kickstart and the descriptor follow the same decision.
    let xml = descriptor::descriptor(&cs, &Spec::default()).unwrap();
    assert!(xml.contains("use=\"system\" size=\"4096\""), "{xml}");
    let ks = kickstart::partial(&cs, &Spec::default(), "pg", &[]).unwrap();
    assert!(
        ks.contains("part / --fstype=ext4 --size=3068 --grow --ondisk=vda"),
        "{ks}"
    );

    // The spec overrides every default, and then no note claims otherwise.
    let a = descriptor::appliance(
        &cs,
        &spec("vcpu = 1\nmemory_kib = \"512M\"\n[[disks]]\nmount = \"/\"\nsize = \"10GiB\"\n"),
    )
    .unwrap();
    assert_eq!(
        (a.vcpu, a.memory_kib, a.disks[0].size_mb),
        (1, 524_288, 10_240)
    );
    assert!(a.notes.is_empty(), "{:?}", a.notes);
}

/// A recorded root with its usage: the system disk is the usage plus
/// headroom, not the recording host's disk; data disks keep their size.
#[test]
fn system_disks_are_sized_from_their_usage() {
    let a = descriptor::appliance(&db_server(), &Spec::default()).unwrap();
    let sizes: Vec<(&str, u64)> = a
        .disks
        .iter()
        .map(|d| (d.mount.as_str(), d.size_mb))
        .collect();
    assert_eq!(
        sizes,
        [("/", 3840), ("/var/lib/postgresql", 20480), ("swap", 2048)]
    );
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("2560 MiB") && n.contains("10240 MiB")),
        "{:?}",
        a.notes
    );
    let cases = [(0, 1024), (100, 1280), (2560, 3840), (10_000, 15_104)];
    for (used, want) in cases {
        assert_eq!(descriptor::system_size_mb(used), want, "{used}");
    }
}

/// Sizes with units in the spec; plain integers keep their unit (MiB for a
/// disk, KiB for memory_kib); a bad size names its key.
#[test]
fn spec_sizes_take_units() {
    let cs = db_server();
    let cases = [
        (
            "[[disks]]\nmount = \"/srv\"\nsize = \"4G\"",
            "pg-server-srv.raw\" use=\"user\" size=\"4096\"",
        ),
        (
            "[[disks]]\nmount = \"/srv\"\nsize = \"512M\"",
            "size=\"512\"",
        ),
        ("[[disks]]\nmount = \"/srv\"\nsize = 300", "size=\"300\""),
        ("memory_kib = \"2G\"", "<memory>2097152</memory>"),
        ("memory_kib = 524288", "<memory>524288</memory>"),
    ];
    for (toml, want) in cases {
        let xml = descriptor::descriptor(&cs, &spec(toml)).unwrap();
        assert!(xml.contains(want), "{toml}: no {want:?} in\n{xml}");
    }
    for (toml, key) in [
        (
            "[[disks]]\nmount = \"/srv\"\nsize = \"1.5G\"",
            "disks[0].size",
        ),
        ("memory_kib = \"lots\"", "memory_kib"),
        ("memory_kib = \"1M\"", "memory_kib"),
    ] {
        let err = descriptor::descriptor(&cs, &spec(toml))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

/// The README's appliance spec example is complete and parses: every key
/// the spec has is in it, with the value the README shows.
#[test]
fn readme_spec_example_parses() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("### The appliance spec")
        .nth(1)
        .expect("README has a section 'The appliance spec'");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a ```toml block in that section");
    let s = Spec::parse(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
    use descriptor::{DiskSpec, Size};
    let want = Spec {
        name: Some("acme-web".into()),
        version: Some("1.0".into()),
        release: Some("1".into()),
        label: Some("Acme web front end".into()),
        description: Some("nginx and the site's configuration".into()),
        arch: Some("x86_64".into()),
        vcpu: Some(2),
        memory_kib: Some(Size::Text("2G".into())),
        features: Some(vec!["acpi".into(), "apic".into(), "pae".into()]),
        interfaces: Some(1),
        graphics: Some("vnc".into()),
        disks: vec![
            DiskSpec {
                mount: "/".into(),
                use_: Some("system".into()),
                size: Some(Size::Text("8G".into())),
                fstype: Some("ext4".into()),
            },
            DiskSpec {
                mount: "/srv".into(),
                use_: Some("user".into()),
                size: Some(Size::Text("20GiB".into())),
                fstype: Some("xfs".into()),
            },
            DiskSpec {
                mount: "swap".into(),
                use_: None,
                size: Some(Size::Plain(1024)),
                fstype: None,
            },
        ],
    };
    assert_eq!(s, want);
    // And it makes a valid appliance of any recording.
    let a = descriptor::appliance(&db_server(), &s).unwrap();
    assert_eq!((a.memory_kib, a.disks[0].size_mb), (2 * 1024 * 1024, 8192));
}
