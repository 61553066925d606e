//! The generated modules judged by the real tools: `puppet parser validate`,
//! `puppet epp validate` (templates), `puppet-lint --fail-on-warnings`,
//! `puppet parser dump`, which shows
//! that every title and string Puppet reads back is exactly the recorded
//! path or value, and a catalog compiled by Puppet's own compiler (`puppet
//! catalog find --terminus compiler`: every reference resolves, the
//! parameters are accepted, the classes are chained; nothing is applied).
//! Tier 2: a missing tool fails the test with the set-up command.

use crate::common::{self, Fixture};
use crate::tools::{assert_ok, isolate, run};
use manifest_gen::{generate, write_module, ModuleOptions};
use recorder::model::Origin;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

/// Puppet's reading of the manifests, via `puppet parser dump --format
/// json`: every resource, every `attribute => 'string'` pair and every
/// variable read.
#[derive(Default)]
struct Parsed {
    /// Titles of `file` resources.
    titles: Vec<String>,
    /// `(type, title)` of every resource.
    resources: Vec<(String, String)>,
    strings: Vec<(String, String)>,
    vars: Vec<String>,
    /// The type of the resource expression being walked.
    current_type: String,
}

fn walk(v: &Value, p: &mut Parsed) {
    match v {
        Value::Array(items) => {
            // `{"#": ["type", {"^": ["qn", T]}, "bodies", [...]]}` is a
            // resource expression; `{"#": ["title", T, "ops", ...]}` one of
            // its bodies; `{"^": ["=>", attr, value]}` one attribute;
            // `{"^": ["var", name]}` a variable.
            for pair in items.windows(2) {
                if pair[0] == "type" {
                    if let Some(t) = pair[1]
                        .get("^")
                        .and_then(|q| q.get(1))
                        .and_then(Value::as_str)
                    {
                        p.current_type = t.to_string();
                    }
                }
                if pair[0] == "title" {
                    if let Some(t) = pair[1].as_str() {
                        if p.current_type == "file" {
                            p.titles.push(t.to_string());
                        }
                        p.resources.push((p.current_type.clone(), t.to_string()));
                    }
                }
            }
            if items.len() == 3 && items[0] == "=>" {
                if let (Some(k), Some(s)) = (items[1].as_str(), items[2].as_str()) {
                    p.strings.push((k.to_string(), s.to_string()));
                }
            }
            if items.len() == 2 && items[0] == "var" {
                if let Some(name) = items[1].as_str() {
                    p.vars.push(name.to_string());
                }
            }
            items.iter().for_each(|i| walk(i, p));
        }
        Value::Object(map) => map.values().for_each(|i| walk(i, p)),
        _ => {}
    }
}

/// What the tools made of a module.
struct Judged {
    parsed: Parsed,
    /// The compiled catalog (Puppet's JSON catalog format).
    catalog: Value,
    /// The class declaration that compiled it.
    declaration: String,
    module: manifest_gen::Module,
    /// Holds the module (`<dir>/<name>`), next to which others can go.
    dir: tempfile::TempDir,
}

/// Compile the catalog of `site` (Puppet code) with the modules in
/// `modulepath`, as a server would, without applying anything. Unknown
/// variables and deprecations are errors.
fn compile(modulepath: &Path, site: &str) -> Value {
    compile_with(modulepath, site, &[])
}

/// [`compile`] with more options for Puppet (`--hiera_config`...).
fn compile_with(modulepath: &Path, site: &str, extra: &[String]) -> Value {
    let file = modulepath.join("site.pp");
    std::fs::write(&file, site).expect("site.pp");
    let mut args: Vec<String> = ["catalog", "find", "cft-test", "--terminus", "compiler"]
        .map(String::from)
        .to_vec();
    args.extend(["--manifest".into(), file.to_str().expect("UTF-8").into()]);
    args.extend([
        "--modulepath".into(),
        modulepath.to_str().expect("UTF-8").into(),
    ]);
    args.extend(
        [
            "--strict_variables",
            "--strict",
            "error",
            "--render-as",
            "json",
        ]
        .map(String::from),
    );
    args.extend(isolate(modulepath));
    args.extend(extra.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(modulepath, "puppet", &args);
    assert_ok(&format!("puppet catalog find (compile) of:\n{site}"), &out);
    last_json(&out)
}

/// The value given to every mandatory parameter when compiling.
const PARAM_VALUE: &str = "cft-test-value";

/// The last line of `out` that is a JSON object: Facter may log before it.
fn last_json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON in puppet's output:\n{text}"));
    serde_json::from_str(line).expect("puppet's JSON")
}

/// Generate `f`'s module, write it into a directory named like the module
/// (Puppet and puppet-lint's autoloader check need that), and judge it.
fn check(f: &Fixture, include_secrets: bool) -> Judged {
    check_with(f, &f.options(include_secrets))
}

fn check_with(f: &Fixture, opts: &ModuleOptions) -> Judged {
    let name = opts.module_name.clone();
    let module = generate(&f.change_set(), &f.blobs, opts).expect("generate");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join(&name);
    write_module(&module, &f.blobs, &dir).expect("write");
    let isolate = isolate(tmp.path());
    let isolate: Vec<&str> = isolate.iter().map(String::as_str).collect();
    let manifests: Vec<&str> = module
        .files
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("manifests/"))
        .collect();
    assert!(manifests.contains(&"manifests/init.pp"), "{manifests:?}");

    let mut args = vec!["parser", "validate"];
    args.extend(&isolate);
    args.extend(&manifests);
    assert_ok("puppet parser validate", &run(&dir, "puppet", &args));

    let templates: Vec<&str> = module
        .files
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("templates/"))
        .collect();
    if !templates.is_empty() {
        let mut args = vec!["epp", "validate"];
        args.extend(&isolate);
        args.extend(&templates);
        assert_ok("puppet epp validate", &run(&dir, "puppet", &args));
    }

    assert_ok(
        "puppet-lint",
        &run(
            &dir,
            "puppet-lint",
            &["--fail-on-warnings", "--with-filename", "--relative", "."],
        ),
    );

    let mut parsed = Parsed::default();
    for manifest in &manifests {
        let mut args = vec!["parser", "dump", "--format", "json"];
        args.extend(&isolate);
        args.push(manifest);
        let out = run(&dir, "puppet", &args);
        assert_ok("puppet parser dump", &out);
        walk(&last_json(&out), &mut parsed);
    }

    // What puppet-check.sh checks too: every source has its file.
    let prefix = format!("puppet:///modules/{name}/");
    for (attr, value) in &parsed.strings {
        if attr == "source" {
            let rel = value
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("foreign source {value}"));
            assert!(dir.join("files").join(rel).is_file(), "missing files/{rel}");
        }
    }

    // Declare the class the way the README says, every parameter supplied.
    let params: Vec<String> = module
        .report
        .parameters
        .iter()
        .map(|p| {
            let value = if p.puppet_type == "Sensitive[Binary]" {
                "Sensitive(Binary('eA=='))".to_string()
            } else {
                format!("Sensitive('{PARAM_VALUE}')")
            };
            format!("  {} => {value},\n", p.name)
        })
        .collect();
    let declaration = format!("class {{ '{name}':\n{}}}\n", params.concat());
    let catalog = compile(tmp.path(), &declaration);
    Judged {
        parsed,
        catalog,
        declaration,
        module,
        dir: tmp,
    }
}

/// The catalog's resource `Type[title]` (type as Puppet capitalises it).
fn resource<'c>(catalog: &'c Value, kind: &str, title: &str) -> &'c Value {
    catalog["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["type"] == kind && r["title"] == title)
        .unwrap_or_else(|| panic!("no {kind}[{title}] in the catalog"))
}

/// A relationship parameter as a list, whether Puppet wrote one or many.
fn refs(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Puppet reads back exactly the recorded paths (all those that are UTF-8).
fn assert_titles(f: &Fixture, parsed: &Parsed, skipped: &[&[u8]]) {
    let mut want: Vec<String> = f
        .changes
        .iter()
        .filter(|c| c.origin == Origin::Admin && !skipped.contains(&c.path.as_slice()))
        .map(|c| String::from_utf8(c.path.clone()).expect("UTF-8 path"))
        .collect();
    want.sort();
    let mut got = parsed.titles.clone();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn basic_module_passes_puppet_and_lint() {
    let f = common::basic();
    let parsed = check(&f, false).parsed;
    assert_titles(&f, &parsed, &[]);
}

#[test]
fn awkward_module_passes_puppet_and_lint_and_round_trips() {
    let f = common::awkward();
    let parsed = check(&f, false).parsed;
    assert_titles(&f, &parsed, &[b"/etc/awk/fifo", b"/etc/awk/\xff\xfe"]);
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/new\nline"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/tab\there"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/it's"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/back\\slash"));
    assert!(parsed.titles.iter().any(|t| t == "/etc/awk/${x}"));
    let target = parsed
        .strings
        .iter()
        .find(|(k, _)| k == "target")
        .map(|(_, v)| v.as_str());
    assert_eq!(target, Some("it's $target"));
}

#[test]
fn secret_modules_pass_puppet_and_lint() {
    let f = common::secrets();
    for include in [false, true] {
        let parsed = check(&f, include).parsed;
        assert_titles(&f, &parsed, &[]);
    }
}

#[test]
fn carriage_return_module_passes_lint() {
    let f = common::carriage_return();
    let parsed = check(&f, false).parsed;
    assert_titles(&f, &parsed, &[]);
    let target = parsed
        .strings
        .iter()
        .find(|(k, _)| k == "target")
        .map(|(_, v)| v.as_str());
    assert_eq!(target, Some("x\ry"));
}

#[test]
fn system_module_compiles_with_its_order_and_relationships() {
    let f = common::system();
    for include in [false, true] {
        let Judged {
            parsed, catalog, ..
        } = check(&f, include);
        assert_titles(&f, &parsed, &[]);

        let other: BTreeSet<String> = parsed
            .resources
            .iter()
            .filter(|(kind, _)| kind != "file")
            .map(|(kind, title)| format!("{kind}[{title}]"))
            .collect();
        let mut want: BTreeSet<String> = [
            "exec[web apt-get update]",
            "package[cowsay]",
            "package[curl]",
            "package[nginx]",
            "package[telnet]",
            "group[web]",
            "user[alice]",
            "user[bob]",
            "user[games]",
            "service[app]",
            "service[debug-shell]",
            "service[e2scrub_reap]",
            "service[nginx]",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        if !include {
            // Declared with the password it takes from class web.
            want.insert("class[web::accounts]".into());
        }
        assert_eq!(other, want, "include_secrets={include}");

        // The parts are ordered by relationships Puppet enforces.
        let chain = ["Sources", "Packages", "Accounts", "Files", "Services"];
        for pair in chain.windows(2) {
            let class = resource(&catalog, "Class", &format!("Web::{}", pair[0]));
            assert_eq!(
                refs(&class["parameters"]["before"]),
                [format!("Class[Web::{}]", pair[1])],
                "{} before {}",
                pair[0],
                pair[1]
            );
        }
        let exec = resource(&catalog, "Exec", "web apt-get update");
        assert_eq!(exec["parameters"]["command"], "/usr/bin/apt-get update");
        assert_eq!(exec["parameters"]["refreshonly"], true);
        assert_eq!(
            refs(&exec["parameters"]["subscribe"]),
            [
                "File[/etc/apt/keyrings/nginx.gpg]",
                "File[/etc/apt/sources.list.d/nginx.list]"
            ]
        );
        let conf = resource(&catalog, "File", "/etc/nginx/nginx.conf");
        assert_eq!(refs(&conf["parameters"]["require"]), ["Package[nginx]"]);
        let nginx = resource(&catalog, "Service", "nginx");
        assert_eq!(
            refs(&nginx["parameters"]["subscribe"]),
            ["File[/etc/nginx/nginx.conf]"]
        );
        assert_eq!(
            resource(&catalog, "Service", "debug-shell")["parameters"]["enable"],
            "mask"
        );

        // alice: her group by name, and her password, sensitive either way.
        let alice = resource(&catalog, "User", "alice");
        assert_eq!(alice["parameters"]["gid"], "web");
        assert_eq!(refs(&alice["parameters"]["require"]), ["Group[web]"]);
        assert_eq!(alice["parameters"]["managehome"], true);
        assert!(
            refs(&alice["sensitive_parameters"]).contains(&"password".to_string()),
            "{alice}"
        );
        let (password, param_vars) = if include {
            (common::ALICE_HASH, 0)
        } else {
            // Passed on by class web, read by web::accounts.
            (PARAM_VALUE, 2)
        };
        assert_eq!(alice["parameters"]["password"], password);
        assert_eq!(
            parsed
                .vars
                .iter()
                .filter(|v| *v == "alice_password")
                .count(),
            param_vars
        );
        if !include {
            assert!(
                !parsed
                    .strings
                    .iter()
                    .any(|(_, s)| s.contains(common::ALICE_HASH)),
                "the hash leaked"
            );
        }
    }
}

/// Replayed commands: valid and lint-clean, guarded, and ordered between
/// the resources of the commands recorded before and after them.
#[test]
fn replayed_commands_compile_in_their_place() {
    let Judged { catalog, .. } = check(&common::commands(), false);
    let createdb = resource(&catalog, "Exec", "cft command #4: createdb app");
    let p = &createdb["parameters"];
    assert_eq!(p["command"], "createdb app");
    assert_eq!(p["creates"], "/var/lib/postgresql/15/main/base/app");
    assert_eq!(
        refs(&p["require"]),
        [
            "Package[curl]",
            "Package[nginx]",
            "File[/etc/nginx/nginx.conf]"
        ]
    );
    assert_eq!(refs(&p["before"]), ["Service[app]", "Service[nginx]"]);
    let psql = resource(
        &catalog,
        "Exec",
        "cft command #10: psql -f /root/schema.sql app",
    );
    assert_eq!(psql["parameters"]["refreshonly"], true);
    assert!(psql["parameters"].get("creates").is_none());
    assert_eq!(refs(&psql["parameters"]["subscribe"]).len(), 6);
}

/// The code blocks of `lang` in a README, list indentation removed.
fn readme_blocks(module: &manifest_gen::Module, lang: &str) -> Vec<String> {
    let readme =
        String::from_utf8(module.files["README.md"].bytes().unwrap().to_vec()).expect("UTF-8");
    readme
        .split(&format!("```{lang}\n"))
        .skip(1)
        .map(|b| {
            let code = b.split("```").next().expect("a closed block");
            code.lines()
                .map(|l| l.strip_prefix("  ").unwrap_or(l))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect()
}

/// The recorded content of `path` in `f`.
fn recorded(f: &Fixture, path: &str) -> String {
    let change = f
        .changes
        .iter()
        .find(|c| c.path == path.as_bytes())
        .unwrap_or_else(|| panic!("no change of {path}"));
    let hash = change.after.as_ref().and_then(|a| a.hash).expect("content");
    String::from_utf8(f.blobs[&hash].clone()).expect("UTF-8")
}

/// The `content` Puppet compiled for the file `title`.
fn content<'c>(catalog: &'c Value, title: &str) -> &'c str {
    resource(catalog, "File", title)["parameters"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("File[{title}] has no content"))
}

/// A Hiera (v5) configuration in `dir` whose one level holds `data`.
fn hiera(dir: &Path, data: &str) -> Vec<String> {
    let datadir = dir.join("hieradata");
    std::fs::create_dir_all(&datadir).expect("mkdir");
    std::fs::write(datadir.join("common.yaml"), format!("---\n{data}\n")).expect("data");
    let config = dir.join("hiera.yaml");
    std::fs::write(
        &config,
        format!(
            "---\nversion: 5\nhierarchy:\n  - name: common\n    datadir: {}\n    path: common.yaml\n",
            datadir.display()
        ),
    )
    .expect("hiera.yaml");
    vec!["--hiera_config".into(), config.display().to_string()]
}

/// The README's ways to override a part compile as documented: a collector
/// next to the class, and a class of one's own replacing `web::files`
/// (declaring the files other parts refer to) while the kept parts get
/// their parameters: the password passed in the example, a site value of
/// `web::sources` from Hiera under the key the README names.
#[test]
fn readme_override_examples_compile() {
    let opts = ModuleOptions {
        params: vec![manifest_gen::SiteParam::parse(
            "mirror=/etc/apt/sources.list.d/nginx.list:nginx.org",
        )
        .expect("valid")],
        ..ModuleOptions::new("web")
    };
    let f = common::system();
    let judged = check_with(&f, &opts);
    let blocks = readme_blocks(&judged.module, "puppet");
    let collector = blocks
        .iter()
        .find(|b| b.contains("File <|"))
        .expect("collector example")
        .replace("/etc/example.conf", "/etc/nginx/nginx.conf")
        .replace(
            "modules/mysite/example.conf",
            "modules/web/etc/nginx/nginx.conf",
        );
    let catalog = compile(
        judged.dir.path(),
        &format!("{}{collector}\n", judged.declaration),
    );
    let conf = resource(&catalog, "File", "/etc/nginx/nginx.conf");
    assert_eq!(
        conf["parameters"]["source"],
        "puppet:///modules/web/etc/nginx/nginx.conf"
    );

    let replace = blocks
        .iter()
        .find(|b| b.starts_with("class mysite::web"))
        .expect("replacement example");
    let mysite = judged.dir.path().join("mysite/manifests");
    std::fs::create_dir_all(&mysite).expect("mkdir");
    std::fs::write(mysite.join("web.pp"), replace).expect("web.pp");
    let files: Vec<String> = judged
        .parsed
        .resources
        .iter()
        .filter(|(kind, title)| kind == "file" && !title.starts_with("/etc/apt/"))
        .map(|(_, title)| format!("  file {{ '{title}': ensure => file }}\n"))
        .collect();
    std::fs::write(
        mysite.join("files.pp"),
        format!("class mysite::files {{\n{}}}\n", files.concat()),
    )
    .expect("files.pp");
    let readme = String::from_utf8(judged.module.files["README.md"].bytes().unwrap().to_vec())
        .expect("UTF-8");
    assert!(readme.contains("`web::sources::mirror`"), "{readme}");
    let hiera = hiera(
        judged.dir.path(),
        "web::sources::mirror: 'mirror.site.test'",
    );
    let catalog = compile_with(judged.dir.path(), "include mysite::web\n", &hiera);
    let packages = resource(&catalog, "Class", "Web::Packages");
    assert_eq!(
        refs(&packages["parameters"]["before"]),
        ["Class[Web::Accounts]"]
    );
    let accounts = resource(&catalog, "Class", "Web::Accounts");
    assert_eq!(
        refs(&accounts["parameters"]["before"]),
        ["Class[Mysite::Files]"]
    );
    let alice = resource(&catalog, "User", "alice");
    assert_eq!(alice["parameters"]["password"], "$6$...");
    let list = "/etc/apt/sources.list.d/nginx.list";
    assert_eq!(
        content(&catalog, list),
        recorded(&f, list).replace("nginx.org", "mirror.site.test")
    );
}

/// A module with site parameters: its templates pass `puppet epp
/// validate`, and Puppet's compiler renders the recorded content exactly
/// by default, and the site's value everywhere the literal was when it
/// comes from a class declaration, from Hiera (both as the README shows),
/// or is given to the part alone, as a site's own class would.
#[test]
fn site_parameters_compile_to_recorded_and_site_values() {
    let f = common::site();
    let opts = ModuleOptions {
        params: common::site_params(),
        ..ModuleOptions::new("mail")
    };
    let judged = check_with(&f, &opts);
    let dir = judged.dir.path();
    let templated = ["/etc/app/app.ini", "/etc/app/mail.conf"];
    for path in templated {
        assert_eq!(content(&judged.catalog, path), recorded(&f, path), "{path}");
    }
    let motd = resource(&judged.catalog, "File", "/etc/app/motd");
    assert_eq!(
        motd["parameters"]["source"], "puppet:///modules/mail/etc/app/motd",
        "a file without a parameter keeps its source"
    );
    let with = |path: &str, hub: &str, port: &str| {
        recorded(&f, path)
            .replace("smtp.example.com", hub)
            .replace("2525", port)
    };

    let declaration = readme_blocks(&judged.module, "puppet")
        .into_iter()
        .find(|b| b.starts_with("class { 'mail':"))
        .expect("declaration example")
        .replacen("'...'", "'mail.site.test'", 1)
        .replacen("'...'", "'25'", 1);
    let catalog = compile(dir, &declaration);
    for path in templated {
        assert_eq!(content(&catalog, path), with(path, "mail.site.test", "25"));
    }

    let data = readme_blocks(&judged.module, "yaml")
        .into_iter()
        .next()
        .expect("Hiera example")
        .replacen("'...'", "'mail.hiera.test'", 1)
        .replacen("'...'", "'2526'", 1);
    let catalog = compile_with(dir, "include mail\n", &hiera(dir, &data));
    for path in templated {
        assert_eq!(
            content(&catalog, path),
            with(path, "mail.hiera.test", "2526")
        );
    }

    let catalog = compile(
        dir,
        "class { 'mail::files': mailhub => 'part.site.test' }\n",
    );
    for path in templated {
        assert_eq!(
            content(&catalog, path),
            with(path, "part.site.test", "2525")
        );
    }
}

/// Defaults that puppet-lint would warn about (`${`, a line past 140
/// characters) or that need escaping (a quote, a backslash) still pass
/// lint and compile back to the recorded text.
#[test]
fn awkward_site_defaults_pass_lint_and_compile_exactly() {
    let long = "x".repeat(150);
    let mut f = Fixture::new("awk");
    let text = format!("home=${{HOME}}/x\nlong={long}\nquote=it's a \\ here\n");
    f.created_file(b"/etc/awk.conf", text.as_bytes(), 0o644);
    let params = [
        "home=/etc/awk.conf:${HOME}/x".to_string(),
        format!("long=/etc/awk.conf:{long}"),
        "quote=/etc/awk.conf:it's a \\ here".to_string(),
    ];
    let opts = ModuleOptions {
        params: params
            .iter()
            .map(|a| manifest_gen::SiteParam::parse(a).expect("valid"))
            .collect(),
        ..ModuleOptions::new("awk")
    };
    let judged = check_with(&f, &opts);
    assert_eq!(content(&judged.catalog, "/etc/awk.conf"), text);
    let init = String::from_utf8(
        judged.module.files["manifests/init.pp"]
            .bytes()
            .unwrap()
            .to_vec(),
    )
    .expect("UTF-8");
    assert!(
        init.contains(
            "  String $home = '${HOME}/x', # lint:ignore:single_quote_string_with_variables\n"
        ),
        "{init}"
    );
    assert!(init.contains("x', # lint:ignore:140chars\n"), "{init}");
    assert!(
        init.contains("  String $quote = 'it\\'s a \\\\ here',\n"),
        "{init}"
    );
}
