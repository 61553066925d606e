//! Giving space back: blobs and packs no session refers to, then the
//! database's free pages (`VACUUM`) and its write-ahead log
//! (`wal_checkpoint(TRUNCATE)`). `cft gc` runs it, and so does `cft erase`
//! after deleting a session's rows (SQLite only reuses freed pages; it
//! never shrinks the file by itself).

use super::{blocks, pack, pack_name_of, Sql, Store};
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::path::Path;

/// What a collection found and gave back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// The database, its WAL and the packs before and after, in bytes.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Pack files no session refers to, removed.
    pub packs_removed: usize,
    /// Blobs no entry refers to, deleted.
    pub blobs_removed: usize,
    /// False when a reader kept the WAL from being emptied (another cft
    /// reading or a daemon writing): the space comes back at a later gc.
    pub wal_truncated: bool,
}

impl GcReport {
    pub fn given_back(&self) -> u64 {
        self.bytes_before.saturating_sub(self.bytes_after)
    }
}

impl Store {
    /// Delete what no session refers to and compact the database.
    pub fn gc(&mut self) -> Result<GcReport> {
        let bytes_before = self.disk_usage()?;
        let blobs_removed = self.write(delete_unreferenced_blobs)?;
        let packs_removed = self.remove_unreferenced_packs()?;
        let wal_truncated = self.read(|c| {
            c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")?;
            // VACUUM wrote the new database through the WAL.
            let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            Ok(busy == 0)
        })?;
        Ok(GcReport {
            bytes_before,
            bytes_after: self.disk_usage()?,
            packs_removed,
            blobs_removed,
            wal_truncated,
        })
    }

    /// Remove the `*.pack` files of sessions that no longer exist. The
    /// directory is listed before the sessions are read: a pack is made
    /// after its session's row, so one being written now is never taken
    /// for an orphan.
    fn remove_unreferenced_packs(&self) -> Result<usize> {
        let dir = pack::packs_dir(&self.path);
        let listed = match std::fs::read_dir(&dir) {
            Ok(list) => list
                .map(|e| e.map(|e| e.file_name()))
                .collect::<std::io::Result<Vec<_>>>()
                .map_err(|e| Error::io(&dir, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::io(&dir, e)),
        };
        let known: HashSet<String> = self.read(|c| {
            let mut stmt = c.prepare("SELECT id, created_at FROM sessions")?;
            let names = stmt
                .query_map([], |r| Ok(pack_name_of(r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(names)
        })?;
        let mut removed = 0;
        for name in listed {
            let Some(name) = name.to_str() else { continue };
            if !is_pack_name(name) || known.contains(name) {
                continue;
            }
            let file = dir.join(name);
            match std::fs::remove_file(&file) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(file, e)),
            }
        }
        Ok(removed)
    }

    /// The bytes the store takes: the database, its WAL and the packs.
    pub fn disk_usage(&self) -> Result<u64> {
        let mut total = 0;
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        for file in [self.path.as_path(), Path::new(&wal)] {
            total += size_of(file)?;
        }
        let dir = pack::packs_dir(&self.path);
        if let Ok(list) = std::fs::read_dir(&dir) {
            for e in list {
                let e = e.map_err(|e| Error::io(&dir, e))?;
                total += size_of(&e.path())?;
            }
        }
        Ok(total)
    }
}

/// Delete the blobs no entry refers to: no final row, and no baseline
/// entry of a block (their hashes are inside the blocks, so they are
/// listed in a temporary table first). Returns how many went.
pub(super) fn delete_unreferenced_blobs(tx: &rusqlite::Transaction) -> Sql<usize> {
    let kept = blocks::blob_hashes(tx)?;
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS kept_blobs (hash BLOB PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM temp.kept_blobs;",
    )?;
    {
        let mut ins = tx.prepare_cached("INSERT OR IGNORE INTO temp.kept_blobs VALUES (?1)")?;
        for h in &kept {
            ins.execute([&h.0[..]])?;
        }
    }
    let n = tx.execute(
        "DELETE FROM blobs WHERE hash NOT IN
           (SELECT hash FROM entries WHERE hash IS NOT NULL AND content_stored = 1)
         AND hash NOT IN (SELECT hash FROM temp.kept_blobs)",
        [],
    )?;
    tx.execute("DELETE FROM temp.kept_blobs", [])?;
    Ok(n)
}

/// `s{id}-{created}.pack`, the only files the store makes in `packs/`.
fn is_pack_name(name: &str) -> bool {
    let Some(body) = name.strip_prefix('s').and_then(|n| n.strip_suffix(".pack")) else {
        return false;
    };
    let mut parts = body.splitn(2, '-');
    let digits = |p: Option<&str>| {
        p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
    };
    digits(parts.next()) && digits(parts.next())
}

fn size_of(path: &Path) -> Result<u64> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(Error::io(path, e)),
    }
}
