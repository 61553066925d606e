-- cft session store, schema 10: every snapshot's entries in blocks.
-- The final snapshot (1) and what the daemon captured during the session
-- (2) were a row each in `entries`: after a storm of 100k new files,
-- finish spent most of its time deleting 100k captured rows and writing
-- 100k final ones (`bench/rss.sh`). They are blocks now, like the
-- baseline's, told apart by `snapshot`; unlike the baseline's, their
-- blocks keep every hash (a final content is asked for by its hash).
-- The rows of an older schema are turned into blocks by the same
-- migration (in Rust) and deleted; `entries` is left empty.
ALTER TABLE entry_blocks ADD COLUMN snapshot INTEGER NOT NULL DEFAULT 0;
DROP INDEX entry_blocks_by_range;
CREATE INDEX entry_blocks_by_range ON entry_blocks(session_id, snapshot, first, last, seq);
