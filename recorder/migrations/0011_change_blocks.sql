-- cft session store, schema 11: a session's changes in blocks.
-- A change was a row of `changes`, keyed by its whole path, with its
-- origin as JSON text: after a storm of 100k new files, writing them was
-- a third of finish's save (`bench/rss.sh`). Up to 4,096 changes now go
-- to one zstd-compressed block, in path order, paths front-coded and
-- each distinct origin and package named once (`store/change_blocks.rs`).
-- The rows of an older schema become blocks in the same migration (in
-- Rust) and are deleted; `changes` is left empty.
CREATE TABLE change_blocks (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    data       BLOB NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
