//! `cft manifest --param`: a bad argument is a usage error naming it, a
//! parameter the session cannot honour fails naming it, and a good one
//! turns the file into a template and is announced. Temporary `--root`
//! trees, the real binary.

use crate::util::CFT;
use testkit::cli::{stderr, write, Env};

fn recorded() -> Env {
    let env = Env::new(CFT);
    env.begin("mail", &[]);
    std::fs::create_dir_all(env.p("/etc/app")).unwrap();
    write(
        &env.p("/etc/app/mail.conf"),
        "relay smtp.example.com\n<% kept %>\nfallback smtp.example.com:25\n",
    );
    write(&env.p("/etc/app/other.conf"), "plain\n");
    env.finish("mail");
    env
}

#[test]
fn param_makes_a_template_and_is_announced() {
    let env = recorded();
    let out_dir = env.tmp.path().join("mail");
    let out = env.ok([
        "manifest",
        "mail",
        "-o",
        out_dir.to_str().unwrap(),
        "--param",
        "mailhub=/etc/app/mail.conf:*:smtp.example.com",
    ]);
    assert!(
        out.contains("site parameter $mailhub (default 'smtp.example.com'): /etc/app/mail.conf (2 occurrences, lines 1, 3)"),
        "{out}"
    );
    assert!(!out.contains("must be supplied"), "{out}");
    let template =
        std::fs::read_to_string(out_dir.join("templates/etc/app/mail.conf.epp")).unwrap();
    assert_eq!(
        template,
        "<%- | String $mailhub | -%>\nrelay <%= $mailhub %>\n<%% kept %>\nfallback <%= $mailhub %>:25\n"
    );
    assert!(!out_dir.join("files/etc/app/mail.conf").exists());
    assert!(out_dir.join("files/etc/app/other.conf").exists());
    let init = std::fs::read_to_string(out_dir.join("manifests/init.pp")).unwrap();
    assert!(
        init.contains("String $mailhub = 'smtp.example.com',"),
        "{init}"
    );

    // Without the parameter the template goes: no stale templates/.
    env.ok(["manifest", "mail", "-o", out_dir.to_str().unwrap()]);
    assert!(!out_dir.join("templates").exists());
    assert!(out_dir.join("files/etc/app/mail.conf").exists());
}

#[test]
fn malformed_param_is_a_usage_error_naming_it() {
    let env = recorded();
    let out_dir = env.tmp.path().join("m");
    let cases = [
        ("mailhub", "expected NAME=PATH:LITERAL"),
        ("mailhub=/etc/app/mail.conf", "no ':' after the path"),
        (
            "Mail=/etc/app/mail.conf:smtp",
            "cannot name a class parameter",
        ),
        ("mailhub=/etc/app/mail.conf:", "is empty"),
    ];
    for (arg, want) in cases {
        let out = env.run([
            "manifest",
            "mail",
            "-o",
            out_dir.to_str().unwrap(),
            "--param",
            arg,
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{arg}: {err}");
        assert!(err.contains("--param"), "{arg}: names the flag: {err}");
        assert!(
            err.contains(&format!("'{arg}'")),
            "{arg}: names the value: {err}"
        );
        assert!(err.contains(want), "{arg}: {err}");
        assert!(!out_dir.exists(), "{arg}: nothing written");
    }
}

#[test]
fn param_the_session_cannot_honour_fails_naming_it() {
    let env = recorded();
    let out_dir = env.tmp.path().join("m");
    let cases = [
        (
            "mailhub=/etc/app/mail.conf:mail.example.org",
            "'mail.example.org' does not occur in the recorded content of /etc/app/mail.conf",
        ),
        (
            "mailhub=/etc/app/nothere.conf:smtp",
            "/etc/app/nothere.conf is not among the files the session changed",
        ),
    ];
    for (arg, want) in cases {
        let out = env.run([
            "manifest",
            "mail",
            "-o",
            out_dir.to_str().unwrap(),
            "--param",
            arg,
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{arg}: {err}");
        assert!(
            err.contains(&format!("site parameter '{arg}'")),
            "{arg}: {err}"
        );
        assert!(err.contains(want), "{arg}: {err}");
        assert!(!out_dir.exists(), "{arg}: nothing written");
    }
    let out = env.run([
        "manifest",
        "mail",
        "-o",
        out_dir.to_str().unwrap(),
        "--param",
        "mailhub=/etc/app/mail.conf:smtp.example.com",
        "--param",
        "mailhub=/etc/app/other.conf:plain",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("one parameter has one default"), "{err}");
}

/// Regression (issue 13, item 9): making `2048` a parameter for
/// `worker_connections` also templated `types_hash_max_size 2048`. An
/// ambiguous literal is now refused, naming the lines and both ways out;
/// `PATH:LINE:LITERAL` picks one, and the output says which line.
#[test]
fn ambiguous_literal_is_refused_and_a_line_picks_one() {
    let env = Env::new(CFT);
    env.begin("web", &[]);
    std::fs::create_dir_all(env.p("/etc/nginx")).unwrap();
    write(
        &env.p("/etc/nginx/nginx.conf"),
        "events {\n    worker_connections 2048;\n}\nhttp {\n    types_hash_max_size 2048;\n}\n",
    );
    env.finish("web");
    let out_dir = env.tmp.path().join("web");
    let manifest = |param: &str| {
        env.run([
            "manifest",
            "web",
            "-o",
            out_dir.to_str().unwrap(),
            "--param",
            param,
        ])
    };

    let out = manifest("conns=/etc/nginx/nginx.conf:2048");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for want in [
        "'2048' occurs 2 times in /etc/nginx/nginx.conf (lines 2, 5)",
        "conns=/etc/nginx/nginx.conf:LINE:2048",
        "conns=/etc/nginx/nginx.conf:*:2048",
    ] {
        assert!(err.contains(want), "no {want:?} in {err}");
    }
    assert!(!out_dir.exists(), "nothing written");

    let out = manifest("conns=/etc/nginx/nginx.conf:2:2048");
    assert!(out.status.success(), "{}", stderr(&out));
    let said = testkit::cli::stdout(&out);
    assert!(
        said.contains(
            "site parameter $conns (default '2048'): /etc/nginx/nginx.conf (1 occurrence, line 2)"
        ),
        "{said}"
    );
    let template =
        std::fs::read_to_string(out_dir.join("templates/etc/nginx/nginx.conf.epp")).unwrap();
    assert_eq!(
        template,
        "<%- | String $conns | -%>\nevents {\n    worker_connections <%= $conns %>;\n}\nhttp {\n    types_hash_max_size 2048;\n}\n"
    );

    let out = manifest("conns=/etc/nginx/nginx.conf:3:2048");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "'2048' does not occur on line 3 of /etc/nginx/nginx.conf (it does on lines 2, 5)"
        ),
        "{err}"
    );

    // One literal, two parameters: one per line.
    let out = env.run([
        "manifest",
        "web",
        "-o",
        out_dir.to_str().unwrap(),
        "--param",
        "conns=/etc/nginx/nginx.conf:2:2048",
        "--param",
        "hash_size=/etc/nginx/nginx.conf:5:2048",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let template =
        std::fs::read_to_string(out_dir.join("templates/etc/nginx/nginx.conf.epp")).unwrap();
    assert!(
        template.contains("worker_connections <%= $conns %>;")
            && template.contains("types_hash_max_size <%= $hash_size %>;"),
        "{template}"
    );

    // Every occurrence, when asked.
    let out = manifest("size=/etc/nginx/nginx.conf:*:2048");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        testkit::cli::stdout(&out).contains("(2 occurrences, lines 2, 5)"),
        "{}",
        testkit::cli::stdout(&out)
    );
}
