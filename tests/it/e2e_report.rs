//! Tier 2: the report of the hostile session (`report::hostile_session`)
//! in a real browser. Headless Chromium (Debian's `chromium`, installed by
//! `scripts/setup-host.sh`) loads the page from disk; the rendered DOM
//! shows every hostile name as text, the right counts and one bar per
//! command; the page's own hashed script ran and no injected one did; and
//! a screenshot is kept under `$TESTBED_DIR/reports/`, its path printed.

use crate::report::{count, hostile_session, out, report, LINES};
use crate::util::CFT;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use testkit::cli::Env;

/// Chromium with a private profile, headless, as root: argv only.
fn chromium(profile: &Path) -> Command {
    let mut c = Command::new(testkit::tools::tool("chromium"));
    c.args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .env("HOME", profile)
        .stdin(Stdio::null());
    c
}

/// Run, killing the browser if it hangs.
fn run(mut c: Command, limit: Duration) -> Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Read stdout on a thread, so a large DOM cannot fill the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).map(|_| v)
    });
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = child.wait_with_output().expect("chromium output");
    out.stdout = reader.join().unwrap().expect("read chromium's stdout");
    out
}

#[test]
fn chromium_renders_the_hostile_report_as_text_and_runs_only_its_own_script() {
    let env = Env::new(CFT);
    hostile_session(&env);
    let page = out(&env, "odd.html");
    report(&env, &["odd"], &page);
    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();

    let mut dump = chromium(profile.path());
    dump.arg("--dump-dom").arg(&url);
    let o = run(dump, Duration::from_secs(120));
    assert!(
        o.status.success(),
        "chromium --dump-dom: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dom = String::from_utf8(o.stdout).expect("the DOM is UTF-8");
    assert!(dom.contains("</html>"), "no DOM:\n{dom}");

    // Our script ran (its hash matched the policy)...
    let html_tag = &dom[dom.find("<html").unwrap()..];
    let html_tag = &html_tag[..html_tag.find('>').unwrap()];
    assert!(html_tag.contains("data-script=\"ran\""), "{html_tag}");
    // ... and nothing injected did: the title and the body are untouched,
    // no element came from a recorded name or content.
    assert!(dom.contains("<title>cft report: odd</title>"), "{dom}");
    let body_tag = &dom[dom.find("<body").unwrap()..];
    let body_tag = &body_tag[..body_tag.find('>').unwrap()];
    assert_eq!(body_tag, "<body", "the body was changed: {body_tag}");
    assert_eq!(dom.matches("<script").count(), 1, "{dom}");
    assert_eq!(dom.matches("<img").count(), 0, "{dom}");
    assert_eq!(dom.matches("<b>").count(), 0, "{dom}");
    // Text escapes `<` when serialized, so every `<` left opens a tag:
    // none carries a handler or the injected attribute.
    for (i, _) in dom.match_indices('<') {
        let tag = &dom[i..];
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        for bad in ["onerror", "onload", "data-pwned", "PWNED"] {
            assert!(!tag.contains(bad), "injected markup: {tag}");
        }
    }

    // The hostile names, the edit and the command lines, as text.
    for shown in [
        "/etc/&lt;script&gt;alert(1)&lt;/script&gt;",
        "/etc/&lt;/pre&gt;\"onload=\"x",
        "/etc/latin1-\\xe9\\xff",
        "/etc/new\\nline 'q' &amp; amp",
        "/srv/&lt;img src=x onerror=\"document.title='PWNED'\"&gt;",
        "+&lt;script&gt;document.title='PWNED'&lt;/script&gt;",
        "+&lt;img src=x onerror=\"document.body.setAttribute('data-pwned',1)\"&gt;",
        "&lt;b&gt;hostile&lt;/b&gt; \"names\"",
    ] {
        assert!(dom.contains(shown), "not shown as text: {shown}\n{dom}");
    }

    // The counts, and one bar per command in the picture.
    assert_eq!(count(&dom, "files_created"), 7);
    assert_eq!(count(&dom, "files_modified"), 1);
    assert_eq!(count(&dom, "commands"), LINES.len());
    let svg = &dom[dom.find("<svg").unwrap()..dom.find("</svg>").unwrap()];
    assert_eq!(
        svg.matches("<rect class=\"bar ").count(),
        LINES.len(),
        "{svg}"
    );

    // A picture of it, for people.
    let dir = testkit::tools::testbed_dir().join("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("report-hostile.png");
    let _ = std::fs::remove_file(&png);
    let mut shot = chromium(profile.path());
    shot.arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,2000")
        .arg(&url);
    let o = run(shot, Duration::from_secs(120));
    assert!(
        o.status.success(),
        "chromium --screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(bytes.len() > 20_000, "{} bytes only", bytes.len());
    eprintln!("report screenshot: {}", png.display());
}
