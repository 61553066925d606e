//! Markdown escaping for `README.md` and the recipe's README: code spans
//! that hold any text verbatim, and plain text with the characters
//! Markdown would act on escaped. Every value reaches a README through
//! one of these.

/// A Markdown code span holding `s` verbatim, whatever backticks it holds;
/// in a table cell `|` must be escaped even inside code.
pub(crate) fn md_code(s: &str, in_table: bool) -> String {
    let longest_run = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let pad = if s.starts_with(['`', ' ']) || s.ends_with(['`', ' ']) || s.is_empty() {
        " "
    } else {
        ""
    };
    let body = if in_table {
        s.replace('|', "\\|")
    } else {
        s.to_string()
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// Plain text with the characters Markdown would act on escaped. An `_`
/// inside a word (`x86_64`) is left alone: it cannot start emphasis.
pub(crate) fn md_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let in_word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let intraword = c == '_' && in_word(i.checked_sub(1)) && in_word(Some(i + 1));
        if "\\`*_[]<>|".contains(c) && !intraword {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_code_cases() {
        let cases = [
            ("plain", "/etc/x", false, "`/etc/x`"),
            ("backtick inside", "/etc/a`b", false, "``/etc/a`b``"),
            ("leading backtick", "`x", false, "`` `x ``"),
            ("pipe in table", "/etc/a|b", true, "`/etc/a\\|b`"),
            ("pipe outside table", "/etc/a|b", false, "`/etc/a|b`"),
            ("trailing space", "/etc/a ", false, "` /etc/a  `"),
        ];
        for (name, input, table, want) in cases {
            assert_eq!(md_code(input, table), want, "{name}");
        }
    }

    #[test]
    fn md_text_cases() {
        assert_eq!(md_text("_a_b_ *c* <d>"), "\\_a_b\\_ \\*c\\* \\<d\\>");
        assert_eq!(md_text("plain words."), "plain words.");
    }
}
