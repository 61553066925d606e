-- cft session store, schema 8: each snapshot entry's inode and ctime, as
-- the scan saw them, for finish's stat-only sweep of the baseline. NULL
-- for entries recorded before (or imported): the sweep then compares what
-- the entry itself holds (kind, mode, owner, size, mtime).
ALTER TABLE entries ADD COLUMN ino INTEGER;
ALTER TABLE entries ADD COLUMN ctime_ns INTEGER;
