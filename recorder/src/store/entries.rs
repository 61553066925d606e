//! Entries: the metadata (and contents) of every path in a snapshot,
//! baseline (in compressed blocks, see `blocks`, with contents in the
//! session's pack) or final (a row each in `entries`).

use super::*;
use std::collections::HashMap;

impl Store {
    /// Store a batch of entries (and their contents) in one transaction.
    pub fn insert_entries(
        &mut self,
        session: i64,
        snapshot: Snapshot,
        batch: &[EntryWithContent],
    ) -> Result<()> {
        self.write(|tx| insert_entries_raw(tx, session, snapshot, batch, Contents::Blobs))
    }

    /// A new pack file for this session's baseline contents.
    pub fn pack_writer(&self, session: &Session) -> Result<pack::PackWriter> {
        pack::PackWriter::create(&self.path, pack_name(session))
    }

    /// The session's pack, to append to (made if missing): where finish
    /// puts the final contents.
    pub fn pack_appender(&self, session: &Session) -> Result<pack::PackWriter> {
        pack::PackWriter::append_to(&self.path, pack_name(session))
    }

    /// Like `insert_entries`, with contents appended to `pack` instead of
    /// the database.
    pub fn insert_entries_packed(
        &mut self,
        session: i64,
        snapshot: Snapshot,
        batch: &[EntryWithContent],
        pack: &mut pack::PackWriter,
    ) -> Result<()> {
        let mut offsets = Vec::with_capacity(batch.len());
        for item in batch {
            offsets.push(match (&item.content, &item.entry.hash) {
                (Some(Content::Bytes(data)), Some(h)) => Some(pack.append(h, data)?),
                (Some(Content::Packed(at)), Some(_)) => Some(*at),
                // A stream is packed by who can read the file
                // (`Scanner::pack`); left so, only the hash is kept.
                _ => None,
            });
        }
        self.write(|tx| {
            insert_entries_raw(tx, session, snapshot, batch, Contents::Packed(&offsets))
        })
    }

    /// The entry at `path`, if the snapshot has one.
    pub fn entry(&self, session: i64, snapshot: Snapshot, path: &[u8]) -> Result<Option<Entry>> {
        if snapshot == Snapshot::Baseline {
            return self
                .baseline_find(session, path)?
                .map(|(b, n)| b.entry(n, self))
                .transpose();
        }
        // Cached: a change set reads two entries per change.
        self.read(|c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {ENTRY_COLS} FROM entries
                 WHERE session_id = ?1 AND snapshot = ?2 AND path = ?3"
            ))?
            .query_row(params![session, snapshot as i64, path], entry_from_row)
            .optional()?)
        })
    }

    /// `dir` itself and every entry below it, sorted by path.
    pub fn entries_under(
        &self,
        session: i64,
        snapshot: Snapshot,
        dir: &[u8],
    ) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        if snapshot == Snapshot::Baseline {
            let (lo, hi) = subtree(dir);
            self.baseline_range(session, &lo, &hi, |b, n| {
                if crate::model::is_within(&b.items[n].entry.path, dir) {
                    out.push(b.entry_of_many(n, self)?);
                }
                Ok(())
            })?;
            return Ok(out);
        }
        if let Some(e) = self.entry(session, snapshot, dir)? {
            out.push(e);
        }
        // Children sort between "dir/" and "dir0" ('0' follows '/').
        let (lo, hi) = if dir == b"/" {
            (b"/".to_vec(), b"0".to_vec())
        } else {
            let mut lo = dir.to_vec();
            lo.push(b'/');
            let mut hi = dir.to_vec();
            hi.push(b'0');
            (lo, hi)
        };
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ENTRY_COLS} FROM entries
                 WHERE session_id = ?1 AND snapshot = ?2 AND path >= ?3 AND path < ?4
                 ORDER BY path"
            ))?;
            for e in stmt.query_map(params![session, snapshot as i64, lo, hi], entry_from_row)? {
                let e = e?;
                if e.path != dir {
                    out.push(e);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// What the stat sweep compares of every baseline entry at and below
    /// `dir`, in path order, handed to `each` one at a time (a big
    /// baseline is never held whole).
    pub fn for_each_stamp(
        &self,
        session: i64,
        dir: &[u8],
        mut each: impl FnMut(SweepRow),
    ) -> Result<()> {
        let (lo, hi) = subtree(dir);
        self.baseline_range(session, &lo, &hi, |b, n| {
            // `dir-x` sorts between `dir` and `dir/`: keep `dir` and what
            // is below it only.
            if crate::model::is_within(&b.items[n].entry.path, dir) {
                each(sweep_row(&b.items[n]));
            }
            Ok(())
        })
    }

    /// What the stat sweep compares of the baseline entry at `path`.
    pub fn stamp_of(&self, session: i64, path: &[u8]) -> Result<Option<SweepRow>> {
        Ok(self
            .baseline_find(session, path)?
            .map(|(b, n)| sweep_row(&b.items[n])))
    }

    /// What the daemon captured during the session (`Snapshot::Seen`), by
    /// path: each file's stamp, size and mtime then, its hash and where
    /// its content is in the session's pack.
    pub fn seen(&self, session: i64) -> Result<HashMap<Vec<u8>, Seen>> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT path, size, mtime_ns, ino, ctime_ns, hash, pack_offset, pack_within
                 FROM entries WHERE session_id = ?1 AND snapshot = ?2
                 AND hash IS NOT NULL AND ino IS NOT NULL AND ctime_ns IS NOT NULL",
            )?;
            let mut rows = stmt.query(params![session, Snapshot::Seen as i64])?;
            let mut out = HashMap::new();
            while let Some(r) = rows.next()? {
                let hash: Vec<u8> = r.get(5)?;
                let Some(hash) = ContentHash::from_slice(&hash) else {
                    continue;
                };
                let offset: Option<i64> = r.get(6)?;
                let within: Option<i64> = r.get(7)?;
                out.insert(
                    r.get(0)?,
                    Seen {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        stamp: Stamp {
                            ino: r.get::<_, i64>(3)? as u64,
                            ctime_ns: r.get(4)?,
                        },
                        hash,
                        place: offset.map(|o| pack::Place {
                            offset: o as u64,
                            within: within.map(|w| w as u64),
                        }),
                    },
                );
            }
            Ok(out)
        })
    }

    pub fn entry_count(&self, session: i64, snapshot: Snapshot) -> Result<u64> {
        if snapshot == Snapshot::Baseline {
            return self.baseline_count(session);
        }
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM entries WHERE session_id = ?1 AND snapshot = ?2",
                params![session, snapshot as i64],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }
}

/// A file the daemon captured during the session, as `Store::seen` gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub size: u64,
    pub mtime_ns: i64,
    pub stamp: Stamp,
    pub hash: ContentHash,
    /// Where its content is in the session's pack; `None`: only the hash.
    pub place: Option<pack::Place>,
}

/// One baseline entry as the stat sweep sees it: no names, no contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepRow {
    pub path: Vec<u8>,
    /// `None` for a kind this build does not know: it differs.
    pub kind: Option<EntryKind>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub stamp: Option<Stamp>,
}

fn sweep_row(i: &blocks::Item) -> SweepRow {
    let e = &i.entry;
    SweepRow {
        path: e.path.clone(),
        kind: Some(e.kind),
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        mtime_ns: e.mtime_ns,
        stamp: i.stamp,
    }
}

/// The paths from `dir` to the end of what is below it: `[dir, dir0)`
/// (`0` follows `/`), filtered with `is_within` by the caller.
fn subtree(dir: &[u8]) -> (Vec<u8>, Vec<u8>) {
    if dir == b"/" {
        return (b"/".to_vec(), b"0".to_vec());
    }
    let mut hi = dir.to_vec();
    hi.push(b'0');
    (dir.to_vec(), hi)
}

pub(super) fn entry_from_row(r: &Row) -> rusqlite::Result<Entry> {
    let kind: String = r.get(1)?;
    let hash: Option<Vec<u8>> = r.get(9)?;
    Ok(Entry {
        path: r.get(0)?,
        kind: EntryKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("unknown entry kind '{kind}'").into(),
            )
        })?,
        mode: r.get(2)?,
        uid: r.get(3)?,
        gid: r.get(4)?,
        owner: r.get(5)?,
        group: r.get(6)?,
        size: r.get::<_, i64>(7)? as u64,
        mtime_ns: r.get(8)?,
        hash: hash.as_deref().and_then(ContentHash::from_slice),
        content_stored: r.get(10)?,
        link_target: r.get(11)?,
    })
}

/// Where the contents of a batch of entries go.
pub(super) enum Contents<'a> {
    /// Into the `blobs` table, unless already packed (`Content::Packed`:
    /// in the session's pack).
    Blobs,
    /// Already appended to the session's pack, at these offsets.
    Packed(&'a [Option<pack::Place>]),
    /// Stored elsewhere (an import's blobs, written apart): each entry's
    /// own `content_stored` says whether it has content.
    AsRecorded,
}

pub(super) fn insert_entries_raw(
    tx: &Transaction,
    session: i64,
    snapshot: Snapshot,
    batch: &[EntryWithContent],
    contents: Contents,
) -> Sql<()> {
    if snapshot == Snapshot::Baseline {
        let mut items = Vec::with_capacity(batch.len());
        for (i, item) in batch.iter().enumerate() {
            let (stored, place) = stored_where(tx, i, item, &contents)?;
            let mut entry = item.entry.clone();
            entry.content_stored = stored;
            // The pack's content is its hash (see `blocks`); one too large
            // to hold keeps its hash, so that none is ever read whole to
            // be hashed.
            if place.is_some() && entry.size <= crate::model::IN_MEMORY {
                entry.hash = None;
            }
            items.push(blocks::Item {
                entry,
                place,
                stamp: item.stamp,
            });
        }
        return blocks::insert_raw(tx, session, items);
    }
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO entries
           (session_id, snapshot, path, kind, mode, uid, gid, owner, grp, size, mtime_ns,
            hash, content_stored, link_target, pack_offset, pack_within, ino, ctime_ns)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18)",
    )?;
    for (i, item) in batch.iter().enumerate() {
        let e = &item.entry;
        let (stored, place) = stored_where(tx, i, item, &contents)?;
        ins.execute(params![
            session,
            snapshot as i64,
            e.path,
            e.kind.as_str(),
            e.mode,
            e.uid,
            e.gid,
            e.owner,
            e.group,
            e.size as i64,
            e.mtime_ns,
            e.hash.as_ref().map(|h| &h.0[..]),
            stored,
            e.link_target,
            place.map(|p| p.offset as i64),
            place.and_then(|p| p.within).map(|w| w as i64),
            item.stamp.map(|s| s.ino as i64),
            item.stamp.map(|s| s.ctime_ns),
        ])?;
    }
    Ok(())
}

/// Whether the `i`th entry of a batch has its content stored, and where in
/// the pack; a content for the `blobs` table is put there.
fn stored_where(
    tx: &Transaction,
    i: usize,
    item: &EntryWithContent,
    contents: &Contents,
) -> Sql<(bool, Option<pack::Place>)> {
    Ok(match (&item.content, &item.entry.hash, contents) {
        (Some(Content::Packed(at)), Some(_), Contents::Blobs) => (true, Some(*at)),
        (Some(Content::InStore), Some(_), Contents::Blobs) => (true, None),
        (Some(Content::Bytes(data)), Some(h), Contents::Blobs) => {
            put_blob_raw(tx, h, data)?;
            (true, None)
        }
        (Some(_), Some(_), Contents::Packed(offsets)) => {
            let place = offsets.get(i).copied().flatten();
            (place.is_some(), place)
        }
        (_, _, Contents::AsRecorded) => (item.entry.content_stored, None),
        _ => (false, None),
    })
}
