//! Puppet language details: how user data becomes a literal, which names
//! Puppet and puppet-lint accept, and which paths are safe inside a
//! `puppet:///` URI. Pure functions, no I/O; every rule here was checked
//! against puppet 7.23 and puppet-lint 3.0.1 (see `tests/it/puppet_tools.rs`).

use recorder::model::ContentHash;

/// A Puppet single-quoted string literal for `s`.
///
/// Inside single quotes Puppet only knows two escapes, `\\` and `\'`; a
/// backslash before anything else is literal. Escaping every backslash keeps
/// the round trip exact, and single quotes never interpolate, so `$`, `${x}`
/// and `<%` stay literal text.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A file mode as the quoted four-digit octal string puppet-lint wants.
pub fn mode(bits: u32) -> String {
    format!("'{:04o}'", bits & 0o7777)
}

/// Words the Puppet 7/8 lexer reserves, plus the class names `main` and
/// `settings`: none of them can name a class (or a module).
const RESERVED: &[&str] = &[
    "and",
    "application",
    "apply",
    "attr",
    "case",
    "class",
    "consumes",
    "default",
    "define",
    "else",
    "elsif",
    "environment",
    "false",
    "function",
    "if",
    "import",
    "in",
    "inherits",
    "main",
    "node",
    "or",
    "plan",
    "private",
    "produces",
    "settings",
    "site",
    "true",
    "type",
    "undef",
    "unit",
    "unless",
];

/// Why `name` cannot be a Puppet module (and class) name, if it cannot.
pub fn module_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Some("it is empty"),
        Some(c) if !c.is_ascii_lowercase() => {
            return Some("it must start with a lowercase ASCII letter")
        }
        Some(_) => {}
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Some("use only lowercase ASCII letters, digits and '_'");
    }
    if RESERVED.contains(&name) {
        return Some("it is a reserved word in Puppet");
    }
    None
}

/// Names a class parameter cannot take although they look like one:
/// built-in variables and metaparameters (checked with puppet 7.23: some
/// fail to parse, the others change what the class does).
const RESERVED_PARAMS: &[&str] = &[
    "alias",
    "audit",
    "before",
    "caller_module_name",
    "facts",
    "loglevel",
    "module_name",
    "name",
    "noop",
    "notify",
    "require",
    "schedule",
    "server_facts",
    "stage",
    "subscribe",
    "tag",
    "title",
    "trusted",
];

/// Why `name` cannot be a class (and EPP template) parameter, if it cannot.
/// Stricter than Puppet: lowercase only, as puppet-lint wants.
pub fn param_name_problem(name: &str) -> Option<&'static str> {
    // The same spelling rules as a module name, and more reserved words.
    if let Some(problem) = module_name_problem(name) {
        return Some(problem);
    }
    if RESERVED_PARAMS.contains(&name) {
        return Some("Puppet reserves it for a built-in variable or a metaparameter");
    }
    None
}

/// Lowercase ASCII letters and digits kept, every other run of characters
/// collapsed into one `_`, no `_` at either end.
pub fn identifier_words(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Longest parameter stem kept before a hash suffix replaces the rest, so a
/// 255-byte file name does not make a 255-character parameter.
const MAX_STEM: usize = 60;

/// The class parameter that carries the content of a withheld file:
/// `/etc/ssh/ssh_host_ed25519_key` -> `etc_ssh_ssh_host_ed25519_key_content`.
/// `disambiguate` appends eight hex digits of the path's hash, used when two
/// paths map to the same name (`/etc/a-b`, `/etc/a_b`).
pub fn content_param_name(path: &[u8], disambiguate: bool) -> String {
    param_name(path, "file", "content", disambiguate)
}

/// The class parameter that carries a user's password hash: `alice` ->
/// `alice_password`, `1st` -> `user_1st_password`; `disambiguate` as for
/// [`content_param_name`] (`a-b` and `a_b`).
pub fn password_param_name(user: &str, disambiguate: bool) -> String {
    param_name(user.as_bytes(), "user", "password", disambiguate)
}

/// `<words of raw>_<suffix>`, starting with a letter (`<fallback>_` is
/// prepended when it would not), at most [`MAX_STEM`] characters before the
/// suffix.
fn param_name(raw: &[u8], fallback: &str, suffix: &str, disambiguate: bool) -> String {
    let mut stem = identifier_words(&String::from_utf8_lossy(raw));
    if !stem.starts_with(|c: char| c.is_ascii_lowercase()) {
        let prefix = if stem.is_empty() {
            fallback.to_string()
        } else {
            format!("{fallback}_")
        };
        stem.insert_str(0, &prefix);
    }
    let hash = || ContentHash::of(raw).to_hex()[..8].to_string();
    if stem.len() > MAX_STEM {
        stem.truncate(MAX_STEM - 9);
        while stem.ends_with('_') {
            stem.pop();
        }
        stem = format!("{stem}_{}", hash());
    } else if disambiguate {
        stem = format!("{stem}_{}", hash());
    }
    format!("{stem}_{suffix}")
}

/// Can this target path be mirrored under `files/` and named in a
/// `puppet:///modules/...` URI as is? Puppet URI-encodes sources
/// inconsistently, so only characters that never need encoding pass, no
/// component may be all dots, and `/_cft` is kept free for the hashed names.
pub fn uri_safe(path: &[u8]) -> bool {
    let Some(rest) = path.strip_prefix(b"/") else {
        return false;
    };
    // Keep the mirrored path well under PATH_MAX once the module dir is prepended.
    if rest.is_empty() || rest.len() > 1024 {
        return false;
    }
    let mut components = rest.split(|&b| b == b'/');
    let first_ok = components.clone().next() != Some(b"_cft".as_slice());
    first_ok
        && components.all(|c| {
            !c.is_empty()
                && !c.iter().all(|&b| b == b'.')
                && c.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"._+,@=:~-".contains(&b))
        })
}

/// Where the content of `path` lives inside the module's `files/` directory.
pub fn files_relpath(path: &[u8]) -> String {
    if uri_safe(path) {
        // uri_safe implies ASCII, so this cannot lose anything.
        String::from_utf8_lossy(&path[1..]).into_owned()
    } else {
        format!("_cft/{}", ContentHash::of(path).to_hex())
    }
}

/// Text safe to put after `#` on one line: control characters (which would
/// end the comment, or confuse a terminal) become spaces, and the result is
/// cut to `max` characters.
pub fn comment_text(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= max {
        flat.to_string()
    } else {
        let mut cut: String = flat.chars().take(max.saturating_sub(3)).collect();
        cut.push_str("...");
        cut
    }
}

/// The line length limit of puppet-lint's `140chars` check.
pub const LINT_MAX_LINE: usize = 140;

/// Does any physical line of `text` trip puppet-lint's `140chars` check? It
/// splits on `\n`, counts characters, and exempts lines holding a URL.
pub fn has_long_line(text: &str) -> bool {
    text.split('\n').any(|line| {
        !line.contains("://") && !line.contains("template(") && line.chars().count() > LINT_MAX_LINE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Puppet's reading of a single-quoted literal: `\\` and `\'` are
    /// escapes, any other backslash is literal. `None` unless `lit` is
    /// exactly one literal.
    fn parse_single_quoted(lit: &str) -> Option<String> {
        let mut chars = lit.strip_prefix('\'')?.chars();
        let mut out = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\'' => return chars.next().is_none().then_some(out),
                '\\' => match chars.clone().next() {
                    Some(e @ ('\\' | '\'')) => {
                        chars.next();
                        out.push(e);
                    }
                    _ => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        None
    }

    #[test]
    fn quote_cases() {
        let cases: &[(&str, &str, &str)] = &[
            ("plain", "/etc/x", "'/etc/x'"),
            ("empty", "", "''"),
            ("single quote", "it's", r"'it\'s'"),
            ("backslash", r"a\b", r"'a\\b'"),
            ("backslash before quote", r"\'", r"'\\\''"),
            ("trailing backslash", "a\\", r"'a\\'"),
            ("dollar stays", "$x", "'$x'"),
            ("interpolation stays", "${x}", "'${x}'"),
            ("erb stays", "<%= x %>", "'<%= x %>'"),
            ("double quote stays", "\"", "'\"'"),
            ("newline stays raw", "a\nb", "'a\nb'"),
            ("tab stays raw", "a\tb", "'a\tb'"),
            ("non-ascii", "caf\u{e9}", "'caf\u{e9}'"),
        ];
        for (name, input, want) in cases {
            assert_eq!(quote(input), *want, "{name}");
            assert_eq!(parse_single_quoted(want).as_deref(), Some(*input), "{name}");
        }
    }

    #[test]
    fn parser_follows_puppet() {
        // Puppet keeps a backslash that escapes nothing.
        assert_eq!(parse_single_quoted(r"'a\nb'").as_deref(), Some(r"a\nb"));
        assert_eq!(
            parse_single_quoted("'a'b'"),
            None,
            "stray quote ends it early"
        );
        assert_eq!(parse_single_quoted(r"'a\'"), None, "unterminated");
    }

    proptest! {
        #[test]
        fn quote_round_trips(s in any::<String>()) {
            prop_assert_eq!(parse_single_quoted(&quote(&s)), Some(s));
        }

        #[test]
        // Arbitrary strings, and ones dense in the characters that matter.
        fn quote_has_no_bare_quote_inside(s in prop_oneof![any::<String>(), "[a-z'\\\\$]{0,40}"]) {
            let q = quote(&s);
            let inner = &q[1..q.len() - 1];
            let mut escaped = false;
            for c in inner.chars() {
                prop_assert!(escaped || c != '\'', "bare quote in {q}");
                escaped = !escaped && c == '\\';
            }
            prop_assert!(!escaped, "dangling backslash in {q}");
        }
    }

    #[test]
    fn mode_cases() {
        let cases = [
            ("plain", 0o644, "'0644'"),
            ("setuid", 0o4755, "'4755'"),
            ("sticky dir", 0o1777, "'1777'"),
            ("none", 0, "'0000'"),
            ("type bits dropped", 0o100644, "'0644'"),
        ];
        for (name, bits, want) in cases {
            assert_eq!(mode(bits), want, "{name}");
        }
    }

    #[test]
    fn module_name_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("simple", "nginx", true),
            ("digits and underscore", "web_2", true),
            ("empty", "", false),
            ("uppercase", "Nginx", false),
            ("leading digit", "2web", false),
            ("leading underscore", "_web", false),
            ("dash", "web-server", false),
            ("dot", "web.server", false),
            ("non-ascii", "caf\u{e9}", false),
            ("reserved word", "class", false),
            ("reserved class", "settings", false),
        ];
        for (name, input, ok) in cases {
            assert_eq!(module_name_problem(input).is_none(), *ok, "{name}");
        }
    }

    #[test]
    fn param_name_problem_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("simple", "mailhub", true),
            ("digits and underscore", "smtp_port2", true),
            ("empty", "", false),
            ("uppercase", "mailHub", false),
            ("leading digit", "2hub", false),
            ("leading underscore", "_hub", false),
            ("dash", "mail-hub", false),
            ("reserved word", "class", false),
            ("built-in variable", "title", false),
            ("facts", "facts", false),
            ("metaparameter", "require", false),
        ];
        for (name, input, ok) in cases {
            assert_eq!(param_name_problem(input).is_none(), *ok, "{name}");
        }
    }

    #[test]
    fn param_name_cases() {
        let long = format!("/etc/{}", "k".repeat(255));
        let cases: &[(&str, &[u8], bool, &str)] = &[
            (
                "ssh host key",
                b"/etc/ssh/ssh_host_ed25519_key",
                false,
                "etc_ssh_ssh_host_ed25519_key_content",
            ),
            (
                "punctuation collapses",
                b"/etc/a--b.c",
                false,
                "etc_a_b_c_content",
            ),
            ("uppercase lowered", b"/etc/KEY", false, "etc_key_content"),
            ("leading digit", b"/0/key", false, "file_0_key_content"),
            ("nothing usable", b"/%%", false, "file_content"),
        ];
        for (name, path, dis, want) in cases {
            assert_eq!(content_param_name(path, *dis), *want, "{name}");
        }
        let a = content_param_name(b"/etc/a-b", true);
        let b = content_param_name(b"/etc/a_b", true);
        assert_ne!(a, b, "disambiguated names differ");
        assert!(a.starts_with("etc_a_b_") && a.ends_with("_content"), "{a}");
        let users: &[(&str, &str, &str)] = &[
            ("plain", "alice", "alice_password"),
            ("dash and dot", "j.doe-x", "j_doe_x_password"),
            ("leading digit", "1st", "user_1st_password"),
            ("nothing usable", "%", "user_password"),
            ("uppercase lowered", "Bob", "bob_password"),
        ];
        for (name, user, want) in users {
            assert_eq!(password_param_name(user, false), *want, "{name}");
            assert_eq!(module_name_problem(want), None, "{name}: valid name");
        }
        let a = password_param_name("a-b", true);
        assert_ne!(a, password_param_name("a_b", true));
        assert!(a.starts_with("a_b_") && a.ends_with("_password"), "{a}");
        let l = content_param_name(long.as_bytes(), false);
        assert!(l.len() <= MAX_STEM + "_content".len(), "{l}");
        assert_eq!(module_name_problem(&l), None, "long name still valid: {l}");
    }

    #[test]
    fn uri_safe_cases() {
        let long = format!("/etc/{}", "a".repeat(255));
        let cases: &[(&str, &[u8], bool)] = &[
            ("plain", b"/etc/nginx/nginx.conf", true),
            ("all allowed punctuation", b"/etc/a._+,@=:~-b", true),
            ("255-byte name", long.as_bytes(), true),
            ("space", b"/etc/a b", false),
            ("percent", b"/etc/a%20b", false),
            ("quote", b"/etc/it's", false),
            ("newline", b"/etc/a\nb", false),
            ("non-ascii", "/etc/caf\u{e9}".as_bytes(), false),
            ("dots only", b"/etc/...", false),
            ("dot dot", b"/etc/../x", false),
            ("empty component", b"/etc//x", false),
            ("root", b"/", false),
            ("relative", b"etc/x", false),
            ("hash area", b"/_cft/x", false),
            ("hash area elsewhere is fine", b"/etc/_cft", true),
        ];
        for (name, path, want) in cases {
            assert_eq!(uri_safe(path), *want, "{name}");
        }
        assert_eq!(files_relpath(b"/etc/x"), "etc/x");
        let hashed = files_relpath(b"/etc/a b");
        assert_eq!(
            hashed,
            format!("_cft/{}", ContentHash::of(b"/etc/a b").to_hex())
        );
    }

    #[test]
    fn comment_text_cases() {
        let cases = [
            ("plain", "web server", 20, "web server"),
            ("newline flattened", "a\nb\rc", 20, "a b c"),
            ("trimmed", "  a  ", 20, "a"),
            ("cut", "abcdefghij", 6, "abc..."),
        ];
        for (name, input, max, want) in cases {
            assert_eq!(comment_text(input, max), want, "{name}");
        }
    }

    #[test]
    fn long_line_cases() {
        let long = "x".repeat(141);
        let cases = [
            ("short", "abc".to_string(), false),
            ("exactly 140", "x".repeat(140), false),
            ("141", long.clone(), true),
            ("second line long", format!("a\n{long}"), true),
            ("url exempt", format!("puppet://{long}"), false),
            ("counts chars not bytes", "\u{e9}".repeat(140), false),
        ];
        for (name, text, want) in cases {
            assert_eq!(has_long_line(&text), want, "{name}");
        }
    }
}
