//! dpkg's own state besides the package list: alternatives
//! (`/var/lib/dpkg/alternatives/NAME`, with the link in `/etc/alternatives`
//! saying which choice is in use) and diversions (`/var/lib/dpkg/diversions`).
//! The admin changes both with tools (`update-alternatives --set`,
//! `dpkg-divert`) whose effect on files is only half the story: the
//! databases decide what the next package operation does.

use super::super::fs::{at_line, read_dir, read_file, read_link, utf8_line};
use crate::error::Result;
use crate::model::{Alternative, Diversion};
use crate::target::Target;
use std::collections::BTreeMap;
use std::path::Path;

pub const ALTERNATIVES_DIR: &[u8] = b"/var/lib/dpkg/alternatives";
pub const ALTERNATIVES_LINKS: &[u8] = b"/etc/alternatives";

/// `from` -> (`to`, diverting package or `None` for a local diversion).
pub(super) type Diversions = BTreeMap<Vec<u8>, (Vec<u8>, Option<String>)>;

/// Every alternative dpkg knows, with the choice its link points to now.
pub fn alternatives(target: &Target) -> Result<BTreeMap<String, Alternative>> {
    let mut out = BTreeMap::new();
    let Some((dir, entries)) = read_dir(target, ALTERNATIVES_DIR)? else {
        return Ok(out);
    };
    for e in entries.iter().filter(|e| e.file_type.is_file()) {
        let Ok(name) = String::from_utf8(e.name.clone()) else {
            continue;
        };
        let Some((path, data)) = read_file(target, &crate::model::join(&dir, &e.name))? else {
            continue;
        };
        let mut alt = parse_alternative(&path, &data)?;
        let link = crate::model::join(ALTERNATIVES_LINKS, name.as_bytes());
        alt.value = read_link(target, &link)?.and_then(|t| String::from_utf8(t).ok());
        out.insert(name, alt);
    }
    Ok(out)
}

/// One alternatives file: the mode, the generic link and the slaves'
/// names, then each choice (path, priority, one line per slave).
pub(super) fn parse_alternative(path: &Path, data: &[u8]) -> Result<Alternative> {
    let text: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let line = |i: usize| -> Result<&str> {
        let l = text
            .get(i)
            .ok_or_else(|| at_line(path, i + 1, "truncated alternatives file"))?;
        utf8_line(path, i + 1, l)
    };
    let manual = match line(0)? {
        "manual" => true,
        "auto" => false,
        other => {
            return Err(at_line(
                path,
                1,
                format!("expected 'auto' or 'manual', got '{other}'"),
            ))
        }
    };
    let link = line(1)?.to_string();
    let mut slaves = Vec::new();
    let mut i = 2;
    while !line(i)?.is_empty() {
        slaves.push(line(i)?.to_string());
        line(i + 1)?;
        i += 2;
    }
    i += 1;
    let mut choices = Vec::new();
    while i < text.len() && !line(i)?.is_empty() {
        choices.push(line(i)?.to_string());
        line(i + 1)?
            .parse::<i64>()
            .map_err(|_| at_line(path, i + 2, "expected a priority"))?;
        i += 2 + slaves.len();
    }
    Ok(Alternative {
        manual,
        link,
        slaves,
        value: None,
        choices,
    })
}

/// The diversions dpkg knows, sorted by the diverted path.
pub fn diversions(target: &Target) -> Result<Vec<Diversion>> {
    let Some((path, data)) = read_file(target, super::DIVERSIONS)? else {
        return Ok(Vec::new());
    };
    Ok(parse_diversions(&path, &data)?
        .into_iter()
        .map(|(from, (to, package))| Diversion { from, to, package })
        .collect())
}

/// Lines in threes: the diverted path, where it goes, the package that
/// diverts it (`:` for a local diversion, the admin's).
pub(super) fn parse_diversions(path: &Path, data: &[u8]) -> Result<Diversions> {
    let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if lines.last() == Some(&&b""[..]) {
        lines.pop();
    }
    if lines.len() % 3 != 0 {
        return Err(at_line(
            path,
            lines.len(),
            "truncated: expected lines in threes (from, to, package)",
        ));
    }
    let mut out = Diversions::new();
    for (i, t) in lines.chunks(3).enumerate() {
        let by = utf8_line(path, i * 3 + 3, t[2])?;
        let by = (by != ":").then(|| by.to_string());
        out.entry(t[0].to_vec()).or_insert((t[1].to_vec(), by));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDITOR: &[u8] =
        b"manual\n/usr/bin/editor\neditor.1.gz\n/usr/share/man/man1/editor.1.gz\n\n\
/bin/nano\n40\n/usr/share/man/man1/nano.1.gz\n/usr/bin/vim.tiny\n15\n\n\n";

    #[test]
    fn an_alternatives_file_parses() {
        let a = parse_alternative(Path::new("editor"), EDITOR).unwrap();
        assert!(a.manual);
        assert_eq!(a.link, "/usr/bin/editor");
        assert_eq!(a.slaves, vec!["editor.1.gz"]);
        assert_eq!(a.choices, vec!["/bin/nano", "/usr/bin/vim.tiny"]);
    }

    #[test]
    fn damaged_alternatives_files_name_the_line() {
        let cases: &[(&str, &[u8], &str)] = &[
            (
                "bad mode",
                b"sometimes\n/x\n\n",
                "line 1: expected 'auto' or 'manual'",
            ),
            ("truncated", b"auto\n/x", "line 3: truncated"),
            (
                "bad priority",
                b"auto\n/x\n\n/a\nhigh\n\n",
                "line 5: expected a priority",
            ),
        ];
        for (name, data, want) in cases {
            let err = parse_alternative(Path::new("f"), data)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn diversions_local_and_by_package() {
        let d = parse_diversions(
            Path::new("diversions"),
            b"/bin/sh\n/bin/sh.distrib\ndash\n/etc/issue\n/etc/issue.distrib\n:\n",
        )
        .unwrap();
        assert_eq!(
            d[&b"/etc/issue"[..]],
            (b"/etc/issue.distrib".to_vec(), None)
        );
        assert_eq!(d[&b"/bin/sh"[..]].1.as_deref(), Some("dash"));
        assert!(parse_diversions(Path::new("d"), b"/a\n/b\n").is_err());
    }
}
