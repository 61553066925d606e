//! A [`Diff`] as text, in git's manners: the full form (every entry with
//! the attributes that differ and its content's unified diff), `--stat`
//! (a line per entry and a summary) and `--name-status` (`A`, `D`, `M`).
//! Colour is the caller's choice; nothing here looks at a terminal.

use super::{ContentDiff, Diff, Entry, Side};

/// Which text form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    Full,
    Stat,
    NameStatus,
}

/// ANSI colours, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paint(pub bool);

impl Paint {
    fn wrap(self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn red(self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn green(self, s: &str) -> String {
        self.wrap("32", s)
    }
    fn cyan(self, s: &str) -> String {
        self.wrap("36", s)
    }
    fn bold(self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// The diff in `form`.
pub fn render(d: &Diff, form: Form, paint: Paint) -> String {
    match form {
        Form::Full => full(d, paint),
        Form::Stat => stat(d),
        Form::NameStatus => name_status(d),
    }
}

fn side_name(d: &Diff, a: bool) -> String {
    let s = if a { &d.a } else { &d.b };
    if s.what == "session" {
        format!(
            "{} ({})",
            s.session,
            if s.host.is_empty() { "?" } else { &s.host }
        )
    } else {
        format!("{} {}", s.session, s.what)
    }
}

fn full(d: &Diff, p: Paint) -> String {
    let mut out = String::new();
    out.push_str(&p.bold(&format!(
        "cft diff a: {}  b: {}\n",
        side_name(d, true),
        side_name(d, false)
    )));
    for e in &d.entries {
        let (mark, note) = match e.side {
            Side::OnlyA => (p.red("-"), " (only in a)"),
            Side::OnlyB => (p.green("+"), " (only in b)"),
            Side::Both => (p.cyan("~"), ""),
        };
        out.push_str(&format!(
            "{mark} {} {}{note}\n",
            e.kind.as_str(),
            p.bold(&e.title)
        ));
        for a in &e.attributes {
            let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "-".into());
            match e.side {
                Side::Both => out.push_str(&format!(
                    "    {}: {} -> {}\n",
                    a.name,
                    p.red(&v(&a.a)),
                    p.green(&v(&a.b))
                )),
                _ => out.push_str(&format!(
                    "    {}: {}\n",
                    a.name,
                    v(&a.a.clone().or(a.b.clone()))
                )),
            }
        }
        if let Some(c) = &e.content {
            out.push_str(&content(c, p));
        }
    }
    out
}

fn content(c: &ContentDiff, p: Paint) -> String {
    match c {
        ContentDiff::Text {
            unified, truncated, ..
        } => {
            let mut out = String::new();
            for line in unified.lines() {
                let l = if line.starts_with("@@") {
                    p.cyan(line)
                } else if line.starts_with('+') {
                    p.green(line)
                } else if line.starts_with('-') {
                    p.red(line)
                } else {
                    line.to_string()
                };
                out.push_str(&format!("    {l}\n"));
            }
            if *truncated {
                out.push_str("    ... (cut at the line cap)\n");
            }
            out
        }
        ContentDiff::Binary {
            a_size,
            b_size,
            a_hash,
            b_hash,
        } => format!(
            "    binary content differs: {} bytes (blake3 {}) -> {} bytes (blake3 {})\n",
            a_size.map_or("?".into(), |n| n.to_string()),
            a_hash.as_deref().map_or("?", |h| &h[..16.min(h.len())]),
            b_size.map_or("?".into(), |n| n.to_string()),
            b_hash.as_deref().map_or("?", |h| &h[..16.min(h.len())]),
        ),
        ContentDiff::Secret => "    secret content differs\n".into(),
        ContentDiff::Uncaptured => {
            "    content differs (not captured: only its hash is known)\n".into()
        }
    }
}

/// `+`/`-` lines of an entry's content, if it has a text diff.
fn lines(e: &Entry) -> (usize, usize) {
    match &e.content {
        Some(ContentDiff::Text { added, removed, .. }) => (*added, *removed),
        _ => (0, 0),
    }
}

fn stat(d: &Diff) -> String {
    let width = d
        .entries
        .iter()
        .map(|e| e.kind.as_str().len() + 1 + e.title.chars().count())
        .max()
        .unwrap_or(0)
        .min(70);
    let mut out = String::new();
    let (mut only_a, mut only_b, mut both) = (0, 0, 0);
    for e in &d.entries {
        let name = format!("{} {}", e.kind.as_str(), e.title);
        let what = match e.side {
            Side::OnlyA => {
                only_a += 1;
                "only in a".to_string()
            }
            Side::OnlyB => {
                only_b += 1;
                "only in b".to_string()
            }
            Side::Both => {
                both += 1;
                let (add, rem) = lines(e);
                let names: Vec<&str> = e.attributes.iter().map(|a| a.name.as_str()).collect();
                if add + rem > 0 {
                    format!("{} +{add} -{rem}", names.join(", "))
                } else {
                    names.join(", ")
                }
            }
        };
        out.push_str(&format!(" {name:<width$} | {what}\n"));
    }
    out.push_str(&format!(
        " {} resources differ: {only_a} only in a, {only_b} only in b, {both} changed\n",
        d.entries.len()
    ));
    out
}

fn name_status(d: &Diff) -> String {
    d.entries
        .iter()
        .map(|e| {
            let s = match e.side {
                Side::OnlyA => "D",
                Side::OnlyB => "A",
                Side::Both => "M",
            };
            format!("{s}\t{}\t{}\n", e.kind.as_str(), e.title)
        })
        .collect()
}
