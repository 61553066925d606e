//! Golden tests: one readable snapshot per scenario (the manifests,
//! README.md and the list of shipped files), plus the properties a
//! snapshot cannot show at a glance (determinism, exact bytes, no leaked
//! secret).

use crate::common::{self, Fixture};
use manifest_gen::{generate, Error, ExecProblem, Hint, Module, ModuleOptions};

fn module(f: &Fixture, include_secrets: bool) -> Module {
    generate(&f.change_set(), &f.blobs, &f.options(include_secrets)).expect("generate")
}

/// The module as one text: whole files for the manifests (init.pp first),
/// README (and metadata when asked), the templates, then the `files/` tree
/// with sizes. A
/// carriage return is shown as `␍` so the snapshot stays a plain text file.
fn snapshot_text(m: &Module, with_metadata: bool) -> String {
    let text = |rel: &str| {
        String::from_utf8(m.files[rel].bytes().unwrap().to_vec())
            .expect("UTF-8")
            .replace('\r', "␍")
    };
    let mut out = String::new();
    // The parts in the order Puppet applies them.
    let mut shown: Vec<&str> = [
        "init", "sources", "packages", "accounts", "files", "services", "commands",
    ]
    .iter()
    .map(|part| format!("manifests/{part}.pp"))
    .filter_map(|rel| m.files.get_key_value(&rel).map(|(k, _)| k.as_str()))
    .collect();
    shown.push("README.md");
    if with_metadata {
        shown.insert(0, "metadata.json");
    }
    shown.extend(
        m.files
            .keys()
            .filter(|k| k.starts_with("templates/"))
            .map(String::as_str),
    );
    for rel in shown {
        out.push_str(&format!("===== {rel}\n{}", text(rel)));
    }
    out.push_str("===== files/\n");
    for (rel, bytes) in m.files.iter().filter(|(k, _)| k.starts_with("files/")) {
        out.push_str(&format!("{rel} ({} bytes)\n", bytes.len()));
    }
    out
}

#[test]
fn e_commands_replayed_at_their_place() {
    let m = module(&common::commands(), false);
    crate::assert_golden("golden__e_commands", &snapshot_text(&m, false));
}

/// A refused command names the argument; what to do about it is a hint
/// (the binary names its own flags), never part of the message.
#[test]
fn exec_errors_name_the_argument() {
    let f = common::commands();
    let cases = [
        (
            "99",
            Some((
                ExecProblem::NoSuchCommand { id: 99 },
                Some(Hint::ListCommands),
            )),
        ),
        ("4:creates=/x", None),
        ("3", None),
    ];
    for (arg, want) in cases {
        let mut opts = f.options(false);
        opts.execs = vec![manifest_gen::ExecSpec::parse(arg).unwrap()];
        let got = generate(&f.change_set(), &f.blobs, &opts);
        match (want, got) {
            (None, Ok(_)) => {}
            (None, Err(e)) => panic!("{arg}: {e}"),
            (Some(want), Ok(_)) => panic!("{arg} should fail with {want:?}"),
            (Some((problem, hint)), Err(e)) => {
                assert_eq!(e.hint(), hint, "{e}");
                let shown = e.to_string();
                assert!(
                    matches!(&e, Error::Exec { arg: a, problem: p } if a == arg && *p == problem),
                    "{shown}"
                );
                assert!(
                    shown.starts_with(&format!("command to replay '{arg}': ")),
                    "{shown}"
                );
            }
        }
    }
    // A password on the command line stays out unless secrets are asked for.
    let mut g = common::commands();
    let mut secret = g.why.intents[3].clone();
    secret.id = 11;
    secret.argv = vec![b"mysql -uroot -pS3cret app < /root/schema.sql".to_vec()];
    secret.start_ns += 90_000_000_000;
    g.why.intents.push(secret);
    let mut opts = g.options(false);
    opts.execs = vec![manifest_gen::ExecSpec::parse("11:creates=/srv/x").unwrap()];
    let e = generate(&g.change_set(), &g.blobs, &opts).unwrap_err();
    assert_eq!(e.hint(), Some(Hint::IncludeSecrets), "{e}");
    let e = e.to_string();
    assert!(
        e.contains("'11:creates=/srv/x'") && e.contains("password"),
        "{e}"
    );
    let readme = String::from_utf8(
        module(&g, false).files["README.md"]
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        readme.contains("-p***") && !readme.contains("S3cret"),
        "{readme}"
    );
    opts.include_secrets = true;
    let m = generate(&g.change_set(), &g.blobs, &opts).expect("asked for");
    assert!(
        String::from_utf8_lossy(m.files["manifests/commands.pp"].bytes().unwrap())
            .contains("-pS3cret")
    );
    // Unguarded, with nothing recorded before it to trigger it once.
    let mut opts = f.options(false);
    opts.execs = vec![manifest_gen::ExecSpec::parse("1").unwrap()];
    let e = generate(&f.change_set(), &f.blobs, &opts).unwrap_err();
    assert_eq!(e.hint(), Some(Hint::ExecGuard), "{e}");
    assert!(e.to_string().contains("without a guard"), "{e}");
}

#[test]
fn a_basic_changes() {
    let m = module(&common::basic(), false);
    crate::assert_golden("golden__a_basic", &snapshot_text(&m, true));
    assert_eq!(m.report.resources, 6);
    assert!(m.report.skipped.is_empty(), "{:?}", m.report.skipped);
}

#[test]
fn b_awkward_names_and_contents() {
    let f = common::awkward();
    let m = module(&f, false);
    crate::assert_golden("golden__b_awkward", &snapshot_text(&m, false));

    // Content is shipped byte for byte, whatever it holds.
    let cs = f.change_set();
    for c in &cs.changes {
        let Some(hash) = c.after.as_ref().and_then(|a| a.hash) else {
            continue;
        };
        let Some(blob) = f.blobs.get(&hash) else {
            continue;
        };
        let Ok(path) = std::str::from_utf8(&c.path) else {
            continue;
        };
        let rel = manifest_gen::puppet::files_relpath(&c.path);
        assert_eq!(
            m.files
                .get(&format!("files/{rel}"))
                .and_then(manifest_gen::Body::bytes),
            Some(blob.as_slice()),
            "{path}"
        );
    }
    let skipped: Vec<&str> = m.report.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["/etc/awk/fifo", "/etc/awk/\\xff\\xfe"]);
    assert_eq!(m.report.incomplete.len(), 1, "the uncaptured file");
}

#[test]
fn c_secret_withheld() {
    let m = module(&common::secrets(), false);
    crate::assert_golden("golden__c_secret_withheld", &snapshot_text(&m, false));
    for (rel, bytes) in &m.files {
        let bytes = bytes.bytes().expect("held");
        assert!(
            !bytes.windows(8).any(|w| w == &common::SECRET[..8])
                && !bytes.windows(8).any(|w| w == b"c2VjcmV0"),
            "secret leaked into {rel}"
        );
    }
    let names: Vec<&str> = m
        .report
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["etc_ssh_ssh_host_ed25519_key_content"]);
}

#[test]
fn c_secret_included() {
    let m = module(&common::secrets(), true);
    crate::assert_golden("golden__c_secret_included", &snapshot_text(&m, false));
    assert!(m.report.parameters.is_empty());
    assert_eq!(
        m.files
            .get("files/etc/ssh/ssh_host_ed25519_key")
            .and_then(manifest_gen::Body::bytes),
        Some(common::SECRET)
    );
}

#[test]
fn d_system_secrets_withheld() {
    let m = module(&common::system(), false);
    crate::assert_golden("golden__d_system_withheld", &snapshot_text(&m, false));
    for (rel, bytes) in &m.files {
        let bytes = bytes.bytes().expect("held");
        assert!(
            !bytes
                .windows(common::ALICE_HASH.len())
                .any(|w| w == common::ALICE_HASH.as_bytes()),
            "the password hash leaked into {rel}"
        );
    }
    let params: Vec<(&str, &str)> = m
        .report
        .parameters
        .iter()
        .map(|p| (p.name.as_str(), p.path.as_str()))
        .collect();
    assert_eq!(params, [("alice_password", "user alice")]);
    assert!(m.private.is_empty());
    assert!(
        !m.files
            .keys()
            .any(|k| k.contains("passwd") || k.contains("index.html")),
        "no file of another origin is shipped: {:?}",
        m.files.keys()
    );
    let skipped: Vec<&str> = m.report.skipped.iter().map(|s| s.path.as_str()).collect();
    assert!(skipped.is_empty(), "{skipped:?}");
}

/// With secrets included only the accounts class changes: the hash is
/// embedded as Sensitive, and that manifest is written owner-only.
#[test]
fn d_system_secrets_included() {
    let f = common::system();
    let m = module(&f, true);
    let accounts = String::from_utf8(m.files["manifests/accounts.pp"].bytes().unwrap().to_vec())
        .expect("UTF-8");
    crate::assert_golden("golden__d_system_included_accounts", &accounts);
    assert!(m.report.parameters.is_empty());
    assert_eq!(
        m.private.iter().map(String::as_str).collect::<Vec<_>>(),
        ["manifests/accounts.pp"]
    );
    let withheld = module(&f, false);
    for rel in [
        "manifests/packages.pp",
        "manifests/files.pp",
        "manifests/services.pp",
    ] {
        assert_eq!(m.files[rel], withheld.files[rel], "{rel}");
    }
}

#[test]
fn d_system_pinned_versions() {
    let f = common::system();
    let opts = ModuleOptions {
        pin_versions: true,
        ..ModuleOptions::new("web")
    };
    let m = generate(&f.change_set(), &f.blobs, &opts).expect("generate");
    let pp = String::from_utf8(m.files["manifests/packages.pp"].bytes().unwrap().to_vec())
        .expect("UTF-8");
    assert!(pp.contains("ensure => '1.26.2-1~bookworm',"), "{pp}");
    assert!(pp.contains("ensure => '7.88.1-10+deb12u8',"), "{pp}");
    assert!(pp.contains("ensure => purged,"), "{pp}");
    let readme = String::from_utf8(m.files["README.md"].bytes().unwrap().to_vec()).expect("UTF-8");
    assert!(!readme.contains("version pinning"), "no unpinned note");
}

#[test]
fn e_site_parameters() {
    let f = common::site();
    let opts = ModuleOptions {
        params: common::site_params(),
        ..ModuleOptions::new("mail")
    };
    let m = generate(&f.change_set(), &f.blobs, &opts).expect("generate");
    crate::assert_golden("golden__e_site_params", &snapshot_text(&m, false));
    assert!(m.report.parameters.is_empty(), "nothing is mandatory");
    let site: Vec<(&str, &str, Vec<&str>)> = m
        .report
        .site_parameters
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.default.as_str(),
                p.paths.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        site,
        [
            (
                "mailhub",
                "smtp.example.com",
                vec!["/etc/app/app.ini", "/etc/app/mail.conf"]
            ),
            ("smtp_port", "2525", vec!["/etc/app/app.ini"]),
        ]
    );
    let templated: Vec<&str> = m
        .files
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("templates/") || k.starts_with("files/"))
        .collect();
    assert_eq!(
        templated,
        [
            "files/etc/app/motd",
            "templates/etc/app/app.ini.epp",
            "templates/etc/app/mail.conf.epp"
        ],
        "only files with a parameter are templates"
    );
    // The same arguments in another order give the same module.
    let mut reversed = opts.clone();
    reversed.params.reverse();
    assert_eq!(
        generate(&f.change_set(), &f.blobs, &reversed).expect("generate"),
        m
    );
}

/// Mandatory secrets come before parameters with defaults, in the main
/// class and in the part (puppet-lint's `parameter_order`).
#[test]
fn site_parameters_follow_mandatory_ones() {
    let f = common::secrets();
    let opts = ModuleOptions {
        params: vec![manifest_gen::SiteParam::parse(
            "root_login=/etc/ssh/sshd_config.d/cft.conf:no",
        )
        .expect("valid")],
        ..ModuleOptions::new("ssh")
    };
    let m = generate(&f.change_set(), &f.blobs, &opts).expect("generate");
    for rel in ["manifests/init.pp", "manifests/files.pp"] {
        let pp = String::from_utf8(m.files[rel].bytes().unwrap().to_vec()).expect("UTF-8");
        let secret = pp
            .find("  Sensitive[String] $etc_ssh_ssh_host_ed25519_key_content,\n")
            .unwrap_or_else(|| panic!("{rel}: {pp}"));
        let site = pp
            .find("  String $root_login = 'no',\n")
            .unwrap_or_else(|| panic!("{rel}: {pp}"));
        assert!(secret < site, "{rel}: {pp}");
    }
    let init =
        String::from_utf8(m.files["manifests/init.pp"].bytes().unwrap().to_vec()).expect("UTF-8");
    assert!(
        init.contains(
            "  class { 'ssh::files':\n    etc_ssh_ssh_host_ed25519_key_content => $etc_ssh_ssh_host_ed25519_key_content,\n    root_login                           => $root_login,\n  }\n  contain ssh::files\n"
        ),
        "{init}"
    );
}

#[test]
fn site_parameter_errors_reach_the_caller() {
    let f = common::site();
    let cases = [
        (
            vec![
                "mailhub=/etc/app/mail.conf:smtp.example.com",
                "mailhub=/etc/app/app.ini:2525",
            ],
            "also given the value",
        ),
        (
            vec!["mailhub=/etc/app/missing.conf:smtp.example.com"],
            "not among the files the session changed",
        ),
    ];
    for (args, want) in cases {
        let opts = ModuleOptions {
            params: args
                .iter()
                .map(|a| manifest_gen::SiteParam::parse(a).expect("valid"))
                .collect(),
            ..ModuleOptions::new("mail")
        };
        let err = generate(&f.change_set(), &f.blobs, &opts)
            .expect_err(want)
            .to_string();
        assert!(err.contains(want), "{err}");
    }
}

#[test]
fn files_only_module_has_init_and_files_classes() {
    let m = module(&common::basic(), false);
    let manifests: Vec<&str> = m
        .files
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("manifests/"))
        .collect();
    assert_eq!(manifests, ["manifests/files.pp", "manifests/init.pp"]);
}

#[test]
fn output_is_deterministic() {
    let system = || {
        let mut f = common::system();
        f.system.packages.reverse();
        f.system.users.reverse();
        f.system.groups.reverse();
        f.system.services.reverse();
        f
    };
    for (f, g) in [
        (common::basic(), common::basic()),
        (common::awkward(), common::awkward()),
        (common::secrets(), common::secrets()),
        (common::system(), system()),
    ] {
        let first = module(&f, false);
        // Input order must not matter either.
        let mut reversed = Fixture::new(&g.name);
        reversed.description = g.description.clone();
        reversed.changes = g.changes.iter().rev().cloned().collect();
        reversed.notices = g.notices.clone();
        reversed.blobs = g.blobs.clone();
        reversed.system = g.system.clone();
        let opts = ModuleOptions::new(manifest_gen::default_module_name(&f.name));
        let cs = {
            let mut cs = reversed.change_set();
            cs.changes.reverse();
            cs
        };
        let second = generate(&cs, &reversed.blobs, &opts).expect("generate");
        assert_eq!(first, second, "{}", f.name);
    }
}

#[test]
fn carriage_return_switches_to_one_class_wide_lint_block() {
    let m = module(&common::carriage_return(), false);
    let pp =
        String::from_utf8(m.files["manifests/files.pp"].bytes().unwrap().to_vec()).expect("UTF-8");
    assert_eq!(pp.matches("lint:ignore:140chars").count(), 1, "{pp}");
    assert!(
        pp.contains("lint:ignore:single_quote_string_with_variables"),
        "{pp}"
    );
}

#[test]
fn metadata_without_os_facts_omits_support() {
    let f = common::basic();
    let mut cs = f.change_set();
    cs.session.facts.os_id.clear();
    let m = generate(&cs, &f.blobs, &ModuleOptions::new("web")).expect("generate");
    let meta: serde_json::Value =
        serde_json::from_slice(m.files["metadata.json"].bytes().unwrap()).expect("JSON");
    assert!(meta.get("operatingsystem_support").is_none());
    assert_eq!(meta["name"], "cft-web");
}

#[test]
fn bad_options_are_refused_with_the_value_named() {
    let f = common::basic();
    let cs = f.change_set();
    let err = generate(&cs, &f.blobs, &ModuleOptions::new("Web")).expect_err("bad name");
    assert!(err.to_string().contains("'Web'"), "{err}");
    let opts = ModuleOptions {
        author: "me-too".into(),
        ..ModuleOptions::new("web")
    };
    let err = generate(&cs, &f.blobs, &opts).expect_err("bad author");
    assert!(err.to_string().contains("'me-too'"), "{err}");
}
