use super::apt::{self, history_names};
use super::*;

fn intent(
    id: i64,
    source: IntentSource,
    parent: Option<i64>,
    argv: &[&str],
    t: (i64, i64),
) -> Intent {
    Intent {
        id,
        source,
        parent,
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        cwd: b"/root".to_vec(),
        uid: 0,
        pid: 1,
        ppid: 1,
        start_ns: t.0,
        end_ns: Some(t.1),
        exit_code: Some(0),
        signal: None,
    }
}

#[test]
fn history_lists_parse() {
    assert_eq!(
        history_names("nginx:amd64 (1.22.1-9), libfoo1:amd64 (1.0, automatic), jq (1.6)"),
        ["nginx", "libfoo1", "jq"]
    );
}

#[test]
fn innermost_running_command_wins_and_lag_is_tolerated() {
    let sec = 1_000_000_000;
    let intents = vec![
        intent(
            1,
            IntentSource::Line,
            None,
            &["apt-get install -y nginx"],
            (0, 10 * sec),
        ),
        intent(
            2,
            IntentSource::Tool,
            Some(1),
            &["/usr/bin/apt-get", "install", "-y", "nginx"],
            (sec, 9 * sec),
        ),
        intent(
            3,
            IntentSource::Line,
            None,
            &["vi /etc/x"],
            (20 * sec, 30 * sec),
        ),
    ];
    let ctx = Ctx::new(&intents);
    assert_eq!(ctx.running_at(5 * sec), Some(2));
    assert_eq!(ctx.running_at(sec / 2), Some(1));
    assert_eq!(ctx.running_at(10 * sec + 1000), Some(1), "within the slack");
    assert_eq!(ctx.running_at(15 * sec), None, "between commands");
    assert_eq!(ctx.running_at(25 * sec), Some(3));
    assert_eq!(ctx.outer_package_tool(2), Some(2));
    assert_eq!(
        named_for_install(&intents),
        BTreeSet::from(["nginx".to_string()])
    );
}

#[test]
fn removal_follows_the_last_command() {
    let intents = vec![
        intent(
            1,
            IntentSource::Tool,
            None,
            &["apt-get", "remove", "a", "b"],
            (0, 1),
        ),
        intent(2, IntentSource::Line, None, &["apt-get purge -y b"], (2, 3)),
        intent(3, IntentSource::Line, None, &["dnf remove c"], (4, 5)),
    ];
    let got = asked_removal(&intents);
    assert_eq!(got["a"], PackageOp::Remove);
    assert_eq!(got["b"], PackageOp::Purge);
    assert_eq!(got["c"], PackageOp::Remove);
}

#[test]
fn maintainer_script_commands_are_not_the_admins() {
    let intents = vec![
        intent(
            1,
            IntentSource::Tool,
            None,
            &["apt-get", "install", "x"],
            (0, 100),
        ),
        intent(
            2,
            IntentSource::Tool,
            Some(1),
            &["systemctl", "start", "x"],
            (10, 20),
        ),
        intent(
            3,
            IntentSource::Tool,
            None,
            &["systemctl", "stop", "y"],
            (200, 300),
        ),
    ];
    let wanted = wanted_running(&intents);
    assert_eq!(wanted.len(), 1);
    assert_eq!(wanted["y.service"], Running::Stopped);
}

#[test]
fn unexpressed_commands_exclude_viewers_failures_and_changers() {
    let mut failed = intent(4, IntentSource::Line, None, &["createdb oops"], (40, 50));
    failed.exit_code = Some(1);
    let why = Why {
        intents: vec![
            intent(1, IntentSource::Line, None, &["createdb app"], (0, 10)),
            intent(
                2,
                IntentSource::Line,
                None,
                &["ls -l; systemctl status x"],
                (10, 20),
            ),
            intent(3, IntentSource::Line, None, &["vi /etc/x"], (20, 30)),
            failed,
        ],
        attributions: vec![Attribution {
            subject: Subject::File,
            name: b"/etc/x".to_vec(),
            intent: 3,
        }],
    };
    let ids: Vec<i64> = why.unexpressed().iter().map(|i| i.id).collect();
    assert_eq!(ids, [1]);
}

#[test]
fn an_intent_without_arguments_is_no_command() {
    let mut empty = intent(1, IntentSource::Tool, None, &[], (0, 1));
    empty.argv.clear();
    assert!(empty.commands().is_empty());
    let why = Why {
        intents: vec![empty],
        attributions: Vec::new(),
    };
    assert_eq!(why.unexpressed().len(), 1, "listed, not a panic");
}

#[test]
fn apt_history_maps_dependencies_to_their_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("var/log/apt")).unwrap();
    std::fs::write(
        tmp.path().join("var/log/apt/history.log"),
        "\
Start-Date: 2026-01-01  10:00:00
Commandline: apt-get install -y jq
Install: jq:amd64 (1.5), libold:amd64 (1, automatic)
End-Date: 2026-01-01  10:00:05

Start-Date: 2026-11-26  10:00:00
Commandline: /usr/bin/apt-get install -y nginx
Install: nginx:amd64 (1.22.1-9), nginx-common:amd64 (1.22.1-9, automatic)
End-Date: 2026-11-26  10:00:09

Start-Date: 2026-11-26  10:01:00
Commandline: apt-get purge -y cowsay
Purge: cowsay:amd64 (3.03)
End-Date: 2026-11-26  10:01:02
",
    )
    .unwrap();
    let target = Target::new(tmp.path().as_os_str().as_encoded_bytes());
    let intents = vec![
        intent(
            1,
            IntentSource::Tool,
            None,
            &["apt-get", "install", "-y", "nginx"],
            (0, 10),
        ),
        // Nothing to do: logged nothing; must not take the older jq entry.
        intent(
            2,
            IntentSource::Tool,
            None,
            &["apt-get", "install", "-y", "jq"],
            (20, 30),
        ),
        intent(
            3,
            IntentSource::Tool,
            None,
            &["apt-get", "purge", "-y", "cowsay"],
            (40, 50),
        ),
    ];
    let ctx = Ctx::new(&intents);
    let got = apt::apt_history(&target, &ctx);
    assert_eq!(got.get("nginx"), Some(&1));
    assert_eq!(got.get("nginx-common"), Some(&1));
    assert_eq!(got.get("cowsay"), Some(&3));
    assert_eq!(got.get("libold"), None, "{got:?}");
    assert_eq!(got.get("jq"), None, "{got:?}");
}
