//! Entry blocks: a session's entries of one snapshot, many to a
//! zstd-compressed block in `entry_blocks` (schema 9 for the baseline,
//! schema 10 for the final and captured snapshots), not one row each.
//!
//! The final and captured snapshots' blocks differ in two ways: they keep
//! every hash (a final content is looked for by its hash), and they are
//! written at zstd's fastest level, while the admin waits for finish. A
//! finish deletes both and writes the final snapshot once; after a storm
//! of 100k new files, that was 100k row deletions and 100k row inserts
//! (`bench/rss.sh`'s storm).
//!
//! Why (measured with `bench/store.sh`): a row per path, keyed by the whole
//! path, with text kinds and names and a 32-byte hash, made the database
//! most of the store, 5.4 times the tree's `tar | zstd -3` for 5,000
//! virtual-host snippets. A block holds up to [`BLOCK`] entries sorted by
//! path, each path front-coded against the one before it, kind, mode, ids
//! and sizes as varints, times and pack offsets as deltas, owner and group
//! names as indexes into the block's own table; zstd then takes what
//! repeats. A packed content's hash is not kept at all (32 bytes an entry,
//! more than the snippets' whole `tar | zstd`): it is the hash of what the
//! pack holds there, computed again, for a whole block in pack order, the
//! first time one of its hashes is asked for. Only a hash whose content is
//! not in the pack (over the content cap, or in `blobs`) is kept.
//!
//! Writes never rewrite a block: each batch (the daemon's, in walk order)
//! is sorted and becomes new blocks whose ranges may overlap older ones.
//! A path may then be in several blocks, and the newest (highest `seq`)
//! wins, like `INSERT OR REPLACE` did: a lookup tries the blocks whose
//! range holds the path, newest first; a range read merges the blocks it
//! overlaps in path order. Memory stays bounded by the blocks open at once,
//! never the whole baseline. The store keeps the last few decoded blocks,
//! so finish's lookups of one change after another decode each once.

use super::pack::{self, Place};
use super::{entries::entry_from_row, pack_name_of, Fail, Snapshot, Sql, Store, ENTRY_COLS};
use crate::error::Result;
use crate::model::{ContentHash, Entry, EntryKind, Stamp};
use rusqlite::{params, Connection, Transaction};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

/// The most entries one block holds. The daemon's batches (2,048 entries)
/// are a block each; a bigger write is cut.
pub(super) const BLOCK: usize = 4096;

/// zstd's level for the baseline's blocks: they are small and written
/// once per batch, so a higher level than the packs' costs little (see the
/// module doc).
const LEVEL: i32 = 9;

/// zstd's level for the final and captured snapshots' blocks: finish
/// writes them while the admin waits, and each entry keeps its 32-byte
/// hash, which no level makes smaller.
const LEVEL_FAST: i32 = 1;

/// The format of a block's body; a block of another version is an error.
const VERSION: u64 = 1;

/// The most bytes a block may decompress to (4,096 entries of the longest
/// path and link target fit).
const MAX_RAW: u64 = 256 << 20;

/// Decoded blocks kept by a store.
const CACHED: usize = 16;

/// One baseline entry as a block holds it.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Item<'a> {
    /// `hash` is `None` for a packed content whose hash is computed from
    /// the pack. Borrowed when written from entries held anyway (a
    /// finish's 100k finals), owned when decoded.
    pub entry: Cow<'a, Entry>,
    pub place: Option<Place>,
    pub stamp: Option<Stamp>,
}

/// A decoded block: its entries sorted by path, each path once.
pub(super) struct Block {
    pub items: Vec<Item<'static>>,
    session: i64,
    created: i64,
    seq: i64,
    hashes: OnceLock<Vec<Option<ContentHash>>>,
}

/// A block as its row lists it, without its data.
struct Meta {
    id: i64,
    seq: i64,
    first: Vec<u8>,
    created: i64,
}

/// A block's identity: its session, the session's creation time (an id
/// may be reused after an erase) and its `seq`.
type Key = (i64, i64, i64);

/// The packed contents whose hashes were computed (or kept), both ways:
/// a content by hash for `blob`, and a hash by where its content is, so
/// that a second lookup of an entry (reconcile, then the change set) does
/// not read its content again.
#[derive(Default)]
pub(super) struct Hashed {
    by_hash: HashMap<ContentHash, super::blobs::Packed>,
    // With the size: an empty content's place is where the next content
    // of its frame starts.
    by_place: HashMap<(i64, i64, u64, Option<u64>, i64), ContentHash>,
}

/// The last decoded blocks, most recent last.
#[derive(Default)]
pub(super) struct BlockCache(Mutex<Vec<(Key, Arc<Block>)>>);

impl Block {
    fn find(&self, path: &[u8]) -> Option<usize> {
        self.items
            .binary_search_by(|i| i.entry.path.as_slice().cmp(path))
            .ok()
    }

    /// The first entry at or after `path`.
    fn lower_bound(&self, path: &[u8]) -> usize {
        self.items
            .partition_point(|i| i.entry.path.as_slice() < path)
    }

    /// Every entry's hash, computed from the pack where the block keeps none
    /// (in pack order, so each frame is decompressed once): for a read of
    /// many entries.
    fn hashes(&self, store: &Store) -> Result<&[Option<ContentHash>]> {
        if let Some(h) = self.hashes.get() {
            return Ok(h);
        }
        let mut out: Vec<Option<ContentHash>> = self.items.iter().map(|i| i.entry.hash).collect();
        for i in &self.items {
            // A migrated row's hash was kept: where its content is, too.
            if let (Some(h), Some(p)) = (i.entry.hash, i.place) {
                store.remember(h, (self.session, self.created, p, i.entry.size as i64));
            }
        }
        let mut todo: Vec<(Place, usize)> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.entry.hash.is_none())
            .filter_map(|(n, i)| i.place.map(|p| (p, n)))
            .collect();
        todo.sort_by_key(|(p, _)| (p.offset, p.within));
        for (place, n) in todo {
            out[n] = Some(self.hash_of(n, place, store)?);
        }
        Ok(self.hashes.get_or_init(move || out))
    }

    /// The hash of the packed content of entry `n`, from the pack.
    fn hash_of(&self, n: usize, place: Place, store: &Store) -> Result<ContentHash> {
        let size = self.items[n].entry.size;
        if let Some(h) = store.hash_at(self.session, self.created, place, size as i64) {
            return Ok(h);
        }
        let name = pack_name_of(self.session, self.created);
        let data = pack::fetch(&store.path, &name, place, size, &store.frames)?;
        let hash = ContentHash::of(&data);
        store.remember(hash, (self.session, self.created, place, size as i64));
        Ok(hash)
    }

    /// The entry at `n`, with its hash: one content read from the pack if
    /// the block's hashes are not known yet (a lookup of one path).
    pub(super) fn entry(&self, n: usize, store: &Store) -> Result<Entry> {
        let mut e = Entry::clone(&self.items[n].entry);
        if let (None, Some(place)) = (e.hash, self.items[n].place) {
            e.hash = match self.hashes.get() {
                Some(h) => h[n],
                None => Some(self.hash_of(n, place, store)?),
            };
        }
        Ok(e)
    }

    /// The entry at `n`, with its hash, every hash of the block computed
    /// at once (a read of a range).
    pub(super) fn entry_of_many(&self, n: usize, store: &Store) -> Result<Entry> {
        let mut e = Entry::clone(&self.items[n].entry);
        if e.hash.is_none() && self.items[n].place.is_some() {
            e.hash = self.hashes(store)?[n];
        }
        Ok(e)
    }
}

impl Store {
    /// The newest block entry of `snapshot` at `path`.
    pub(super) fn block_find(
        &self,
        session: i64,
        snapshot: Snapshot,
        path: &[u8],
    ) -> Result<Option<(Arc<Block>, usize)>> {
        self.read(|c| {
            let metas = {
                let mut stmt = c.prepare_cached(
                    "SELECT b.id, b.seq, b.first, s.created_at
                     FROM entry_blocks b JOIN sessions s ON s.id = b.session_id
                     WHERE b.session_id = ?1 AND b.snapshot = ?3
                       AND b.first <= ?2 AND b.last >= ?2
                     ORDER BY b.seq DESC",
                )?;
                let rows =
                    stmt.query_map(params![session, path, snapshot as i64], meta_from_row)?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            for m in metas {
                let b = self.block(c, session, &m)?;
                if let Some(n) = b.find(path) {
                    return Ok(Some((b, n)));
                }
            }
            Ok(None)
        })
    }

    /// Every entry of `snapshot` in `[lo, hi)`, in path order, each path
    /// once (its newest), handed to `each` with its block.
    pub(super) fn block_range(
        &self,
        session: i64,
        snapshot: Snapshot,
        lo: &[u8],
        hi: &[u8],
        mut each: impl FnMut(&Block, usize) -> Result<()>,
    ) -> Result<()> {
        let metas = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT b.id, b.seq, b.first, s.created_at
                 FROM entry_blocks b JOIN sessions s ON s.id = b.session_id
                 WHERE b.session_id = ?1 AND b.snapshot = ?4 AND b.first < ?3 AND b.last >= ?2
                 ORDER BY b.first, b.seq",
            )?;
            let rows = stmt.query_map(params![session, lo, hi, snapshot as i64], meta_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut heap: BinaryHeap<Head> = BinaryHeap::new();
        let mut next = 0;
        loop {
            // Every block that may hold the smallest path left is open.
            while next < metas.len()
                && heap
                    .peek()
                    .is_none_or(|h| metas[next].first.as_slice() <= h.path())
            {
                let b = self.read(|c| self.block(c, session, &metas[next]))?;
                let pos = b.lower_bound(lo);
                if pos < b.items.len() {
                    heap.push(Head { block: b, pos });
                }
                next += 1;
            }
            let Some(top) = heap.pop() else { break };
            if top.path() >= hi {
                break;
            }
            each(&top.block, top.pos)?;
            // Older copies of the same path lose. Each block holds a path
            // once, so what their advance pushes is past it.
            while heap.peek().is_some_and(|h| h.path() == top.path()) {
                if let Some(more) = heap.pop().and_then(Head::advanced) {
                    heap.push(more);
                }
            }
            if let Some(more) = top.advanced() {
                heap.push(more);
            }
        }
        Ok(())
    }

    /// Every block of `snapshot`, oldest first, decoded for `each` to keep
    /// (not cached): of a path in several, the newest comes last.
    pub(super) fn blocks_owned(
        &self,
        session: i64,
        snapshot: Snapshot,
        mut each: impl FnMut(Vec<Item<'static>>) -> Result<()>,
    ) -> Result<()> {
        let blocks = self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, seq FROM entry_blocks
                 WHERE session_id = ?1 AND snapshot = ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![session, snapshot as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        for (id, seq) in blocks {
            each(self.read(|c| items_of(c, session, id, seq))?)?;
        }
        Ok(())
    }

    /// How many paths a snapshot holds. Only the baseline's blocks are
    /// checked against older ones, so a path captured twice counts twice
    /// in the captured snapshot (whose count nothing asks for).
    pub(super) fn block_count(&self, session: i64, snapshot: Snapshot) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT COALESCE(SUM(fresh), 0) FROM entry_blocks
                 WHERE session_id = ?1 AND snapshot = ?2",
                params![session, snapshot as i64],
                |r| r.get(0),
            )?;
            Ok(n as u64)
        })
    }

    /// Decoded, from the cache or the database.
    fn block(&self, c: &Connection, session: i64, m: &Meta) -> Sql<Arc<Block>> {
        let key = (session, m.created, m.seq);
        {
            let mut cache = self.blocks.0.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(i) = cache.iter().position(|(k, _)| *k == key) {
                let hit = cache.remove(i);
                let b = hit.1.clone();
                cache.push(hit);
                return Ok(b);
            }
        }
        let b = Arc::new(Block {
            items: items_of(c, session, m.id, m.seq)?,
            session,
            created: m.created,
            seq: m.seq,
            hashes: OnceLock::new(),
        });
        let mut cache = self.blocks.0.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((key, b.clone()));
        Ok(b)
    }

    /// Where a packed content is, now that its hash is known.
    fn remember(&self, hash: ContentHash, at: super::blobs::Packed) {
        let mut m = self.hashed.lock().unwrap_or_else(|p| p.into_inner());
        let (session, created, place, size) = at;
        m.by_place
            .insert((session, created, place.offset, place.within, size), hash);
        m.by_hash.entry(hash).or_insert(at);
    }

    /// The hash of the content at `place`, if computed already.
    fn hash_at(&self, session: i64, created: i64, place: Place, size: i64) -> Option<ContentHash> {
        let m = self.hashed.lock().unwrap_or_else(|p| p.into_inner());
        m.by_place
            .get(&(session, created, place.offset, place.within, size))
            .copied()
    }

    /// A packed baseline content by hash: the contents hashed so far, then
    /// every session's blocks (their hashes computed) until one has it.
    pub(super) fn find_packed(&self, hash: &ContentHash) -> Result<Option<super::blobs::Packed>> {
        if let Some(at) = self.known_packed(hash) {
            return Ok(Some(at));
        }
        let metas: Vec<(i64, Meta)> = self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT b.id, b.seq, b.first, s.created_at, b.session_id
                 FROM entry_blocks b JOIN sessions s ON s.id = b.session_id
                 WHERE b.snapshot = 0
                 ORDER BY b.session_id, b.seq",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(4)?, meta_from_row(r)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        for (session, m) in metas {
            let b = self.read(|c| self.block(c, session, &m))?;
            b.hashes(self)?;
            if let Some(at) = self.known_packed(hash) {
                return Ok(Some(at));
            }
        }
        Ok(None)
    }

    fn known_packed(&self, hash: &ContentHash) -> Option<super::blobs::Packed> {
        let m = self.hashed.lock().unwrap_or_else(|p| p.into_inner());
        m.by_hash.get(hash).copied()
    }
}

/// The hashes of entries (of any snapshot) whose content is in the
/// `blobs` table: what a collection must keep.
pub(super) fn blob_hashes(c: &Connection) -> Sql<Vec<ContentHash>> {
    let mut stmt = c.prepare("SELECT session_id, seq, data FROM entry_blocks WHERE blobs > 0")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let (session, seq, data): (i64, i64, Vec<u8>) = (r.get(0)?, r.get(1)?, r.get(2)?);
        for i in decode(&data, &block_key(session, seq))? {
            if i.place.is_none() && i.entry.content_stored {
                out.extend(i.entry.hash);
            }
        }
    }
    Ok(out)
}

/// Where each content of a final or captured entry is in its session's
/// pack, by the hash the entry keeps (the first of equal contents).
pub(super) fn packed_hashes(c: &Connection) -> Sql<HashMap<ContentHash, super::blobs::Packed>> {
    let mut stmt = c.prepare(
        "SELECT b.session_id, s.created_at, b.seq, b.data
         FROM entry_blocks b JOIN sessions s ON s.id = b.session_id
         WHERE b.snapshot <> 0 ORDER BY b.session_id, b.seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let (session, created, seq, data): (i64, i64, i64, Vec<u8>) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
        for i in decode(&data, &block_key(session, seq))? {
            if let (Some(h), Some(p)) = (i.entry.hash, i.place) {
                out.entry(h)
                    .or_insert((session, created, p, i.entry.size as i64));
            }
        }
    }
    Ok(out)
}

fn meta_from_row(r: &rusqlite::Row) -> rusqlite::Result<Meta> {
    Ok(Meta {
        id: r.get(0)?,
        seq: r.get(1)?,
        first: r.get(2)?,
        created: r.get(3)?,
    })
}

/// The entries of the block row `id`, read and decoded.
fn items_of(c: &Connection, session: i64, id: i64, seq: i64) -> Sql<Vec<Item<'static>>> {
    let data: Vec<u8> = c
        .prepare_cached("SELECT data FROM entry_blocks WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    decode(&data, &block_key(session, seq))
}

fn block_key(session: i64, seq: i64) -> String {
    format!("session {session}, block {seq}")
}

/// A cursor of the range merge: the next path of one open block.
struct Head {
    block: Arc<Block>,
    pos: usize,
}

impl Head {
    fn path(&self) -> &[u8] {
        &self.block.items[self.pos].entry.path
    }

    /// The block's next entry, if it has one.
    fn advanced(self) -> Option<Head> {
        (self.pos + 1 < self.block.items.len()).then(|| Head {
            pos: self.pos + 1,
            block: self.block,
        })
    }
}

impl PartialEq for Head {
    fn eq(&self, o: &Head) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, o: &Head) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Head {
    /// The heap's greatest is the smallest path, and of one path the
    /// newest block.
    fn cmp(&self, o: &Head) -> Ordering {
        o.path()
            .cmp(self.path())
            .then(self.block.seq.cmp(&o.block.seq))
    }
}

// ---------------------------------------------------------------- writing

/// Write `items` as new blocks of `session`'s `snapshot`. They may come in
/// any order; of one path, the last one counts (as it would have with
/// `INSERT OR REPLACE`), and it wins over every older block.
pub(super) fn insert_raw(
    tx: &Transaction,
    session: i64,
    snapshot: Snapshot,
    mut items: Vec<Item<'_>>,
) -> Sql<()> {
    if items.is_empty() {
        return Ok(());
    }
    // Reversed, the stable sort puts the last write of a path first, and
    // `dedup_by` keeps the first of equal neighbours.
    items.reverse();
    items.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
    items.dedup_by(|a, b| a.entry.path == b.entry.path);
    let mut seq: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), -1) + 1 FROM entry_blocks WHERE session_id = ?1",
        [session],
        |r| r.get(0),
    )?;
    let level = match snapshot {
        Snapshot::Baseline => LEVEL,
        _ => LEVEL_FAST,
    };
    let chunks: Vec<&[Item<'_>]> = items.chunks(BLOCK).collect();
    // Encoding and compressing are most of the cost (a finish's 100k
    // finals, a begin's level-9 baseline) and each block is its own: they
    // go on two threads, a window at a time so that what waits for its
    // insert stays small, while the inserts stay in order on this one.
    for window in chunks.chunks(ENCODE_WINDOW) {
        let encoded = compress_all(window, level);
        for (chunk, z) in window.iter().zip(encoded) {
            insert_block(tx, session, snapshot, &mut seq, chunk, z)?;
        }
    }
    Ok(())
}

/// How many blocks are encoded at once.
pub(super) const ENCODE_WINDOW: usize = 8;

/// Each chunk encoded and compressed, in order; the second half of them
/// on a second thread.
fn compress_all(chunks: &[&[Item<'_>]], level: i32) -> Vec<std::io::Result<Vec<u8>>> {
    let one = |c: &&[Item<'_>]| zstd::bulk::compress(&encode(c), level);
    if chunks.len() < 2 {
        return chunks.iter().map(one).collect();
    }
    let (a, b) = chunks.split_at(chunks.len() / 2);
    std::thread::scope(|scope| {
        let later = scope.spawn(|| b.iter().map(one).collect::<Vec<_>>());
        let mut out: Vec<_> = a.iter().map(one).collect();
        match later.join() {
            Ok(rest) => out.extend(rest),
            // Only a panic there: encode those here instead.
            Err(_) => out.extend(b.iter().map(one)),
        }
        out
    })
}

/// Insert one encoded block as number `seq`, and count it.
fn insert_block(
    tx: &Transaction,
    session: i64,
    snapshot: Snapshot,
    seq: &mut i64,
    chunk: &[Item<'_>],
    z: std::io::Result<Vec<u8>>,
) -> Sql<()> {
    let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
        return Ok(());
    };
    let z = z.map_err(|e| Fail::decode("entry_blocks", block_key(session, *seq), e.to_string()))?;
    let (first, last) = (&first.entry.path, &last.entry.path);
    // Only the baseline is written more than once and counted; the
    // final snapshot is written whole, once.
    let fresh = match snapshot {
        Snapshot::Baseline => chunk.len() - already_held(tx, session, first, last, chunk)?,
        _ => chunk.len(),
    };
    let blobs = chunk
        .iter()
        .filter(|i| i.place.is_none() && i.entry.content_stored && i.entry.hash.is_some())
        .count();
    tx.prepare_cached(
        "INSERT INTO entry_blocks (session_id, first, seq, last, fresh, blobs, data, snapshot)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        session,
        first,
        *seq,
        last,
        fresh as i64,
        blobs as i64,
        z,
        snapshot as i64
    ])?;
    *seq += 1;
    Ok(())
}

/// How many of `chunk`'s paths (sorted, distinct) an older block holds.
fn already_held(
    tx: &Transaction,
    session: i64,
    first: &[u8],
    last: &[u8],
    chunk: &[Item<'_>],
) -> Sql<usize> {
    let mut stmt = tx.prepare_cached(
        "SELECT seq, data FROM entry_blocks
         WHERE id IN (SELECT id FROM entry_blocks
                      WHERE session_id = ?1 AND snapshot = 0 AND first <= ?3 AND last >= ?2)",
    )?;
    let mut rows = stmt.query(params![session, first, last])?;
    let mut held = vec![false; chunk.len()];
    while let Some(r) = rows.next()? {
        let (seq, data): (i64, Vec<u8>) = (r.get(0)?, r.get(1)?);
        let older = decode(&data, &block_key(session, seq))?;
        // Both sorted: one merge.
        let (mut i, mut j) = (0, 0);
        while i < chunk.len() && j < older.len() {
            match chunk[i].entry.path.cmp(&older[j].entry.path) {
                Ordering::Less => i += 1,
                Ordering::Greater => j += 1,
                Ordering::Equal => {
                    held[i] = true;
                    i += 1;
                    j += 1;
                }
            }
        }
    }
    Ok(held.iter().filter(|h| **h).count())
}

/// Entry rows of an older schema as blocks, in the migration to schema
/// 10's transaction (schema 9 did the baseline's alone); the rows are
/// deleted. A packed row keeps its hash (no pack needs reading to migrate).
pub(super) fn rows_to_blocks(tx: &Transaction) -> Sql<()> {
    let sessions: Vec<(i64, i64)> = {
        let mut stmt = tx.prepare("SELECT DISTINCT session_id, snapshot FROM entries")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut stmt = tx.prepare(&format!(
        "SELECT {ENTRY_COLS}, pack_offset, pack_within, ino, ctime_ns FROM entries
         WHERE session_id = ?1 AND snapshot = ?4 AND path > ?2 ORDER BY path LIMIT ?3"
    ))?;
    for (session, snapshot) in sessions {
        // Every row goes below: one of a snapshot no schema ever had is an
        // error, not left out.
        let snapshot = match snapshot {
            0 => Snapshot::Baseline,
            1 => Snapshot::Final,
            2 => Snapshot::Seen,
            n => {
                return Err(Fail::decode(
                    "entries",
                    format!("session {session}"),
                    format!("unknown snapshot {n}"),
                ))
            }
        };
        let mut after: Vec<u8> = Vec::new();
        loop {
            let items = stmt
                .query_map(
                    params![session, after, BLOCK as i64, snapshot as i64],
                    |r| {
                        let entry = entry_from_row(r)?;
                        let offset: Option<i64> = r.get(12)?;
                        let within: Option<i64> = r.get(13)?;
                        let ino: Option<i64> = r.get(14)?;
                        let ctime: Option<i64> = r.get(15)?;
                        Ok(Item {
                            entry: Cow::Owned(entry),
                            place: offset.map(|o| Place {
                                offset: o as u64,
                                within: within.map(|w| w as u64),
                            }),
                            stamp: ino.zip(ctime).map(|(ino, ctime_ns)| Stamp {
                                ino: ino as u64,
                                ctime_ns,
                            }),
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let Some(end) = items.last() else { break };
            after = end.entry.path.clone();
            insert_raw(tx, session, snapshot, items)?;
        }
    }
    tx.execute("DELETE FROM entries", [])?;
    Ok(())
}

// ----------------------------------------------------------------- format

// A block's body, before zstd: varint VERSION, varint count, the names
// table (varint n, then n × (varint length, bytes)), then each entry:
//   varint shared prefix with the previous path, varint suffix length, suffix
//   u8 kind, u8 flags (below)
//   varint mode, uid, gid; owner's, group's name index (if flagged)
//   varint size; zigzag mtime − the previous entry's mtime
//   place: zigzag offset − the previous place's offset, varint within (new)
//   hash: 32 bytes (if flagged); link: varint length, bytes (if flagged)
//   stamp: zigzag ino − the previous ino, zigzag ctime − mtime (if flagged)

const PLACE_NEW: u8 = 1; // a frame's offset and the offset inside it
const PLACE_OLD: u8 = 2; // a raw content's offset (packs before schema 7)
const STORED: u8 = 1 << 2;
const STAMP: u8 = 1 << 3;
const LINK: u8 = 1 << 4;
const OWNER: u8 = 1 << 5;
const GROUP: u8 = 1 << 6;
const HASH: u8 = 1 << 7;

const KINDS: [EntryKind; 7] = [
    EntryKind::File,
    EntryKind::Dir,
    EntryKind::Symlink,
    EntryKind::Fifo,
    EntryKind::Socket,
    EntryKind::CharDevice,
    EntryKind::BlockDevice,
];

pub(super) fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

pub(super) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// The body of a block of `items` (sorted by path).
pub(super) fn encode(items: &[Item<'_>]) -> Vec<u8> {
    let mut names: Vec<&str> = Vec::new();
    for i in items {
        for n in [&i.entry.owner, &i.entry.group].into_iter().flatten() {
            if !names.contains(&&**n) {
                names.push(n);
            }
        }
    }
    let index = |n: &str| names.iter().position(|m| *m == n).unwrap_or(0) as u64;
    let mut out = Vec::with_capacity(items.len() * 24);
    put(&mut out, VERSION);
    put(&mut out, items.len() as u64);
    put(&mut out, names.len() as u64);
    for n in &names {
        put_bytes(&mut out, n.as_bytes());
    }
    let (mut path, mut mtime, mut offset, mut ino): (&[u8], i64, i64, i64) = (b"", 0, 0, 0);
    for i in items {
        let e = &i.entry;
        let shared = path.iter().zip(&e.path).take_while(|(a, b)| a == b).count();
        put(&mut out, shared as u64);
        put_bytes(&mut out, &e.path[shared..]);
        path = &e.path;
        out.push(KINDS.iter().position(|k| *k == e.kind).unwrap_or(0) as u8);
        let mut flags = match i.place {
            Some(Place {
                within: Some(_), ..
            }) => PLACE_NEW,
            Some(Place { within: None, .. }) => PLACE_OLD,
            None => 0,
        };
        for (on, bit) in [
            (e.content_stored, STORED),
            (i.stamp.is_some(), STAMP),
            (e.link_target.is_some(), LINK),
            (e.owner.is_some(), OWNER),
            (e.group.is_some(), GROUP),
            (e.hash.is_some(), HASH),
        ] {
            if on {
                flags |= bit;
            }
        }
        out.push(flags);
        put(&mut out, e.mode.into());
        put(&mut out, e.uid.into());
        put(&mut out, e.gid.into());
        for n in [&e.owner, &e.group].into_iter().flatten() {
            put(&mut out, index(n));
        }
        put(&mut out, e.size);
        put_signed(&mut out, e.mtime_ns.wrapping_sub(mtime));
        mtime = e.mtime_ns;
        if let Some(p) = i.place {
            put_signed(&mut out, (p.offset as i64).wrapping_sub(offset));
            offset = p.offset as i64;
            if let Some(w) = p.within {
                put(&mut out, w);
            }
        }
        if let Some(h) = &e.hash {
            out.extend_from_slice(&h.0);
        }
        if let Some(t) = &e.link_target {
            put_bytes(&mut out, t);
        }
        if let Some(s) = i.stamp {
            put_signed(&mut out, (s.ino as i64).wrapping_sub(ino));
            ino = s.ino as i64;
            put_signed(&mut out, s.ctime_ns.wrapping_sub(e.mtime_ns));
        }
    }
    out
}

/// A block's body read back, checked as it goes.
pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(super) fn num(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn signed(&mut self) -> Option<i64> {
        let v = self.num()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn small(&mut self) -> Option<u32> {
        u32::try_from(self.num()?).ok()
    }

    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.num()?).ok()?;
        let end = self.pos.checked_add(n)?;
        let b = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(b)
    }

    fn fixed(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.buf.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(b)
    }
}

/// A block's entries from its stored (compressed) data.
pub(super) fn decode(data: &[u8], key: &str) -> Sql<Vec<Item<'static>>> {
    let bad = |m: &str| Fail::decode("entry_blocks", key, m);
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::new(data)
        .and_then(|d| d.take(MAX_RAW).read_to_end(&mut raw))
        .map_err(|e| bad(&format!("does not decompress: {e}")))?;
    parse(&raw).ok_or_else(|| bad("is cut short or malformed"))
}

fn parse(raw: &[u8]) -> Option<Vec<Item<'static>>> {
    let mut r = Reader { buf: raw, pos: 0 };
    if r.num()? != VERSION {
        return None;
    }
    let count = usize::try_from(r.num()?).ok()?;
    let mut names = Vec::new();
    for _ in 0..r.num()? {
        names.push(crate::model::Name::from(
            std::str::from_utf8(r.bytes()?).ok()?,
        ));
    }
    let name = |r: &mut Reader| -> Option<crate::model::Name> {
        names.get(usize::try_from(r.num()?).ok()?).cloned()
    };
    let mut items: Vec<Item<'static>> = Vec::with_capacity(count.min(BLOCK));
    let (mut mtime, mut offset, mut ino) = (0i64, 0i64, 0i64);
    for _ in 0..count {
        let shared = usize::try_from(r.num()?).ok()?;
        let mut path = items
            .last()
            .map_or(&[][..], |i| &i.entry.path[..])
            .get(..shared)?
            .to_vec();
        path.extend_from_slice(r.bytes()?);
        if items.last().is_some_and(|i| i.entry.path >= path) {
            return None;
        }
        let kind = *KINDS.get(usize::from(r.byte()?))?;
        let flags = r.byte()?;
        let (mode, uid, gid) = (r.small()?, r.small()?, r.small()?);
        let owner = if flags & OWNER != 0 {
            Some(name(&mut r)?)
        } else {
            None
        };
        let group = if flags & GROUP != 0 {
            Some(name(&mut r)?)
        } else {
            None
        };
        let size = r.num()?;
        mtime = mtime.wrapping_add(r.signed()?);
        let place = match flags & 3 {
            0 => None,
            tag => {
                offset = offset.wrapping_add(r.signed()?);
                let within = if tag == PLACE_NEW {
                    Some(r.num()?)
                } else {
                    None
                };
                Some(Place {
                    offset: offset as u64,
                    within,
                })
            }
        };
        let hash = if flags & HASH != 0 {
            Some(ContentHash::from_slice(r.fixed(32)?)?)
        } else {
            None
        };
        let link_target = if flags & LINK != 0 {
            Some(r.bytes()?.to_vec())
        } else {
            None
        };
        let stamp = if flags & STAMP != 0 {
            ino = ino.wrapping_add(r.signed()?);
            Some(Stamp {
                ino: ino as u64,
                ctime_ns: mtime.wrapping_add(r.signed()?),
            })
        } else {
            None
        };
        items.push(Item {
            entry: Cow::Owned(Entry {
                path,
                kind,
                mode,
                uid,
                gid,
                owner,
                group,
                size,
                mtime_ns: mtime,
                hash,
                content_stored: flags & STORED != 0,
                link_target,
            }),
            place,
            stamp,
        });
    }
    (r.pos == raw.len()).then_some(items)
}
