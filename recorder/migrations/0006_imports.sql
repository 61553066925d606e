-- cft session store, schema 6: sessions imported from a portable file.
--
-- An imported session holds the change set and the entries of its changed
-- paths only, not the whole baseline it was recorded against, and its root
-- names a directory of another machine: it is finished for good (resuming
-- it would record against a baseline this database does not have).
-- `source` is the file it was imported from, as given; `exported_as` the
-- name the session had in the database it came from.

CREATE TABLE imports (
    session_id  INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    source      TEXT NOT NULL,
    exported_as TEXT NOT NULL,
    version     INTEGER NOT NULL
);
