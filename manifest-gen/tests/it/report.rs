//! `manifest_gen::report` on built change sets: hostile names, contents
//! and command lines come out as text, the policy's hashes are the page's
//! own blocks, the counts and the timeline are right, and the page is the
//! same every time.

use crate::common::{basic, Fixture};
use manifest_gen::report::{self, Recording, ReportOptions};
use recorder::model::{
    Attribution, ChangeKind, Event, EventKind, EventSource, Intent, IntentSource, Subject, Why,
};

const T0: i64 = 1_700_000_000_000_000_000;
const S: i64 = 1_000_000_000;

/// What must never become markup.
const HOSTILE: &str = "<script>document.title='PWNED'</script>\n</pre>\n\"onload=\"x ' &amp; &\n<img src=x onerror=\"document.body.setAttribute('data-pwned',1)\">\n";

fn line(id: i64, text: &str, start: i64, end: i64) -> Intent {
    Intent {
        id,
        source: IntentSource::Line,
        parent: None,
        argv: vec![text.as_bytes().to_vec()],
        cwd: b"/root".to_vec(),
        uid: 0,
        pid: 10,
        ppid: 1,
        start_ns: T0 + start * S,
        end_ns: Some(T0 + end * S),
        exit_code: Some(0),
        signal: None,
    }
}

fn hostile() -> (Fixture, Vec<Event>) {
    let mut f = Fixture::new("odd");
    f.description = Some("<b>bold</b> \"description\"".into());
    f.created_file(b"/etc/<script>alert(1)</script>", HOSTILE.as_bytes(), 0o644);
    let old = f.file_entry(b"/etc/</pre>\"onload=\"x", b"a\n</pre>\nb\n", 0o644);
    let new = f.file_entry(b"/etc/</pre>\"onload=\"x", HOSTILE.as_bytes(), 0o644);
    f.push(ChangeKind::Modified, Some(old), Some(new));
    f.created_file(b"/etc/latin1-\xe9\xff", b"\xff\xfe<script>\x00", 0o644);
    f.created_file(b"/etc/new\nline 'q' & amp", b"x\n", 0o644);
    f.why = Why {
        intents: vec![
            line(1, "echo '<script>alert(1)</script>' > /etc/x", 1, 5),
            line(2, "vi '/etc/</pre>\"onload=\"x'", 10, 30),
        ],
        attributions: vec![
            Attribution {
                subject: Subject::File,
                name: b"/etc/</pre>\"onload=\"x".to_vec(),
                intent: 2,
            },
            Attribution {
                subject: Subject::File,
                name: b"/etc/<script>alert(1)</script>".to_vec(),
                intent: 1,
            },
        ],
    };
    f.why.attributions.sort();
    let events = vec![
        Event {
            time_ns: T0 + 3 * S,
            kind: EventKind::Created,
            path: Some(b"/etc/<script>alert(1)</script>".to_vec()),
            path_to: None,
            source: EventSource::Watcher,
        },
        Event {
            time_ns: T0 + 20 * S,
            kind: EventKind::Modified,
            path: Some(b"/etc/</pre>\"onload=\"x".to_vec()),
            path_to: None,
            source: EventSource::Watcher,
        },
    ];
    (f, events)
}

fn render(f: &Fixture, events: &[Event]) -> String {
    let cs = f.change_set();
    let r = Recording {
        cs: &cs,
        blobs: &f.blobs,
        events,
    };
    report::render(&r, None, &ReportOptions::default()).unwrap()
}

/// The text between `<tag>` and `</tag>`, once each.
fn blocks<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    html.match_indices(&open)
        .map(|(i, _)| {
            let rest = &html[i + open.len()..];
            &rest[..rest.find(&close).expect("closed")]
        })
        .collect()
}

#[test]
fn hostile_names_contents_and_commands_are_text() {
    let (f, events) = hostile();
    let html = render(&f, &events);
    // Our one script, and nothing that could be someone else's.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert_eq!(html.matches("<img").count(), 0);
    assert_eq!(html.matches("<b>").count(), 0);
    assert!(!html.contains("onerror=\""), "{html}");
    assert!(!html.contains("\"onload=\""), "{html}");
    assert_eq!(
        html.matches("</pre>").count(),
        html.matches("<pre class=\"diff\">").count()
    );
    // ... while every one of them is there to read.
    for shown in [
        "&#x2f;etc&#x2f;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;",
        "&#x2f;etc&#x2f;&lt;&#x2f;pre&gt;&quot;onload=&quot;x",
        "+&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;&#x2f;script&gt;",
        "&amp;amp; &amp;",
        "&#x2f;etc&#x2f;latin1-\\xe9\\xff",
        "&#x2f;etc&#x2f;new\\nline &#x27;q&#x27; &amp; amp",
        "echo &#x27;&lt;script&gt;alert(1)&lt;&#x2f;script&gt;&#x27; &gt; &#x2f;etc&#x2f;x",
        "&lt;b&gt;bold&lt;&#x2f;b&gt; &quot;description&quot;",
        // Created files: their whole content, or its size and hash.
        "<summary><span class=\"path\">&#x2f;etc&#x2f;new\\nline &#x27;q&#x27; &amp; amp</span>",
        "binary content differs: \u{2014} \u{2192} 11 bytes, blake3 ",
    ] {
        assert!(html.contains(shown), "missing {shown}");
    }
}

#[test]
fn the_policy_hashes_the_page_s_own_style_and_script() {
    let (f, events) = hostile();
    let html = render(&f, &events);
    let csp = report::content_security_policy();
    let meta = format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">");
    assert!(html.contains(&meta), "{html}");
    assert!(html.find(&meta) < html.find("<style>"));
    let styles = blocks(&html, "style");
    let scripts = blocks(&html, "script");
    assert_eq!((styles.len(), scripts.len()), (1, 1));
    let want = format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src data:;",
        report::csp_hash(styles[0].as_bytes()),
        report::csp_hash(scripts[0].as_bytes())
    );
    assert!(csp.starts_with(&want), "{csp}");
    // No inline handlers or style attributes the policy would have to allow.
    assert!(!html.contains(" style=\""));
    assert!(!html.contains(" onclick="));
}

#[test]
fn counts_and_timeline() {
    let (f, events) = hostile();
    let html = render(&f, &events);
    for (kind, n) in [
        ("files_created", 3),
        ("files_modified", 1),
        ("files_removed", 0),
        ("commands", 2),
        ("events", 2),
    ] {
        let row = format!("<tr data-kind=\"{kind}\"><th>");
        let at = html.find(&row).unwrap_or_else(|| panic!("no row {kind}"));
        let cell = &html[at..];
        let cell = &cell[cell.find("<td class=\"n\">").unwrap() + 14..];
        assert_eq!(&cell[..cell.find('<').unwrap()], n.to_string(), "{kind}");
    }
    assert_eq!(html.matches("<rect class=\"bar ").count(), 2);
    assert_eq!(html.matches("<rect class=\"mark file\"").count(), 2);
    // Two files nobody's command claims, but the watcher never saw them.
    assert!(!html.contains("(no recorded command)"));
}

#[test]
fn the_same_session_gives_the_same_page() {
    let (f, events) = hostile();
    assert_eq!(render(&f, &events), render(&f, &events));
    let b = basic();
    assert_eq!(render(&b, &[]), render(&b, &[]));
}

#[test]
fn secrets_are_withheld_unless_asked() {
    let mut f = Fixture::new("sec");
    let old = f.file_entry(b"/etc/ssl/private/k.pem", b"OLD-SECRET-KEY\n", 0o600);
    let new = f.file_entry(b"/etc/ssl/private/k.pem", b"NEW-SECRET-KEY\n", 0o600);
    f.push(ChangeKind::Modified, Some(old), Some(new)).secret = true;
    let cs = f.change_set();
    let r = Recording {
        cs: &cs,
        blobs: &f.blobs,
        events: &[],
    };
    let html = report::render(&r, None, &ReportOptions::default()).unwrap();
    assert!(!html.contains("SECRET-KEY"), "{html}");
    assert!(html.contains("secret content differs"));
    let opts = ReportOptions {
        include_secrets: true,
        ..ReportOptions::default()
    };
    let html = report::render(&r, None, &opts).unwrap();
    assert!(html.contains("+NEW-SECRET-KEY"), "{html}");

    // A secret that is new is withheld just the same.
    let mut f = Fixture::new("sec2");
    f.created_file(b"/etc/ssl/private/new.pem", b"NEW-SECRET-KEY\n", 0o600)
        .secret = true;
    let cs = f.change_set();
    let r = Recording {
        cs: &cs,
        blobs: &f.blobs,
        events: &[],
    };
    let html = report::render(&r, None, &ReportOptions::default()).unwrap();
    assert!(!html.contains("SECRET-KEY"), "{html}");
    assert!(html.contains("secret content differs"));
}

#[test]
fn against_another_session() {
    let (a, ea) = hostile();
    let b = basic();
    let (ca, cb) = (a.change_set(), b.change_set());
    let ra = Recording {
        cs: &ca,
        blobs: &a.blobs,
        events: &ea,
    };
    let rb = Recording {
        cs: &cb,
        blobs: &b.blobs,
        events: &[],
    };
    let html = report::render(&ra, Some(&rb), &ReportOptions::default()).unwrap();
    assert!(html.contains("<title>cft report: odd vs web-setup</title>"));
    assert!(html.contains("only in web-setup"));
    assert!(html.contains("only in odd"));
    // One timeline per session.
    assert_eq!(html.matches("<svg class=\"timeline\"").count(), 2);
}
