//! Files that feed a generated one: the command that remakes it reruns
//! when the module changes them (locale-gen, ldconfig...).

use super::*;
use crate::plan::outcome::{Regeneration, Regenerator};

#[test]
fn files_that_feed_a_generated_one_regenerate_it() {
    let mut blobs = HashMap::new();
    let mut case = Case::new(SystemChanges::default());
    case.changes = vec![
        file_change("/etc/locale.gen", &mut blobs),
        file_change("/etc/ld.so.conf.d/app.conf", &mut blobs),
        file_change("/etc/unrelated.conf", &mut blobs),
    ];
    let plan = case.run(&blobs);
    assert_eq!(
        plan.attrs_of("exec", "web locale-gen"),
        [
            "command=[/usr/sbin/locale-gen]",
            "refreshonly=true",
            "onlyif=[/usr/bin/test,-x,/usr/sbin/locale-gen]",
            "path=[/usr/local/sbin,/usr/local/bin,/usr/sbin,/usr/bin,/sbin,/bin]",
            "subscribe=File['/etc/locale.gen']",
        ]
    );
    assert_eq!(
        plan.attrs_of("exec", "web ldconfig").last().unwrap(),
        "subscribe=File['/etc/ld.so.conf.d/app.conf']"
    );
    assert_eq!(
        plan.catalog
            .resources
            .iter()
            .filter(|r| r.kind == "exec")
            .count(),
        2,
        "nothing feeds from /etc/unrelated.conf"
    );
}

#[test]
fn each_command_names_the_files_that_feed_it() {
    let mut blobs = HashMap::new();
    let mut case = Case::new(SystemChanges::default());
    case.changes = vec![
        file_change("/etc/ld.so.conf", &mut blobs),
        file_change("/etc/ld.so.conf.d/app.conf", &mut blobs),
        file_change("/usr/local/share/ca-certificates/site.crt", &mut blobs),
    ];
    let plan = case.run(&blobs);
    assert_eq!(
        plan.outcomes.files.regenerated,
        [
            Regeneration {
                by: Regenerator::Ldconfig,
                files: vec![
                    "/etc/ld.so.conf".into(),
                    "/etc/ld.so.conf.d/app.conf".into()
                ],
            },
            Regeneration {
                by: Regenerator::UpdateCaCertificates,
                files: vec!["/usr/local/share/ca-certificates/site.crt".into()],
            },
        ]
    );
}
