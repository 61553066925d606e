//! Reading a bundle someone handed us, safely: the gzip tar is extracted
//! only into a fresh directory the caller owns, entry by entry, and only
//! plain relative files and directories under one top-level directory are
//! accepted. Absolute paths, `..`, links, devices, duplicates and oversized
//! entries are refused before anything reaches the disk. Files are hashed
//! (SHA-256) as they are written, for the `SHA256SUMS` check.
//!
//! Also the `SHA256SUMS` format itself (GNU `sha256sum`, including its
//! backslash escaping of names holding `\`, newline or carriage return).

use super::{hex, SUMS};
use crate::Error;
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The largest file a bundle may hold (the recorder captures up to 256 MiB).
pub(crate) const MAX_FILE: u64 = 256 << 20;
/// The most a whole bundle may expand to.
pub(crate) const MAX_TOTAL: u64 = 1 << 30;
pub(crate) const MAX_ENTRIES: usize = 100_000;

/// One extracted regular file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileInfo {
    /// Permission bits as extracted: 0600 (private) or 0644.
    pub mode: u32,
    pub size: u64,
    pub sha256: [u8; 32],
}

/// A bundle extracted into `dest/top`.
#[derive(Debug)]
pub(crate) struct Unpacked {
    pub bundle: PathBuf,
    /// The single top-level directory's name.
    pub top: String,
    /// Host path of the top-level directory.
    pub root: PathBuf,
    /// Relative to the top-level directory, sorted.
    pub files: BTreeMap<String, FileInfo>,
    pub dirs: BTreeSet<String>,
}

/// Counts what the gzip layer yields, so a small bundle cannot expand
/// without bound (long-name headers included).
struct Capped<R> {
    inner: R,
    left: u64,
    hit: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            self.hit = true;
            return Err(io::Error::other("size limit"));
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Extract `bundle` into `dest`, which must be an empty directory the
/// caller created.
pub(crate) fn unpack(bundle: &Path, dest: &Path) -> Result<Unpacked, Error> {
    let file = fs::File::open(bundle).map_err(|e| Error::io("opening", bundle, e))?;
    let capped = Capped {
        inner: GzDecoder::new(io::BufReader::new(file)),
        // Headers and padding on top of the content limit.
        left: MAX_TOTAL + (MAX_ENTRIES as u64) * 2048,
        hit: false,
    };
    let mut ar = tar::Archive::new(capped);
    let mut u = Unpacked {
        bundle: bundle.to_path_buf(),
        top: String::new(),
        root: PathBuf::new(),
        files: BTreeMap::new(),
        dirs: BTreeSet::new(),
    };
    let archive_err = |reason: String| Error::Archive {
        bundle: bundle.to_path_buf(),
        reason,
    };
    let mut total = 0u64;
    let mut count = 0usize;
    let mut seen = BTreeSet::new();
    let entries = ar.entries().map_err(|e| archive_err(e.to_string()))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => return Err(archive_err(limit_or(e, "reading the next entry"))),
        };
        count += 1;
        if count > MAX_ENTRIES {
            return Err(archive_err(format!("more than {MAX_ENTRIES} entries")));
        }
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let bad = |reason: String| Error::Entry {
            bundle: bundle.to_path_buf(),
            entry: shown.clone(),
            reason,
        };
        let (top, rel) = split_entry_path(&raw).map_err(|r| bad(r.to_string()))?;
        if u.top.is_empty() {
            u.top = top.clone();
            u.root = dest.join(&top);
        } else if u.top != top {
            return Err(bad(format!(
                "outside the bundle's top-level directory '{}'",
                u.top
            )));
        }
        if !seen.insert(rel.clone()) {
            return Err(bad("appears twice".to_string()));
        }
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                make_dirs(dest, &top, &rel).map_err(|e| bad(e.to_string()))?;
                u.dirs.insert(rel);
            }
            tar::EntryType::Regular => {
                if rel.is_empty() {
                    return Err(bad("the top level must be a directory".to_string()));
                }
                let size = entry.size();
                if size > MAX_FILE {
                    return Err(bad(format!(
                        "{size} bytes, more than the {MAX_FILE}-byte limit for one file"
                    )));
                }
                total += size;
                if total > MAX_TOTAL {
                    return Err(bad(format!(
                        "the bundle expands to more than {MAX_TOTAL} bytes"
                    )));
                }
                let parent = rel.rsplit_once('/').map_or("", |(p, _)| p);
                make_dirs(dest, &top, parent).map_err(|e| bad(e.to_string()))?;
                // Anything readable by others is public; 0600 stays private.
                let private = entry.header().mode().map_or(true, |m| m & 0o077 == 0);
                let info = write_entry(&mut entry, &u.root.join(&rel), size, private)
                    .map_err(|e| bad(limit_or(e, "extracting")))?;
                u.files.insert(rel, info);
            }
            other => {
                return Err(bad(format!(
                    "is a {}: a recipe holds only regular files and directories",
                    kind_name(other)
                )))
            }
        }
    }
    if u.top.is_empty() {
        return Err(archive_err("no entries".to_string()));
    }
    Ok(u)
}

fn limit_or(e: io::Error, what: &str) -> String {
    if e.to_string().contains("size limit") {
        format!("{what}: the bundle expands beyond {MAX_TOTAL} bytes")
    } else {
        format!("{what}: {e}")
    }
}

fn kind_name(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Symlink => "symbolic link",
        tar::EntryType::Link => "hard link",
        tar::EntryType::Char => "character device",
        tar::EntryType::Block => "block device",
        tar::EntryType::Fifo => "fifo",
        tar::EntryType::GNUSparse => "sparse file",
        _ => "special entry",
    }
}

/// Split an entry path into its top-level directory and the rest, refusing
/// anything but plain relative UTF-8 components.
pub(crate) fn split_entry_path(raw: &[u8]) -> Result<(String, String), &'static str> {
    let s = std::str::from_utf8(raw).map_err(|_| "the path is not UTF-8")?;
    if s.starts_with('/') {
        return Err("absolute path");
    }
    let trimmed = s.strip_suffix('/').unwrap_or(s);
    let parts: Vec<&str> = trimmed.split('/').collect();
    for p in &parts {
        match *p {
            "" => return Err("empty path component"),
            "." | ".." => return Err("'.' or '..' in the path"),
            _ if p.chars().any(|c| c == '\0') => return Err("NUL in the path"),
            _ => {}
        }
    }
    let (top, rest) = parts.split_first().ok_or("empty path")?;
    Ok((top.to_string(), rest.join("/")))
}

/// Create `dest/top/rel` and its parents (0755). `dest` is a directory we
/// created and fill ourselves, so there is no link in the way to follow.
fn make_dirs(dest: &Path, top: &str, rel: &str) -> io::Result<()> {
    let mut dir = dest.to_path_buf();
    for p in std::iter::once(top).chain(rel.split('/').filter(|p| !p.is_empty())) {
        dir.push(p);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "a file of the same name is already in the bundle",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new().mode(0o755).create(&dir)?;
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn write_entry(src: &mut impl Read, host: &Path, size: u64, private: bool) -> io::Result<FileInfo> {
    let mode = if private { 0o600 } else { 0o644 };
    // create_new: never replaces or follows anything already there.
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(host)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    let mut limited = src.take(size);
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        written += n as u64;
    }
    if written != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the archive ends inside this file",
        ));
    }
    out.set_permissions(fs::Permissions::from_mode(mode))?;
    Ok(FileInfo {
        mode,
        size,
        sha256: hasher.finalize().into(),
    })
}

// ---- SHA256SUMS -----------------------------------------------------------

/// The `SHA256SUMS` text for `(path, digest)` pairs, in the given order.
pub(crate) fn format_sums<'a>(items: impl IntoIterator<Item = (&'a str, [u8; 32])>) -> String {
    let mut out = String::new();
    for (path, digest) in items {
        let escaped = path.contains(['\\', '\n', '\r']);
        if escaped {
            out.push('\\');
        }
        out.push_str(&hex(&digest));
        out.push_str("  ");
        if escaped {
            for c in path.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        } else {
            out.push_str(path);
        }
        out.push('\n');
    }
    out
}

/// Parse `SHA256SUMS`: path -> lowercase hex digest. Errors name the line.
pub(crate) fn parse_sums(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.is_empty() {
            continue;
        }
        let (escaped, rest) = match line.strip_prefix('\\') {
            Some(r) => (true, r),
            None => (false, line),
        };
        let (digest, name) = rest
            .split_at_checked(64)
            .filter(|(d, _)| d.chars().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| format!("line {n}: not '<64 hex digits>  <file>'"))?;
        let name = name
            .strip_prefix("  ")
            .or_else(|| name.strip_prefix(" *"))
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("line {n}: not '<64 hex digits>  <file>'"))?;
        let name = if escaped {
            unescape(name).ok_or_else(|| format!("line {n}: bad escape in the file name"))?
        } else {
            name.to_string()
        };
        if name == SUMS {
            return Err(format!("line {n}: {SUMS} cannot list itself"));
        }
        if out
            .insert(name.clone(), digest.to_ascii_lowercase())
            .is_some()
        {
            return Err(format!("line {n}: '{name}' is listed twice"));
        }
    }
    Ok(out)
}

fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            _ => return None,
        }
    }
    Some(out)
}

/// One way a bundle's files disagree with its `SHA256SUMS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SumProblem {
    /// No `SHA256SUMS`, or it does not parse.
    Unreadable(String),
    Mismatch(String),
    Missing(String),
    Extra(String),
}

impl SumProblem {
    pub(crate) fn file(&self) -> &str {
        match self {
            SumProblem::Unreadable(_) => SUMS,
            SumProblem::Mismatch(f) | SumProblem::Missing(f) | SumProblem::Extra(f) => f,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            SumProblem::Unreadable(why) => format!("{SUMS}: {why}"),
            SumProblem::Mismatch(f) => format!("{f}: content does not match its SHA-256 in {SUMS} (changed after the bundle was made)"),
            SumProblem::Missing(f) => format!("{f}: listed in {SUMS} but missing from the bundle"),
            SumProblem::Extra(f) => format!("{f}: in the bundle but not listed in {SUMS}"),
        }
    }
}

/// Compare every extracted file with `SHA256SUMS`; empty means all match.
pub(crate) fn check_sums(u: &Unpacked) -> Vec<SumProblem> {
    if !u.files.contains_key(SUMS) {
        return vec![SumProblem::Unreadable("missing from the bundle".into())];
    }
    let text = match fs::read(u.root.join(SUMS)) {
        Ok(b) => b,
        Err(e) => return vec![SumProblem::Unreadable(e.to_string())],
    };
    let Ok(text) = String::from_utf8(text) else {
        return vec![SumProblem::Unreadable("not UTF-8 text".into())];
    };
    let listed = match parse_sums(&text) {
        Ok(l) => l,
        Err(e) => return vec![SumProblem::Unreadable(e)],
    };
    let mut problems = Vec::new();
    for (path, digest) in &listed {
        match u.files.get(path) {
            None => problems.push(SumProblem::Missing(path.clone())),
            Some(info) if hex(&info.sha256) != *digest => {
                problems.push(SumProblem::Mismatch(path.clone()))
            }
            Some(_) => {}
        }
    }
    for path in u.files.keys() {
        if path != SUMS && !listed.contains_key(path) {
            problems.push(SumProblem::Extra(path.clone()));
        }
    }
    problems.sort_by(|a, b| a.file().cmp(b.file()));
    problems
}

/// Extract and insist that every checksum matches (install, instantiate).
pub(crate) fn unpack_checked(bundle: &Path, dest: &Path) -> Result<Unpacked, Error> {
    let u = unpack(bundle, dest)?;
    let problems = check_sums(&u);
    if !problems.is_empty() {
        return Err(Error::Checksums {
            bundle: bundle.to_path_buf(),
            problems: problems
                .iter()
                .map(SumProblem::message)
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths() {
        let ok = [
            ("r/", ("r", "")),
            ("r", ("r", "")),
            ("r/a/b.txt", ("r", "a/b.txt")),
            ("r/modules/m/", ("r", "modules/m")),
            ("r/with space/x y", ("r", "with space/x y")),
        ];
        for (input, (top, rel)) in ok {
            assert_eq!(
                split_entry_path(input.as_bytes()),
                Ok((top.to_string(), rel.to_string())),
                "{input}"
            );
        }
        let bad = [
            ("absolute", &b"/etc/passwd"[..]),
            ("dot-dot", b"r/../x"),
            ("leading dot-dot", b"../x"),
            ("dot", b"r/./x"),
            ("double slash", b"r//x"),
            ("empty", b""),
            ("non-UTF-8", b"r/\xff"),
        ];
        for (name, input) in bad {
            assert!(split_entry_path(input).is_err(), "{name}");
        }
    }

    #[test]
    fn sums_round_trip_with_escapes() {
        let d = [7u8; 32];
        let names = ["a", "dir/with space", "back\\slash", "new\nline", "cr\rx"];
        let text = format_sums(names.iter().map(|n| (*n, d)));
        assert!(text.starts_with(&format!("{}  a\n", hex(&d))), "{text}");
        assert!(
            text.contains("\\0707"),
            "escaped lines start with a backslash"
        );
        let parsed = parse_sums(&text).expect("parses");
        assert_eq!(parsed.len(), names.len());
        for n in names {
            assert_eq!(parsed.get(n), Some(&hex(&d)), "{n:?}");
        }
    }

    #[test]
    fn sums_format_agrees_with_sha256sum() {
        // `printf abc | sha256sum`
        let digest: [u8; 32] = Sha256::digest(b"abc").into();
        assert_eq!(
            format_sums([("f", digest)]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  f\n"
        );
    }

    #[test]
    fn malformed_sums_name_the_line() {
        let h = "0".repeat(64);
        let cases = [
            ("short digest", "abc  f\n".to_string(), "line 1"),
            ("one space", format!("{h} f\n"), "line 1"),
            ("no name", format!("{h}  \n"), "line 1"),
            (
                "listed twice",
                format!("{h}  f\n{h}  g\n{h}  f\n"),
                "line 3",
            ),
            ("itself", format!("{h}  SHA256SUMS\n"), "itself"),
            ("bad escape", format!("\\{h}  a\\qb\n"), "escape"),
        ];
        for (name, text, want) in cases {
            let err = parse_sums(&text).expect_err(name);
            assert!(err.contains(want), "{name}: {err}");
        }
        assert!(parse_sums(&format!("{h} *binary-mode\n")).is_ok());
    }
}
