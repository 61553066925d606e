//! A small kickstart line parser, enough to merge two files without
//! changing a byte of what it does not understand: commands (split into
//! words the way pykickstart does, `shlex` with `#` comments), sections
//! (`%packages`, `%pre`, `%post`, ... up to `%end`, body kept verbatim),
//! and comment or blank lines. Kickstart has no line continuation: every
//! command is one line.
//!
//! `%include` and `%ksappend` are refused: what they pull in cannot be
//! checked for conflicts (flatten the file with `ksflatten` first), and in
//! an untrusted file they read any local file or URL. [`find_include`]
//! looks for them the way pykickstart splits and strips lines, so no line
//! separator Python knows and Rust does not can hide one.

use crate::Error;

/// The sections pykickstart knows; any other `%word` outside a section is
/// an error, inside one it is script text.
pub const SECTIONS: [&str; 9] = [
    "%pre",
    "%pre-install",
    "%post",
    "%onerror",
    "%traceback",
    "%packages",
    "%addon",
    "%anaconda",
    "%certificate",
];

/// One line of the file, without its newline; numbered from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub line: Line,
    /// `words[0]` is the command name.
    pub words: Vec<String>,
}

impl Command {
    pub fn name(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// Comments and blank lines just above the header (they describe it).
    pub leading: Vec<Line>,
    pub header: Line,
    /// The header's words: `["%post", "--nochroot", ...]`.
    pub words: Vec<String>,
    pub body: Vec<Line>,
    pub end: Line,
}

impl Section {
    pub fn name(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A comment or blank line among the commands.
    Trivia(Line),
    Command(Command),
    Section(Section),
}

/// A parsed kickstart file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kickstart {
    /// How messages name the file.
    pub file: String,
    pub items: Vec<Item>,
}

impl Kickstart {
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        self.items.iter().filter_map(|i| match i {
            Item::Command(c) => Some(c),
            _ => None,
        })
    }

    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.items.iter().filter_map(|i| match i {
            Item::Section(s) => Some(s),
            _ => None,
        })
    }
}

fn is_trivia(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Python's `str.splitlines` boundaries (pykickstart reads lines with it).
fn is_python_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.isspace` (what `strip()` removes).
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// The first `%include` or `%ksappend` anywhere in `text`, in a section or
/// not, whatever its case and indentation: `(line, directive)`, the line
/// counted as pykickstart counts it.
pub fn find_include(text: &str) -> Option<(usize, &'static str)> {
    // "\r\n" is one boundary for Python: count it once.
    let text = text.replace("\r\n", "\n");
    text.split(is_python_line_break)
        .enumerate()
        .find_map(|(i, line)| {
            let word = line.trim_matches(is_python_space).to_ascii_lowercase();
            ["%include", "%ksappend"]
                .into_iter()
                .find(|d| word.starts_with(d))
                .map(|d| (i + 1, d))
        })
}

/// Parse `text`; errors name `file` and the line.
pub fn parse(file: &str, text: &str) -> Result<Kickstart, Error> {
    let err = |line: usize, reason: String| Error::KsSyntax {
        file: file.to_string(),
        line,
        reason,
    };
    if let Some((line, what)) = find_include(text) {
        return Err(include_err(file, line, what));
    }
    let mut items: Vec<Item> = Vec::new();
    let mut open: Option<Section> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = Line {
            number: i + 1,
            text: raw.strip_suffix('\r').unwrap_or(raw).to_string(),
        };
        let first = line.text.split_whitespace().next().unwrap_or("");
        if let Some(sec) = open.as_mut() {
            if !first.starts_with('%') {
                sec.body.push(line);
            } else if first == "%end" {
                if let Some(mut done) = open.take() {
                    done.end = line;
                    items.push(Item::Section(done));
                }
            } else if SECTIONS.contains(&first) {
                return Err(err(
                    line.number,
                    format!(
                        "{first} starts before the {} of line {} ends (add %end)",
                        sec.name(),
                        sec.header.number
                    ),
                ));
            } else if first == "%include" || first == "%ksappend" {
                return Err(include_err(file, line.number, first));
            } else {
                sec.body.push(line);
            }
            continue;
        }
        if is_trivia(&line.text) {
            items.push(Item::Trivia(line));
            continue;
        }
        let words = split_words(&line.text).map_err(|r| err(line.number, r.to_string()))?;
        let Some(name) = words.first().cloned() else {
            items.push(Item::Trivia(line));
            continue;
        };
        if name == "%include" || name == "%ksappend" {
            return Err(include_err(file, line.number, &name));
        }
        if name.starts_with('%') {
            if name == "%end" {
                return Err(err(line.number, "%end without a section".to_string()));
            }
            if !SECTIONS.contains(&name.as_str()) {
                return Err(err(line.number, format!("unknown section {name}")));
            }
            // Comments right above a section belong to it.
            let mut leading = Vec::new();
            while let Some(Item::Trivia(_)) = items.last() {
                if let Some(Item::Trivia(l)) = items.pop() {
                    leading.push(l);
                }
            }
            leading.reverse();
            open = Some(Section {
                leading,
                header: line.clone(),
                words,
                body: Vec::new(),
                end: line,
            });
            continue;
        }
        items.push(Item::Command(Command { line, words }));
    }
    if let Some(sec) = open {
        return Err(err(
            sec.header.number,
            format!("{} has no %end", sec.name()),
        ));
    }
    Ok(Kickstart {
        file: file.to_string(),
        items,
    })
}

fn include_err(file: &str, line: usize, what: &str) -> Error {
    Error::KsSyntax {
        file: file.to_string(),
        line,
        reason: format!("{what} is not supported: its content cannot be checked for conflicts (flatten the file with ksflatten first)"),
    }
}

/// The text of an item, as it was (sections with their leading comments).
pub fn render_item(item: &Item, out: &mut String) {
    let mut push = |l: &Line| {
        out.push_str(&l.text);
        out.push('\n');
    };
    match item {
        Item::Trivia(l) => push(l),
        Item::Command(c) => push(&c.line),
        Item::Section(s) => {
            s.leading.iter().for_each(&mut push);
            push(&s.header);
            s.body.iter().for_each(&mut push);
            push(&s.end);
        }
    }
}

/// Split a line into words like Python's `shlex.split(line, comments=True)`
/// (what pykickstart does): blanks separate words, `'...'` is literal,
/// `"..."` keeps blanks and lets `\` escape `"` and `\`, a bare `\` escapes
/// the next character, and an unquoted `#` starts a comment.
pub fn split_words(line: &str) -> Result<Vec<String>, &'static str> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.peek() {
                            Some(&n @ ('"' | '\\')) => {
                                cur.push(n);
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => {
                        return Err(
                            "backslash at the end of the line (kickstart has no line continuation)",
                        )
                    }
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_splitting_cases() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("plain", "part / --size=100", &["part", "/", "--size=100"]),
            ("blanks", "  lang\ten_US.UTF-8  ", &["lang", "en_US.UTF-8"]),
            ("comment", "timezone UTC # the site's", &["timezone", "UTC"]),
            ("hash inside a word", "a#b c", &["a"]),
            ("single quotes", "rootpw 'a b#c'", &["rootpw", "a b#c"]),
            (
                "double quotes and escapes",
                r#"x "a \"b\" \\ \n" y"#,
                &["x", r#"a "b" \ \n"#, "y"],
            ),
            ("bare backslash", r"a\ b", &["a b"]),
            ("joined quotes", r#"--opt="a b"'c'"#, &["--opt=a bc"]),
            ("empty quotes", "x ''", &["x", ""]),
            ("only a comment", "# x", &[]),
        ];
        for (name, line, want) in cases {
            let got = split_words(line).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(got, *want, "{name}");
        }
        for bad in ["x 'open", "x \"open", "x \\"] {
            assert!(split_words(bad).is_err(), "{bad}");
        }
    }

    const SAMPLE: &str = "# header\nlang en_US\n\n# the packages\n%packages --ignoremissing\n@core\n%end\nrootpw --lock\n%post --nochroot\n%not-a-section in a script\n# comment in a script\n%end\n";

    #[test]
    fn parses_commands_sections_and_comments() {
        let ks = parse("x.ks", SAMPLE).expect("parses");
        let names: Vec<&str> = ks.commands().map(Command::name).collect();
        assert_eq!(names, ["lang", "rootpw"]);
        let secs: Vec<&Section> = ks.sections().collect();
        assert_eq!(secs.len(), 2);
        assert_eq!(secs[0].words, ["%packages", "--ignoremissing"]);
        assert_eq!(secs[0].leading.len(), 2, "blank line and comment above");
        assert_eq!(secs[0].header.number, 5);
        assert_eq!(secs[0].end.number, 7);
        assert_eq!(secs[1].body.len(), 2, "script lines kept verbatim");
    }

    #[test]
    fn round_trips_byte_for_byte() {
        let ks = parse("x.ks", SAMPLE).expect("parses");
        let mut out = String::new();
        ks.items.iter().for_each(|i| render_item(i, &mut out));
        assert_eq!(out, SAMPLE);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let cases = [
            ("no %end", "lang x\n%post\necho\n", 2, "no %end"),
            ("nested", "%pre\n%post\n%end\n", 2, "add %end"),
            ("unknown section", "%postt\n%end\n", 1, "unknown section"),
            ("stray %end", "lang x\n%end\n", 2, "without a section"),
            ("include", "%include /tmp/x\n", 1, "ksflatten"),
            (
                "include in a section",
                "%post\n%include /x\n%end\n",
                2,
                "ksflatten",
            ),
            ("quote", "rootpw 'x\n", 1, "quote"),
            (
                "ksappend after a form feed (a line break to Python)",
                "lang x\x0c%ksappend /etc/shadow\n",
                2,
                "%ksappend",
            ),
            (
                "indented, upper case",
                "  %KSAPPEND http://x/\n",
                1,
                "%ksappend",
            ),
            ("CRLF lines", "lang x\r\n\r\n%include /x\r\n", 3, "%include"),
            (
                "in a script",
                "%post\necho\n  %ksappend /x\n%end\n",
                3,
                "%ksappend",
            ),
        ];
        for (name, text, line, want) in cases {
            match parse("f.ks", text) {
                Err(Error::KsSyntax {
                    line: l,
                    reason,
                    file,
                }) => {
                    assert_eq!((l, file.as_str()), (line, "f.ks"), "{name}");
                    assert!(reason.contains(want), "{name}: {reason}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
    }
}
