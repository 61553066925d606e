//! Portable sessions: one finished session in one file (`cft export`),
//! and that file back into another database (`cft import`), so sessions
//! recorded on different machines can be shown, diffed and turned into
//! modules on a reviewer's workstation.
//!
//! The file (`format`, and `docs/EXPORT-FORMAT.md`) holds the session, its
//! change set (changes with their baseline and final entries, notices,
//! system changes), its commands and their attributions, its timeline and
//! facts, and the captured contents of the changed paths. It is versioned
//! and ends with a SHA-256 of everything before it. The same session always
//! exports to the same bytes: everything is sorted and no export time is
//! written.
//!
//! Secrets are left out unless asked for (secret files' contents, account
//! password hashes, passwords on command lines), and the header lists what
//! was left out; the importer turns that list into notices.
//!
//! An import reads untrusted input. It checks the envelope first (magic,
//! length, checksum, version), then reads the body with bounded
//! allocations (`format::MAX_*`), validates every path and reference
//! (`check`), and stores the session in one transaction
//! (`Store::import_session`), which commits only if the bytes read in this
//! second pass have the checksum too: a refused file, or one changed
//! while it was read, leaves the database as it was. It writes nothing but
//! the database.

pub mod format;

mod check;
mod withhold;

use crate::error::{Error, Result};
use crate::model::{ContentHash, Notice, NoticeKind, SessionState};
use crate::store::Store;
use format::{Header, Withheld, CHECKSUM_LEN, MAGIC, PRELUDE_LEN, VERSION};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What `export` is asked to do.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Keep secret contents, password hashes and command-line passwords.
    pub include_secrets: bool,
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct ExportReport {
    pub session: String,
    pub changes: usize,
    pub intents: usize,
    pub events: usize,
    pub blobs: usize,
    pub bytes: u64,
    /// What was left out, in words.
    pub withheld: Vec<String>,
}

/// What an import stored.
#[derive(Clone, Debug)]
pub struct ImportReport {
    pub session: crate::model::Session,
    /// The name the file gave the session (the stored one differs with `--as`).
    pub exported_as: String,
    pub changes: usize,
    pub intents: usize,
    pub events: usize,
    pub blobs: usize,
    pub withheld: Vec<String>,
    /// Added to every command number (0: the numbers were kept).
    pub intent_shift: i64,
}

/// Write the finished session `name` to `out` (a new, empty file, or any
/// seekable buffer) as a portable session. `label` names `out` in errors.
pub fn export<F: Read + Write + Seek>(
    store: &Store,
    name: &str,
    opts: &ExportOptions,
    out: &mut F,
    label: &Path,
) -> Result<ExportReport> {
    let cs = store.change_set(name)?;
    if cs.session.state != SessionState::Finished {
        return Err(Error::WrongState {
            name: name.to_string(),
            state: cs.session.state.as_str().into(),
            expected: "finished".into(),
        });
    }
    let id = cs.session.id;
    let system = store.system_changes(id)?;
    let notices = store.notices_by_phase(id)?;
    let events = store.events(id)?;
    let mut header = withhold::header(&cs, system, &notices, &events, opts.include_secrets);
    // A content this store does not have stays missing in the export, as
    // it is for a reader of this database (the entry says it was captured).
    let mut present = Vec::with_capacity(header.blobs.len());
    for hex in std::mem::take(&mut header.blobs) {
        if crate::model::BlobSource::blob(store, &parse_hash(&hex, label)?)?.is_some() {
            present.push(hex);
        }
    }
    header.blobs = present;
    let io = |e: std::io::Error| Error::io(label, e);

    // Prelude with a length to fill in, the body, the length, the checksum.
    out.write_all(MAGIC).map_err(io)?;
    out.write_all(&VERSION.to_be_bytes()).map_err(io)?;
    out.write_all(&0u64.to_be_bytes()).map_err(io)?;
    let json = serde_json::to_vec(&header).map_err(|e| Error::BadInput {
        path: label.to_path_buf(),
        message: format!("cannot encode the export header: {e}"),
    })?;
    let mut z = flate2::write::ZlibEncoder::new(&mut *out, flate2::Compression::default());
    z.write_all(&(json.len() as u64).to_be_bytes())
        .map_err(io)?;
    z.write_all(&json).map_err(io)?;
    for hex in &header.blobs {
        let hash = parse_hash(hex, label)?;
        let data =
            crate::model::BlobSource::blob(store, &hash)?.ok_or_else(|| Error::BadInput {
                path: store.path().to_path_buf(),
                message: format!("the content {hex} is missing from the store"),
            })?;
        z.write_all(&(data.len() as u64).to_be_bytes())
            .map_err(io)?;
        z.write_all(&data).map_err(io)?;
    }
    z.finish().map_err(io)?;
    let end = out.stream_position().map_err(io)?;
    let body_len = end - PRELUDE_LEN;
    out.seek(SeekFrom::Start(8)).map_err(io)?;
    out.write_all(&body_len.to_be_bytes()).map_err(io)?;
    out.seek(SeekFrom::Start(0)).map_err(io)?;
    let digest = sha256_of(&mut (&mut *out).take(end), label)?;
    out.seek(SeekFrom::Start(end)).map_err(io)?;
    out.write_all(&digest).map_err(io)?;
    out.flush().map_err(io)?;
    Ok(ExportReport {
        session: cs.session.name.clone(),
        changes: header.changes.len(),
        intents: header.intents.len(),
        events: header.events.len(),
        blobs: header.blobs.len(),
        bytes: end + CHECKSUM_LEN,
        withheld: header.withheld.iter().map(describe).collect(),
    })
}

fn parse_hash(hex: &str, label: &Path) -> Result<ContentHash> {
    format::from_hex(hex)
        .and_then(|b| ContentHash::from_slice(&b))
        .ok_or_else(|| Error::BadInput {
            path: label.to_path_buf(),
            message: format!("bad content hash {hex}"),
        })
}

/// Import the portable session in the file at `path`, as `as_name` or the
/// name it was exported with.
pub fn import_file(store: &mut Store, path: &Path, as_name: Option<&str>) -> Result<ImportReport> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::BadInput {
            path: path.to_path_buf(),
            message: "not a regular file".into(),
        });
    }
    import(store, &mut file, path, as_name)
}

/// Import the portable session `input` holds; `label` names it in errors.
pub fn import<R: Read + Seek>(
    store: &mut Store,
    input: &mut R,
    label: &Path,
    as_name: Option<&str>,
) -> Result<ImportReport> {
    let (version, body_len, checksum) = verify_envelope(input, label)?;
    // Read it again, hashing what is read this time: the bytes stored are
    // the bytes checked, even if the file changed since the first pass.
    input
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(label, e))?;
    let mut hashed = Hashing {
        inner: (&mut *input).take(PRELUDE_LEN + body_len),
        sha: Sha256::new(),
    };
    let mut prelude = [0u8; PRELUDE_LEN as usize];
    hashed
        .read_exact(&mut prelude)
        .map_err(|e| Error::io(label, e))?;
    let mut body = Body::new(hashed, label, checksum);
    let header_len = body.u64()?;
    if header_len > format::MAX_HEADER {
        return Err(body.bad(format!(
            "a header of {header_len} bytes is past the limit of {} bytes",
            format::MAX_HEADER
        )));
    }
    let json = body.bytes(header_len)?;
    let header: Header =
        serde_json::from_slice(&json).map_err(|e| body.bad(format!("unreadable header: {e}")))?;
    drop(json);
    let source = label.display().to_string();
    let checked = check::header(&header, as_name, &source, version).map_err(|m| body.bad(m))?;
    let withheld: Vec<String> = header.withheld.iter().map(describe).collect();
    let mut imported = checked.session;
    imported.notices.extend(withheld_notices(&header.withheld));
    let expected: Vec<ContentHash> = checked.blobs;
    let mut next = 0usize;
    let mut seen = BTreeSet::new();
    let mut next_blob = || -> Result<Option<(ContentHash, Vec<u8>)>> {
        let Some(hash) = expected.get(next) else {
            body.end()?;
            return Ok(None);
        };
        next += 1;
        let len = body.u64()?;
        if len > format::MAX_BLOB {
            return Err(body.bad(format!(
                "a content of {len} bytes is past the limit of {} bytes",
                format::MAX_BLOB
            )));
        }
        let data = body.bytes(len)?;
        if ContentHash::of(&data) != *hash || !seen.insert(*hash) {
            return Err(body.bad(format!(
                "content {} of the body does not match its hash",
                next - 1
            )));
        }
        Ok(Some((*hash, data)))
    };
    let renumbered = |shift: i64| Notice {
        path: None,
        kind: NoticeKind::Other,
        message: format!(
            "imported: this database already used the command numbers of the export, so \
             every command number is {shift} higher than where it was recorded"
        ),
    };
    let done = store.import_session(&imported, &mut next_blob, &renumbered)?;
    Ok(ImportReport {
        session: done.session,
        exported_as: header.session.name.clone(),
        changes: header.changes.len(),
        intents: header.intents.len(),
        events: header.events.len(),
        blobs: done.blobs,
        withheld,
        intent_shift: done.intent_shift,
    })
}

/// Check magic, length and checksum, then the version; returns the
/// version, the body's length and the checksum.
fn verify_envelope<R: Read + Seek>(input: &mut R, label: &Path) -> Result<(u32, u64, [u8; 32])> {
    let io = |e: std::io::Error| Error::io(label, e);
    let size = input.seek(SeekFrom::End(0)).map_err(io)?;
    input.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut prelude = [0u8; PRELUDE_LEN as usize];
    let got = read_up_to(input, &mut prelude).map_err(io)?;
    let truncated = |expected: u64| Error::ExportTruncated {
        path: label.to_path_buf(),
        expected,
        found: size,
    };
    let magic_len = got.min(4);
    if prelude[..magic_len] != MAGIC[..magic_len] {
        return Err(Error::NotAnExport {
            path: label.to_path_buf(),
        });
    }
    if got < prelude.len() {
        return Err(truncated(PRELUDE_LEN + CHECKSUM_LEN));
    }
    let version = u32::from_be_bytes(prelude[4..8].try_into().unwrap_or_default());
    let body_len = u64::from_be_bytes(prelude[8..16].try_into().unwrap_or_default());
    let expected = body_len
        .checked_add(PRELUDE_LEN + CHECKSUM_LEN)
        .ok_or_else(|| truncated(u64::MAX))?;
    if size < expected {
        return Err(truncated(expected));
    }
    if size > expected {
        return Err(Error::BadExport {
            path: label.to_path_buf(),
            message: format!(
                "{} bytes follow the end of the export (it should be {expected} bytes long)",
                size - expected
            ),
        });
    }
    input.seek(SeekFrom::Start(0)).map_err(io)?;
    let digest = sha256_of(&mut (&mut *input).take(size - CHECKSUM_LEN), label)?;
    let mut stored = [0u8; CHECKSUM_LEN as usize];
    input.read_exact(&mut stored).map_err(io)?;
    if digest != stored {
        return Err(Error::ExportChecksum {
            path: label.to_path_buf(),
        });
    }
    if version > VERSION {
        return Err(Error::ExportTooNew {
            path: label.to_path_buf(),
            found: version,
            known: VERSION,
        });
    }
    if version == 0 {
        return Err(Error::BadExport {
            path: label.to_path_buf(),
            message: "format version 0 does not exist".into(),
        });
    }
    Ok((version, body_len, stored))
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn sha256_of<R: Read>(r: &mut R, label: &Path) -> Result<[u8; 32]> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(label, e)),
        }
    }
    Ok(h.finalize().into())
}

/// A reader that hashes what passes through it.
struct Hashing<R: Read> {
    inner: R,
    sha: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// The decompressed body, read with every length checked before anything
/// is allocated for it, and no more than `MAX_BODY` in all; at its end,
/// the bytes read must have the file's checksum.
struct Body<R: Read> {
    z: std::io::Take<flate2::read::ZlibDecoder<Hashing<R>>>,
    label: PathBuf,
    checksum: [u8; 32],
}

impl<R: Read> Body<R> {
    fn new(compressed: Hashing<R>, label: &Path, checksum: [u8; 32]) -> Body<R> {
        Body {
            z: flate2::read::ZlibDecoder::new(compressed).take(format::MAX_BODY),
            label: label.to_path_buf(),
            checksum,
        }
    }

    fn bad(&self, message: String) -> Error {
        Error::BadExport {
            path: self.label.clone(),
            message,
        }
    }

    fn u64(&mut self) -> Result<u64> {
        let b = self.bytes(8)?;
        Ok(u64::from_be_bytes(b.try_into().unwrap_or_default()))
    }

    /// Exactly `n` bytes; the buffer grows as they arrive, so a length
    /// that lies costs no more than the data that is really there.
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        (&mut self.z)
            .take(n)
            .read_to_end(&mut out)
            .map_err(|e| self.bad(format!("unreadable body: {e}")))?;
        if out.len() as u64 != n {
            return Err(if self.z.limit() == 0 {
                self.bad(format!(
                    "the body is larger than the limit of {} bytes",
                    format::MAX_BODY
                ))
            } else {
                self.bad("the body ends early".into())
            });
        }
        Ok(out)
    }

    /// Nothing may follow the last content, and what was read must be
    /// what was checked.
    fn end(&mut self) -> Result<()> {
        let mut one = [0u8; 1];
        match self.z.read(&mut one) {
            Ok(0) => {}
            Ok(_) => return Err(self.bad("data follows the last content".into())),
            Err(e) => return Err(self.bad(format!("unreadable body: {e}"))),
        }
        let hashed = self.z.get_mut().get_mut();
        std::io::copy(hashed, &mut std::io::sink()).map_err(|e| Error::io(&self.label, e))?;
        let digest: [u8; 32] = hashed.sha.clone().finalize().into();
        if digest != self.checksum {
            return Err(Error::ExportChecksum {
                path: self.label.clone(),
            });
        }
        Ok(())
    }
}

/// One line for something left out.
fn describe(w: &Withheld) -> String {
    match w {
        Withheld::Content { path } => format!(
            "the content of the secret file {}",
            crate::model::display_path(&path.0)
        ),
        Withheld::Password { account, name } => {
            format!("the password hash of {account} {name}")
        }
        Withheld::CommandArguments { intent, count } => format!(
            "{count} password{} on the command line of #{intent}",
            if *count == 1 { "" } else { "s" }
        ),
    }
}

/// The notices an imported session carries for what its export left out.
fn withheld_notices(withheld: &[Withheld]) -> Vec<(crate::store::Phase, Notice)> {
    withheld
        .iter()
        .map(|w| {
            let path = match w {
                Withheld::Content { path } => Some(path.0.clone()),
                _ => None,
            };
            (
                crate::store::Phase::Finish,
                Notice {
                    path,
                    kind: NoticeKind::Secret,
                    message: format!(
                        "not in this imported session: {} (exported without secrets)",
                        describe(w)
                    ),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
