//! A typed line split into simple commands the way a shell would, and
//! words quoted for a POSIX shell (`crate::tools::sh_quote`).

pub use crate::tools::sh_quote;

pub(super) fn basename(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

pub(super) fn split_line(line: &str) -> Vec<Vec<String>> {
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
    let Some(words) = shlex::split(&spaced) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut target_next = false;
    for w in words {
        if matches!(w.as_str(), ";" | "|" | "&") {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
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
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .filter_map(|mut c| {
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
        })
        .collect()
}
