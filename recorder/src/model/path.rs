//! Paths are raw bytes (absolute paths in the *target* system, without the
//! `--root` prefix): a non-UTF-8 name is recorded, not dropped. These
//! helpers join, split and show them.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A path stored as bytes, for error messages and host file access.
pub fn os_path(bytes: &[u8]) -> &Path {
    Path::new(std::ffi::OsStr::from_bytes(bytes))
}

/// Render a path for humans: UTF-8 as is, other bytes as `\xNN`.
pub fn display_path(p: &[u8]) -> String {
    let mut out = String::with_capacity(p.len());
    for chunk in p.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Parent of an absolute path (`/` for `/x`, `None` for `/`).
pub fn parent(p: &[u8]) -> Option<&[u8]> {
    if p == b"/" {
        return None;
    }
    match p.iter().rposition(|&b| b == b'/') {
        Some(0) => Some(b"/"),
        Some(i) => Some(&p[..i]),
        None => None,
    }
}

/// `base` joined with a single file name.
pub fn join(base: &[u8], name: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(base.len() + 1 + name.len());
    v.extend_from_slice(base);
    if !base.ends_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(name);
    v
}

/// Is `p` equal to `dir` or below it?
pub fn is_within(p: &[u8], dir: &[u8]) -> bool {
    if dir == b"/" {
        return p.starts_with(b"/");
    }
    p.starts_with(dir) && (p.len() == dir.len() || p[dir.len()] == b'/')
}

/// `p` and every directory above it, nearest first, ending with `/`: the
/// `dir`s for which `is_within(p, dir)` holds.
pub fn ancestors(p: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut next = Some(p);
    std::iter::from_fn(move || {
        let cur = next?;
        next = match cur.iter().rposition(|&b| b == b'/') {
            _ if cur == b"/" || cur.is_empty() => None,
            Some(0) => Some(&b"/"[..]),
            Some(i) => Some(&cur[..i]),
            None => None,
        };
        Some(cur)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_path_escapes_what_a_terminal_would_mangle() {
        assert_eq!(display_path(b"/etc/a b"), "/etc/a b");
        assert_eq!(display_path(b"/etc/a\nb"), "/etc/a\\nb");
        assert_eq!(display_path(b"/etc/\xff\xfe"), "/etc/\\xff\\xfe");
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent(b"/etc/x"), Some(&b"/etc"[..]));
        assert_eq!(parent(b"/etc"), Some(&b"/"[..]));
        assert_eq!(parent(b"/"), None);
        assert_eq!(join(b"/", b"etc"), b"/etc");
        assert_eq!(join(b"/etc", b"x"), b"/etc/x");
        assert!(is_within(b"/etc/x", b"/etc"));
        assert!(is_within(b"/etc", b"/etc"));
        let up: Vec<&[u8]> = ancestors(b"/etc/a/b").collect();
        assert_eq!(up, [&b"/etc/a/b"[..], b"/etc/a", b"/etc", b"/"]);
        assert_eq!(ancestors(b"/").collect::<Vec<_>>(), [&b"/"[..]]);
        for p in [&b"/etc/a-b/c"[..], b"/etc/a/b", b"/x"] {
            for d in [&b"/"[..], b"/etc", b"/etc/a", b"/etc/a-b", b"/x"] {
                assert_eq!(ancestors(p).any(|a| a == d), is_within(p, d), "{p:?} {d:?}");
            }
        }
        assert!(!is_within(b"/etcx", b"/etc"));
        assert!(is_within(b"/etc", b"/"));
    }
}
