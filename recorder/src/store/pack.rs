//! Pack files: the baseline's file contents, appended to one private file
//! per session next to the database; each entry row holds its offset.
//!
//! Reads check the BLAKE3 hash of what they read, so a truncated or damaged
//! pack is an error naming the file, never wrong content.

use crate::error::{Error, Result};
use crate::model::ContentHash;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The packs directory of a database: `DIR/packs` next to `DIR/cft.db`.
pub fn packs_dir(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("packs")
}

/// Appends contents to one pack, each distinct content once.
pub struct PackWriter {
    path: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    seen: HashMap<ContentHash, u64>,
}

impl PackWriter {
    pub(super) fn create(db: &Path, name: String) -> Result<PackWriter> {
        let dir = packs_dir(db);
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io(&dir, e))?;
        }
        let path = dir.join(&name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        Ok(PackWriter {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            seen: HashMap::new(),
        })
    }

    /// Append `data` unless this pack holds it already; returns its offset.
    pub(super) fn append(&mut self, hash: &ContentHash, data: &[u8]) -> Result<u64> {
        if let Some(at) = self.seen.get(hash) {
            return Ok(*at);
        }
        let at = self.offset;
        self.out
            .write_all(data)
            .map_err(|e| Error::io(&self.path, e))?;
        self.offset += data.len() as u64;
        self.seen.insert(*hash, at);
        Ok(at)
    }

    /// Hand what is buffered to the kernel (cheap; not a disk sync).
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// Flush to the kernel; `sync` also waits for the disk.
    pub fn finish(self, sync: bool) -> Result<()> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        if sync {
            file.sync_data().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Read one content back and check it is what the index says.
pub(super) fn read(
    db: &Path,
    pack: &str,
    offset: u64,
    size: u64,
    hash: &ContentHash,
) -> Result<Vec<u8>> {
    let path = packs_dir(db).join(pack);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    let mut data = vec![0u8; size as usize];
    file.read_exact_at(&mut data, offset)
        .map_err(|e| Error::io(&path, e))?;
    if ContentHash::of(&data) != *hash {
        return Err(Error::BadInput {
            path,
            message: format!(
                "damaged pack: the content at offset {offset} does not match its hash"
            ),
        });
    }
    Ok(data)
}
