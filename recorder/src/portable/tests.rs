//! Export then import is the identity on a session (property test), and
//! every damaged, hostile or conflicting file is refused with the database
//! left as it was.

use super::*;
use crate::model::{
    AccountChangeKind, Attribution, Change, ChangeKind, ChangeSet, Entry, EntryKind, Event,
    EventKind, EventSource, Facts, Intent, IntentSource, Origin, Subject, SystemChanges, User,
    UserChange,
};
use crate::store::import::ImportedSession;
use crate::store::Phase;
use proptest::prelude::*;
use std::io::Cursor;

fn store() -> (tempfile::TempDir, Store) {
    let tmp = tempfile::tempdir().unwrap();
    let s = Store::open(&tmp.path().join("cft.db")).unwrap();
    (tmp, s)
}

/// Store `s` with these contents, as a finished session.
fn put(store: &mut Store, s: &ImportedSession, blobs: &[Vec<u8>]) {
    let mut it = blobs.iter().map(|b| (ContentHash::of(b), b.clone()));
    let mut next = || Ok(it.next());
    store
        .import_session(s, &mut next, &|_| unreachable_notice())
        .unwrap();
}

fn unreachable_notice() -> Notice {
    Notice {
        path: None,
        kind: NoticeKind::Other,
        message: "renumbered".into(),
    }
}

fn export_bytes(store: &Store, name: &str, include_secrets: bool) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    export(
        store,
        name,
        &ExportOptions { include_secrets },
        &mut out,
        Path::new("t.cftx"),
    )
    .unwrap();
    out.into_inner()
}

fn import_bytes(store: &mut Store, bytes: &[u8], as_name: Option<&str>) -> Result<ImportReport> {
    import(store, &mut Cursor::new(bytes), Path::new("t.cftx"), as_name)
}

/// A change set without what differs between databases by design.
fn comparable(mut cs: ChangeSet) -> ChangeSet {
    cs.session.id = 0;
    cs.session.name = String::new();
    cs
}

fn assert_same(a: ChangeSet, b: ChangeSet) {
    let (a, b) = (comparable(a), comparable(b));
    assert_eq!(a.session, b.session);
    assert_eq!(a.changes, b.changes);
    assert_eq!(a.notices, b.notices);
    assert_eq!(a.system, b.system);
    assert_eq!(a.why, b.why);
}

fn file(path: &[u8], content: &[u8]) -> Entry {
    Entry {
        path: path.to_vec(),
        kind: EntryKind::File,
        mode: 0o644,
        uid: 0,
        gid: 0,
        owner: Some("root".into()),
        group: Some("root".into()),
        size: content.len() as u64,
        mtime_ns: 7,
        hash: Some(ContentHash::of(content)),
        content_stored: true,
        link_target: None,
    }
}

fn user(name: &str, password: Option<&str>) -> User {
    User {
        name: name.into(),
        uid: 1000,
        gid: 1000,
        gecos: String::new(),
        home: format!("/home/{name}"),
        shell: "/bin/sh".into(),
        password: password.map(str::to_string),
        groups: vec![],
    }
}

/// A small session with one of everything, and a secret.
fn sample(name: &str) -> (ImportedSession, Vec<Vec<u8>>) {
    let blobs = vec![
        b"old\n".to_vec(),
        b"new\n".to_vec(),
        b"root:$6$hash:19000::::::\n".to_vec(),
    ];
    let change = |path: &[u8], before: Option<&[u8]>, after: &[u8], secret| Change {
        path: path.to_vec(),
        kind: if before.is_some() {
            ChangeKind::Modified
        } else {
            ChangeKind::Created
        },
        before: before.map(|b| file(path, b)),
        after: Some(file(path, after)),
        secret,
        origin: Origin::Admin,
        package: None,
    };
    let intent = |id, parent, argv: &[&[u8]]| Intent {
        id,
        source: IntentSource::Tool,
        parent,
        argv: argv.iter().map(|a| a.to_vec()).collect(),
        cwd: b"/root".to_vec(),
        uid: 0,
        pid: 10,
        ppid: 9,
        start_ns: 100 + id,
        end_ns: Some(200 + id),
        exit_code: Some(0),
        signal: None,
    };
    let s = ImportedSession {
        source: "fixture".into(),
        exported_as: name.into(),
        version: VERSION,
        name: name.into(),
        description: Some("web".into()),
        root: b"/srv/root".to_vec(),
        watched: vec![b"/etc".to_vec()],
        created_at_ns: 1,
        finished_at_ns: Some(2),
        content_cap: 4096,
        ignore_patterns: vec!["*.tmp".into()],
        facts: Facts {
            hostname: "h".into(),
            ..Facts::default()
        },
        changes: vec![
            change(b"/etc/app.conf", Some(b"old\n"), b"new\n", false),
            change(b"/etc/shadow", None, b"root:$6$hash:19000::::::\n", true),
        ],
        notices: vec![
            (
                Phase::Begin,
                Notice {
                    path: Some(b"/etc/z".to_vec()),
                    kind: NoticeKind::TooLarge,
                    message: "big".into(),
                },
            ),
            (
                Phase::Finish,
                Notice {
                    path: Some(b"/etc/a".to_vec()),
                    kind: NoticeKind::Unreadable,
                    message: "no".into(),
                },
            ),
        ],
        system: Some(SystemChanges {
            users: vec![UserChange {
                name: "web".into(),
                kind: AccountChangeKind::Created,
                before: None,
                after: Some(user("web", Some("$6$secret"))),
                home_created: true,
                password_changed: true,
                by_package: None,
            }],
            ..SystemChanges::default()
        }),
        intents: vec![
            intent(5, None, &[b"useradd", b"-p", b"$6$secret", b"web"]),
            intent(6, Some(5), &[b"vi", b"/etc/app.conf"]),
        ],
        attributions: vec![Attribution {
            subject: Subject::File,
            name: b"/etc/app.conf".to_vec(),
            intent: 6,
        }],
        events: vec![Event {
            time_ns: 150,
            kind: EventKind::Modified,
            path: Some(b"/etc/app.conf".to_vec()),
            path_to: None,
            source: EventSource::Watcher,
        }],
    };
    (s, blobs)
}

#[test]
fn with_secrets_the_round_trip_is_exact_and_deterministic() {
    let (_t1, mut a) = store();
    let (s, blobs) = sample("web");
    put(&mut a, &s, &blobs);
    let file = export_bytes(&a, "web", true);
    assert_eq!(file, export_bytes(&a, "web", true), "deterministic");
    let (_t2, mut b) = store();
    let r = import_bytes(&mut b, &file, None).unwrap();
    assert_eq!((r.session.name.as_str(), r.intent_shift), ("web", 0));
    let origin = b.import_origin(r.session.id).unwrap().unwrap();
    assert_eq!(
        (origin.source.as_str(), origin.exported_as.as_str()),
        ("t.cftx", "web")
    );
    assert!(r.withheld.is_empty());
    assert_same(a.change_set("web").unwrap(), b.change_set("web").unwrap());
    assert_eq!(a.events(1).unwrap(), b.events(r.session.id).unwrap());
    for blob in &blobs {
        let h = ContentHash::of(blob);
        assert_eq!(
            crate::model::BlobSource::blob(&b, &h).unwrap().as_ref(),
            Some(blob)
        );
    }
    // The imported session exports to the very same bytes.
    assert_eq!(export_bytes(&b, "web", true), file);
}

#[test]
fn without_secrets_they_are_left_out_and_listed() {
    let (_t1, mut a) = store();
    let (s, blobs) = sample("web");
    put(&mut a, &s, &blobs);
    let file = export_bytes(&a, "web", false);
    let (_t2, mut b) = store();
    let r = import_bytes(&mut b, &file, Some("copy")).unwrap();
    assert_eq!(
        r.withheld,
        vec![
            "the content of the secret file /etc/shadow".to_string(),
            "the password hash of user web".to_string(),
            "1 password on the command line of #5".to_string(),
        ]
    );
    let cs = b.change_set("copy").unwrap();
    let shadow = ContentHash::of(&blobs[2]);
    assert_eq!(crate::model::BlobSource::blob(&b, &shadow).unwrap(), None);
    let body = body_of(&file);
    for secret in [&b"$6$secret"[..], b"$6$hash"] {
        assert!(
            !body.windows(secret.len()).any(|w| w == secret),
            "no secret in the file"
        );
    }
    let secret_notices: Vec<_> = cs
        .notices
        .iter()
        .filter(|n| n.kind == NoticeKind::Secret)
        .collect();
    assert_eq!(secret_notices.len(), 3, "{:?}", cs.notices);
    assert!(secret_notices
        .iter()
        .any(|n| n.path.as_deref() == Some(&b"/etc/shadow"[..])
            && n.message.contains("exported without secrets")));
    let after = cs.system.users[0].after.as_ref().unwrap();
    assert_eq!(after.password, None);
    assert!(cs.system.users[0].password_changed);
    assert_eq!(cs.why.intents[0].argv[2], b"***");
    assert_eq!(
        cs.why.intents[0].text(),
        a.change_set("web").unwrap().why.intents[0].text()
    );
    // Everything else is as recorded.
    let orig = a.change_set("web").unwrap();
    assert_eq!(cs.changes, orig.changes);
    assert_eq!(cs.why.attributions, orig.why.attributions);
}

#[test]
fn command_numbers_move_only_when_taken() {
    let (_t1, mut a) = store();
    let (s, blobs) = sample("web");
    put(&mut a, &s, &blobs);
    let file = export_bytes(&a, "web", true);
    // Into the same database under another name: #5 and #6 are taken.
    let r = import_bytes(&mut a, &file, Some("again")).unwrap();
    assert_eq!(r.intent_shift, 2);
    let cs = a.change_set("again").unwrap();
    let ids: Vec<i64> = cs.why.intents.iter().map(|i| i.id).collect();
    assert_eq!(ids, vec![7, 8]);
    assert_eq!(cs.why.intents[1].parent, Some(7));
    assert_eq!(cs.why.attributions[0].intent, 8);
    assert!(cs
        .notices
        .iter()
        .any(|n| n.message == "renumbered" || n.message.contains("command number is 2 higher")));
}

/// A file with the given version and body, with a correct checksum.
fn seal(version: u32, body: &[u8]) -> Vec<u8> {
    let mut f = MAGIC.to_vec();
    f.extend_from_slice(&version.to_be_bytes());
    f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    f.extend_from_slice(body);
    let d: [u8; 32] = Sha256::digest(&f).into();
    f.extend_from_slice(&d);
    f
}

/// The decompressed body of an export.
fn body_of(file: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&file[16..file.len() - 32])
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn zlib(raw: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(raw).unwrap();
    z.finish().unwrap()
}

/// The export with its header JSON edited by `f`, resealed.
fn edited(file: &[u8], f: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let body = body_of(file);
    let n = u64::from_be_bytes(body[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&body[8..8 + n]).unwrap();
    f(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut raw = (json.len() as u64).to_be_bytes().to_vec();
    raw.extend_from_slice(&json);
    raw.extend_from_slice(&body[8 + n..]);
    seal(VERSION, &zlib(&raw))
}

#[test]
fn refusals_name_the_problem_and_change_nothing() {
    let (_t1, mut a) = store();
    let (s, blobs) = sample("web");
    put(&mut a, &s, &blobs);
    let good = export_bytes(&a, "web", true);
    let (_t2, mut b) = store();
    let mut cases: Vec<(String, Vec<u8>, &str)> = vec![
        ("empty".into(), vec![], "truncated"),
        (
            "not ours".into(),
            b"PK\x03\x04 a zip".to_vec(),
            "not a cft session export",
        ),
        ("prelude only".into(), good[..10].to_vec(), "truncated"),
        (
            "last byte cut".into(),
            good[..good.len() - 1].to_vec(),
            "truncated",
        ),
        ("half".into(), good[..good.len() / 2].to_vec(), "truncated"),
        (
            "trailing garbage".into(),
            [&good[..], b"x"].concat(),
            "follow the end",
        ),
        (
            "future version".into(),
            seal(VERSION + 1, &good[16..good.len() - 32]),
            "newer cft (export format version 2, this cft reads up to 1)",
        ),
        (
            "bad body".into(),
            seal(VERSION, b"not zlib at all"),
            "invalid export",
        ),
        (
            "dot-dot path".into(),
            edited(&good, |h| h["changes"][0]["path"] = "/etc/../shadow".into()),
            "not normalised",
        ),
        (
            "relative path".into(),
            edited(&good, |h| h["events"][0]["path"] = "etc/x".into()),
            "not absolute",
        ),
        (
            "dangling parent".into(),
            edited(&good, |h| h["intents"][1]["parent"] = 99.into()),
            "parent #99",
        ),
        (
            "unknown field".into(),
            edited(&good, |h| h["extra"] = 1.into()),
            "unknown field",
        ),
        (
            "content swapped".into(),
            edited(&good, |h| h["blobs"].as_array_mut().unwrap().reverse()),
            "does not match its hash",
        ),
        (
            "bad name".into(),
            edited(&good, |h| h["session"]["name"] = "../x".into()),
            "invalid session name",
        ),
        (
            "huge header length".into(),
            seal(VERSION, &zlib(&u64::MAX.to_be_bytes())),
            "past the limit",
        ),
        (
            "header longer than the body".into(),
            seal(VERSION, &zlib(&1000u64.to_be_bytes())),
            "ends early",
        ),
    ];
    for at in [0, 5, 9, 20, good.len() / 2, good.len() - 40, good.len() - 1] {
        let mut f = good.clone();
        f[at] ^= 0x01;
        let want = match at {
            0 => "not a cft session export",
            9 => "truncated",
            _ => "checksum mismatch",
        };
        cases.push((format!("byte {at} flipped"), f, want));
    }
    for (name, bytes, want) in cases {
        let err = import_bytes(&mut b, &bytes, None)
            .map(|_| ())
            .expect_err(&name);
        let msg = err.to_string();
        assert!(msg.contains(want), "{name}: {msg}");
        assert!(msg.contains("t.cftx"), "{name}: names the file: {msg}");
        assert!(b.sessions().unwrap().is_empty(), "{name}: nothing stored");
    }
    // A name that is taken, with and without --as.
    import_bytes(&mut b, &good, None).unwrap();
    let err = import_bytes(&mut b, &good, None).unwrap_err().to_string();
    assert!(err.contains("'web' already exists"), "{err}");
    import_bytes(&mut b, &good, Some("other")).unwrap();
    let err = import_bytes(&mut b, &good, Some("other"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("'other' already exists"), "{err}");
    assert_eq!(b.sessions().unwrap().len(), 2);
}

#[test]
fn a_recording_session_is_not_exported() {
    let (_t, mut a) = store();
    a.create_session(&crate::store::NewSession {
        name: "rec".into(),
        description: None,
        root: b"/x".to_vec(),
        watched: vec![],
        content_cap: 1,
        ignore_patterns: vec![],
        facts: Facts::default(),
    })
    .unwrap();
    let mut out = Cursor::new(Vec::new());
    let err = export(
        &a,
        "rec",
        &ExportOptions::default(),
        &mut out,
        Path::new("o"),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("is recording, not finished"),
        "{err}"
    );
}

// ------------------------------------------------------------- property

fn name_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        b'a'..=b'z',
        Just(b'.'),
        Just(b' '),
        Just(b'\n'),
        Just(b'\\'),
        Just(b'"'),
        0x80u8..=0xff,
        1u8..=0x1f,
    ]
}

fn target_path() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        proptest::collection::vec(name_byte(), 1..6)
            .prop_filter("not . or ..", |c| c != b"." && c != b".."),
        1..4,
    )
    .prop_map(|comps| {
        let mut p = Vec::new();
        for c in comps {
            p.push(b'/');
            p.extend(c);
        }
        p
    })
}

fn entry_strategy(path: Vec<u8>) -> impl Strategy<Value = (Entry, Option<Vec<u8>>)> {
    (
        prop_oneof![
            Just(EntryKind::File),
            Just(EntryKind::Dir),
            Just(EntryKind::Symlink),
            Just(EntryKind::Fifo)
        ],
        0u32..0o7777,
        proptest::option::of("[a-z]{1,6}"),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<bool>(),
        proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 0..10),
        any::<i64>(),
    )
        .prop_map(move |(kind, mode, owner, content, stored, target, mtime)| {
            let is_file = kind == EntryKind::File;
            let e = Entry {
                path: path.clone(),
                kind,
                mode,
                uid: mode,
                gid: 0,
                owner: owner.as_deref().map(Into::into),
                group: owner.as_deref().map(Into::into),
                size: content.len() as u64,
                mtime_ns: mtime,
                hash: is_file.then(|| ContentHash::of(&content)),
                content_stored: is_file && stored,
                link_target: (kind == EntryKind::Symlink).then_some(target),
            };
            let blob = (is_file && stored).then_some(content);
            (e, blob)
        })
}

type GenChange = (Change, Vec<Vec<u8>>);

fn change_strategy() -> impl Strategy<Value = GenChange> {
    target_path().prop_flat_map(|p| {
        (
            proptest::option::of(entry_strategy(p.clone())),
            proptest::option::of(entry_strategy(p.clone())),
            any::<bool>(),
            prop_oneof![
                Just(Origin::Admin),
                "[a-z]{1,5}".prop_map(Origin::Package),
                Just(Origin::Accounts)
            ],
            proptest::sample::select(ChangeKind::ALL.to_vec()),
        )
            .prop_map(move |(before, after, secret, origin, kind)| {
                let mut blobs = Vec::new();
                let mut take = |x: Option<(Entry, Option<Vec<u8>>)>| {
                    x.map(|(e, b)| {
                        blobs.extend(b);
                        e
                    })
                };
                let before = take(before);
                let after = take(after);
                (
                    Change {
                        path: p.clone(),
                        kind,
                        before,
                        after,
                        secret,
                        origin,
                        package: None,
                    },
                    blobs,
                )
            })
    })
}

fn session_strategy() -> impl Strategy<Value = (ImportedSession, Vec<Vec<u8>>)> {
    (
        proptest::collection::vec(change_strategy(), 0..8),
        proptest::collection::vec(
            (
                any::<bool>(),
                proptest::option::of(target_path()),
                ".{0,12}",
            ),
            0..4,
        ),
        proptest::collection::vec(
            (
                proptest::collection::vec(
                    proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 0..8),
                    0..4,
                ),
                any::<bool>(),
                proptest::option::of(any::<i32>()),
            ),
            0..5,
        ),
        proptest::collection::vec((any::<i64>(), proptest::option::of(target_path())), 0..5),
        proptest::option::of(Just(SystemChanges::default())),
        ".{0,10}",
    )
        .prop_map(|(changes, notices, intents, events, system, description)| {
            let mut seen = std::collections::BTreeSet::new();
            let mut blobs = Vec::new();
            let mut cs: Vec<Change> = Vec::new();
            for (c, b) in changes {
                if seen.insert(c.path.clone()) {
                    blobs.extend(b);
                    cs.push(c);
                }
            }
            cs.sort_by(|a, b| a.path.cmp(&b.path));
            let mut uniq = std::collections::BTreeSet::new();
            blobs.retain(|b| uniq.insert(ContentHash::of(b)));
            let mut notices: Vec<(Phase, Notice)> = notices
                .into_iter()
                .map(|(begin, path, message)| {
                    (
                        if begin { Phase::Begin } else { Phase::Finish },
                        Notice {
                            path,
                            kind: NoticeKind::Other,
                            message,
                        },
                    )
                })
                .collect();
            // The order the store reads them in.
            notices.sort_by(|a, b| (a.0.as_str(), &a.1.path).cmp(&(b.0.as_str(), &b.1.path)));
            let intents: Vec<Intent> = intents
                .into_iter()
                .enumerate()
                .map(|(k, (argv, line, exit_code))| Intent {
                    id: k as i64 + 1,
                    source: if line {
                        IntentSource::Line
                    } else {
                        IntentSource::Tool
                    },
                    parent: (k > 0 && line).then_some(k as i64),
                    argv,
                    cwd: b"/".to_vec(),
                    uid: 0,
                    pid: k as i32,
                    ppid: 1,
                    start_ns: k as i64,
                    end_ns: None,
                    exit_code,
                    signal: None,
                })
                .collect();
            let mut attributions: Vec<Attribution> = cs
                .iter()
                .zip(intents.iter().cycle())
                .map(|(c, i)| Attribution {
                    subject: Subject::File,
                    name: c.path.clone(),
                    intent: i.id,
                })
                .collect();
            attributions.sort();
            let events = events
                .into_iter()
                .map(|(t, path)| Event {
                    time_ns: t,
                    kind: EventKind::Created,
                    path,
                    path_to: None,
                    source: EventSource::Rescan,
                })
                .collect();
            let s = ImportedSession {
                source: "fixture".into(),
                exported_as: "gen".into(),
                version: VERSION,
                name: "gen".into(),
                description: Some(description),
                root: b"/".to_vec(),
                watched: vec![b"/etc".to_vec(), b"/srv".to_vec()],
                created_at_ns: 10,
                finished_at_ns: Some(20),
                content_cap: 1 << 20,
                ignore_patterns: vec![],
                facts: Facts::default(),
                changes: cs,
                notices,
                system,
                intents,
                attributions,
                events,
            };
            (s, blobs)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn export_then_import_is_the_identity((s, blobs) in session_strategy()) {
        let (_t1, mut a) = store();
        put(&mut a, &s, &blobs);
        let file = export_bytes(&a, "gen", true);
        let (_t2, mut b) = store();
        let r = import_bytes(&mut b, &file, Some("moved")).unwrap();
        let (ca, cb) = (a.change_set("gen").unwrap(), b.change_set("moved").unwrap());
        prop_assert_eq!(&ca.changes, &s.changes);
        assert_same(ca, cb);
        prop_assert_eq!(a.events(1).unwrap(), b.events(r.session.id).unwrap());
        for blob in &blobs {
            let h = ContentHash::of(blob);
            let got = crate::model::BlobSource::blob(&b, &h).unwrap();
            prop_assert_eq!(got.as_ref(), Some(blob));
        }
        // Without secrets: the same but for what is listed as left out.
        let file = export_bytes(&a, "gen", false);
        let (_t3, mut c) = store();
        let r = import_bytes(&mut c, &file, None).unwrap();
        let cc = c.change_set("gen").unwrap();
        let secret_files = s.changes.iter().filter(|ch| {
            ch.secret && [&ch.before, &ch.after].into_iter().flatten().any(|e| e.content_stored)
        }).count();
        prop_assert_eq!(r.withheld.len(), secret_files);
        prop_assert_eq!(&cc.changes, &s.changes);
        let kept: Vec<_> = cc.notices.iter().filter(|n| n.kind != NoticeKind::Secret).cloned().collect();
        prop_assert_eq!(kept, a.change_set("gen").unwrap().notices);
    }
}

/// Reads `first` until it is rewound to the start a second time, then
/// `second`: a file replaced between the import's two passes.
struct Swapped {
    first: Cursor<Vec<u8>>,
    second: Cursor<Vec<u8>>,
    rewinds: usize,
}

impl Read for Swapped {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rewinds >= 3 {
            self.second.read(buf)
        } else {
            self.first.read(buf)
        }
    }
}

impl Seek for Swapped {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        if pos == SeekFrom::Start(0) {
            self.rewinds += 1;
        }
        self.second.seek(pos)?;
        self.first.seek(pos)
    }
}

#[test]
fn a_file_changed_between_the_two_passes_is_refused() {
    let (_t1, mut a) = store();
    let (s, blobs) = sample("web");
    put(&mut a, &s, &blobs);
    // Re-encoded (keys sorted): what the variants are compared with.
    let good = edited(&export_bytes(&a, "web", true), |_| {});
    // Another creation time, of the same length once compressed: a valid
    // body, so only the checksum can tell.
    let other = (2..=9)
        .map(|t| edited(&good, |h| h["session"]["created_at_ns"] = t.into()))
        .find(|o| o.len() == good.len() && o[16..o.len() - 32] != good[16..good.len() - 32])
        .expect("a same-length variant");
    let (_t2, mut b) = store();
    let mut input = Swapped {
        first: Cursor::new(good),
        second: Cursor::new(other),
        rewinds: 0,
    };
    let err = import(&mut b, &mut input, Path::new("t.cftx"), None).unwrap_err();
    assert!(matches!(err, Error::ExportChecksum { .. }), "{err}");
    assert!(b.sessions().unwrap().is_empty());
}
