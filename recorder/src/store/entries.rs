//! Entries: the metadata (and contents) of every path in a snapshot,
//! baseline, final or captured, in compressed blocks (see `blocks`), with
//! contents in the session's pack or the `blobs` table.

use super::*;
use std::borrow::Cow;
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
        self.block_find(session, snapshot, path)?
            .map(|(b, n)| b.entry(n, self))
            .transpose()
    }

    /// `dir` itself and every entry below it, sorted by path.
    pub fn entries_under(
        &self,
        session: i64,
        snapshot: Snapshot,
        dir: &[u8],
    ) -> Result<Vec<Entry>> {
        let mut out = Vec::new();
        let (lo, hi) = subtree(dir);
        self.block_range(session, snapshot, &lo, &hi, |b, n| {
            if crate::model::is_within(&b.items[n].entry.path, dir) {
                out.push(b.entry_of_many(n, self)?);
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
        self.block_range(session, Snapshot::Baseline, &lo, &hi, |b, n| {
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
            .block_find(session, Snapshot::Baseline, path)?
            .map(|(b, n)| sweep_row(&b.items[n])))
    }

    /// What the daemon captured during the session (`Snapshot::Seen`), by
    /// path: each file's stamp, size and mtime then, its hash and where
    /// its content is in the session's pack.
    /// Keyed with the standard seeded hasher, not a faster unseeded one:
    /// the paths are names any user who can write a watched directory
    /// chooses, and colliding names would make finish quadratic.
    pub fn seen(&self, session: i64) -> Result<HashMap<Vec<u8>, Seen>> {
        // Sized once: a storm's 100k are not rehashed as the map grows. A
        // count past a million (or a damaged one) is not reserved up front.
        let n = self.block_count(session, Snapshot::Seen)?;
        let mut out = HashMap::with_capacity(usize::try_from(n).unwrap_or(0).min(1 << 20));
        // Decoded blocks are taken apart, not copied from: their paths
        // become the keys.
        self.blocks_owned(session, Snapshot::Seen, |items| {
            for i in items {
                let (stamp, place) = (i.stamp, i.place);
                let e = i.entry.into_owned();
                match (e.hash, stamp) {
                    (Some(hash), Some(stamp)) => {
                        let seen = Seen {
                            size: e.size,
                            mtime_ns: e.mtime_ns,
                            stamp,
                            hash,
                            place,
                        };
                        out.insert(e.path, seen);
                    }
                    // The newest capture counts, even one without a hash.
                    _ => {
                        out.remove(&e.path);
                    }
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    pub fn entry_count(&self, session: i64, snapshot: Snapshot) -> Result<u64> {
        self.block_count(session, snapshot)
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
    let mut items = Vec::with_capacity(batch.len());
    for (i, item) in batch.iter().enumerate() {
        let (stored, place) = stored_where(tx, i, item, &contents)?;
        // The baseline's packed content is its hash (see `blocks`); one
        // too large to hold keeps its hash, so that none is ever read
        // whole to be hashed. The other snapshots keep every hash: their
        // contents are asked for by it.
        let unhashed = snapshot == Snapshot::Baseline
            && place.is_some()
            && item.entry.size <= crate::model::IN_MEMORY
            && item.entry.hash.is_some();
        // Copied only when it must differ from what is held.
        let entry = if item.entry.content_stored == stored && !unhashed {
            Cow::Borrowed(&item.entry)
        } else {
            let mut e = item.entry.clone();
            e.content_stored = stored;
            if unhashed {
                e.hash = None;
            }
            Cow::Owned(e)
        };
        items.push(blocks::Item {
            entry,
            place,
            stamp: item.stamp,
        });
    }
    blocks::insert_raw(tx, session, snapshot, items)
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
