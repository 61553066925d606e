-- cft session store, schema 2: packages, accounts and services.

-- What the probes saw (JSON of probe::SystemSnapshot); snapshot 0 = begin, 1 = finish.
CREATE TABLE system_snapshots (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    snapshot   INTEGER NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (session_id, snapshot)
) WITHOUT ROWID;

-- The diff of the two (JSON of system::SystemChanges), stored at finish.
CREATE TABLE system_changes (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    data       TEXT NOT NULL
);

-- Who made each file change (JSON of system::Origin) and the package that
-- owns the path, if any.
ALTER TABLE changes ADD COLUMN origin TEXT NOT NULL DEFAULT '{"by":"admin"}';
ALTER TABLE changes ADD COLUMN package TEXT;
