-- cft session store, schema 4: baseline contents in pack files.
-- Writing every baseline file's content through SQLite wrote it three
-- times (WAL, checkpoint, overflow pages); an append-only pack file next to
-- the database (0600, in the 0700 directory) writes it once. Each entry
-- says where its content is in its session's pack: rows are written in walk
-- order, so no hash-keyed index (random B-tree inserts) is needed.
ALTER TABLE entries ADD COLUMN pack_offset INTEGER;
