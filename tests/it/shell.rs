//! The recording shell and the shell hooks on temporary `--root` trees:
//! bash (and zsh, tier 2: `scripts/setup-host.sh` installs it) records
//! every typed line (with the wrapped tools nested in it), other shells get
//! the shims only, `cft hook` works in a shell that is already open and
//! `cft_unhook` stops it, the private directory is removed, and a hook
//! never disturbs the shell.

use crate::util::{Stored, CFT};
use recorder::model::IntentSource;
use recorder::model::Subject;
use std::path::Path;
use std::process::Command;
use testkit::cli::{feed, Env};

fn record_cmd(env: &Env, shell: &str, runtime: &Path) -> Command {
    let mut c = env.cmd();
    c.args(["record", "s", "--root"])
        .arg(&env.root)
        .args(["--no-default-watch", "--watch", "/etc", "--shell", shell])
        .env("XDG_RUNTIME_DIR", runtime)
        .env("HOME", env.tmp.path());
    c
}

#[test]
fn bash_records_typed_lines_with_its_tools() {
    records_typed_lines_with_their_tools(Path::new("/bin/bash"));
}

/// Tier 2: zsh is not on every machine.
#[cfg(testbed)]
#[test]
fn zsh_records_typed_lines_with_its_tools() {
    records_typed_lines_with_their_tools(&testkit::tools::tool("zsh"));
}

fn records_typed_lines_with_their_tools(shell: &Path) {
    let shell = shell.to_str().unwrap();
    let env = Env::new(CFT);
    let runtime = env.tmp.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let typed = format!(
        "echo one > {root}/etc/one\ndpkg --version >/dev/null\nfalse\nmkdir -p {root}/../elsewhere\n",
        root = env.root.display()
    );
    let (ok, out) = feed(record_cmd(&env, shell, &runtime), &typed);
    assert!(ok, "{shell}: {out}");
    assert!(out.contains("[cft:s]"), "{shell}: no prompt marker:\n{out}");
    assert!(out.contains("every command line recorded"), "{out}");
    assert_eq!(
        std::fs::read_dir(&runtime).unwrap().count(),
        0,
        "{shell}: the private directory was left behind"
    );

    let why = env.change_set("s").why;
    let lines: Vec<(String, Option<i32>)> = why
        .intents
        .iter()
        .filter(|i| i.source == IntentSource::Line)
        .map(|i| (i.text(), i.exit_code))
        .collect();
    assert_eq!(lines.len(), 4, "{shell}: {lines:#?}");
    assert!(lines[0].0.starts_with("echo one > "), "{lines:#?}");
    assert_eq!(lines[1], ("dpkg --version >/dev/null".into(), Some(0)));
    assert_eq!(lines[2], ("false".into(), Some(1)));
    let dpkg = why
        .intents
        .iter()
        .find(|i| i.source == IntentSource::Tool)
        .expect("the shim recorded dpkg");
    assert_eq!(dpkg.argv, [b"dpkg".to_vec(), b"--version".to_vec()]);
    let line2 = why.intents.iter().find(|i| i.text() == lines[1].0).unwrap();
    assert_eq!(dpkg.parent, Some(line2.id), "{shell}: not nested");
    let one = why.of(Subject::File, b"/etc/one").expect("attributed");
    assert_eq!(one.text(), lines[0].0);
    // Looking around and failing are not steps; mkdir is.
    let listed: Vec<String> = why.unexpressed().iter().map(|i| i.text()).collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].starts_with("mkdir -p "), "{listed:?}");
    assert!(
        out.contains("commands that changed nothing cft recorded (1)"),
        "{out}"
    );
}

#[test]
fn other_shells_get_the_shims_only() {
    let env = Env::new(CFT);
    let runtime = env.tmp.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let (ok, out) = feed(
        record_cmd(&env, "/bin/sh", &runtime),
        "dpkg --version >/dev/null\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("only bash and zsh have hooks"), "{out}");
    let why = env.change_set("s").why;
    assert_eq!(why.intents.len(), 1, "{:#?}", why.intents);
    assert_eq!(why.intents[0].source, IntentSource::Tool);
    assert_eq!(std::fs::read_dir(&runtime).unwrap().count(), 0);
}

#[test]
fn hook_records_an_open_shell_until_unhooked() {
    let env = Env::new(CFT);
    env.begin("s", &[]);
    let cft = CFT;
    let typed = format!(
        "eval \"$({cft} --db {db} hook bash)\"\necho [$PS1] >/dev/null\necho f > {root}/etc/f\ncft_unhook\nsleep 1; echo g > {root}/etc/g\n",
        db = env.db.display(),
        root = env.root.display()
    );
    let mut bash = Command::new("bash");
    bash.args(["--norc", "-i"])
        .env("HOME", env.tmp.path())
        .env("PS1", "$ ");
    let (ok, out) = feed(bash, &typed);
    assert!(ok, "{out}");
    assert!(out.contains("[cft:s] $ "), "no prompt marker:\n{out}");
    env.finish("s");
    let why = env.change_set("s").why;
    let lines: Vec<String> = why.intents.iter().map(|i| i.text()).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("echo f > ")),
        "{lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("echo g > ")),
        "recorded after cft_unhook: {lines:#?}"
    );
    assert!(why.of(Subject::File, b"/etc/f").is_some());
    assert!(why.of(Subject::File, b"/etc/g").is_none());
    // The hook keeps its shims beside the database, not in the system.
    assert!(env.db.parent().unwrap().join("shims/apt-get").is_symlink());
}

#[test]
fn hooks_never_disturb_the_shell() {
    let env = Env::new(CFT);
    // No database, and a database with no session recording: silent, 0.
    for name in ["s1", "s2"] {
        let out = env.run(["__hook", "start", "--pid", "1", "--", "ls"]);
        assert!(out.status.success());
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
        let out = env.run(["__hook", "end", "7", "0"]);
        assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
        env.begin(name, &[]);
        env.finish(name);
    }
    // A name that is not a recording session is refused, never printed
    // into a script that will be eval'ed.
    let marker = env.tmp.path().join("pwned");
    for name in [format!("x$(touch {})", marker.display()), "s1".to_string()] {
        let out = env.run(["hook", "bash", &name]);
        assert!(!out.status.success(), "{name}: {out:?}");
        assert!(out.stdout.is_empty(), "{name}: {out:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not recording"),
            "{out:?}"
        );
    }
    assert!(!marker.exists());
    // `cft hook` with no session recording says what to do.
    let out = env.run(["hook", "bash"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cft begin"),
        "{out:?}"
    );
}

#[test]
fn exec_arguments_are_checked_against_the_session() {
    let env = Env::new(CFT);
    env.begin("s", &[]);
    std::fs::write(env.p("/etc/x"), "x\n").unwrap();
    env.finish("s");
    let out_dir = env.tmp.path().join("m");
    for (arg, want) in [
        ("abc", "--exec abc: expected ID"),
        (
            "1:creates=relative",
            "--exec 1:creates=relative: creates= needs an absolute path",
        ),
        ("42", "--exec 42: the session has no command #42"),
    ] {
        let out = env.run([
            "manifest".as_ref(),
            "s".as_ref(),
            "-o".as_ref(),
            out_dir.as_os_str(),
            "--exec".as_ref(),
            arg.as_ref(),
        ]);
        assert!(!out.status.success(), "--exec {arg} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "--exec {arg}: {err}");
    }
}

/// A heredoc is shown as it was typed, over its lines (they used to be
/// joined into one), and the `exit` that ends the recording shell is
/// recorded with its status instead of "did not end".
#[test]
fn heredocs_keep_their_lines_and_exit_ends() {
    let env = Env::new(CFT);
    let runtime = env.tmp.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let typed = format!(
        "cat > {root}/etc/app.conf <<'EOF'\nlisten 80\nworkers 4\nEOF\nexit 3\n",
        root = env.root.display()
    );
    let (ok, out) = feed(record_cmd(&env, "/bin/bash", &runtime), &typed);
    assert!(!ok, "the shell's own status is cft record's: {out}");
    let shown = env.ok(["show", "s", "--commands"]);
    let indent = " ".repeat("  #1     typed ".len());
    let heredoc =
        format!("/etc/app.conf <<'EOF'  [ok]\n{indent}listen 80\n{indent}workers 4\n{indent}EOF\n");
    assert!(shown.contains(&heredoc), "{shown}");
    assert!(shown.contains("typed exit 3  [exit 3]\n"), "{shown}");
}

/// After `cft finish` in a hooked shell, the hooks notice, say so once and
/// undo themselves: the prompt and PATH are the shell's, and nothing typed
/// later reaches cft.
#[test]
fn bash_hooks_turn_off_after_finish() {
    hooks_turn_off_after_finish("bash", &["--norc", "-i"]);
}

/// Tier 2: zsh is not on every machine.
#[cfg(testbed)]
#[test]
fn zsh_hooks_turn_off_after_finish() {
    let zsh = testkit::tools::tool("zsh");
    hooks_turn_off_after_finish(zsh.to_str().unwrap(), &["-f", "-i"]);
}

fn hooks_turn_off_after_finish(shell: &str, args: &[&str]) {
    let env = Env::new(CFT);
    env.begin("s", &[]);
    let typed = format!(
        "eval \"$({cft} --db {db} hook {kind})\"\necho one >/dev/null\n{cft} --db {db} finish s >/dev/null\n\
         echo \"prompt=[$PS1] session=[$CFT_SESSION]\"\ntype cft_unhook >/dev/null 2>&1 || echo unhooked\n",
        cft = CFT,
        db = env.db.display(),
        kind = if shell.ends_with("zsh") { "zsh" } else { "bash" },
    );
    let mut cmd = Command::new(shell);
    cmd.args(args).env("HOME", env.tmp.path()).env("PS1", "$ ");
    let (ok, out) = feed(cmd, &typed);
    assert!(ok, "{out}");
    assert_eq!(
        out.matches("cft: session s is no longer recording; its shell hooks are off\n")
            .count(),
        1,
        "{out}"
    );
    assert!(out.contains("prompt=[$ ] session=[]"), "{out}");
    assert!(out.contains("unhooked"), "{out}");
    // Only the lines typed while it recorded; the shim log is empty.
    let why = env.change_set("s").why;
    let lines: Vec<String> = why.intents.iter().map(|i| i.text()).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    let log = env.db.parent().unwrap().join("shim.log");
    assert!(!log.exists(), "{}", std::fs::read_to_string(&log).unwrap());
}
