//! Change blocks: a session's change set, up to [`BLOCK`] changes to a
//! zstd-compressed block in `change_blocks` (schema 11), not one row each.
//!
//! Why (`bench/rss.sh`'s storm of 100k new files): a row per change, keyed
//! by its whole path, with its kind as text and its origin as JSON, was
//! a third of finish's save, and most of the commit. A block holds its
//! changes sorted by path, each path front-coded against the one before,
//! each distinct origin (as JSON) and package named once in the block's
//! own tables. The change set is written whole, once per finish, and read
//! whole (`show`, `manifest`, a re-finish), so blocks are never searched.

use super::blocks::{put, put_bytes, Reader};
use super::{Fail, Sql};
use crate::model::{ChangeKind, Origin};
use rusqlite::{params, Connection, Transaction};
use std::collections::HashMap;
use std::io::Read;

/// The most changes one block holds.
const BLOCK: usize = 4096;

/// zstd's level: finish writes these while the admin waits.
const LEVEL: i32 = 1;

/// The format of a block's body; a block of another version is an error.
const VERSION: u64 = 1;

/// The most bytes a block may decompress to (4,096 of the longest path
/// fit).
const MAX_RAW: u64 = 256 << 20;

const SECRET: u8 = 1;
const PACKAGE: u8 = 2;

/// One stored change, without its entries (those are the baseline's and
/// the final snapshot's).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Row {
    pub path: Vec<u8>,
    pub kind: ChangeKind,
    pub secret: bool,
    pub origin: Origin,
    pub package: Option<String>,
}

/// The same, borrowed from a change being saved.
#[derive(Clone, Copy)]
pub(super) struct RowRef<'a> {
    pub path: &'a [u8],
    pub kind: ChangeKind,
    pub secret: bool,
    pub origin: &'a Origin,
    pub package: Option<&'a str>,
}

impl<'a> From<&'a crate::model::Change> for RowRef<'a> {
    fn from(c: &'a crate::model::Change) -> RowRef<'a> {
        RowRef {
            path: &c.path,
            kind: c.kind,
            secret: c.secret,
            origin: &c.origin,
            package: c.package.as_deref(),
        }
    }
}

impl<'a> From<&'a Row> for RowRef<'a> {
    fn from(r: &'a Row) -> RowRef<'a> {
        RowRef {
            path: &r.path,
            kind: r.kind,
            secret: r.secret,
            origin: &r.origin,
            package: r.package.as_deref(),
        }
    }
}

fn key(session: i64) -> String {
    format!("session {session}")
}

/// Replace the change set of `session` with `rows`. Two changes of one
/// path are an error, as the old table's key made them.
pub(super) fn replace(tx: &Transaction, session: i64, mut rows: Vec<RowRef<'_>>) -> Sql<()> {
    tx.execute("DELETE FROM change_blocks WHERE session_id = ?1", [session])?;
    rows.sort_by(|a, b| a.path.cmp(b.path));
    if let Some(w) = rows.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(Fail::decode(
            "change_blocks",
            crate::model::display_path(w[0].path),
            "two changes of one path",
        ));
    }
    let mut insert =
        tx.prepare_cached("INSERT INTO change_blocks (session_id, seq, data) VALUES (?1, ?2, ?3)")?;
    for (seq, chunk) in rows.chunks(BLOCK).enumerate() {
        let raw = encode(chunk)?;
        let z = zstd::bulk::compress(&raw, LEVEL)
            .map_err(|e| Fail::decode("change_blocks", key(session), e.to_string()))?;
        insert.execute(params![session, seq as i64, z])?;
    }
    Ok(())
}

/// The change set of `session`, in path order.
pub(super) fn read(c: &Connection, session: i64) -> Sql<Vec<Row>> {
    let mut stmt =
        c.prepare_cached("SELECT data FROM change_blocks WHERE session_id = ?1 ORDER BY seq")?;
    let blocks = stmt.query_map([session], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out: Vec<Row> = Vec::new();
    for data in blocks {
        let rows = decode(&data?, &key(session))?;
        if let (Some(last), Some(first)) = (out.last(), rows.first()) {
            if last.path >= first.path {
                return Err(Fail::decode(
                    "change_blocks",
                    key(session),
                    "blocks out of path order",
                ));
            }
        }
        out.extend(rows);
    }
    Ok(out)
}

fn encode(rows: &[RowRef<'_>]) -> Sql<Vec<u8>> {
    let mut origins: HashMap<&Origin, u64> = HashMap::new();
    let mut origin_list: Vec<&Origin> = Vec::new();
    let mut packages: HashMap<&str, u64> = HashMap::new();
    let mut package_list: Vec<&str> = Vec::new();
    for r in rows {
        origins.entry(r.origin).or_insert_with(|| {
            origin_list.push(r.origin);
            origin_list.len() as u64 - 1
        });
        if let Some(p) = r.package {
            packages.entry(p).or_insert_with(|| {
                package_list.push(p);
                package_list.len() as u64 - 1
            });
        }
    }
    let mut out = Vec::with_capacity(rows.len() * 16);
    put(&mut out, VERSION);
    put(&mut out, rows.len() as u64);
    put(&mut out, origin_list.len() as u64);
    for o in &origin_list {
        let json = serde_json::to_vec(o)
            .map_err(|e| Fail::decode("change_blocks", format!("origin {o:?}"), e.to_string()))?;
        put_bytes(&mut out, &json);
    }
    put(&mut out, package_list.len() as u64);
    for p in &package_list {
        put_bytes(&mut out, p.as_bytes());
    }
    let mut path: &[u8] = b"";
    for r in rows {
        let shared = path.iter().zip(r.path).take_while(|(a, b)| a == b).count();
        put(&mut out, shared as u64);
        put_bytes(&mut out, &r.path[shared..]);
        path = r.path;
        let kind = ChangeKind::ALL.iter().position(|k| *k == r.kind);
        out.push(kind.unwrap_or(0) as u8);
        let mut flags = 0;
        if r.secret {
            flags |= SECRET;
        }
        if r.package.is_some() {
            flags |= PACKAGE;
        }
        out.push(flags);
        put(&mut out, origins[r.origin]);
        if let Some(p) = r.package {
            put(&mut out, packages[p]);
        }
    }
    Ok(out)
}

fn decode(data: &[u8], key: &str) -> Sql<Vec<Row>> {
    let bad = |m: &str| Fail::decode("change_blocks", key, m);
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::new(data)
        .and_then(|d| d.take(MAX_RAW).read_to_end(&mut raw))
        .map_err(|e| bad(&format!("does not decompress: {e}")))?;
    parse(&raw).map_err(|m| bad(&m))
}

fn parse(raw: &[u8]) -> std::result::Result<Vec<Row>, String> {
    let short = || "is cut short or malformed".to_string();
    let mut r = Reader { buf: raw, pos: 0 };
    if r.num().ok_or_else(short)? != VERSION {
        return Err("is of an unknown version".into());
    }
    let count = usize::try_from(r.num().ok_or_else(short)?).map_err(|_| short())?;
    let mut origins: Vec<Origin> = Vec::new();
    for _ in 0..r.num().ok_or_else(short)? {
        let json = r.bytes().ok_or_else(short)?;
        let o = serde_json::from_slice(json).map_err(|e| {
            format!(
                "holds an unreadable origin '{}': {e}",
                String::from_utf8_lossy(json)
            )
        })?;
        origins.push(o);
    }
    let mut packages: Vec<String> = Vec::new();
    for _ in 0..r.num().ok_or_else(short)? {
        let p = r.bytes().ok_or_else(short)?;
        packages.push(String::from_utf8(p.to_vec()).map_err(|_| short())?);
    }
    let mut rows: Vec<Row> = Vec::with_capacity(count.min(BLOCK));
    for _ in 0..count {
        let shared = usize::try_from(r.num().ok_or_else(short)?).map_err(|_| short())?;
        let mut path = rows
            .last()
            .map_or(&[][..], |x| &x.path[..])
            .get(..shared)
            .ok_or_else(short)?
            .to_vec();
        path.extend_from_slice(r.bytes().ok_or_else(short)?);
        if rows.last().is_some_and(|x| x.path >= path) {
            return Err(short());
        }
        let kind = r.byte().ok_or_else(short)?;
        let kind = *ChangeKind::ALL
            .get(usize::from(kind))
            .ok_or_else(|| format!("holds an unknown change kind {kind}"))?;
        let flags = r.byte().ok_or_else(short)?;
        let index = |r: &mut Reader| usize::try_from(r.num()?).ok();
        let origin = index(&mut r)
            .and_then(|i| origins.get(i).cloned())
            .ok_or_else(short)?;
        let package = if flags & PACKAGE != 0 {
            Some(
                index(&mut r)
                    .and_then(|i| packages.get(i).cloned())
                    .ok_or_else(short)?,
            )
        } else {
            None
        };
        rows.push(Row {
            path,
            kind,
            secret: flags & SECRET != 0,
            origin,
            package,
        });
    }
    if r.pos != raw.len() {
        return Err(short());
    }
    Ok(rows)
}

/// A row of the old `changes` table: path, kind, secret, origin, package.
type OldRow = (Vec<u8>, String, bool, String, Option<String>);

/// Schema 11: every row of `changes` becomes blocks, and is deleted.
pub(super) fn rows_to_blocks(tx: &Transaction) -> Sql<()> {
    let sessions: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT DISTINCT session_id FROM changes")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for session in sessions {
        let rows: Vec<OldRow> = {
            let mut stmt = tx.prepare_cached(
                "SELECT path, kind, secret, origin, package FROM changes
                 WHERE session_id = ?1 ORDER BY path",
            )?;
            let rows = stmt.query_map([session], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut owned = Vec::with_capacity(rows.len());
        for (path, kind, secret, origin, package) in rows {
            let key = crate::model::display_path(&path);
            let kind = ChangeKind::parse(&kind).ok_or_else(|| {
                Fail::decode("changes", &key, format!("unknown change kind '{kind}'"))
            })?;
            let origin = serde_json::from_str(&origin).map_err(|e| {
                Fail::decode(
                    "changes",
                    &key,
                    format!("unreadable origin '{origin}': {e}"),
                )
            })?;
            owned.push(Row {
                path,
                kind,
                secret,
                origin,
                package,
            });
        }
        replace(tx, session, owned.iter().map(RowRef::from).collect())?;
    }
    tx.execute("DELETE FROM changes", [])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, kind: ChangeKind, origin: Origin, package: Option<&str>) -> Row {
        Row {
            path: path.as_bytes().to_vec(),
            kind,
            secret: path.contains("key"),
            origin,
            package: package.map(str::to_string),
        }
    }

    /// Every field comes back, across block boundaries, in path order,
    /// from rows given out of order.
    #[test]
    fn rows_come_back_whole_and_in_path_order() {
        let mut rows = Vec::new();
        for i in 0..(BLOCK * 2 + 7) {
            let (origin, package) = match i % 3 {
                0 => (Origin::Admin, None),
                1 => (Origin::Package(format!("pkg{}", i % 5)), Some("pkg")),
                _ => (Origin::Service, Some("systemd")),
            };
            let kind = ChangeKind::ALL[i % ChangeKind::ALL.len()];
            rows.push(row(
                &format!("/srv/d{}/f{i}", i % 11),
                kind,
                origin,
                package,
            ));
        }
        rows.push(row(
            "/etc/ssl/private/key",
            ChangeKind::Created,
            Origin::Admin,
            None,
        ));
        rows.push(row(
            "/etc/\u{e9}\n odd",
            ChangeKind::Removed,
            Origin::Accounts,
            None,
        ));
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE change_blocks (session_id INTEGER, seq INTEGER, data BLOB,
             PRIMARY KEY (session_id, seq)) WITHOUT ROWID;",
        )
        .unwrap();
        let mut db = db;
        let tx = db.transaction().unwrap();
        replace(&tx, 1, rows.iter().rev().map(RowRef::from).collect()).unwrap();
        replace(&tx, 2, vec![RowRef::from(&rows[0])]).unwrap();
        let got = read(&tx, 1).unwrap();
        let mut want = rows.clone();
        want.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(got, want);
        let blocks: i64 = tx
            .query_row(
                "SELECT count(*) FROM change_blocks WHERE session_id = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(blocks, 3);
        // Replacing is whole: the second write leaves only its own rows.
        replace(&tx, 1, vec![RowRef::from(&rows[1])]).unwrap();
        assert_eq!(read(&tx, 1).unwrap(), vec![rows[1].clone()]);
        assert_eq!(read(&tx, 2).unwrap(), vec![rows[0].clone()]);
        // Two changes of one path are refused, as the old key did.
        let twice = vec![RowRef::from(&rows[0]), RowRef::from(&rows[0])];
        assert!(replace(&tx, 3, twice).is_err());
    }

    /// A damaged block is an error naming the table, never a panic or a
    /// shorter change set.
    #[test]
    fn a_damaged_block_is_an_error() {
        let rows = [
            row("/a", ChangeKind::Created, Origin::Admin, None),
            row(
                "/b",
                ChangeKind::Modified,
                Origin::Package("p".into()),
                Some("p"),
            ),
        ];
        let raw = encode(&rows.iter().map(RowRef::from).collect::<Vec<_>>()).unwrap();
        assert_eq!(parse(&raw).unwrap(), rows.to_vec());
        for cut in 0..raw.len() {
            assert!(parse(&raw[..cut]).is_err(), "cut at {cut}");
        }
        let mut flipped = raw.clone();
        for i in 0..flipped.len() {
            for bit in 0..8 {
                flipped[i] ^= 1 << bit;
                // Any outcome but a panic; a change set that parses is a
                // real one (its paths strictly ordered).
                if let Ok(r) = parse(&flipped) {
                    assert!(r.windows(2).all(|w| w[0].path < w[1].path));
                }
                flipped[i] ^= 1 << bit;
            }
        }
        let err = decode(b"not zstd", "session 1").unwrap_err();
        assert!(format!("{err:?}").contains("change_blocks"), "{err:?}");
    }
}
