//! `cft gc` and `cft erase` give the space back: the erased session's pack,
//! its rows (the database compacted, its log emptied), and packs no session
//! refers to; what other sessions hold stays readable.

use crate::util::{Stored, CFT};
use recorder::model::BlobSource;
use testkit::cli::{write, Env};

/// Bytes of the database, its WAL and the packs.
fn store_bytes(env: &Env) -> u64 {
    let dir = env.db.parent().unwrap();
    let mut total = 0;
    for name in ["cft.db", "cft.db-wal"] {
        total += std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    }
    if let Ok(list) = std::fs::read_dir(dir.join("packs")) {
        for e in list {
            total += e.unwrap().metadata().unwrap().len();
        }
    }
    total
}

fn packs(env: &Env) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(env.db.parent().unwrap().join("packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn erase_and_gc_give_the_space_back() {
    let env = Env::new(CFT);
    write(&env.p("/etc/kept.conf"), "kept = 1\n");
    env.begin("small", &[]);
    write(&env.p("/etc/kept.conf"), "kept = 2\n");
    env.finish("small");
    let small = store_bytes(&env);

    // A large session: 3,000 files of contents that do not compress, with
    // long names, so its entries and pack dwarf the small one.
    std::fs::create_dir_all(env.p("/srv/app/a-long-directory-name")).unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..3000 {
        let content: String = (0..40)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                format!("{:016x}", seed)
            })
            .collect();
        write(
            &env.p(&format!("/srv/app/a-long-directory-name/file-{i:05}.conf")),
            content,
        );
    }
    env.begin("big", &[]);
    write(
        &env.p("/srv/app/a-long-directory-name/file-00001.conf"),
        "edited\n",
    );
    env.finish("big");
    let big = store_bytes(&env);
    assert!(big > small * 10, "{small} then {big}");
    assert_eq!(packs(&env).len(), 2);

    let out = env.ok(["erase", "big"]);
    assert!(out.contains("erased session 'big'; gave back"), "{out}");
    let after = store_bytes(&env);
    assert!(
        after < small + (big - small) / 10,
        "{small}, {big} with the big session, {after} after erasing it: {out}"
    );
    assert_eq!(packs(&env).len(), 1);
    assert!(
        !env.db.with_file_name("cft.db-wal").exists()
            || std::fs::metadata(env.db.with_file_name("cft.db-wal"))
                .unwrap()
                .len()
                == 0
    );

    // A pack no session refers to (left by a crash) goes; other files stay.
    let dir = env.db.parent().unwrap().join("packs");
    std::fs::write(dir.join("s99-1234.pack"), vec![7u8; 50_000]).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let out = env.ok(["gc"]);
    assert!(
        out.contains("gave back") && out.contains("removed 1 unused pack(s)"),
        "{out}"
    );
    assert!(!dir.join("s99-1234.pack").exists());
    assert!(dir.join("notes.txt").exists());

    // The session that stays reads whole: its baseline from its pack, its
    // final content from the blobs.
    let set = env.change_set("small");
    let change = set
        .changes
        .iter()
        .find(|c| c.path == b"/etc/kept.conf")
        .expect("the edit");
    let store = env.store();
    let before = change.before.as_ref().and_then(|e| e.hash).unwrap();
    let after = change.after.as_ref().and_then(|e| e.hash).unwrap();
    assert_eq!(store.blob(&before).unwrap().unwrap(), b"kept = 1\n");
    assert_eq!(store.blob(&after).unwrap().unwrap(), b"kept = 2\n");
}
