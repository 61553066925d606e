-- cft session store, schema 9: the baseline's entries in compressed blocks.
-- One `entries` row per baseline path (a WITHOUT ROWID B-tree keyed by the
-- whole path, text kinds and names, a 32-byte hash each) made the database
-- several times the size of the tree's own `tar | zstd`: 5,000 snippets of
-- 670 bytes took 5.4 times it. The baseline (snapshot 0) is now written as
-- zstd blocks of up to a few thousand entries each, sorted by path and
-- front-coded, numbers as varints and deltas (`store/blocks.rs`); a packed
-- content's hash is not kept (it is the hash of what the pack holds, and is
-- computed again when a block is read). Each write makes new blocks: one
-- path may be in several, and the newest (the highest `seq`) is the one
-- that counts. `fresh` is how many of a block's paths no older block holds
-- (the baseline's entry count is their sum); `blobs` how many of its
-- entries have their content in the `blobs` table (what `gc` keeps).
-- The final snapshot (1) stays in `entries`. Baseline rows written before
-- this schema are turned into blocks by the same migration (in Rust, in the
-- transaction that runs this file) and deleted.
-- The blocks' data is read only by `id`: the lookups by range go through
-- the covering index, never through a row's data (its overflow pages).
CREATE TABLE entry_blocks (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    first      BLOB NOT NULL,
    last       BLOB NOT NULL,
    seq        INTEGER NOT NULL,
    fresh      INTEGER NOT NULL,
    blobs      INTEGER NOT NULL,
    data       BLOB NOT NULL
);
CREATE INDEX entry_blocks_by_range ON entry_blocks(session_id, first, last, seq);
