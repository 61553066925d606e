//! EPP templates for files that carry site parameters. Only those files
//! become templates, and everything in them except the parameters' values
//! is literal text: a captured `<%` must come out as `<%`, never be
//! evaluated (Blueprint evaluated every file as ERB and broke on it).
//!
//! Escaping follows Puppet 7's text scanner (`pops/parser/epp_support.rb`),
//! checked with `puppet epp render` in `tests/it/epp_render.rs`:
//! - `<%%` is a literal `<%`, which covers `<%=`, `<%-` and `<%#` too;
//! - `%%>` is turned into `%>` in text, so a run of `%` before `>` must
//!   carry one `%` more when it is two or longer (`%>` alone is literal);
//! - text ending in `<%%` is dropped by Puppet (the scanner returns nothing
//!   when the input ends just after the skipped `%`), so a template whose
//!   last text ends that way gets an empty expression `<%= '' %>` after it.

/// A piece of a file's content: text copied as is, or the value of the
/// parameter at this index of the template's parameter list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Value(usize),
}

/// Split `content` at every occurrence of `literals` (indices into it),
/// scanning left to right and taking the longest literal that starts at a
/// position. Empty literals never match.
pub fn split<'a>(content: &'a str, literals: &[&str]) -> Vec<Piece<'a>> {
    let mut pieces = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while i < content.len() {
        let best = literals
            .iter()
            .enumerate()
            .filter(|(_, lit)| !lit.is_empty() && content[i..].starts_with(**lit))
            .max_by_key(|(idx, lit)| (lit.len(), std::cmp::Reverse(*idx)));
        match best {
            Some((idx, lit)) => {
                if text_start < i {
                    pieces.push(Piece::Text(&content[text_start..i]));
                }
                pieces.push(Piece::Value(idx));
                i += lit.len();
                text_start = i;
            }
            None => {
                // Advance by one character; literals start on char boundaries.
                i += content[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    if text_start < content.len() {
        pieces.push(Piece::Text(&content[text_start..]));
    }
    pieces
}

/// The EPP template: a parameter header declaring `names` (each a
/// `String`), then the pieces, `Value(i)` rendered as `<%= $names[i] %>`.
/// The header's `-%>` eats exactly the line break written after it.
pub fn template(names: &[&str], pieces: &[Piece<'_>]) -> String {
    let params: Vec<String> = names.iter().map(|n| format!("String ${n}")).collect();
    let mut out = format!("<%- | {} | -%>\n", params.join(", "));
    let mut ends_with_escape = false;
    for piece in pieces {
        match piece {
            Piece::Text(text) => {
                ends_with_escape = escape_text_into(text, &mut out);
            }
            Piece::Value(i) => {
                let name = names.get(*i).copied().unwrap_or("");
                out.push_str(&format!("<%= ${name} %>"));
                ends_with_escape = false;
            }
        }
    }
    if ends_with_escape {
        out.push_str("<%= '' %>");
    }
    out
}

/// `text` as EPP literal text (see the module doc).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_text_into(text, &mut out);
    out
}

/// Appends the escaped text; true when it ends with the `<%%` escape.
fn escape_text_into(text: &str, out: &mut String) -> bool {
    let bytes = text.as_bytes();
    let mut ends_with_escape = false;
    let mut i = 0;
    let mut plain = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"<%") {
            out.push_str(&text[plain..i]);
            out.push_str("<%%");
            i += 2;
            plain = i;
            ends_with_escape = true;
            continue;
        }
        if bytes[i] == b'%' {
            let run = bytes[i..].iter().take_while(|&&b| b == b'%').count();
            if run >= 2 && bytes.get(i + run) == Some(&b'>') {
                out.push_str(&text[plain..i]);
                out.push_str(&"%".repeat(run + 1));
                out.push('>');
                i += run + 1;
                plain = i;
                ends_with_escape = false;
                continue;
            }
            i += run;
            ends_with_escape = false;
            continue;
        }
        i += 1;
        ends_with_escape = false;
    }
    out.push_str(&text[plain..]);
    ends_with_escape
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Puppet 7's `EppScanner#scan` and the `<%= ... %>` expressions this
    /// module writes, transcribed: the output of rendering `template` with
    /// `values`. `None` for anything this module never writes (code blocks,
    /// comments, trimming tags) and for Puppet's syntax errors.
    fn render_model(template: &str, values: &[(&str, &str)]) -> Option<String> {
        let (_, mut rest) = template.strip_prefix("<%- | ")?.split_once(" | -%>")?;
        let mut out = String::new();
        let mut skip_leading = true;
        while !rest.is_empty() {
            let mut s = String::new();
            let expr = loop {
                if rest.is_empty() {
                    // `until scanner.eos?` ends without `return s`: nil, text lost.
                    return Some(out);
                }
                let (part, after) = match rest.find("<%") {
                    Some(p) => rest.split_at(p + 2),
                    None => (rest, ""),
                };
                let mut part = part;
                if skip_leading {
                    part = part.trim_start_matches([' ', '\t']);
                    part = part.strip_prefix('\r').unwrap_or(part);
                    part = part.strip_prefix('\n').unwrap_or(part);
                    skip_leading = false;
                }
                s.push_str(&part.replace("%%>", "%>"));
                rest = after;
                match rest.chars().next() {
                    None if s.ends_with("<%") => return None,
                    None => break false,
                    Some('%') => rest = &rest[1..],
                    Some('=') => {
                        rest = &rest[1..];
                        s.truncate(s.len() - 2);
                        break true;
                    }
                    Some(_) => return None,
                }
            };
            out.push_str(&s);
            if !expr {
                return Some(out);
            }
            let (e, after) = rest.split_once("%>")?;
            match e.trim() {
                "''" => {}
                var => {
                    let name = var.strip_prefix('$')?;
                    out.push_str(values.iter().find(|(n, _)| *n == name)?.1);
                }
            }
            rest = after;
        }
        Some(out)
    }

    #[test]
    fn split_cases() {
        use Piece::*;
        let cases: Vec<(&str, &str, Vec<&str>, Vec<Piece>)> = vec![
            ("none", "abc", vec!["x"], vec![Text("abc")]),
            (
                "twice",
                "a=H;b=H",
                vec!["H"],
                vec![Text("a="), Value(0), Text(";b="), Value(0)],
            ),
            ("whole", "H", vec!["H"], vec![Value(0)]),
            (
                "longest wins",
                "smtp.example.com example.com",
                vec!["example.com", "smtp.example.com"],
                vec![Value(1), Text(" "), Value(0)],
            ),
            (
                "non-overlapping",
                "aaa",
                vec!["aa"],
                vec![Value(0), Text("a")],
            ),
            (
                "unicode around",
                "\u{e9}H\u{e9}",
                vec!["H"],
                vec![Text("\u{e9}"), Value(0), Text("\u{e9}")],
            ),
            ("empty literal", "ab", vec![""], vec![Text("ab")]),
        ];
        for (name, content, lits, want) in cases {
            assert_eq!(split(content, &lits), want, "{name}");
        }
    }

    #[test]
    fn escape_cases() {
        let cases = [
            ("plain", "abc", "abc"),
            ("tag", "<% x %>", "<%% x %>"),
            ("expression", "<%= $x %>", "<%%= $x %>"),
            ("trim tag", "<%- x -%>", "<%%- x -%>"),
            ("comment", "<%# x %>", "<%%# x %>"),
            ("escaped tag", "<%%", "<%%%"),
            ("close alone", "a %> b", "a %> b"),
            ("double close", "%%>", "%%%>"),
            ("triple close", "%%%>", "%%%%>"),
            ("open then close", "<%%>", "<%%%>"),
            ("percent alone", "100% %%", "100% %%"),
        ];
        for (name, input, want) in cases {
            assert_eq!(escape_text(input), want, "{name}");
        }
    }

    #[test]
    fn template_layout() {
        let pieces = split("host=H\n", &["H"]);
        assert_eq!(
            template(&["mailhub"], &pieces),
            "<%- | String $mailhub | -%>\nhost=<%= $mailhub %>\n"
        );
        let t = template(&["a", "b"], &split("x<%", &["x"]));
        assert_eq!(t, "<%- | String $a, String $b | -%>\n<%= $a %><%%<%= '' %>");
    }

    #[test]
    fn model_round_trips_named_cases() {
        let cases = [
            "H",
            "\nH",
            "\r\nH\r\n",
            "  H",
            "<%H",
            "H<%",
            "H<%%",
            "<%%>H%%>",
            "H%%",
            "H>",
            "%H%>",
            "a<%- b -%>H<%= c %><%# d %>",
        ];
        for content in cases {
            let t = template(&["site"], &split(content, &["H"]));
            let got = render_model(&t, &[("site", "H")]);
            assert_eq!(got.as_deref(), Some(content), "{content:?} -> {t:?}");
        }
    }

    fn text() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("<%".to_string()),
            Just("%>".to_string()),
            Just("<%-".to_string()),
            Just("-%>".to_string()),
            Just("<%=".to_string()),
            Just("<%#".to_string()),
            Just("%".to_string()),
            Just("<".to_string()),
            Just(">".to_string()),
            Just("\r\n".to_string()),
            Just("\n".to_string()),
            Just(" \t".to_string()),
            "[a-z$'{}]{1,3}",
            any::<String>(),
        ];
        prop::collection::vec(token, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn any_text_round_trips_through_the_model(
            parts in prop::collection::vec(text(), 1..5),
            lit in prop_oneof![Just("H".to_string()), "[a-z<%>=-]{1,4}"],
            value in "[a-z<%>=$' -]{0,6}",
        ) {
            let content = parts.join(&lit);
            let t = template(&["site"], &split(&content, &[&lit]));
            let got = render_model(&t, &[("site", &value)]);
            prop_assert_eq!(got, Some(content.replace(&lit, &value)), "template {:?}", t);
        }
    }
}
