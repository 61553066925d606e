//! Tier 2: the appliance outputs judged by the real validators: `xmllint
//! --relaxng schemas/virt-image.rng` for descriptors, `virt-xml-validate
//! ... domain` for libvirt domains and pykickstart's `ksvalidator` for the
//! partial kickstart; and the validators shown to reject broken output, so
//! a validator that passes everything cannot pass these tests.
//!
//! Kickstart check (decided by what ksvalidator 3.78 reports): ksvalidator
//! does not require lang/keyboard/timezone/rootpw, so the partial file
//! alone must validate with 0 errors, and so must the partial file with a
//! minimal site part appended (the way it is meant to be used).

use crate::appliance::{db_server, descriptor_cases, rpm_server, spec, OVERRIDES};
use crate::tools::{ksvalidator, project, validate};
use manifest_gen::descriptor::{self, Spec};
use manifest_gen::kickstart;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::tools::tool;

/// The site part of a kickstart, as a site would write it.
pub const SITE: &str = "lang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw --lock\n";

fn write_tmp(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
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

fn ks_valid(text: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(dir.path(), "partial.ks", text);
    // ksvalidator's exit status is its error count; warnings count too.
    validate(Command::new(ksvalidator()).arg(&f))
}

#[test]
fn descriptors_validate_against_the_virt_image_grammar() {
    for (name, cs, s) in descriptor_cases() {
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
    for (toml, _) in OVERRIDES {
        let xml = descriptor::descriptor(&db_server(), &spec(toml)).unwrap();
        relaxng(&xml).unwrap_or_else(|e| panic!("{toml}\n{e}"));
    }
    // A session recorded before filesystems were facts, given its root disk.
    let mut cs = db_server();
    cs.session.facts.filesystems.clear();
    let xml = descriptor::descriptor(&cs, &spec("[[disks]]\nmount = \"/\"\nsize = 4096")).unwrap();
    relaxng(&xml).unwrap_or_else(|e| panic!("{xml}\n{e}"));
}

#[test]
fn the_validators_do_reject_broken_output() {
    let xml = descriptor::descriptor(&db_server(), &Spec::default()).unwrap();
    // Each mutation must change the text, or the check proves nothing.
    let broken = |from: &str, to: &str| {
        let b = xml.replace(from, to);
        assert_ne!(b, xml, "{from} is not in the descriptor");
        b
    };
    assert!(relaxng(&broken("use=\"user\"", "use=\"data\"")).is_err());
    let memory = xml
        .split("<memory>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("a <memory> element");
    assert!(relaxng(&broken(&format!("<memory>{memory}<"), "<memory>100<")).is_err());
    let dom =
        descriptor::libvirt_domain(&db_server(), &Spec::default(), "vm", None, Path::new("/d"))
            .unwrap();
    assert!(libvirt_valid(
        &dom.replace("<vcpu>", "<vcpus>")
            .replace("</vcpu>", "</vcpus>")
    )
    .is_err());
    let ks = kickstart::partial(&db_server(), &Spec::default(), "pg", &[]).unwrap();
    assert!(ks_valid(&ks.replace("--size=", "--sise=")).is_err());
    assert!(ks_valid(&format!("{ks}bogus_command\n")).is_err());
}

#[test]
fn libvirt_domain_with_and_without_mac_validates() {
    for mac in [None, Some("52:54:00:00:00:01")] {
        let dom = descriptor::libvirt_domain(
            &db_server(),
            &Spec::default(),
            "pg & co",
            mac,
            Path::new("/var/lib/libvirt/images"),
        )
        .unwrap();
        libvirt_valid(&dom).unwrap_or_else(|e| panic!("{dom}\n{e}"));
    }
}

#[test]
fn partial_kickstart_validates_alone_and_with_a_site_part() {
    let mut fedora = db_server();
    fedora.session.facts.os_id = "fedora".into();
    for (name, cs) in [
        ("debian-recorded", db_server()),
        ("rpm-recorded", fedora),
        ("rpm repositories", rpm_server()),
    ] {
        let ks = kickstart::partial(&cs, &Spec::default(), "pg_server", &[]).unwrap();
        ks_valid(&ks).unwrap_or_else(|e| panic!("{name}: partial alone\n{ks}\n{e}"));
        ks_valid(&format!("{SITE}{ks}")).unwrap_or_else(|e| panic!("{name}: site + partial\n{e}"));
    }
}
