use super::verbs::*;
use super::*;
use crate::model::Running;

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

fn line(s: &str) -> Intent {
    Intent {
        id: 1,
        source: IntentSource::Line,
        parent: None,
        argv: vec![s.as_bytes().to_vec()],
        cwd: b"/".to_vec(),
        uid: 0,
        pid: 1,
        ppid: 1,
        start_ns: 0,
        end_ns: Some(1),
        exit_code: Some(0),
        signal: None,
    }
}

#[test]
fn package_operations() {
    type Case = (
        &'static str,
        &'static str,
        Option<(PackageOp, &'static [&'static str])>,
    );
    let cases: &[Case] = &[
        (
            "install",
            "apt-get install -y -q nginx jq=1.6-2 foo/bookworm-backports bar:amd64",
            Some((PackageOp::Install, &["nginx", "jq", "foo", "bar"])),
        ),
        (
            "option with a value",
            "apt-get -o Dpkg::Options::=--force-confold -t bookworm install vim",
            Some((PackageOp::Install, &["vim"])),
        ),
        (
            "remove",
            "apt remove cowsay",
            Some((PackageOp::Remove, &["cowsay"])),
        ),
        (
            "purge verb",
            "apt-get purge -y x",
            Some((PackageOp::Purge, &["x"])),
        ),
        (
            "remove --purge",
            "apt-get remove --purge x",
            Some((PackageOp::Purge, &["x"])),
        ),
        (
            "local file",
            "apt-get install ./x.deb",
            Some((PackageOp::Install, &[])),
        ),
        (
            "dnf",
            "dnf -y install httpd",
            Some((PackageOp::Install, &["httpd"])),
        ),
        (
            "dpkg purge",
            "dpkg -P foo",
            Some((PackageOp::Purge, &["foo"])),
        ),
        (
            "dpkg file",
            "dpkg -i /tmp/foo.deb",
            Some((PackageOp::Install, &[])),
        ),
        (
            "rpm erase",
            "rpm -e foo",
            Some((PackageOp::Remove, &["foo"])),
        ),
        ("update", "apt-get update", None),
        ("search", "apt search nginx", None),
        ("not a package tool", "ls -l", None),
    ];
    for (name, cmd, want) in cases {
        let got = package_op(&words(cmd));
        let want = want.map(|(op, n)| (op, n.iter().map(|s| s.to_string()).collect()));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn service_operations() {
    type Case = (
        &'static str,
        &'static str,
        Option<(Running, &'static [&'static str])>,
    );
    let cases: &[Case] = &[
        (
            "start",
            "systemctl start nginx",
            Some((Running::Running, &["nginx.service"])),
        ),
        (
            "stop",
            "systemctl stop app.service",
            Some((Running::Stopped, &["app.service"])),
        ),
        (
            "enable --now",
            "systemctl enable --now a b.socket",
            Some((Running::Running, &["a.service", "b.socket"])),
        ),
        ("enable only", "systemctl enable a", None),
        ("status", "systemctl status a", None),
        (
            "service",
            "service ssh restart",
            Some((Running::Running, &["ssh.service"])),
        ),
        (
            "service stop",
            "service cron stop",
            Some((Running::Stopped, &["cron.service"])),
        ),
    ];
    for (name, cmd, want) in cases {
        let got = service_op(&words(cmd));
        let want = want.map(|(s, u)| (s, u.iter().map(|s| s.to_string()).collect()));
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(
        service_names(&words("systemctl --quiet enable app")),
        ["app.service"]
    );
}

#[test]
fn accounts_named() {
    let cases: &[(&str, Vec<(bool, String)>)] = &[
        (
            "useradd -m -s /bin/bash alice",
            vec![(false, "alice".into())],
        ),
        ("usermod -aG web bob", vec![(false, "bob".into())]),
        ("groupadd -r web", vec![(true, "web".into())]),
        ("gpasswd -a alice web", vec![(true, "web".into())]),
        ("chpasswd", vec![]),
        ("ls alice", vec![]),
    ];
    for (cmd, want) in cases {
        assert_eq!(&account_names(&words(cmd)), want, "{cmd}");
    }
}

#[test]
fn typed_lines_split_into_commands() {
    let cases: &[(&str, &str, &[&[&str]])] = &[
        (
            "plain",
            "apt-get install -y jq",
            &[&["apt-get", "install", "-y", "jq"]],
        ),
        (
            "operators",
            "apt-get update && sudo apt-get install -y x; systemctl start x | cat",
            &[
                &["apt-get", "update"],
                &["apt-get", "install", "-y", "x"],
                &["systemctl", "start", "x"],
                &["cat"],
            ],
        ),
        (
            "quotes keep operators",
            "echo 'a;b' \"c && d\"",
            &[&["echo", "a;b", "c && d"]],
        ),
        (
            "assignment and path",
            "DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get purge x",
            &[&["apt-get", "purge", "x"]],
        ),
        ("unclosed quote", "echo 'oops", &[]),
        (
            "redirections",
            "apt-get install -y jq >/dev/null 2>&1 && systemctl --version > out < in &> all",
            &[
                &["apt-get", "install", "-y", "jq"],
                &["systemctl", "--version"],
            ],
        ),
        (
            "here-document body",
            "cat > /etc/x <<'EOF'\nrm -rf / ; echo\nEOF",
            &[&["cat"]],
        ),
        (
            "background job",
            "sleep 1 & echo",
            &[&["sleep", "1"], &["echo"]],
        ),
    ];
    for (name, l, want) in cases {
        let got = line(l).commands();
        let want: Vec<Vec<String>> = want
            .iter()
            .map(|c| c.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn passwords_are_masked_for_people() {
    let cases = [
        (
            "useradd -m -p '$6$salt$hash' alice",
            "useradd -m -p '***' alice",
        ),
        (
            "usermod --password=$6$x$y bob",
            "usermod --password=*** bob",
        ),
        (
            "mysql -uroot -pS3cret app < schema.sql",
            "mysql -uroot -p*** app < schema.sql",
        ),
        (
            "htpasswd -b /etc/htpasswd admin hunter2",
            "htpasswd -b /etc/htpasswd admin ***",
        ),
        (
            "psql postgresql://app:pw1@db/app -f s.sql",
            "psql postgresql://app:***@db/app -f s.sql",
        ),
        (
            "openssl rsa -passin pass:abc -in k",
            "openssl rsa -passin pass:*** -in k",
        ),
        ("mkdir -p /srv/app", "mkdir -p /srv/app"),
        ("createdb app", "createdb app"),
    ];
    for (typed, shown) in cases {
        let i = line(typed);
        assert_eq!(i.text(), shown, "{typed}");
        assert_eq!(i.secrets().is_empty(), typed == shown, "{typed}");
    }
    let tool = Intent {
        source: IntentSource::Tool,
        argv: vec![
            b"useradd".to_vec(),
            b"-p".to_vec(),
            b"$6$a$b".to_vec(),
            b"u".to_vec(),
        ],
        ..line("")
    };
    assert_eq!(tool.text(), "useradd -p '***' u");
    assert!(
        tool.shell_command().unwrap().contains("$6$a$b"),
        "exact for --exec"
    );
}

#[test]
fn shell_quoting_round_trips_through_sh() {
    let i = Intent {
        source: IntentSource::Tool,
        argv: vec![
            b"printf".to_vec(),
            b"%s|".to_vec(),
            b"it's $HOME".to_vec(),
            b"".to_vec(),
        ],
        ..line("")
    };
    let cmd = i.shell_command().unwrap();
    // The point: a real POSIX shell reads the quoted command back.
    #[allow(clippy::disallowed_methods)]
    let out = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"it's $HOME||");
}

/// Issue 14, item 7: the everyday ways a password reaches a command line.
#[test]
fn passwords_fed_to_tools_and_in_the_environment_are_masked() {
    let cases = [
        ("echo into chpasswd", "echo 'root:PW1' | chpasswd", "PW1"),
        (
            "printf into chpasswd",
            "printf 'a:PW1\\nb:PW2\\n' | sudo chpasswd",
            "PW2",
        ),
        ("here-string", "chpasswd <<< 'root:PW1'", "PW1"),
        ("here-string, no space", "chpasswd <<<root:PW1", "PW1"),
        ("here-document", "chpasswd <<EOF\nroot:PW1\nEOF", "PW1"),
        ("passwd --stdin", "echo PW1 | passwd --stdin root", "PW1"),
        ("htpasswd -i", "echo PW1 | htpasswd -ci /etc/h admin", "PW1"),
        (
            "docker login --password-stdin",
            "echo PW1 | docker login --password-stdin -u me",
            "PW1",
        ),
        ("curl -u", "curl -u admin:PW1 https://x/", "PW1"),
        ("curl --user=", "curl --user=admin:PW1 https://x/", "PW1"),
        ("curl -uUSER:PW", "curl -uadmin:PW1 https://x/", "PW1"),
        ("PGPASSWORD", "PGPASSWORD=PW1 psql -h db app", "PW1"),
        ("sshpass -p", "sshpass -p PW1 ssh host", "PW1"),
        ("export", "export AWS_SECRET_ACCESS_KEY=PW1", "PW1"),
        ("export a token", "export GITHUB_TOKEN=PW1; make", "PW1"),
        ("an API key", "API_KEY=PW1 ./deploy", "PW1"),
        ("redis-cli -a", "redis-cli -a PW1 ping", "PW1"),
        (
            "docker login -p",
            "docker login -u me -p PW1 registry",
            "PW1",
        ),
        (
            "mount options",
            "mount -t cifs -o username=u,password=PW1 //s/x /mnt",
            "PW1",
        ),
        ("escaped in quotes", "PGPASSWORD=\"a\\\"PW1\" psql", "PW1"),
    ];
    for (name, typed, pw) in cases {
        let i = line(typed);
        let shown = i.text();
        assert!(!shown.contains(pw), "{name}: {shown}");
        assert!(shown.contains("***"), "{name}: {shown}");
        for a in i.masked_argv() {
            assert!(!String::from_utf8_lossy(&a).contains(pw), "{name}: argv");
        }
    }
    let kept = [
        ("echo into cat", "echo 'root:x1' | cat"),
        ("chpasswd alone", "chpasswd"),
        ("a public variable", "export EDITOR=vim"),
        ("passwd without --stdin", "passwd root"),
    ];
    for (name, typed) in kept {
        let i = line(typed);
        assert!(i.secrets().is_empty(), "{name}: {:?}", i.secrets());
        assert_eq!(i.text(), typed, "{name}");
    }
}

mod masked_values_never_show {
    use super::*;
    use proptest::prelude::*;

    /// A password-ish value: printable, with shell quoting characters.
    fn value() -> impl Strategy<Value = String> {
        "[A-Za-z0-9!#%+,./:=@^_~$'\"\\\\ -]{4,16}".prop_filter("has a letter run", |v| {
            v.chars().filter(|c| c.is_ascii_alphanumeric()).count() >= 3
        })
    }

    /// Ways a secret reaches a typed line, `{}` the value as the shell
    /// reads it (quoted with `sh_quote`).
    const FORMS: &[&str] = &[
        "echo root:{} | chpasswd",
        "chpasswd <<< root:{}",
        "curl -u admin:{} https://x/",
        "PGPASSWORD={} psql app",
        "sshpass -p {} ssh h",
        "export AWS_SECRET_ACCESS_KEY={}",
        "redis-cli -a {} ping",
        "docker login -u me -p {} r",
        "useradd -p {} alice",
        "mysql --password={} app",
    ];

    proptest! {
        #[test]
        fn in_text_or_masked_argv(v in value(), form in 0..FORMS.len()) {
            let quoted = sh_quote(&format!("S{v}"));
            let typed = FORMS[form].replace("{}", &quoted);
            let secret = format!("S{v}");
            let i = line(&typed);
            let shown = i.text();
            prop_assert!(!shown.contains(&secret), "{typed} -> {shown}");
            for a in i.masked_argv() {
                prop_assert!(!String::from_utf8_lossy(&a).contains(&secret), "{typed}");
            }
        }
    }
}
