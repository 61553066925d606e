//! Contents by hash: the `blobs` table (final contents and imports) and the
//! baseline packs behind it, read through [`BlobSource`].
//!
//! A blob is compressed on its own (one zstd frame, level 3) and kept
//! compressed only when that makes it smaller (`blobs.zstd`, schema 7):
//! blobs are the few contents a session changed, read one at a time, so a
//! frame each keeps them independent; the many small baseline contents go
//! to the packs, compressed by shared frames (see `pack`). Blobs stored
//! before schema 7 have `zstd = 0` and read as before. A compressed blob is
//! checked against its hash when read.

use super::pack::{self, Place};
use super::{pack_name_of, Fail, Sql, Store};
use crate::error::{Error, Result};
use crate::model::{BlobSource, ContentHash};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use std::io::{Read, Write};

/// A session id, its creation time (which name its pack), where the
/// content is in the pack, and its size.
pub(super) type Packed = (i64, i64, Place, i64);

/// Store one content unless a blob has its hash already.
pub(super) fn put_blob_raw(tx: &Transaction, hash: &ContentHash, data: &[u8]) -> Sql<()> {
    let exists = tx
        .prepare_cached("SELECT 1 FROM blobs WHERE hash = ?1")?
        .query_row([&hash.0[..]], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(());
    }
    let z = zstd::bulk::compress(data, pack::LEVEL).ok();
    let (stored, zstd): (&[u8], bool) = match &z {
        Some(z) if z.len() < data.len() => (z, true),
        _ => (data, false),
    };
    tx.prepare_cached(
        "INSERT INTO blobs (hash, size, data, zstd) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (hash) DO NOTHING",
    )?
    .execute(params![&hash.0[..], data.len() as i64, stored, zstd])?;
    Ok(())
}

/// A blob's content from its row; a compressed one must decompress to its
/// size and hash.
fn decode_blob(hash: &ContentHash, size: i64, data: Vec<u8>, zstd: bool) -> Sql<Vec<u8>> {
    if !zstd {
        return Ok(data);
    }
    let bad = |message: String| Fail::decode("blobs", hash.to_hex(), message);
    let size = u64::try_from(size).map_err(|_| bad(format!("negative size {size}")))?;
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(&data[..])
        .and_then(|d| d.take(size.saturating_add(1)).read_to_end(&mut out))
        .map_err(|e| bad(format!("does not decompress: {e}")))?;
    if out.len() as u64 != size || ContentHash::of(&out) != *hash {
        return Err(bad(format!(
            "decompresses to {} bytes that do not match its size ({size}) and hash",
            out.len()
        )));
    }
    Ok(out)
}

impl BlobSource for Store {
    fn blob(&self, hash: &ContentHash) -> Result<Option<Vec<u8>>> {
        let (data, at) = self.find(hash)?;
        if data.is_some() {
            return Ok(data);
        }
        at.map(|(id, created, place, size)| {
            let name = pack_name_of(id, created);
            pack::read(&self.path, &name, place, size as u64, hash, &self.frames)
        })
        .transpose()
    }

    fn copy_blob(&self, hash: &ContentHash, out: &mut dyn Write) -> Result<bool> {
        let (data, at) = self.find(hash)?;
        if let Some(data) = data {
            out.write_all(&data).map_err(Error::WriteOut)?;
            return Ok(true);
        }
        let Some((id, created, place, size)) = at else {
            return Ok(false);
        };
        let name = pack_name_of(id, created);
        pack::copy(
            &self.path,
            &name,
            place,
            size as u64,
            hash,
            &self.frames,
            out,
        )?;
        Ok(true)
    }
}

impl Store {
    /// A content's blob row, decoded, or where a pack has it.
    fn find(&self, hash: &ContentHash) -> Result<(Option<Vec<u8>>, Option<Packed>)> {
        let found = self.read(|c| {
            let row: Option<(i64, Vec<u8>, bool)> = c
                .prepare_cached("SELECT size, data, zstd FROM blobs WHERE hash = ?1")?
                .query_row([&hash.0[..]], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some((size, data, zstd)) = row {
                return Ok((Some(decode_blob(hash, size, data, zstd)?), None));
            }
            // Final (and captured) contents in the packs, by the hashes
            // their blocks keep: one scan maps them all (again after a
            // write).
            Ok((None, self.packed_index(c)?.get(hash).copied()))
        })?;
        if found.0.is_some() || found.1.is_some() {
            return Ok(found);
        }
        // Baseline contents: blocks keep no hash of them (see `blocks`),
        // so where one is comes from the hashes computed so far, else from
        // computing them.
        Ok((None, self.find_packed(hash)?))
    }
    /// Write a content of the session's own pack to `out`: finish reads
    /// back a final content it has just packed, by its place.
    pub fn copy_packed(
        &self,
        session: &crate::model::Session,
        at: Place,
        size: u64,
        hash: &ContentHash,
        out: &mut dyn Write,
    ) -> Result<()> {
        let name = super::pack_name(session);
        pack::copy(&self.path, &name, at, size, hash, &self.frames, out)
    }
}

impl Store {
    fn packed_index(&self, c: &Connection) -> Sql<&HashMap<ContentHash, Packed>> {
        if let Some(m) = self.packed.get() {
            return Ok(m);
        }
        let m = super::blocks::packed_hashes(c)?;
        Ok(self.packed.get_or_init(|| m))
    }
}
