use super::*;
use proptest::prelude::*;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;

const MARKER: &[u8] = b"outside-the-root-marker";
const NAMES: &[&str] = &["a", "b", "l1", "l2", "secret"];

#[derive(Clone, Debug)]
enum Kind {
    Dir,
    File,
    Link(String),
}

/// Targets a hostile admin or user would plant: absolute, relative, `..`
/// past the root, loops, the host's directories.
fn link_target() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_string()),
        Just("/a".to_string()),
        Just("/etc".to_string()),
        Just("..".to_string()),
        Just("../..".to_string()),
        Just("../../outside".to_string()),
        Just("OUTSIDE".to_string()),
        Just("a".to_string()),
        Just("l1".to_string()),
        Just("l2".to_string()),
        Just("a/../..".to_string()),
        Just(".".to_string()),
        Just("/proc/self/root".to_string()),
    ]
}

fn rel_path() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(prop::sample::select(NAMES), 1..4)
}

fn tree() -> impl Strategy<Value = Vec<(Vec<&'static str>, Kind)>> {
    let kind = prop_oneof![
        Just(Kind::Dir),
        Just(Kind::File),
        link_target().prop_map(Kind::Link),
    ];
    prop::collection::vec((rel_path(), kind), 1..25)
}

fn query() -> impl Strategy<Value = Vec<&'static str>> {
    let c = prop::sample::select(&["a", "b", "l1", "l2", "secret", "..", ".", ""][..]);
    prop::collection::vec(c, 0..5)
}

/// Build the tree under `root`; an entry whose parent cannot be made (a
/// file or a link is there) is left out.
fn build(root: &Path, outside: &Path, entries: &[(Vec<&str>, Kind)]) {
    for (comps, kind) in entries {
        let p = comps.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        if std::fs::symlink_metadata(&p).is_ok() {
            continue;
        }
        let Some(parent) = p.parent() else { continue };
        if std::fs::create_dir_all(parent).is_err() {
            continue;
        }
        let _ = match kind {
            Kind::Dir => std::fs::create_dir(&p),
            Kind::File => std::fs::write(&p, b"inside"),
            Kind::Link(t) => {
                let t = if t == "OUTSIDE" {
                    outside.to_string_lossy().into_owned()
                } else {
                    t.clone()
                };
                std::os::unix::fs::symlink(t, &p)
            }
        };
    }
}

/// Every inode in the root's tree, found by lstat, never following a link.
fn inside_inodes(root: &Path) -> HashSet<(u64, u64)> {
    let mut out = HashSet::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let Ok(md) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        out.insert((md.dev(), md.ino()));
        if md.is_dir() {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                todo.push(e.path());
            }
        }
    }
    out
}

/// What a resolver with no link followed must answer: the path is there
/// when every component but the last is a directory (not a link) and the
/// last exists (`.` and empty components dropped); and whether the last
/// is a link.
fn reference(root: &Path, q: &[&str]) -> (bool, bool) {
    let comps: Vec<&str> = q
        .iter()
        .copied()
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if comps.contains(&"..") {
        return (false, false);
    }
    let mut p = root.to_path_buf();
    for (i, c) in comps.iter().enumerate() {
        p = p.join(c);
        match std::fs::symlink_metadata(&p) {
            Ok(md) if i + 1 == comps.len() => return (true, md.is_symlink()),
            Ok(md) if md.is_dir() => {}
            _ => return (false, false),
        }
    }
    (true, false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn nothing_outside_the_root_is_ever_reached(entries in tree(), queries in prop::collection::vec(query(), 1..20)) {
        let tmp = tempfile::tempdir().unwrap();
        let root_dir = tmp.path().join("root");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root_dir).unwrap();
        std::fs::create_dir_all(outside.join("a")).unwrap();
        for f in ["secret", "a/secret"] {
            std::fs::write(outside.join(f), MARKER).unwrap();
        }
        build(&root_dir, &outside, &entries);
        let inside = inside_inodes(&root_dir);
        let root = Root::open(&root_dir).unwrap();
        let mut parents = Parents::new(&root);
        for q in &queries {
            let path = format!("/{}", q.join("/"));
            // A run of lookups keeping its last directory finds what one
            // lookup each finds.
            let by_one = root
                .parent(path.as_bytes())
                .map(|(fd, n)| (fstat(fd.as_fd()).unwrap().ino, n.to_vec()));
            let by_run = parents
                .parent(path.as_bytes())
                .map(|(fd, n)| (fstat(fd).unwrap().ino, n.to_vec()));
            prop_assert_eq!(by_one.ok(), by_run.ok(), "parent of {}", path);
            let (want, final_link) = reference(&root_dir, q);
            let comps = components(path.as_bytes());
            for flags in [libc::O_PATH, libc::O_RDONLY | libc::O_NONBLOCK] {
                let by_openat2 = root.open_path(path.as_bytes(), flags);
                let by_walk = comps
                    .as_ref()
                    .map_err(|e| io::Error::new(e.kind(), e.to_string()))
                    .and_then(|c| open_by_components(root.fd.as_fd(), c, flags));
                for (how, got) in [("openat2", by_openat2), ("walk", by_walk)] {
                    if let Ok(fd) = &got {
                        let st = fstat(fd.as_fd()).unwrap();
                        prop_assert!(inside.contains(&(st.dev, st.ino)), "{how} {path}: opened outside the root");
                    }
                    // A final symlink opens (as itself) only with O_PATH.
                    let expect = want && (flags == libc::O_PATH || !final_link);
                    prop_assert_eq!(got.is_ok(), expect, "{} {}: {:?}", how, path, got.err());
                }
            }
            if let Ok(st) = root.lstat(path.as_bytes()) {
                prop_assert!(inside.contains(&(st.dev, st.ino)), "lstat {path}: outside the root");
            }
            if let Ok(data) = root.read_regular(path.as_bytes()) {
                prop_assert_ne!(data.as_slice(), MARKER, "read {}", path);
            }
        }
    }
}

#[test]
fn dot_dot_and_links_are_refused_with_their_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::write(r.join("etc/f"), b"x").unwrap();
    std::os::unix::fs::symlink("/", r.join("up")).unwrap();
    let root = Root::open(r).unwrap();
    type Case<'a> = (&'a str, &'a [u8], Option<i32>);
    let cases: &[Case] = &[
        ("plain", b"/etc/f", None),
        ("dot-dot", b"/etc/../etc/f", Some(0)),
        ("through a link", b"/up/etc/f", Some(libc::ELOOP)),
        ("missing", b"/nope", Some(libc::ENOENT)),
        ("through a file", b"/etc/f/x", Some(libc::ENOTDIR)),
    ];
    for (name, path, want) in cases {
        let got = root.read_regular(path);
        match want {
            None => assert_eq!(got.unwrap(), b"x", "{name}"),
            Some(0) => assert_eq!(
                got.unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "{name}"
            ),
            Some(e) => assert_eq!(got.unwrap_err().raw_os_error(), Some(*e), "{name}"),
        }
    }
    assert!(root.lstat(b"/up").unwrap().is_symlink());
    assert_eq!(root.read_link(b"/up").unwrap(), b"/");
    assert!(root.lstat(b"/").unwrap().is_dir());
}

/// The directory `Parents` keeps is the one it opened: swapped for a link
/// to a host directory afterwards, it is not followed, and once another
/// directory was asked for, it is looked up again and refused.
#[test]
fn a_kept_directory_swapped_for_a_link_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, host) = (tmp.path().join("root"), tmp.path().join("host"));
    for d in [r.join("srv/a"), r.join("srv/b"), host.clone()] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(host.join("y"), MARKER).unwrap();
    std::fs::write(r.join("srv/a/y"), b"inside").unwrap();
    let root = Root::open(&r).unwrap();
    let mut parents = Parents::new(&root);
    let read = |dir: BorrowedFd<'_>, name: &[u8]| {
        let fd = open_at(dir, name, libc::O_RDONLY)?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut data)?;
        io::Result::Ok(data)
    };
    parents.parent(b"/srv/a/x").unwrap();
    std::fs::rename(r.join("srv/a"), r.join("srv/moved")).unwrap();
    std::os::unix::fs::symlink(&host, r.join("srv/a")).unwrap();
    let (dir, name) = parents.parent(b"/srv/a/y").unwrap();
    assert_eq!(read(dir, name).unwrap(), b"inside", "the kept directory");
    parents.parent(b"/srv/b/z").unwrap();
    // A link as the last component of a directory: ENOTDIR, not followed.
    let again = parents.parent(b"/srv/a/y").map(|_| ());
    assert_eq!(again.unwrap_err().raw_os_error(), Some(libc::ENOTDIR));
}
