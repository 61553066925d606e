-- cft session store, schema 1. Never edit a shipped migration: add 0002_*.sql.
-- Paths are BLOBs (raw bytes); times are Unix nanoseconds.

CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    description     TEXT,
    root            BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('recording', 'finished')),
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    daemon_pid      INTEGER,
    daemon_start    INTEGER,
    rescan_reason   TEXT,
    content_cap     INTEGER NOT NULL,
    ignore_patterns TEXT NOT NULL DEFAULT '[]',
    facts           TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE watched_roots (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    path       BLOB NOT NULL,
    PRIMARY KEY (session_id, path)
) WITHOUT ROWID;

-- Content-addressed file contents, shared by every session.
CREATE TABLE blobs (
    id   INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    data BLOB NOT NULL
);

-- snapshot 0 = baseline at begin, 1 = final state of changed paths at finish.
CREATE TABLE entries (
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    snapshot       INTEGER NOT NULL,
    path           BLOB NOT NULL,
    kind           TEXT NOT NULL,
    mode           INTEGER NOT NULL,
    uid            INTEGER NOT NULL,
    gid            INTEGER NOT NULL,
    owner          TEXT,
    grp            TEXT,
    size           INTEGER NOT NULL,
    mtime_ns       INTEGER NOT NULL,
    hash           BLOB,
    content_stored INTEGER NOT NULL,
    link_target    BLOB,
    PRIMARY KEY (session_id, snapshot, path)
) WITHOUT ROWID;

-- The timeline: what the watcher (or a rescan) saw, in order.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    time_ns    INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    path       BLOB,
    path_to    BLOB,
    source     TEXT NOT NULL
);
CREATE INDEX events_by_session ON events(session_id, id);

-- The reconciled change set (final entries live in `entries`, snapshot 1).
CREATE TABLE changes (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    path       BLOB NOT NULL,
    kind       TEXT NOT NULL,
    secret     INTEGER NOT NULL,
    PRIMARY KEY (session_id, path)
) WITHOUT ROWID;

-- What could not be captured, and why.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    phase      TEXT NOT NULL CHECK (phase IN ('begin', 'finish')),
    path       BLOB,
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL
);
CREATE INDEX notices_by_session ON notices(session_id, id);
