//! A typed line split into simple commands the way a shell would, and
//! words quoted for a POSIX shell (`crate::tools::sh_quote`).

pub use crate::tools::sh_quote;

pub(super) fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// One simple command of a typed line, every word kept (assignments,
/// `sudo`, redirections and their targets).
pub(super) struct Simple {
    pub words: Vec<String>,
    /// Its standard input is the previous command's output (`a | b`).
    pub piped: bool,
}

/// A typed line's here-document bodies: everything after its first line,
/// when that line has a `<<` (data, not commands).
pub(super) fn heredoc_body(line: &str) -> Option<&str> {
    let (first, rest) = line.split_once('\n')?;
    first.contains("<<").then_some(rest)
}

/// The simple commands of a typed line's first line (its commands when it
/// has a here-document) with all their words. `None` when it does not
/// split (an unclosed quote).
pub(super) fn split_raw(line: &str) -> Option<Vec<Simple>> {
    // A here-document's body is data, not commands.
    let line = if line.contains("<<") {
        line.split('\n').next().unwrap_or("")
    } else {
        line
    };
    // Make operators separate words, then let shlex do the quoting rules.
    // `&` in `2>&1` and `&>` is part of a redirection, not an operator.
    let chars: Vec<char> = line.chars().collect();
    let mut spaced = String::with_capacity(line.len() + 8);
    let mut quote = None::<char>;
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let operator = match c {
            ';' | '|' | '\n' => true,
            '&' => !matches!(prev, '>' | '<') && next != '>',
            _ => false,
        };
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if (c == '\'' || c == '"') && prev != '\\' => quote = Some(c),
            None if operator => {
                spaced.push_str(if c == '\n' { " ; " } else { " " });
                if c != '\n' {
                    spaced.push(c);
                    spaced.push(' ');
                }
                continue;
            }
            None => {}
        }
        spaced.push(c);
    }
    let words = shlex::split(&spaced)?;
    let mut out = Vec::new();
    let mut cur = Simple {
        words: Vec::new(),
        piped: false,
    };
    let mut last_op: Option<String> = None;
    for w in words {
        if matches!(w.as_str(), ";" | "|" | "&") {
            // `||` and `&&` come as two operators in a row.
            let double = last_op.as_deref() == Some(w.as_str()) && cur.words.is_empty();
            if !cur.words.is_empty() {
                out.push(std::mem::replace(
                    &mut cur,
                    Simple {
                        words: Vec::new(),
                        piped: false,
                    },
                ));
            }
            cur.piped = w == "|" && !double;
            last_op = Some(w);
            continue;
        }
        last_op = None;
        cur.words.push(w);
    }
    if !cur.words.is_empty() {
        out.push(cur);
    }
    Some(out)
}

pub(super) fn split_line(line: &str) -> Vec<Vec<String>> {
    let Some(raw) = split_raw(line) else {
        return Vec::new();
    };
    raw.into_iter()
        .filter_map(|simple| command_words(simple.words))
        .collect()
}

/// A simple command's words as [`split_line`] gives them: no redirections,
/// no leading assignments, `sudo`, `env` or `command`, the name reduced to
/// its file name. `None` when nothing is left.
pub(super) fn command_words(words: Vec<String>) -> Option<Vec<String>> {
    let mut c = plain_words(words);
    while let Some(first) = c.first() {
        let assignment = first.contains('=') && !first.starts_with('=');
        if assignment || first == "sudo" || first == "env" || first == "command" {
            c.remove(0);
        } else {
            break;
        }
    }
    let first = c.first_mut()?;
    *first = basename(first).to_string();
    Some(c)
}

/// The words less redirections (`>x`, `2>&1`, `< in`) and their targets.
fn plain_words(words: Vec<String>) -> Vec<String> {
    let mut cur = Vec::new();
    let mut target_next = false;
    for w in words {
        if target_next {
            target_next = false;
            continue;
        }
        // Redirections (`>x`, `2>&1`, `< in`) are not arguments.
        let op_len = w
            .trim_start_matches(|c: char| c.is_ascii_digit() || c == '&')
            .len();
        let rest = &w[w.len() - op_len..];
        if rest.starts_with('>') || rest.starts_with('<') {
            let bare = rest.trim_start_matches(['>', '<', '&', '|']);
            target_next = bare.is_empty();
            continue;
        }
        cur.push(w);
    }
    cur
}
