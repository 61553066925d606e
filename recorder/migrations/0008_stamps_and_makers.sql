-- cft session store, schema 8. Each snapshot entry's inode and ctime, as
-- the scan saw them, for finish's stat-only sweep of the baseline. NULL
-- for entries recorded before (or imported): the sweep then compares what
-- the entry itself holds (kind, mode, owner, size, mtime).
ALTER TABLE entries ADD COLUMN ino INTEGER;
ALTER TABLE entries ADD COLUMN ctime_ns INTEGER;

-- The process that made a session (`cft begin`, an extraction) and whether
-- its daemon got ready. A recording session that never got ready, whose
-- maker and daemon are both gone, is what a failed begin left when it
-- could not even erase it (a full disk): the next command erases it.
-- Sessions made before this schema were ready.
ALTER TABLE sessions ADD COLUMN maker_pid INTEGER;
ALTER TABLE sessions ADD COLUMN maker_start INTEGER;
ALTER TABLE sessions ADD COLUMN ready INTEGER NOT NULL DEFAULT 1;

-- The `cft finish` or `cft abort` that took a recording session on: one
-- at a time (a claim whose process is gone counts for nothing).
ALTER TABLE sessions ADD COLUMN claim_pid INTEGER;
ALTER TABLE sessions ADD COLUMN claim_start INTEGER;
