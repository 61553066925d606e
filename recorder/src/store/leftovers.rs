//! Who works on a recording session. What a failed `begin` may leave: a
//! session that is recording but never got ready, because the cleanup
//! could not write either (a full disk); such a session blocks its root
//! and would finish as "every file created", so the next command erases it
//! (`crate::session::repair`). And the one `finish` or `abort` that may
//! take a recording session on at a time (`claim`).

use super::*;

/// A recording session that never got ready, with the processes that may
/// still be working on it: the one that made it and its daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leftover {
    pub id: i64,
    pub name: String,
    pub maker: (Option<i32>, Option<u64>),
    pub daemon: (Option<i32>, Option<u64>),
}

impl Store {
    /// Recording sessions whose daemon never said it was ready.
    pub fn leftovers(&self) -> Result<Vec<Leftover>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, maker_pid, maker_start, daemon_pid, daemon_start
                 FROM sessions WHERE state = 'recording' AND ready = 0 ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                let start = |i| -> rusqlite::Result<Option<u64>> {
                    Ok(r.get::<_, Option<i64>>(i)?.map(|s| s as u64))
                };
                Ok(Leftover {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    maker: (r.get(2)?, start(3)?),
                    daemon: (r.get(4)?, start(5)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// Take the recording session `id` on for this process (a `finish` or
    /// an `abort`), in one immediate transaction, so that of two at once
    /// exactly one goes on. Refused while another live process holds it;
    /// a claim whose process is gone is taken over.
    pub fn claim(&mut self, id: i64, name: &str) -> Result<()> {
        let me = std::process::id() as i32;
        let start = crate::clock::process_start(me);
        self.write(|tx| {
            let row: Option<(String, Option<i32>, Option<i64>)> = tx
                .query_row(
                    "SELECT state, claim_pid, claim_start FROM sessions WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((state, pid, pstart)) = row else {
                return Err(Error::NoSuchSession(name.into()).into());
            };
            if state != "recording" {
                return Err(Error::WrongState {
                    name: name.into(),
                    state,
                    expected: "recording".into(),
                }
                .into());
            }
            if let Some(pid) = pid.filter(|&p| p != me) {
                if crate::clock::is_alive(Some(pid), pstart.map(|s| s as u64)) {
                    return Err(Error::Claimed {
                        name: name.into(),
                        pid,
                    }
                    .into());
                }
            }
            tx.execute(
                "UPDATE sessions SET claim_pid = ?2, claim_start = ?3 WHERE id = ?1",
                params![id, me, start.map(|s| s as i64)],
            )?;
            Ok(())
        })
    }

    /// Give a claim back (a finish that failed), so that a retry needs
    /// not wait for this process to end.
    pub fn release(&self, id: i64) -> Result<()> {
        self.execute(
            "UPDATE sessions SET claim_pid = NULL, claim_start = NULL WHERE id = ?1",
            [id],
        )
    }

    /// The session's daemon holds its baseline and watches every root:
    /// from now on a dead daemon means "rescan", not "leftover".
    pub fn set_ready(&self, id: i64) -> Result<()> {
        self.execute("UPDATE sessions SET ready = 1 WHERE id = ?1", [id])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str) -> NewSession {
        NewSession {
            name: name.into(),
            description: None,
            root: format!("/r/{name}").into_bytes(),
            watched: vec![b"/etc".to_vec()],
            content_cap: 1,
            ignore_patterns: vec![],
            facts: Facts::default(),
        }
    }

    /// (session, its maker's start time as stored, ready?) → erased by
    /// `repair`?
    #[test]
    fn only_a_never_ready_session_of_gone_processes_is_repaired() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Store::open(&tmp.path().join("db")).unwrap();
        let me = std::process::id() as i32;
        let alive = crate::clock::process_start(me).unwrap() as i64;
        let cases = [
            ("begin under way", alive, false, false),
            ("maker gone", alive + 1, false, true),
            ("ready, daemon gone", alive + 1, true, false),
        ];
        for (name, start, ready, _) in cases {
            let id = s.create_session(&new(name)).unwrap().id;
            s.execute(
                "UPDATE sessions SET maker_start = ?2 WHERE id = ?1",
                params![id, start],
            )
            .unwrap();
            if ready {
                s.set_ready(id).unwrap();
            }
        }
        let erased = crate::session::repair(&mut s).unwrap();
        let want: Vec<String> = cases
            .iter()
            .filter(|c| c.3)
            .map(|c| c.0.to_string())
            .collect();
        assert_eq!(erased, want);
        for (name, _, _, gone) in cases {
            assert_eq!(s.session(name).is_err(), gone, "{name}");
        }
    }
}
