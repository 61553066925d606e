-- cft session store, schema 3: intents, the commands the shim saw run.
--
-- One row per wrapped invocation (`cft-shim`), written in two steps: the
-- start when the real tool is launched, the end when it exits. `argv` is
-- every argument (argv[0] included) as raw bytes, each followed by one NUL
-- byte: arguments can never contain NUL, so the encoding is unambiguous and
-- byte-exact. `parent` is the enclosing intent (a maintainer script's
-- `systemctl` under the `apt-get` that ran it), NULL at the top. `pid` is
-- the shim's process (the real tool is its direct child), `ppid` the
-- shim's caller; `uid` the real uid. Times are Unix nanoseconds; `end_ns`
-- stays NULL while the tool runs or if its end could not be recorded.

CREATE TABLE intents (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    parent     INTEGER,
    argv       BLOB NOT NULL,
    cwd        BLOB NOT NULL,
    uid        INTEGER NOT NULL,
    pid        INTEGER NOT NULL,
    ppid       INTEGER NOT NULL,
    start_ns   INTEGER NOT NULL,
    end_ns     INTEGER,
    exit_code  INTEGER,
    signal     INTEGER
);
CREATE INDEX intents_by_session ON intents(session_id, id);
