//! What a unit file's name and `[Install]` section say: valid unit names,
//! templates and instances, and the keys `systemctl enable` acts on.

const UNIT_SUFFIXES: &[&str] = &[
    ".service",
    ".socket",
    ".target",
    ".timer",
    ".path",
    ".mount",
    ".automount",
    ".swap",
    ".device",
    ".slice",
    ".scope",
];

/// A valid unit file name, as UTF-8.
pub(super) fn unit_name(name: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(name).ok()?;
    let valid = s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
        && UNIT_SUFFIXES
            .iter()
            .any(|suf| s.len() > suf.len() && s.ends_with(suf));
    valid.then_some(s)
}

/// `getty@tty1.service` -> `getty@.service`.
pub(super) fn template_of(name: &str) -> Option<String> {
    let at = name.find('@')?;
    let dot = name.rfind('.')?;
    (dot > at + 1).then(|| format!("{}{}", &name[..=at], &name[dot..]))
}

/// `getty@.service` -> (`getty@`, `.service`).
pub(super) fn template_parts(name: &str) -> Option<(&str, &str)> {
    let at = name.find('@')?;
    name[at + 1..]
        .starts_with('.')
        .then(|| (&name[..=at], &name[at + 1..]))
}

/// Does a link to `dest` carry the unit itself (a linked unit file) rather
/// than an alias?
pub(super) fn same_unit(dest: &[u8], name: &str, template: Option<&str>) -> bool {
    let base = dest.rsplit(|&b| b == b'/').next().unwrap_or(dest);
    base == name.as_bytes() || template.is_some_and(|t| base == t.as_bytes())
}

/// What the `[Install]` section says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Install {
    /// WantedBy=, RequiredBy=, UpheldBy= targets.
    pub targets: Vec<String>,
    pub alias: Vec<String>,
    pub also: bool,
    pub default_instance: Option<String>,
}

impl Install {
    pub fn parse(text: &str) -> Install {
        let mut out = Install::default();
        let mut in_install = false;
        let mut logical = String::new();
        for raw in text.lines() {
            // A trailing backslash continues the line.
            if let Some(part) = raw.strip_suffix('\\') {
                logical.push_str(part);
                logical.push(' ');
                continue;
            }
            logical.push_str(raw);
            let line = std::mem::take(&mut logical);
            let line = line.trim();
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if line.starts_with('[') {
                in_install = line == "[Install]";
                continue;
            }
            let Some((key, value)) = line.split_once('=').filter(|_| in_install) else {
                continue;
            };
            let words = value.split_whitespace().map(str::to_string);
            // An empty assignment resets a list, as in systemd.
            match key.trim() {
                "WantedBy" | "RequiredBy" | "UpheldBy" if value.trim().is_empty() => {
                    out.targets.clear()
                }
                "WantedBy" | "RequiredBy" | "UpheldBy" => out.targets.extend(words),
                "Alias" if value.trim().is_empty() => out.alias.clear(),
                "Alias" => out.alias.extend(words),
                "Also" => out.also = !value.trim().is_empty(),
                "DefaultInstance" => out.default_instance = Some(value.trim().to_string()),
                _ => {}
            }
        }
        out
    }

    /// Something `systemctl enable` would act on.
    pub fn has_rules(&self) -> bool {
        !self.targets.is_empty() || !self.alias.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_section_cases() {
        let cases: &[(&str, &str, Install)] = &[
            ("none", "[Unit]\nDescription=x\n", Install::default()),
            (
                "wanted and aliased",
                "[Install]\nWantedBy=a.target b.target\nAlias=x.service\n",
                Install { targets: vec!["a.target".into(), "b.target".into()], alias: vec!["x.service".into()], ..Install::default() },
            ),
            (
                "keys outside [Install] do not count",
                "[Unit]\nWantedBy=a.target\n[Service]\nAlias=x\n",
                Install::default(),
            ),
            (
                "empty assignment resets",
                "[Install]\nWantedBy=a.target\nWantedBy=\n",
                Install::default(),
            ),
            (
                "comments and continuations",
                "[Install]\n# WantedBy=no.target\n; Alias=no\nWantedBy=a.target \\\n  b.target\nAlso=c.socket\nDefaultInstance=tty1\n",
                Install {
                    targets: vec!["a.target".into(), "b.target".into()],
                    also: true,
                    default_instance: Some("tty1".into()),
                    ..Install::default()
                },
            ),
        ];
        for (name, text, want) in cases {
            assert_eq!(Install::parse(text), *want, "{name}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            template_of("getty@tty1.service").as_deref(),
            Some("getty@.service")
        );
        assert_eq!(template_of("getty@.service"), None);
        assert_eq!(template_of("nginx.service"), None);
        assert_eq!(
            template_parts("getty@.service"),
            Some(("getty@", ".service"))
        );
        assert_eq!(template_parts("getty@tty1.service"), None);
        assert_eq!(unit_name(b"a.service"), Some("a.service"));
        assert_eq!(unit_name(b".service"), None);
        assert_eq!(unit_name(b"a.conf"), None);
        assert_eq!(unit_name(b"caf\xc3\xa9.service"), None);
    }
}
