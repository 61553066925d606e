//! The store on real SQLite files.

use super::*;
use crate::model::{BlobSource, ChangeKind, Event, EventKind, EventSource};
use std::os::unix::fs::MetadataExt;

fn new_session(name: &str, root: &[u8]) -> NewSession {
    NewSession {
        name: name.into(),
        description: Some("test".into()),
        root: root.to_vec(),
        watched: vec![b"/etc".to_vec()],
        content_cap: 4 << 20,
        ignore_patterns: vec!["*.tmp".into()],
        facts: Facts {
            hostname: "h".into(),
            ..Facts::default()
        },
    }
}

fn file_entry(path: &[u8], content: &[u8]) -> EntryWithContent {
    EntryWithContent {
        entry: Entry {
            path: path.to_vec(),
            kind: EntryKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: Some("root".into()),
            group: None,
            size: content.len() as u64,
            mtime_ns: 5,
            hash: Some(ContentHash::of(content)),
            content_stored: true,
            link_target: None,
        },
        content: Some(Content::Bytes(content.to_vec())),
        stamp: None,
    }
}

use proptest::prelude::*;

proptest! {
    #[test]
    fn any_byte_path_survives_the_store(
        names in proptest::collection::btree_set(
            proptest::collection::vec(1u8..=255, 1..40)
                .prop_filter("a single name", |v| !v.contains(&b'/')),
            1..20,
        )
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Store::open(&tmp.path().join("db")).unwrap();
        let id = s.create_session(&new_session("p", b"/")).unwrap().id;
        let paths: Vec<Vec<u8>> = names.iter().map(|n| crate::model::join(b"/etc", n)).collect();
        let batch: Vec<_> = paths.iter().map(|p| file_entry(p, p)).collect();
        s.insert_entries(id, Snapshot::Baseline, &batch).unwrap();
        let mut back: Vec<Vec<u8>> = s
            .entries_under(id, Snapshot::Baseline, b"/etc")
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        back.sort();
        let mut want = paths.clone();
        want.sort();
        prop_assert_eq!(back, want);
        for p in &paths {
            let blob = s.blob(&ContentHash::of(p)).unwrap();
            prop_assert_eq!(blob.as_deref(), Some(&p[..]));
        }
    }
}

#[test]
fn database_and_directory_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let _s = Store::open(&db).unwrap();
    let dmode = std::fs::metadata(db.parent().unwrap()).unwrap().mode() & 0o777;
    let fmode = std::fs::metadata(&db).unwrap().mode() & 0o777;
    assert_eq!((dmode, fmode), (0o700, 0o600));
    for side in ["cft.db-wal", "cft.db-shm"] {
        let p = db.parent().unwrap().join(side);
        if p.exists() {
            assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o077, 0, "{side}");
        }
    }
}

#[test]
fn sessions_round_trip_and_names_are_unique() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(&tmp.path().join("db")).unwrap();
    let a = s.create_session(&new_session("web", b"/r1")).unwrap();
    assert_eq!(a.name, "web");
    assert_eq!(a.watched, vec![b"/etc".to_vec()]);
    assert_eq!(a.ignore_patterns, vec!["*.tmp".to_string()]);
    assert_eq!(a.facts.hostname, "h");
    assert!(matches!(
        s.create_session(&new_session("web", b"/r2")),
        Err(Error::SessionExists(_))
    ));
    // One recording session per root.
    match s.create_session(&new_session("db", b"/r1")) {
        Err(Error::AlreadyRecording { active, .. }) => assert_eq!(active, "web"),
        other => panic!("expected AlreadyRecording, got {other:?}"),
    }
    s.create_session(&new_session("db", b"/r2")).unwrap();
    assert_eq!(s.recording_sessions().unwrap().len(), 2);
}

#[test]
fn entries_under_uses_byte_ranges_not_string_prefixes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(&tmp.path().join("db")).unwrap();
    let id = s.create_session(&new_session("x", b"/")).unwrap().id;
    let batch: Vec<_> = [
        &b"/etc"[..],
        b"/etc/a",
        b"/etc/a/b",
        b"/etc-old",
        b"/etc0",
        b"/etca",
        b"/etc/\xff",
    ]
    .iter()
    .map(|p| file_entry(p, p))
    .collect();
    s.insert_entries(id, Snapshot::Baseline, &batch).unwrap();
    let under: Vec<Vec<u8>> = s
        .entries_under(id, Snapshot::Baseline, b"/etc")
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        under,
        vec![
            b"/etc".to_vec(),
            b"/etc/a".to_vec(),
            b"/etc/a/b".to_vec(),
            b"/etc/\xff".to_vec()
        ]
    );
    assert_eq!(
        s.entries_under(id, Snapshot::Baseline, b"/").unwrap().len(),
        7
    );
}

#[test]
fn blobs_are_deduplicated_and_collected_on_erase() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(&tmp.path().join("db")).unwrap();
    let a = s.create_session(&new_session("a", b"/a")).unwrap().id;
    let b = s.create_session(&new_session("b", b"/b")).unwrap().id;
    s.insert_entries(a, Snapshot::Baseline, &[file_entry(b"/etc/x", b"same")])
        .unwrap();
    s.insert_entries(b, Snapshot::Baseline, &[file_entry(b"/etc/y", b"same")])
        .unwrap();
    let n: i64 = s
        .conn
        .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    s.erase_session(a).unwrap();
    assert_eq!(
        s.blob(&ContentHash::of(b"same")).unwrap().as_deref(),
        Some(&b"same"[..])
    );
    s.erase_session(b).unwrap();
    assert_eq!(s.blob(&ContentHash::of(b"same")).unwrap(), None);
}

#[test]
fn change_set_replaces_atomically_and_decodes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(&tmp.path().join("db")).unwrap();
    let id = s.create_session(&new_session("web", b"/")).unwrap().id;
    s.insert_entries(id, Snapshot::Baseline, &[file_entry(b"/etc/x", b"old")])
        .unwrap();
    s.record_events(
        id,
        &[Event {
            time_ns: 1,
            kind: EventKind::Renamed,
            path: Some(b"/etc/a".to_vec()),
            path_to: Some(b"/etc/b".to_vec()),
            source: EventSource::Watcher,
        }],
    )
    .unwrap();
    let touched = s.touched_paths(id).unwrap();
    assert!(touched.contains(&(b"/etc/a".to_vec(), true)));
    assert!(touched.contains(&(b"/etc/b".to_vec(), true)));
    let fin = file_entry(b"/etc/x", b"new");
    let change = Change {
        path: b"/etc/x".to_vec(),
        kind: ChangeKind::Modified,
        before: None,
        after: None,
        secret: false,
        origin: Default::default(),
        package: None,
    };
    for _ in 0..2 {
        s.save_finished(&crate::finish::Finished {
            session: id,
            changes: vec![change.clone()],
            finals: vec![EntryWithContent {
                entry: fin.entry.clone(),
                content: fin.content.clone(),
                stamp: fin.stamp,
            }],
            notices: vec![],
            system: None,
            attributions: vec![],
        })
        .unwrap();
    }
    let cs = s.change_set("web").unwrap();
    assert_eq!(cs.session.state, SessionState::Finished);
    assert_eq!(cs.changes.len(), 1);
    let c = &cs.changes[0];
    assert_eq!(
        c.before.as_ref().unwrap().hash,
        Some(ContentHash::of(b"old"))
    );
    assert_eq!(
        c.after.as_ref().unwrap().hash,
        Some(ContentHash::of(b"new"))
    );
    assert_eq!(s.blob(&ContentHash::of(b"new")).unwrap().unwrap(), b"new");
}

#[test]
fn a_reader_works_while_a_writer_holds_a_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let mut w = Store::open(&db).unwrap();
    w.create_session(&new_session("web", b"/")).unwrap();
    let tx = w.conn.transaction().unwrap();
    tx.execute("UPDATE sessions SET description = 'busy'", [])
        .unwrap();
    let r = Store::open_existing(&db).unwrap();
    assert_eq!(r.sessions().unwrap().len(), 1);
    drop(tx);
}

#[test]
fn baseline_contents_live_in_a_private_pack_that_erase_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("state/cft.db");
    let mut s = Store::open(&db).unwrap();
    let session = s.create_session(&new_session("p", b"/")).unwrap();
    let mut pack = s.pack_writer(&session).unwrap();
    let batch = vec![
        file_entry(b"/etc/a", b"alpha"),
        file_entry(b"/etc/b", b"beta"),
        file_entry(b"/etc/a-copy", b"alpha"),
    ];
    s.insert_entries_packed(session.id, Snapshot::Baseline, &batch, &mut pack)
        .unwrap();
    pack.finish(true).unwrap();
    let dir = db.parent().unwrap().join("packs");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert_eq!(std::fs::metadata(&files[0]).unwrap().mode() & 0o777, 0o600);
    // Each distinct content once, in one compressed frame.
    let packed = std::fs::read(&files[0]).unwrap();
    assert_eq!(
        zstd::bulk::decompress(&packed[16..], 64).unwrap(),
        b"alphabeta"
    );
    assert_eq!(s.blob(&ContentHash::of(b"beta")).unwrap().unwrap(), b"beta");
    let e = s
        .entry(session.id, Snapshot::Baseline, b"/etc/a-copy")
        .unwrap()
        .unwrap();
    assert!(e.content_stored);
    // A content packed after the first read (which mapped the packs) is found.
    let later = s.create_session(&new_session("q", b"/other")).unwrap();
    let mut pack2 = s.pack_writer(&later).unwrap();
    s.insert_entries_packed(
        later.id,
        Snapshot::Baseline,
        &[file_entry(b"/etc/c", b"gamma")],
        &mut pack2,
    )
    .unwrap();
    pack2.finish(true).unwrap();
    assert_eq!(
        s.blob(&ContentHash::of(b"gamma")).unwrap().unwrap(),
        b"gamma"
    );
    assert_eq!(
        s.blob(&ContentHash::of(b"alpha")).unwrap().unwrap(),
        b"alpha"
    );
    s.erase_session(later.id).unwrap();
    assert_eq!(s.blob(&ContentHash::of(b"gamma")).unwrap(), None);

    // A damaged pack is an error naming it, never wrong content (read by
    // a store that has not read the pack before: finding "gamma" above
    // read and cached the first pack's frame).
    std::fs::write(&files[0], &packed[..packed.len() - 3]).unwrap();
    let fresh = Store::open_existing(&db).unwrap();
    let err = fresh
        .blob(&ContentHash::of(b"beta"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("damaged pack") && err.contains(".pack"),
        "{err}"
    );

    s.erase_session(session.id).unwrap();
    assert!(!files[0].exists());
    assert_eq!(s.blob(&ContentHash::of(b"alpha")).unwrap(), None);
}

/// Issue 10: unreadable JSON columns became defaults in the session's row
/// decoder (facts, ignore patterns, state), while the same problem a few
/// lines away was an error. Every undecodable column is now an error that
/// names the table and the row (the state has a CHECK constraint).
#[test]
fn an_unreadable_row_is_an_error_never_a_default() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let mut store = Store::open(&db).unwrap();
    let s = store.create_session(&new_session("web", b"/")).unwrap();
    let corrupt = |store: &Store, sql: &str| {
        store
            .read(|c| {
                c.execute(sql, [s.id])?;
                Ok(())
            })
            .unwrap()
    };
    for (sql, want) in [
        (
            "UPDATE sessions SET facts = '{not json' WHERE id = ?1",
            "unreadable facts",
        ),
        (
            "UPDATE sessions SET facts = '{}', ignore_patterns = '42' WHERE id = ?1",
            "unreadable ignore patterns",
        ),
    ] {
        corrupt(&store, sql);
        let err = store.session("web").unwrap_err();
        assert!(
            matches!(&err, Error::Decode { table: "sessions", key, .. } if key == "web"),
            "{err:?}"
        );
        assert!(err.to_string().contains(want), "{err}");
    }
    corrupt(
        &store,
        "UPDATE sessions SET ignore_patterns = '[]' WHERE id = ?1",
    );
    store
        .record_events(
            s.id,
            &[Event {
                time_ns: 1,
                kind: EventKind::Created,
                path: Some(b"/etc/x".to_vec()),
                path_to: None,
                source: EventSource::Watcher,
            }],
        )
        .unwrap();
    corrupt(
        &store,
        "UPDATE events SET kind = 'teleported' WHERE session_id = ?1",
    );
    let err = store.events(s.id).unwrap_err().to_string();
    assert!(
        err.contains("events") && err.contains("unknown kind 'teleported'"),
        "{err}"
    );
}

/// Contents that compress: many similar small files share frames, a large
/// one is a frame of its own, an empty one is nothing; all read back, from
/// the packs and from the blobs, and take a fraction of their size.
#[test]
fn compressed_contents_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let mut s = Store::open(&db).unwrap();
    let session = s.create_session(&new_session("z", b"/")).unwrap();
    let mut files: Vec<EntryWithContent> = (0..3000)
        .map(|i| {
            let text = format!(
                "server {{\n    listen 80;\n    server_name site{i}.example.org;\n    root /var/www/site{i};\n}}\n"
            );
            file_entry(format!("/etc/site{i:04}").as_bytes(), text.as_bytes())
        })
        .collect();
    let big: Vec<u8> = (0..(pack::FRAME * 3)).map(|i| (i % 251) as u8).collect();
    files.push(file_entry(b"/etc/big", &big));
    files.push(file_entry(b"/etc/empty", b""));
    let raw: usize = files
        .iter()
        .map(|f| f.content.as_ref().and_then(Content::bytes).unwrap().len())
        .sum();
    let mut pack = s.pack_writer(&session).unwrap();
    for batch in files.chunks(700) {
        s.insert_entries_packed(session.id, Snapshot::Baseline, batch, &mut pack)
            .unwrap();
        // A flush mid-way (begin's ready point) ends a frame; later
        // contents go to the next one.
        pack.flush().unwrap();
    }
    pack.finish(false).unwrap();
    let packs = pack::packs_dir(&db);
    let size: u64 = std::fs::read_dir(&packs)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(size * 10 < raw as u64, "{size} bytes for {raw}");
    // Read back in reverse order, so the cache of the last frame does not
    // hide a wrong offset.
    for f in files.iter().rev() {
        let data = f.content.as_ref().and_then(Content::bytes).unwrap();
        assert_eq!(
            s.blob(f.entry.hash.as_ref().unwrap()).unwrap().as_deref(),
            Some(data),
            "{}",
            String::from_utf8_lossy(&f.entry.path)
        );
    }

    // Blobs: compressed when that is smaller, raw when it is not.
    let noise: Vec<u8> = (0u32..64)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let text = "key = value\n".repeat(100);
    let finals = [
        file_entry(b"/etc/text", text.as_bytes()),
        file_entry(b"/etc/noise", &noise),
    ];
    s.insert_entries(session.id, Snapshot::Final, &finals)
        .unwrap();
    let rows: Vec<(i64, i64, bool)> = s
        .conn
        .prepare("SELECT size, length(data), zstd FROM blobs ORDER BY size")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(rows[0], (64, 64, false));
    assert_eq!(rows[1].0, 1200);
    assert!(rows[1].1 < 100 && rows[1].2, "{rows:?}");
    for f in &finals {
        assert_eq!(
            s.blob(f.entry.hash.as_ref().unwrap()).unwrap().as_deref(),
            f.content.as_ref().and_then(Content::bytes)
        );
    }
}

/// A database written before schema 7 keeps raw blobs and raw packs; after
/// the migration both still read, and new contents are compressed beside
/// them.
#[test]
fn an_uncompressed_store_still_reads_after_the_migration() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let (id, created) = {
        #[allow(clippy::disallowed_methods)] // building an old database by hand
        let c = Connection::open(&db).unwrap();
        for sql in &MIGRATIONS[..6] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 6).unwrap();
        c.execute(
            "INSERT INTO sessions (name, root, state, created_at, content_cap)
             VALUES ('old', x'2f', 'finished', 77, 1000)",
            [],
        )
        .unwrap();
        let id = c.last_insert_rowid();
        // Old pack: raw contents back to back, an offset per entry.
        for (path, content, offset) in [
            (&b"/etc/a"[..], &b"alpha"[..], 0i64),
            (b"/etc/b", b"beta", 5),
        ] {
            c.execute(
                "INSERT INTO entries (session_id, snapshot, path, kind, mode, uid, gid, size,
                                      mtime_ns, hash, content_stored, pack_offset)
                 VALUES (?1, 0, ?2, 'file', 420, 0, 0, ?3, 1, ?4, 1, ?5)",
                params![
                    id,
                    path,
                    content.len() as i64,
                    &ContentHash::of(content).0[..],
                    offset
                ],
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO blobs (hash, size, data) VALUES (?1, 5, ?2)",
            params![&ContentHash::of(b"final").0[..], &b"final"[..]],
        )
        .unwrap();
        (id, 77)
    };
    let packs = pack::packs_dir(&db);
    std::fs::create_dir(&packs).unwrap();
    std::fs::write(packs.join(pack_name_of(id, created)), b"alphabeta").unwrap();

    let mut s = Store::open_existing(&db).unwrap();
    for content in [&b"alpha"[..], b"beta", b"final"] {
        assert_eq!(
            s.blob(&ContentHash::of(content)).unwrap().as_deref(),
            Some(content)
        );
    }
    // A damaged old pack is still an error, never wrong content.
    std::fs::write(packs.join(pack_name_of(id, created)), b"alphaXXXX").unwrap();
    let err = s.blob(&ContentHash::of(b"beta")).unwrap_err().to_string();
    assert!(
        err.contains("damaged pack") && err.contains(".pack"),
        "{err}"
    );
    // New contents next to old ones are compressed.
    let text = "x = 1\n".repeat(50);
    s.insert_entries(
        id,
        Snapshot::Final,
        &[file_entry(b"/etc/c", text.as_bytes())],
    )
    .unwrap();
    assert_eq!(
        s.blob(&ContentHash::of(text.as_bytes()))
            .unwrap()
            .as_deref(),
        Some(text.as_bytes())
    );
    let z: bool = s
        .conn
        .query_row(
            "SELECT zstd FROM blobs WHERE hash = ?1",
            [&ContentHash::of(text.as_bytes()).0[..]],
            |r| r.get(0),
        )
        .unwrap();
    assert!(z);
}

/// A compressed pack damaged in its header, its frame or its length is an
/// error naming the pack, never wrong content; so is a damaged blob.
#[test]
fn a_damaged_compressed_pack_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let text = "listen 80;\n".repeat(40);
    type Damage = fn(&mut Vec<u8>);
    let cases: [(&str, Damage); 4] = [
        ("a flipped byte in the frame", |p| p[30] ^= 0x55),
        ("cut short", |p| p.truncate(p.len() - 4)),
        ("a frame length past the end", |p| p[0] = 0xff),
        ("a decompressed length that lies", |p| p[8] = 7),
    ];
    for (i, (name, damage)) in cases.iter().enumerate() {
        let mut s = Store::open(&db).unwrap();
        let session = s
            .create_session(&new_session(&format!("d{i}"), format!("/r{i}").as_bytes()))
            .unwrap();
        let mut pack = s.pack_writer(&session).unwrap();
        s.insert_entries_packed(
            session.id,
            Snapshot::Baseline,
            &[file_entry(b"/etc/x", text.as_bytes())],
            &mut pack,
        )
        .unwrap();
        pack.finish(false).unwrap();
        let file = pack::packs_dir(&db).join(pack_name(&session));
        let mut bytes = std::fs::read(&file).unwrap();
        damage(&mut bytes);
        std::fs::write(&file, &bytes).unwrap();
        let err = s
            .blob(&ContentHash::of(text.as_bytes()))
            .expect_err(name)
            .to_string();
        assert!(
            err.contains("damaged pack") && err.contains(&pack_name(&session)),
            "{name}: {err}"
        );
        s.erase_session(session.id).unwrap();
    }

    // A blob whose compressed data is damaged.
    let mut s = Store::open(&db).unwrap();
    let id = s.create_session(&new_session("b", b"/b")).unwrap().id;
    s.insert_entries(
        id,
        Snapshot::Final,
        &[file_entry(b"/etc/y", text.as_bytes())],
    )
    .unwrap();
    s.conn
        .execute(
            "UPDATE blobs SET data = substr(data, 1, length(data) - 2)",
            [],
        )
        .unwrap();
    let err = s
        .blob(&ContentHash::of(text.as_bytes()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("blobs"), "{err}");
}

/// The probes' documents are stored compressed; one stored as JSON text
/// (every database before) still reads. A new database has 1 KiB pages.
#[test]
fn system_documents_are_compressed_and_old_text_still_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Store::open(&tmp.path().join("cft.db")).unwrap();
    let page: i64 = s
        .conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .unwrap();
    assert_eq!(page, 1024);
    let id = s.create_session(&new_session("sys", b"/")).unwrap().id;
    let doc: Vec<serde_json::Value> = (0..500)
        .map(|i| serde_json::json!({"name": format!("pkg{i}"), "version": "1.2-3", "state": "installed"}))
        .collect();
    let json = serde_json::to_string(&doc).unwrap();
    s.put_system_snapshot(id, Snapshot::Baseline, &doc).unwrap();
    let (kind, len): (String, i64) = s
        .conn
        .query_row(
            "SELECT typeof(data), length(data) FROM system_snapshots",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(kind, "blob");
    assert!((len as usize) * 5 < json.len(), "{len} of {}", json.len());
    let back: Option<Vec<serde_json::Value>> = s.system_snapshot(id, Snapshot::Baseline).unwrap();
    assert_eq!(back.as_ref(), Some(&doc));

    s.conn
        .execute("UPDATE system_snapshots SET data = ?1", [&json])
        .unwrap();
    let back: Option<Vec<serde_json::Value>> = s.system_snapshot(id, Snapshot::Baseline).unwrap();
    assert_eq!(back, Some(doc));

    s.conn
        .execute("UPDATE system_snapshots SET data = x'28b52ffd00'", [])
        .unwrap();
    let err = s
        .system_snapshot::<Vec<serde_json::Value>>(id, Snapshot::Baseline)
        .unwrap_err()
        .to_string();
    assert!(err.contains("system_snapshots"), "{err}");
}

/// A content larger than `IN_MEMORY` goes through the pack as a stream:
/// appended after the baseline's frames by a later writer (finish's),
/// read back streamed, checked against its hash, and a damaged or
/// changed one is never taken for it.
#[test]
fn large_contents_stream_through_the_pack_and_back() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cft.db");
    let mut s = Store::open(&db).unwrap();
    let session = s.create_session(&new_session("big", b"/")).unwrap();
    let small = file_entry(b"/etc/small", b"small = 1\n");
    let mut pack = s.pack_writer(&session).unwrap();
    s.insert_entries_packed(session.id, Snapshot::Baseline, &[small], &mut pack)
        .unwrap();
    pack.finish(false).unwrap();

    // 3 MiB, a private key's first line cut by the 64 KiB read boundary.
    let mut big: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\n";
    big[(1 << 16) - 10..(1 << 16) - 10 + key.len()].copy_from_slice(key);
    let hash = ContentHash::of(&big);
    let mut pack = s.pack_appender(&session).unwrap();
    let mut watch = crate::snapshot::KeyWatch::default();
    let at = pack
        .append_stream(&hash, big.len() as u64, &mut &big[..], &mut |c| {
            watch.feed(c)
        })
        .unwrap()
        .expect("the bytes of its hash");
    assert!(watch.found, "the key across two chunks is seen");
    // Bytes that are not the hash's (the file changed since it was read).
    let other = ContentHash::of(b"something else");
    let changed = pack
        .append_stream(&other, big.len() as u64, &mut &big[..], &mut |_| {})
        .unwrap();
    assert_eq!(changed, None);
    pack.finish(false).unwrap();

    let mut fin = file_entry(b"/etc/big", b"");
    fin.entry.size = big.len() as u64;
    fin.entry.hash = Some(hash);
    fin.content = Some(Content::Packed(at));
    s.insert_entries(session.id, Snapshot::Final, &[fin])
        .unwrap();
    assert_eq!(
        s.conn
            .query_row("SELECT count(*) FROM blobs", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        0,
        "a packed final content is not copied into the database"
    );
    let mut out = Vec::new();
    assert!(s.copy_blob(&hash, &mut out).unwrap());
    assert!(out == big, "streamed back whole");
    assert!(s.blob(&hash).unwrap().unwrap() == big);
    assert_eq!(
        s.blob(&ContentHash::of(b"small = 1\n")).unwrap().as_deref(),
        Some(&b"small = 1\n"[..]),
        "the baseline's frames are untouched by the append"
    );
    let packed_size = std::fs::metadata(pack::packs_dir(&db).join(pack_name(&session)))
        .unwrap()
        .len();
    assert!(packed_size < 2 * big.len() as u64 + 4096, "{packed_size}");

    // A flipped byte in the streamed frame: an error naming the pack.
    let file = pack::packs_dir(&db).join(pack_name(&session));
    let mut bytes = std::fs::read(&file).unwrap();
    let start = at.offset as usize;
    let zlen = u64::from_le_bytes(bytes[start..start + 8].try_into().unwrap()) as usize;
    let mid = start + 16 + zlen / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();
    let s = Store::open(&db).unwrap();
    let err = s
        .copy_blob(&hash, &mut std::io::sink())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("damaged pack") && err.contains(&pack_name(&session)),
        "{err}"
    );
}
