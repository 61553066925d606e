-- cft session store, schema 5: typed command lines and attribution.
--
-- `intents.source` says what an intent is: 'tool', a program run through
-- cft-shim (argv is its arguments), or 'line', a command line typed in a
-- recording shell (argv holds the line as its only element). Tools run by
-- a typed line have that line as `parent`.
--
-- `attributions` says which intent each change happened during: `subject`
-- is 'file', 'package', 'user', 'group' or 'service', `name` the path or
-- name, `intent` the innermost intent (the tool, else the typed line).
-- Computed at finish.

ALTER TABLE intents ADD COLUMN source TEXT NOT NULL DEFAULT 'tool';

CREATE TABLE attributions (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    name       BLOB NOT NULL,
    intent     INTEGER NOT NULL,
    PRIMARY KEY (session_id, subject, name)
) WITHOUT ROWID;
