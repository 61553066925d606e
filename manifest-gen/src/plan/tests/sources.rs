//! Package sources: their own class, and the exec refreshing the package
//! index (apt, dnf or yum, by package family and release) when one changes.

use super::*;
use recorder::model::PackageFamily;

#[test]
fn sources_refresh_the_package_index() {
    let mut blobs = HashMap::new();
    let list = file_change("/etc/apt/sources.list.d/nginx.list", &mut blobs);
    let key = file_change("/etc/apt/keyrings/nginx.gpg", &mut blobs);
    let repo = file_change("/etc/yum.repos.d/epel.repo", &mut blobs);
    let conf = file_change("/etc/nginx/nginx.conf", &mut blobs);
    type SourceCase = (
        &'static str,
        Vec<Change>,
        Option<PackageFamily>,
        (&'static str, &'static str),
        Option<&'static str>,
    );
    let cases: Vec<SourceCase> = vec![
        (
            "dpkg",
            vec![list.clone(), key.clone(), conf.clone()],
            Some(PackageFamily::Dpkg),
            ("debian", "12"),
            Some("/usr/bin/apt-get update"),
        ),
        (
            "rpm",
            vec![repo.clone()],
            Some(PackageFamily::Rpm),
            ("fedora", "40"),
            Some("/usr/bin/dnf makecache"),
        ),
        (
            "el7",
            vec![repo.clone()],
            Some(PackageFamily::Rpm),
            ("centos", "7"),
            Some("/usr/bin/yum makecache"),
        ),
        (
            "no database, apt paths",
            vec![list.clone()],
            None,
            ("", ""),
            Some("/usr/bin/apt-get update"),
        ),
        (
            "no database, yum paths",
            vec![repo.clone()],
            None,
            ("", ""),
            Some("/usr/bin/dnf makecache"),
        ),
        (
            "no source changed",
            vec![conf.clone()],
            Some(PackageFamily::Dpkg),
            ("debian", "12"),
            None,
        ),
    ];
    for (name, changes, family, os, command) in cases {
        let mut case = Case::new(SystemChanges {
            family,
            ..Default::default()
        });
        case.changes = changes;
        case.os = os;
        let plan = case.run(&blobs);
        let Some(command) = command else {
            assert!(!plan.catalog.has_part(Part::Sources), "{name}");
            assert_eq!(plan.outcomes.packages.index_refresh, None, "{name}");
            continue;
        };
        let sources: Vec<String> = plan
            .catalog
            .resources
            .iter()
            .filter(|r| r.part == Part::Sources && r.kind == "file")
            .map(|r| format!("File['{}']", r.title))
            .collect();
        let title = plan
            .outcomes
            .packages
            .index_refresh
            .clone()
            .expect("an exec");
        assert!(title.starts_with("web "), "{name}: {title}");
        assert_eq!(
            plan.attrs_of("exec", &title),
            [
                format!("command='{command}'"),
                "refreshonly=true".to_string(),
                format!("subscribe={}", sources.join(",")),
            ],
            "{name}"
        );
        assert!(
            !plan
                .titles(Part::Files)
                .iter()
                .any(|t| t.contains("/etc/apt/")),
            "{name}"
        );
    }
}
