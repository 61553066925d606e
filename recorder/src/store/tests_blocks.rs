//! The baseline's blocks on real SQLite files: the format, lookups at
//! block boundaries and across overlapping blocks, replacement, and the
//! baseline rows of a schema-8 database.

use super::blocks::{self, Item};
use super::pack::Place;
use super::*;
use crate::model::BlobSource;
use std::borrow::Cow;

fn entry(path: &[u8], content: &[u8]) -> EntryWithContent {
    EntryWithContent {
        entry: Entry {
            path: path.to_vec(),
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: Some("root".into()),
            group: Some("adm".into()),
            size: content.len() as u64,
            mtime_ns: 1_700_000_000_123_456_789,
            hash: Some(ContentHash::of(content)),
            content_stored: true,
            link_target: None,
        },
        content: Some(Content::Bytes(content.to_vec())),
        stamp: Some(Stamp {
            ino: 4242,
            ctime_ns: 1_700_000_000_999_000_000,
        }),
    }
}

fn store() -> (tempfile::TempDir, Store, Session) {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(&tmp.path().join("cft.db")).unwrap();
    let session = s
        .create_session(&NewSession {
            name: "b".into(),
            description: None,
            root: b"/".to_vec(),
            watched: vec![b"/".to_vec()],
            content_cap: 1 << 20,
            ignore_patterns: vec![],
            facts: Facts::default(),
        })
        .unwrap();
    (tmp, s, session)
}

fn packed(s: &mut Store, session: &Session, batches: &[Vec<EntryWithContent>]) {
    let mut pack = s.pack_writer(session).unwrap();
    for b in batches {
        s.insert_entries_packed(session.id, Snapshot::Baseline, b, &mut pack)
            .unwrap();
    }
    pack.finish(false).unwrap();
}

fn odd_paths() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("the root", b"/".to_vec()),
        ("plain", b"/etc/hosts".to_vec()),
        ("a newline", b"/etc/new\nline".to_vec()),
        ("not UTF-8", b"/etc/\xff\xfe\x80latin".to_vec()),
        ("control bytes", b"/etc/\x01\x02\x7f".to_vec()),
        ("a space and quotes", b"/etc/a b'\"c".to_vec()),
        ("sorts between dir and dir/", b"/etc/hosts-x".to_vec()),
        ("very long", {
            let mut p = b"/etc/".to_vec();
            p.extend(std::iter::repeat_n(b'x', 4000));
            p
        }),
    ]
}

#[test]
fn the_block_format_round_trips_every_field() {
    let base = entry(b"/etc/a", b"alpha").entry;
    let cases: Vec<(&str, Item)> = vec![
        (
            "packed, hash computed",
            Item {
                entry: Cow::Owned(Entry {
                    hash: None,
                    ..base.clone()
                }),
                place: Some(Place {
                    offset: 1 << 40,
                    within: Some(131_000),
                }),
                stamp: Some(Stamp {
                    ino: u64::MAX,
                    ctime_ns: -5,
                }),
            },
        ),
        (
            "an old raw pack's place, hash kept",
            Item {
                entry: Cow::Owned(Entry {
                    path: b"/etc/b".to_vec(),
                    ..base.clone()
                }),
                place: Some(Place {
                    offset: 7,
                    within: None,
                }),
                stamp: None,
            },
        ),
        (
            "over the cap: hash only",
            Item {
                entry: Cow::Owned(Entry {
                    path: b"/etc/c\xff".to_vec(),
                    content_stored: false,
                    size: u64::MAX,
                    mtime_ns: i64::MIN,
                    owner: None,
                    group: None,
                    ..base.clone()
                }),
                place: None,
                stamp: None,
            },
        ),
        (
            "a link",
            Item {
                entry: Cow::Owned(Entry {
                    path: b"/etc/d".to_vec(),
                    kind: EntryKind::Symlink,
                    mode: 0o777,
                    uid: u32::MAX,
                    gid: 12345,
                    owner: Some("ünïcode".into()),
                    group: Some("root".into()),
                    size: 9,
                    mtime_ns: i64::MAX,
                    hash: None,
                    content_stored: false,
                    link_target: Some(b"../x\n\xfe".to_vec()),
                }),
                place: None,
                stamp: Some(Stamp {
                    ino: 0,
                    ctime_ns: i64::MIN,
                }),
            },
        ),
        (
            "a device",
            Item {
                entry: Cow::Owned(Entry {
                    path: b"/etc/e".to_vec(),
                    kind: EntryKind::BlockDevice,
                    hash: None,
                    content_stored: false,
                    ..base.clone()
                }),
                place: None,
                stamp: None,
            },
        ),
    ];
    let items: Vec<Item> = cases.iter().map(|(_, i)| i.clone()).collect();
    let z = zstd::bulk::compress(&blocks::encode(&items), 3).unwrap();
    let back = blocks::decode(&z, "test").ok().unwrap();
    for ((name, want), got) in cases.iter().zip(&back) {
        assert_eq!(got, want, "{name}");
    }
    assert_eq!(back.len(), cases.len());
    // Damage is an error, never wrong entries.
    let raw = blocks::encode(&items);
    for cut in [1, raw.len() / 2, raw.len() - 1] {
        let z = zstd::bulk::compress(&raw[..cut], 3).unwrap();
        assert!(blocks::decode(&z, "test").is_err(), "cut at {cut}");
    }
    assert!(blocks::decode(b"not zstd", "test").is_err());
}

#[test]
fn odd_paths_survive_every_reader() {
    let (_tmp, mut s, session) = store();
    let batch: Vec<_> = odd_paths().iter().map(|(_, p)| entry(p, p)).collect();
    packed(&mut s, &session, &[batch]);
    for (name, p) in odd_paths() {
        let e = s.entry(session.id, Snapshot::Baseline, &p).unwrap();
        let e = e.unwrap_or_else(|| panic!("{name}: missing"));
        assert_eq!(e, entry(&p, &p).entry, "{name}");
        let st = s.stamp_of(session.id, &p).unwrap().unwrap();
        assert_eq!(st.stamp, entry(&p, &p).stamp, "{name}");
    }
    let mut want: Vec<Vec<u8>> = odd_paths().into_iter().map(|(_, p)| p).collect();
    want.sort();
    let under: Vec<_> = s
        .entries_under(session.id, Snapshot::Baseline, b"/")
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(under, want);
    // `/etc/hosts` is not the parent of `/etc/hosts-x`.
    let hosts: Vec<_> = s
        .entries_under(session.id, Snapshot::Baseline, b"/etc/hosts")
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(hosts, vec![b"/etc/hosts".to_vec()]);
    let mut stamps = Vec::new();
    s.for_each_stamp(session.id, b"/", |r| stamps.push(r.path))
        .unwrap();
    assert_eq!(stamps, want);
    assert_eq!(
        s.entry_count(session.id, Snapshot::Baseline).unwrap(),
        want.len() as u64
    );
    assert_eq!(
        s.entry(session.id, Snapshot::Baseline, b"/nope").unwrap(),
        None
    );
    // A content by hash, from a store that has read no entry.
    let fresh = Store::open_existing(s.path()).unwrap();
    assert_eq!(
        fresh
            .blob(&ContentHash::of(b"/etc/hosts"))
            .unwrap()
            .unwrap(),
        b"/etc/hosts"
    );
}

#[test]
fn a_later_write_of_a_path_wins() {
    let (_tmp, mut s, session) = store();
    type Batches = Vec<Vec<EntryWithContent>>;
    let cases: [(&str, Batches, &[u8]); 3] = [
        (
            "in one batch",
            vec![vec![entry(b"/etc/one", b"old"), entry(b"/etc/one", b"new")]],
            b"/etc/one",
        ),
        (
            "in a later batch",
            vec![
                vec![entry(b"/etc/two", b"old"), entry(b"/etc/zz", b"z")],
                vec![entry(b"/etc/two", b"new")],
            ],
            b"/etc/two",
        ),
        (
            "a rescan's write after the pack",
            vec![vec![entry(b"/etc/three", b"old")]],
            b"/etc/three",
        ),
    ];
    let mut pack = s.pack_writer(&session).unwrap();
    for b in cases.iter().flat_map(|(_, b, _)| b) {
        s.insert_entries_packed(session.id, Snapshot::Baseline, b, &mut pack)
            .unwrap();
    }
    pack.finish(false).unwrap();
    s.insert_entries(
        session.id,
        Snapshot::Baseline,
        &[entry(b"/etc/three", b"new")],
    )
    .unwrap();
    for (name, _, path) in &cases {
        let e = s
            .entry(session.id, Snapshot::Baseline, path)
            .unwrap()
            .unwrap();
        assert_eq!(e.hash, Some(ContentHash::of(b"new")), "{name}");
        let under = s
            .entries_under(session.id, Snapshot::Baseline, b"/etc")
            .unwrap();
        let copies: Vec<_> = under.iter().filter(|e| e.path == *path).collect();
        assert_eq!(copies.len(), 1, "{name}");
        assert_eq!(copies[0].hash, Some(ContentHash::of(b"new")), "{name}");
    }
    // Each path counted once.
    assert_eq!(s.entry_count(session.id, Snapshot::Baseline).unwrap(), 4);
    // A baseline content in `blobs` outlives a collection.
    s.gc().unwrap();
    assert_eq!(s.blob(&ContentHash::of(b"new")).unwrap().unwrap(), b"new");
}

#[test]
fn lookups_at_block_boundaries_and_across_overlapping_blocks() {
    let (_tmp, mut s, session) = store();
    let n = blocks::BLOCK * 2 + 3;
    let path = |i: usize| format!("/srv/f{i:06}").into_bytes();
    // One big batch (three blocks), then the odd ones again in small
    // batches whose ranges overlap all three, in reverse (walk) order.
    let big: Vec<_> = (0..n).map(|i| entry(&path(i), b"v1")).collect();
    let odd: Vec<Vec<_>> = (0..n)
        .rev()
        .filter(|i| i % 2 == 1)
        .collect::<Vec<_>>()
        .chunks(700)
        .map(|c| c.iter().map(|&i| entry(&path(i), b"v2")).collect())
        .collect();
    let mut batches = vec![big];
    batches.extend(odd);
    packed(&mut s, &session, &batches);
    let want = |i: usize| ContentHash::of(if i % 2 == 1 { b"v2" } else { b"v1" });
    let edges = [
        0,
        1,
        blocks::BLOCK - 1,
        blocks::BLOCK,
        blocks::BLOCK + 1,
        2 * blocks::BLOCK - 1,
        2 * blocks::BLOCK,
        n - 1,
    ];
    for i in edges {
        let e = s.entry(session.id, Snapshot::Baseline, &path(i)).unwrap();
        assert_eq!(e.and_then(|e| e.hash), Some(want(i)), "entry {i}");
        assert!(s.stamp_of(session.id, &path(i)).unwrap().is_some(), "{i}");
    }
    for absent in [&b"/srv/f"[..], b"/srv/f0000005", b"/srv/g", b"/a"] {
        assert_eq!(
            s.entry(session.id, Snapshot::Baseline, absent).unwrap(),
            None
        );
    }
    let all = s
        .entries_under(session.id, Snapshot::Baseline, b"/srv")
        .unwrap();
    assert_eq!(all.len(), n);
    for (i, e) in all.iter().enumerate() {
        assert_eq!((&e.path, e.hash), (&path(i), Some(want(i))), "range {i}");
    }
    let mut swept = 0;
    s.for_each_stamp(session.id, b"/srv", |r| {
        assert_eq!(r.path, path(swept));
        swept += 1;
    })
    .unwrap();
    assert_eq!(swept, n);
    assert_eq!(
        s.entry_count(session.id, Snapshot::Baseline).unwrap(),
        n as u64
    );
}

/// A batch of more blocks than are encoded at once (on two threads, a
/// window at a time) is stored whole and in order, the odd last block too.
#[test]
fn a_batch_of_many_windows_of_blocks_keeps_every_entry_in_order() {
    let (_tmp, mut s, session) = store();
    let n = blocks::BLOCK * (blocks::ENCODE_WINDOW + 1) + 7;
    let path = |i: usize| format!("/srv/f{i:06}").into_bytes();
    let content = |i: usize| format!("c{}", i % 97).into_bytes();
    let all: Vec<_> = (0..n).rev().map(|i| entry(&path(i), &content(i))).collect();
    packed(&mut s, &session, &[all]);
    let back = s
        .entries_under(session.id, Snapshot::Baseline, b"/srv")
        .unwrap();
    assert_eq!(back.len(), n);
    for (i, e) in back.iter().enumerate() {
        assert_eq!(
            (&e.path, e.hash),
            (&path(i), Some(ContentHash::of(&content(i)))),
            "entry {i}"
        );
    }
    assert_eq!(
        s.entry_count(session.id, Snapshot::Baseline).unwrap(),
        n as u64
    );
}

/// A schema-8 database kept every snapshot as rows: the migrations to
/// schemas 9 and 10 make them blocks, every field kept, and the rows go.
#[test]
fn entry_rows_of_schema_8_become_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let text = b"server { listen 80; }\n";
    let id = {
        #[allow(clippy::disallowed_methods)] // building an old database by hand
        let c = Connection::open(&db).unwrap();
        for sql in &MIGRATIONS[..8] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 8).unwrap();
        c.execute(
            "INSERT INTO sessions (name, root, state, created_at, content_cap)
             VALUES ('old', x'2f', 'finished', 77, 1000)",
            [],
        )
        .unwrap();
        let id = c.last_insert_rowid();
        type Row<'a> = (
            &'a [u8],
            &'a str,
            Option<&'a [u8]>,
            bool,
            Option<i64>,
            Option<i64>,
        );
        let rows: [Row; 5] = [
            (b"/etc", "dir", None, false, None, Some(1)),
            (b"/etc/packed", "file", Some(text), true, Some(0), Some(2)),
            (b"/etc/in-blobs", "file", Some(b"blob"), true, None, None),
            (b"/etc/\xffbig", "file", Some(b"big"), false, None, Some(3)),
            (b"/etc/link\n", "symlink", None, false, None, None),
        ];
        for (path, kind, content, stored, offset, ino) in rows {
            c.execute(
                "INSERT INTO entries (session_id, snapshot, path, kind, mode, uid, gid, owner,
                                      size, mtime_ns, hash, content_stored, link_target,
                                      pack_offset, pack_within, ino, ctime_ns)
                 VALUES (?1, 0, ?2, ?3, 420, 0, 0, 'root', ?4, 9, ?5, ?6, ?7, ?8, ?9, ?10, 11)",
                params![
                    id,
                    path,
                    kind,
                    content.map_or(0, |c| c.len() as i64),
                    content.map(|c| ContentHash::of(c).0.to_vec()),
                    stored,
                    (kind == "symlink").then_some(&b"target"[..]),
                    offset,
                    offset.map(|_| 0i64),
                    ino,
                ],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO blobs (hash, size, data) VALUES (?1, 4, ?2)",
            params![&ContentHash::of(b"blob").0[..], &b"blob"[..]],
        )
        .unwrap();
        // A final directory, and a file the daemon captured, packed.
        c.execute(
            "INSERT INTO entries (session_id, snapshot, path, kind, mode, uid, gid, size,
                                  mtime_ns, content_stored)
             VALUES (?1, 1, x'2f657463', 'dir', 493, 0, 0, 0, 9, 0)",
            [id],
        )
        .unwrap();
        c.execute(
            "INSERT INTO entries (session_id, snapshot, path, kind, mode, uid, gid, size,
                                  mtime_ns, hash, content_stored, pack_offset, pack_within,
                                  ino, ctime_ns)
             VALUES (?1, 2, x'2f6574632f6e6577', 'file', 420, 0, 0, ?2, 9, ?3, 1, 0, 0, 5, 12)",
            params![id, text.len() as i64, &ContentHash::of(text).0[..]],
        )
        .unwrap();
        id
    };
    // The old row's pack: one compressed frame at offset 0.
    let mut w = pack::PackWriter::create(&db, pack_name_of(id, 77)).unwrap();
    w.append(&ContentHash::of(text), text).unwrap();
    w.finish(false).unwrap();

    let mut s = Store::open_existing(&db).unwrap();
    let rows: i64 = s
        .conn
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    let fin = s.entry(id, Snapshot::Final, b"/etc").unwrap().unwrap();
    assert_eq!((fin.kind, fin.mode), (EntryKind::Dir, 493));
    let seen = s.seen(id).unwrap();
    let new = &seen[&b"/etc/new"[..]];
    assert_eq!(new.hash, ContentHash::of(text));
    assert_eq!(
        new.stamp,
        Stamp {
            ino: 5,
            ctime_ns: 12
        }
    );
    assert_eq!(new.place.map(|p| p.offset), Some(0));
    let all = s.entries_under(id, Snapshot::Baseline, b"/").unwrap();
    let paths: Vec<&[u8]> = all.iter().map(|e| &e.path[..]).collect();
    assert_eq!(
        paths,
        vec![
            &b"/etc"[..],
            b"/etc/in-blobs",
            b"/etc/link\n",
            b"/etc/packed",
            b"/etc/\xffbig"
        ]
    );
    let by = |p: &[u8]| all.iter().find(|e| e.path == p).unwrap().clone();
    assert_eq!(by(b"/etc/packed").hash, Some(ContentHash::of(text)));
    assert!(by(b"/etc/packed").content_stored);
    assert!(!by(b"/etc/\xffbig").content_stored);
    assert_eq!(by(b"/etc/\xffbig").hash, Some(ContentHash::of(b"big")));
    assert_eq!(
        by(b"/etc/link\n").link_target.as_deref(),
        Some(&b"target"[..])
    );
    assert_eq!(by(b"/etc").owner.as_deref(), Some("root"));
    assert_eq!(
        s.stamp_of(id, b"/etc/packed").unwrap().unwrap().stamp,
        Some(Stamp {
            ino: 2,
            ctime_ns: 11
        })
    );
    assert_eq!(s.entry_count(id, Snapshot::Baseline).unwrap(), 5);
    assert_eq!(s.entry_count(id, Snapshot::Final).unwrap(), 1);
    assert_eq!(s.blob(&ContentHash::of(text)).unwrap().unwrap(), text);
    s.gc().unwrap();
    assert_eq!(s.blob(&ContentHash::of(b"blob")).unwrap().unwrap(), b"blob");
}

/// An empty content's place is where the next content of its frame
/// starts: a hash computed for one is never taken for the other, in
/// whichever order the lookups come (the e2e scenario's `/etc/fstab`
/// after an empty file, read through a range first).
#[test]
fn an_empty_content_and_its_neighbour_keep_their_own_hashes() {
    let (_tmp, mut s, session) = store();
    packed(
        &mut s,
        &session,
        &[vec![
            entry(b"/etc/a-empty", b""),
            entry(b"/etc/b-fstab", b"# UNCONFIGURED FSTAB\n"),
            entry(b"/etc/c-issue", b"Debian\n"),
        ]],
    );
    let want = |p: &[u8]| match p {
        b"/etc/a-empty" => ContentHash::of(b""),
        b"/etc/b-fstab" => ContentHash::of(b"# UNCONFIGURED FSTAB\n"),
        _ => ContentHash::of(b"Debian\n"),
    };
    type Order = fn(&Store, i64) -> Vec<Entry>;
    let orders: [(&str, Order); 2] = [
        ("a range, then each alone", |s, id| {
            let mut v = s.entries_under(id, Snapshot::Baseline, b"/etc").unwrap();
            for p in [&b"/etc/a-empty"[..], b"/etc/b-fstab", b"/etc/c-issue"] {
                v.push(s.entry(id, Snapshot::Baseline, p).unwrap().unwrap());
            }
            v
        }),
        ("each alone, then a range", |s, id| {
            let mut v: Vec<Entry> = [&b"/etc/a-empty"[..], b"/etc/b-fstab", b"/etc/c-issue"]
                .iter()
                .map(|p| s.entry(id, Snapshot::Baseline, p).unwrap().unwrap())
                .collect();
            v.extend(s.entries_under(id, Snapshot::Baseline, b"/etc").unwrap());
            v
        }),
    ];
    for (name, order) in orders {
        let fresh = Store::open_existing(s.path()).unwrap();
        let got = order(&fresh, session.id);
        assert!(got.len() >= 6, "{name}: {got:?}");
        for e in got {
            assert_eq!(e.hash, Some(want(&e.path)), "{name}: {:?}", e.path);
        }
    }
}

/// The final and captured snapshots are blocks too, apart from the
/// baseline's: each keeps every hash, a content packed for one is found
/// by its hash, and when a finish replaces them (a resumed session's) a
/// store that read the old ones reads the new ones, not its cache.
#[test]
fn final_and_captured_entries_are_blocks_of_their_own() {
    let (_tmp, mut s, session) = store();
    packed(&mut s, &session, &[vec![entry(b"/etc/a", b"base")]]);
    let mut pack = s.pack_appender(&session).unwrap();
    s.insert_entries_packed(
        session.id,
        Snapshot::Seen,
        &[entry(b"/etc/a", b"seen")],
        &mut pack,
    )
    .unwrap();
    s.insert_entries_packed(
        session.id,
        Snapshot::Final,
        &[entry(b"/etc/a", b"final one")],
        &mut pack,
    )
    .unwrap();
    pack.finish(true).unwrap();
    let hash = |s: &Store, snap| s.entry(session.id, snap, b"/etc/a").unwrap().unwrap().hash;
    assert_eq!(hash(&s, Snapshot::Baseline), Some(ContentHash::of(b"base")));
    assert_eq!(hash(&s, Snapshot::Seen), Some(ContentHash::of(b"seen")));
    assert_eq!(
        hash(&s, Snapshot::Final),
        Some(ContentHash::of(b"final one"))
    );
    assert_eq!(
        s.seen(session.id).unwrap()[&b"/etc/a"[..]].hash,
        ContentHash::of(b"seen")
    );
    assert_eq!(
        s.blob(&ContentHash::of(b"final one")).unwrap().unwrap(),
        b"final one"
    );
    assert_eq!(s.entry_count(session.id, Snapshot::Baseline).unwrap(), 1);

    // What a finish does: its final snapshot's blocks and the captured ones
    // go, and new ones take their place (and their `seq`).
    s.write(|tx| {
        tx.execute(
            "DELETE FROM entry_blocks WHERE session_id = ?1 AND snapshot <> 0",
            [session.id],
        )?;
        entries::insert_entries_raw(
            tx,
            session.id,
            Snapshot::Final,
            &[entry(b"/etc/a", b"final two")],
            entries::Contents::Blobs,
        )
    })
    .unwrap();
    assert_eq!(
        hash(&s, Snapshot::Final),
        Some(ContentHash::of(b"final two"))
    );
    assert!(s.seen(session.id).unwrap().is_empty());
    assert_eq!(
        s.blob(&ContentHash::of(b"final two")).unwrap().unwrap(),
        b"final two"
    );
    assert_eq!(hash(&s, Snapshot::Baseline), Some(ContentHash::of(b"base")));
}

/// A row of a snapshot no schema had is an error at the migration that
/// turns rows into blocks, not a row deleted unseen.
#[test]
fn an_entry_row_of_an_unknown_snapshot_stops_the_migration() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    {
        #[allow(clippy::disallowed_methods)] // building an old database by hand
        let c = Connection::open(&db).unwrap();
        for sql in &MIGRATIONS[..9] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 9).unwrap();
        c.execute(
            "INSERT INTO sessions (name, root, state, created_at, content_cap)
             VALUES ('old', x'2f', 'finished', 77, 1000)",
            [],
        )
        .unwrap();
        c.execute(
            "INSERT INTO entries (session_id, snapshot, path, kind, mode, uid, gid, size,
                                  mtime_ns, content_stored)
             VALUES (?1, 7, x'2f657463', 'dir', 493, 0, 0, 0, 9, 0)",
            [c.last_insert_rowid()],
        )
        .unwrap();
    }
    let err = Store::open_existing(&db)
        .err()
        .expect("the migration refuses");
    assert!(err.to_string().contains("unknown snapshot 7"), "{err}");
    #[allow(clippy::disallowed_methods)] // reading it back by hand
    let c = Connection::open(&db).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM entries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the row is still there");
}

/// A schema-10 database's change rows, every field and an odd path,
/// become change blocks (schema 11) that the change set reads back; a row
/// of an unknown kind stops the migration, and the rows stay.
#[test]
fn change_rows_of_schema_10_become_change_blocks() {
    use crate::model::{ChangeKind, Origin};
    // Path, kind, secret, origin, package.
    type OldRow<'a> = (&'a [u8], &'a str, bool, &'a str, Option<&'a str>);
    let build = |db: &Path, rows: &[OldRow]| {
        #[allow(clippy::disallowed_methods)] // building an old database by hand
        let c = Connection::open(db).unwrap();
        for sql in &MIGRATIONS[..10] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 10).unwrap();
        c.execute(
            "INSERT INTO sessions (name, root, state, created_at, content_cap)
             VALUES ('old', x'2f', 'finished', 77, 1000)",
            [],
        )
        .unwrap();
        let id = c.last_insert_rowid();
        for (path, kind, secret, origin, package) in rows {
            c.execute(
                "INSERT INTO changes (session_id, path, kind, secret, origin, package)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![id, path, kind, secret, origin, package],
            )
            .unwrap();
        }
        id
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let id = build(
        &db,
        &[
            (b"/etc/z", "created", false, r#"{"by":"admin"}"#, None),
            (
                b"/etc/nginx/nginx.conf",
                "modified",
                false,
                r#"{"by":"package","name":"nginx"}"#,
                Some("nginx-common"),
            ),
            (
                b"/etc/\xff key\n",
                "removed",
                true,
                r#"{"by":"accounts"}"#,
                None,
            ),
        ],
    );
    let s = Store::open_existing(&db).unwrap();
    let left: i64 = s
        .conn
        .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    // What `change_set` reads.
    let got: Vec<_> = change_blocks::read(&s.conn, id)
        .unwrap()
        .into_iter()
        .map(|c| (c.path, c.kind, c.secret, c.origin, c.package))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                b"/etc/nginx/nginx.conf".to_vec(),
                ChangeKind::Modified,
                false,
                Origin::Package("nginx".into()),
                Some("nginx-common".into())
            ),
            (
                b"/etc/z".to_vec(),
                ChangeKind::Created,
                false,
                Origin::Admin,
                None
            ),
            (
                b"/etc/\xff key\n".to_vec(),
                ChangeKind::Removed,
                true,
                Origin::Accounts,
                None
            ),
        ]
    );
    assert_eq!(s.changed_paths(id).unwrap().len(), 3);

    let bad = tmp.path().join("bad.db");
    build(
        &bad,
        &[(b"/etc/a", "exploded", false, r#"{"by":"admin"}"#, None)],
    );
    let err = Store::open_existing(&bad)
        .err()
        .expect("the migration refuses");
    assert!(err.to_string().contains("exploded"), "{err}");
    #[allow(clippy::disallowed_methods)] // reading it back by hand
    let c = Connection::open(&bad).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM changes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1, "the row is still there");
}

/// `seen` reads the captured blocks apart, oldest first: of a path
/// captured more than once its newest capture counts, in one block or
/// across several, and a newest one with no hash or stamp leaves it out,
/// as the ranged read (`entry`) says.
#[test]
fn the_newest_capture_of_a_path_is_the_one_seen() {
    let (_tmp, mut s, session) = store();
    let unstamped = |p: &[u8]| EntryWithContent {
        stamp: None,
        ..entry(p, b"newest")
    };
    let mut pack = s.pack_appender(&session).unwrap();
    for batch in [
        vec![
            entry(b"/etc/a", b"old"),
            entry(b"/etc/b", b"old"),
            entry(b"/etc/c", b"old"),
            entry(b"/etc/b", b"newer"),
        ],
        vec![entry(b"/etc/a", b"new"), unstamped(b"/etc/c")],
    ] {
        s.insert_entries_packed(session.id, Snapshot::Seen, &batch, &mut pack)
            .unwrap();
    }
    pack.finish(true).unwrap();
    let seen = s.seen(session.id).unwrap();
    let hash = |p: &[u8]| seen.get(p).map(|x| x.hash);
    assert_eq!(hash(b"/etc/a"), Some(ContentHash::of(b"new")));
    assert_eq!(hash(b"/etc/b"), Some(ContentHash::of(b"newer")));
    assert_eq!(hash(b"/etc/c"), None);
    assert_eq!(seen.len(), 2);
    for p in [&b"/etc/a"[..], b"/etc/b"] {
        let e = s.entry(session.id, Snapshot::Seen, p).unwrap().unwrap();
        assert_eq!(e.hash, hash(p));
    }
}
