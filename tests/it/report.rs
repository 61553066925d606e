//! `cft report` on temporary `--root` trees: a session with hostile file
//! names, contents and command lines gives a page where all of them are
//! text, whose policy hashes are its own blocks, and which is the same
//! byte for byte every time. The same session is what the browser test
//! (`e2e_report`, tier 2) loads.

use crate::util::CFT;
use std::path::{Path, PathBuf};
use testkit::cli::{stderr, write, Env};

/// Content that must never run: a script, an image with a handler, and
/// text that would close the element it is shown in.
pub const HOSTILE: &str = "<script>document.title='PWNED'</script>\n</pre></td></table>\n\"onload=\"x ' & &amp;\n<img src=x onerror=\"document.body.setAttribute('data-pwned',1)\">\n";

/// File names that must come out as text (paths in the observed system).
pub const NAMES: [&[u8]; 5] = [
    b"/etc/<script>alert(1)</script>",
    b"/etc/</pre>\"onload=\"x",
    b"/etc/latin1-\xe9\xff",
    b"/etc/new\nline 'q' & amp",
    b"/srv/<img src=x onerror=\"document.title='PWNED'\">",
];

/// The typed lines of the session, as a recording shell logs them.
pub const LINES: [&str; 3] = [
    "echo '<script>document.title=\"PWNED\"</script>' > /etc/x",
    "vi /etc/app.conf",
    "true",
];

/// A typed line, as the recording shell's hooks log it: its start, what
/// `act` does, its end.
fn typed(env: &Env, session: &str, line: &str, act: impl FnOnce()) {
    let mut start = env.cmd();
    start
        .args(["__hook", "start", "--pid", "4242", "--", line])
        .env("CFT_SESSION", session);
    let out = start.output().expect("cft __hook start");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty(), "no intent id: {out:?}");
    act();
    // Let the watcher read the events while the command still runs.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut end = env.cmd();
    end.args(["__hook", "end", &id, "0"])
        .env("CFT_SESSION", session);
    assert!(end.status().expect("cft __hook end").success());
}

/// Record session `odd`: three typed lines; the first makes the hostile
/// names, the second edits a file to hostile content.
pub fn hostile_session(env: &Env) {
    write(&env.p("/etc/app.conf"), "listen 80\n</pre>\n");
    env.begin("odd", &["--description", "<b>hostile</b> \"names\""]);
    typed(env, "odd", LINES[0], || {
        for n in NAMES {
            let p = env.pb(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            write(&p, HOSTILE);
        }
    });
    typed(env, "odd", LINES[1], || {
        write(&env.p("/etc/app.conf"), format!("listen 8080\n{HOSTILE}"));
    });
    typed(env, "odd", LINES[2], || {});
    env.finish("odd");
}

/// `cft report ARGS -o OUT`, insisting on success; the page's text.
pub fn report(env: &Env, args: &[&str], out: &Path) -> String {
    let mut all: Vec<std::ffi::OsString> = vec!["report".into()];
    all.extend(args.iter().map(Into::into));
    all.extend(["-o".into(), out.as_os_str().to_owned()]);
    let said = env.ok(&all);
    assert!(said.contains("open it in a browser"), "{said}");
    std::fs::read_to_string(out).expect("the report is UTF-8")
}

pub fn out(env: &Env, name: &str) -> PathBuf {
    env.tmp.path().join(name)
}

/// The text between `<tag>` and `</tag>`, each time.
fn blocks<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    html.match_indices(&open)
        .map(|(i, _)| {
            let rest = &html[i + open.len()..];
            &rest[..rest.find(&close).expect("closed")]
        })
        .collect()
}

/// The count in the summary row `kind` (first session).
pub fn count(html: &str, kind: &str) -> usize {
    let row = format!("<tr data-kind=\"{kind}\"><th>");
    let at = html.find(&row).unwrap_or_else(|| panic!("no row {kind}"));
    let cell = &html[at..];
    let cell = &cell[cell.find("<td class=\"n\">").unwrap() + "<td class=\"n\">".len()..];
    cell[..cell.find('<').unwrap()].parse().unwrap()
}

#[test]
fn hostile_names_and_contents_are_text_in_the_report() {
    let env = Env::new(CFT);
    hostile_session(&env);
    let html = report(&env, &["odd"], &out(&env, "odd.html"));

    // Markup of ours only: one script (hashed), no image, no handler.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert_eq!(html.matches("<img").count(), 0, "{html}");
    assert_eq!(html.matches("<b>").count(), 0, "{html}");
    assert!(!html.contains("onerror=\""), "{html}");
    assert!(!html.contains("\"onload=\""), "{html}");
    assert_eq!(
        html.matches("</pre>").count(),
        html.matches("<pre class=\"diff\">").count()
    );
    assert_eq!(
        html.matches("</table>").count(),
        html.matches("<table").count()
    );
    // Every name, the edit and the command lines are there to read.
    for shown in [
        "&#x2f;etc&#x2f;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;",
        "&#x2f;etc&#x2f;&lt;&#x2f;pre&gt;&quot;onload=&quot;x",
        "&#x2f;etc&#x2f;latin1-\\xe9\\xff",
        "&#x2f;etc&#x2f;new\\nline &#x27;q&#x27; &amp; amp",
        "&#x2f;srv&#x2f;&lt;img src=x onerror=&quot;document.title=&#x27;PWNED&#x27;&quot;&gt;",
        "<span class=\"add\">+&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;&#x2f;script&gt;</span>",
        "<span class=\"del\">-&lt;&#x2f;pre&gt;</span>",
        "echo &#x27;&lt;script&gt;document.title=&quot;PWNED&quot;&lt;&#x2f;script&gt;&#x27; &gt; &#x2f;etc&#x2f;x",
        "&lt;b&gt;hostile&lt;&#x2f;b&gt; &quot;names&quot;",
    ] {
        assert!(html.contains(shown), "missing {shown}:\n{html}");
    }

    // The policy names exactly the page's own style sheet and script.
    let csp_at = html
        .find("<meta http-equiv=\"Content-Security-Policy\" content=\"")
        .expect("a CSP meta tag");
    let csp = &html[csp_at..];
    let csp = &csp[csp.find("content=\"").unwrap() + 9..];
    let csp = &csp[..csp.find('"').unwrap()];
    let (styles, scripts) = (blocks(&html, "style"), blocks(&html, "script"));
    assert_eq!((styles.len(), scripts.len()), (1, 1));
    assert!(csp_at < html.find("<style>").unwrap());
    let want = format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src data:",
        manifest_gen::report::csp_hash(styles[0].as_bytes()),
        manifest_gen::report::csp_hash(scripts[0].as_bytes())
    );
    assert!(csp.starts_with(&want), "{csp}\nwant {want}");

    // The counts and the timeline: one bar per command, the first one's
    // changes beneath it.
    assert_eq!(count(&html, "commands"), 3);
    assert_eq!(count(&html, "files_modified"), 1);
    // Five files and the two directories made for two of them.
    assert_eq!(count(&html, "files_created"), 7);
    assert_eq!(html.matches("<rect class=\"bar ok\"").count(), 3);
    let first = &html[html.find("<g class=\"row\" data-intent=\"1\">").unwrap()..];
    let first = &first[..first.find("</g>").unwrap()];
    assert!(first.contains(">7 change(s)</text>"), "{first}");
    assert_eq!(first.matches("<rect class=\"mark file\"").count(), 7);
}

/// A command typed over several lines (a heredoc) keeps its lines in the
/// files table, as `show` and the README show them.
#[test]
fn a_heredoc_keeps_its_lines_in_the_report() {
    let env = Env::new(CFT);
    env.begin("here", &[]);
    let line = "cat > /etc/motd <<EOF\nwelcome\nto the box\nEOF";
    typed(&env, "here", line, || {
        write(&env.p("/etc/motd"), "welcome\nto the box\n")
    });
    env.finish("here");
    let html = report(&env, &["here"], &out(&env, "here.html"));
    let want = "<td class=\"path cmd\">#1 cat &gt; &#x2f;etc&#x2f;motd &lt;&lt;EOF\nwelcome\nto the box\nEOF</td>";
    assert!(html.contains(want), "missing {want}:\n{html}");
    let style = &blocks(&html, "style")[0];
    assert!(style.contains(".cmd { white-space: pre-wrap; }"), "{style}");
}

#[test]
fn the_same_session_gives_a_byte_identical_report() {
    let env = Env::new(CFT);
    hostile_session(&env);
    let one = report(&env, &["odd"], &out(&env, "1.html"));
    let two = report(&env, &["odd"], &out(&env, "2.html"));
    assert_eq!(one, two);
}

#[test]
fn against_another_session_and_refusals() {
    let env = Env::new(CFT);
    hostile_session(&env);
    env.begin("plain", &[]);
    write(&env.p("/etc/plain.conf"), "x\n");
    env.finish("plain");
    let html = report(&env, &["odd", "--vs", "plain"], &out(&env, "vs.html"));
    assert!(
        html.contains("<title>cft report: odd vs plain</title>"),
        "{html}"
    );
    assert!(html.contains("only in plain"), "{html}");
    assert!(html.contains("only in odd"), "{html}");
    assert_eq!(html.matches("<svg class=\"timeline\"").count(), 2);

    // Not finished, not there: the message names the session.
    env.begin("live", &[]);
    for (name, says) in [
        ("live", "run `cft finish live` first"),
        ("nosuch", "nosuch"),
    ] {
        let o = env.run([
            "report".as_ref(),
            name.as_ref(),
            "-o".as_ref(),
            out(&env, "x.html").as_os_str(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{name}");
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
    }
    assert!(!out(&env, "x.html").exists());
}
