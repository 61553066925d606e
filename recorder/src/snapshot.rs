//! Snapshots: turning what is on disk into `Entry` values, for the baseline
//! at `begin` and the final state at `finish`.
//!
//! Nothing here follows a symlink or leaves the root, in any component:
//! everything is reached through `crate::beneath`. Walks go by directory
//! file descriptors (each directory opened from its parent's, `O_NOFOLLOW`,
//! and checked to be the inode `fstatat` saw), and file contents are read
//! relative to their directory's fd through `O_NOFOLLOW | O_NONBLOCK` and
//! re-checked with `fstat`: a file or directory swapped for a symlink or a
//! fifo between the look and the open is reported, never followed or
//! blocked on.

use crate::beneath::{self, Root, Stat};
use crate::ignore_rules::Ignore;
use crate::model::{
    join, Content, ContentHash, Entry, EntryKind, Notice, NoticeKind, Stamp, IN_MEMORY,
};
use crate::progress::{Meter, Progress};
use crate::store::pack::PackWriter;
use crate::target::Target;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::rc::Rc;

/// An entry with the content that was read for it, if any.
pub use crate::model::EntryWithContent as Scanned;

/// What is known already of a file's content, by its path and what
/// `fstatat` says of it now: its hash and where the store has it (finish
/// asks what the daemon captured during the session; `None` reads it).
pub type Known<'k> = &'k (dyn Fn(&[u8], &Stat) -> Option<(ContentHash, Option<Content>)> + Sync);

/// Reads entries of one target system with one set of ignore rules.
pub struct Scanner<'a> {
    pub target: &'a Target,
    pub ignore: &'a Ignore,
    /// Files up to this size keep their content; larger ones only a hash.
    pub content_cap: u64,
    /// Where each walk reports how far it got (`progress::SILENT`: nowhere).
    pub progress: &'a dyn Progress,
}

impl Scanner<'_> {
    /// The entry at `path` (target path), `Ok(None)` if it does not exist or
    /// is ignored. Problems reading content become notices, not errors.
    ///
    /// `path` is reached beneath the root without following a link: if one
    /// of its directories is a symlink now, the path is not there (as cft
    /// sees the target), and nothing behind the link is read. A file whose
    /// content `known` knows already is not read again.
    pub fn stat_known(
        &self,
        path: &[u8],
        known: Option<Known<'_>>,
        notices: &mut Vec<Notice>,
    ) -> Option<Scanned> {
        let looked = self.target.root().and_then(|root| root.parent(path));
        let (dir, name) = match looked {
            Ok(x) => x,
            Err(e) => {
                if !is_gone(&e) {
                    notices.push(unreadable(path, &e));
                }
                return None;
            }
        };
        self.look(dir.as_fd(), path, name, Some(self.ignore), known, notices)
    }

    /// `stat_known` of `name` in the directory `dir`, whose target path is
    /// `path`, not asking the ignore rules (the capture's paths come from
    /// events, which the watcher asked them of already).
    pub fn stat_in(
        &self,
        dir: BorrowedFd<'_>,
        path: &[u8],
        name: &[u8],
        notices: &mut Vec<Notice>,
    ) -> Option<Scanned> {
        self.look(dir, path, name, None, None, notices)
    }

    /// `name` of `dir` looked at and read, unless gone or ignored by `ignore`.
    fn look(
        &self,
        dir: BorrowedFd<'_>,
        path: &[u8],
        name: &[u8],
        ignore: Option<&Ignore>,
        known: Option<Known<'_>>,
        notices: &mut Vec<Notice>,
    ) -> Option<Scanned> {
        let st = match beneath::stat_at(dir, name) {
            Ok(st) => st,
            Err(e) => {
                if !is_gone(&e) {
                    notices.push(unreadable(path, &e));
                }
                return None;
            }
        };
        if ignore.is_some_and(|i| i.is_ignored(path, st.is_dir())) {
            return None;
        }
        Some(self.scan_one(path, dir, name, &st, known, notices))
    }

    /// Every entry at and below `path` (target path), not following links and
    /// pruning ignored directories. `on_dir` is called for each directory,
    /// with the directory open, before its contents are read (the watcher
    /// adds its watch there).
    ///
    /// The walk goes by directory file descriptors: each directory is
    /// opened from its parent's fd with `O_NOFOLLOW | O_DIRECTORY` and must
    /// be the inode `fstatat` saw, and every entry is looked at and read
    /// relative to its directory's fd. A directory swapped for a symlink
    /// mid-walk is refused with a notice, never descended through.
    pub fn walk(
        &self,
        path: &[u8],
        notices: &mut Vec<Notice>,
        on_dir: impl FnMut(BorrowedFd<'_>, &[u8]),
        sink: impl FnMut(Scanned),
    ) {
        self.walk_known(path, None, notices, on_dir, sink)
    }

    /// `walk`, not reading a file whose content `known` knows already.
    pub fn walk_known(
        &self,
        path: &[u8],
        known: Option<Known<'_>>,
        notices: &mut Vec<Notice>,
        on_dir: impl FnMut(BorrowedFd<'_>, &[u8]),
        mut sink: impl FnMut(Scanned),
    ) {
        let mut meter = Meter::start(self.progress, path);
        self.walk_stats(path, notices, on_dir, |path, dir, name, st, notices| {
            let s = self.scan_one(path, dir, name, st, known, notices);
            meter.add(&s.entry);
            sink(s)
        });
    }

    /// `walk_known` of each of `roots` (none within another), on up to
    /// [`WALKERS`] threads: finish re-reads every new directory of a
    /// storm, and two cores stat twice as fast as one. What they find
    /// comes to `sink` on this thread, in batches and in no set order;
    /// what is held between them is bounded by [`HELD`], whatever the
    /// contents.
    pub fn walk_many(
        &self,
        roots: &[Vec<u8>],
        known: Option<Known<'_>>,
        notices: &mut Vec<Notice>,
        mut sink: impl FnMut(Scanned),
    ) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(WALKERS)
            .min(roots.len());
        if threads <= 1 {
            for root in roots {
                self.walk_known(root, known, notices, |_, _| {}, &mut sink);
            }
            return;
        }
        let next = AtomicUsize::new(0);
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Scanned>>(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let (tx, next) = (tx.clone(), &next);
                    scope.spawn(move || {
                        let mut found = Vec::new();
                        let (mut batch, mut bytes) = (Vec::new(), 0u64);
                        while let Some(root) = roots.get(next.fetch_add(1, Ordering::Relaxed)) {
                            self.walk_known(
                                root,
                                known,
                                &mut found,
                                |_, _| {},
                                |s| {
                                    bytes += match &s.content {
                                        Some(Content::Bytes(b)) => b.len() as u64,
                                        _ => 0,
                                    };
                                    batch.push(s);
                                    if batch.len() >= BATCH || bytes >= HELD / (2 * WALKERS as u64)
                                    {
                                        // Only a receiver gone (a panic there) fails.
                                        let _ = tx.send(std::mem::take(&mut batch));
                                        bytes = 0;
                                    }
                                },
                            );
                        }
                        if !batch.is_empty() {
                            let _ = tx.send(batch);
                        }
                        found
                    })
                })
                .collect();
            drop(tx);
            for batch in rx {
                batch.into_iter().for_each(&mut sink);
            }
            for w in workers {
                match w.join() {
                    Ok(found) => notices.extend(found),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        });
    }

    /// The same walk, reading nothing: `visit` gets each entry's target
    /// path, its directory's fd, its name there and what `fstatat` said
    /// (a resumed session's gap is found this way).
    pub fn walk_stats(
        &self,
        path: &[u8],
        notices: &mut Vec<Notice>,
        mut on_dir: impl FnMut(BorrowedFd<'_>, &[u8]),
        mut visit: impl FnMut(&[u8], BorrowedFd<'_>, &[u8], &Stat, &mut Vec<Notice>),
    ) {
        let root = match self.target.root() {
            Ok(r) => r,
            Err(e) => {
                notices.push(unreadable(path, &e));
                return;
            }
        };
        let top = root.parent(path).and_then(|(dir, name)| {
            let st = beneath::stat_at(dir.as_fd(), name)?;
            Ok((dir, name, st))
        });
        let (dir, name, st) = match top {
            Ok(x) => x,
            Err(e) => {
                if !is_gone(&e) {
                    notices.push(unreadable(path, &e));
                }
                return;
            }
        };
        if self.ignore.is_ignored(path, st.is_dir()) {
            return;
        }
        let mut stack = vec![Pending {
            parent: Parent::Open(Rc::new(dir)),
            name: name.to_vec(),
            path: path.to_vec(),
            st,
            depth: 0,
        }];
        while let Some(p) = stack.pop() {
            let parent = match p.parent {
                Parent::Open(fd) => fd,
                Parent::Reopen {
                    path: ref dir_path,
                    st: ref dir_st,
                } => match reopen(&root, dir_path, dir_st) {
                    Ok(fd) => Rc::new(fd),
                    Err(e) => {
                        if !is_gone(&e) {
                            notices.push(unreadable(&p.path, &e));
                        }
                        continue;
                    }
                },
            };
            if !p.st.is_dir() {
                visit(&p.path, parent.as_fd(), &p.name, &p.st, notices);
                continue;
            }
            let fd = match open_dir_at(parent.as_fd(), &p.name, &p.st) {
                Ok(fd) => fd,
                Err(e) => {
                    if !is_gone(&e) || p.depth == 0 {
                        notices.push(unreadable(&p.path, &e));
                    }
                    continue;
                }
            };
            if let Some(fs) = pseudo_fs(fd.as_fd()) {
                notices.push(Notice {
                    path: Some(p.path.clone()),
                    kind: NoticeKind::Other,
                    message: format!(
                        "a {fs} mount: not walked (the kernel's state, such as processes' \
                         environments, not configuration)"
                    ),
                });
                continue;
            }
            on_dir(fd.as_fd(), &p.path);
            visit(&p.path, parent.as_fd(), &p.name, &p.st, notices);
            drop(parent);
            let names = match beneath::open_at(fd.as_fd(), b".", libc::O_RDONLY | libc::O_DIRECTORY)
                .and_then(beneath::read_dir)
            {
                Ok(n) => n,
                Err(e) => {
                    notices.push(unreadable(&p.path, &e));
                    continue;
                }
            };
            let fd = Rc::new(fd);
            let mut subdirs = Vec::new();
            for name in names {
                let tp = join(&p.path, &name);
                let st = match beneath::stat_at(fd.as_fd(), &name) {
                    Ok(st) => st,
                    Err(e) => {
                        if !is_gone(&e) {
                            notices.push(unreadable(&tp, &e));
                        }
                        continue;
                    }
                };
                if self.ignore.is_ignored_here(&tp, st.is_dir()) {
                    continue;
                }
                if !st.is_dir() {
                    visit(&tp, fd.as_fd(), &name, &st, notices);
                    continue;
                }
                // Past MAX_OPEN_DEPTH a directory's fd is not kept for its
                // subdirectories: each is reopened beneath the root and
                // checked, so a deep tree does not exhaust the fd limit.
                let parent = if p.depth < MAX_OPEN_DEPTH {
                    Parent::Open(fd.clone())
                } else {
                    Parent::Reopen {
                        path: p.path.clone(),
                        st: p.st,
                    }
                };
                subdirs.push(Pending {
                    parent,
                    name,
                    path: tp,
                    st,
                    depth: p.depth + 1,
                });
            }
            stack.extend(subdirs.into_iter().rev());
        }
    }

    /// Put the content of `s` into `pack` unless it is there already (a
    /// `Stream` is read again from its file, beneath the root, and must
    /// be the inode and the bytes the scan saw), leaving
    /// `Content::Packed`. Returns whether the content holds a private key.
    /// A file that is not what the scan saw keeps only its hash, with a
    /// notice: it changed as it was read.
    pub fn pack(
        &self,
        s: &mut Scanned,
        pack: &mut PackWriter,
        notices: &mut Vec<Notice>,
    ) -> crate::Result<bool> {
        let Some(hash) = s.entry.hash else {
            return Ok(false);
        };
        match s.content.take() {
            Some(Content::Bytes(data)) => {
                let key = crate::secret::holds_private_key(&data);
                s.content = Some(Content::Packed(pack.append(&hash, &data)?));
                Ok(key)
            }
            Some(Content::Stream) => {
                let mut watch = KeyWatch::default();
                let placed = match self.reopen_file(s) {
                    Ok(mut f) => {
                        pack.append_stream(&hash, s.entry.size, &mut f, &mut |c| watch.feed(c))?
                    }
                    Err(_) => None,
                };
                match placed {
                    Some(at) => s.content = Some(Content::Packed(at)),
                    None => {
                        s.entry.content_stored = false;
                        notices.push(Notice {
                            path: Some(s.entry.path.clone()),
                            kind: NoticeKind::Other,
                            message: "it changed while it was read: only its hash was kept".into(),
                        });
                    }
                }
                Ok(watch.found)
            }
            other => {
                s.content = other;
                Ok(false)
            }
        }
    }

    /// Stream the file of `s` to `out` again (a `Stream` content that is
    /// compared, not stored): its first `size` bytes, from the inode the
    /// scan saw.
    pub fn copy_file(&self, s: &Scanned, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        let f = self.reopen_file(s)?;
        std::io::copy(&mut f.take(s.entry.size), out)?;
        Ok(())
    }

    /// The file of `s` opened again beneath the root: the same inode, at
    /// least as long as it was.
    fn reopen_file(&self, s: &Scanned) -> std::io::Result<File> {
        let root = self.target.root()?;
        let (dir, name) = root.parent(&s.entry.path)?;
        let (f, md) = open_file(dir.as_fd(), name)?;
        let same = s.stamp.is_none_or(|st| st.ino == md.ino);
        if !md.is_file() || !same || md.size < s.entry.size {
            return Err(replaced());
        }
        Ok(f)
    }

    fn scan_one(
        &self,
        path: &[u8],
        dir: BorrowedFd<'_>,
        name: &[u8],
        st: &Stat,
        known: Option<Known<'_>>,
        notices: &mut Vec<Notice>,
    ) -> Scanned {
        let kind = st.kind();
        let mut entry = Entry {
            path: path.to_vec(),
            kind,
            mode: st.mode & 0o7777,
            uid: st.uid,
            gid: st.gid,
            owner: self.target.user_name(st.uid),
            group: self.target.group_name(st.gid),
            size: st.size,
            mtime_ns: st.mtime * 1_000_000_000 + st.mtime_nsec,
            hash: None,
            content_stored: false,
            link_target: None,
        };
        let mut content = None;
        let seen = match kind {
            EntryKind::File => known.and_then(|k| k(path, st)),
            _ => None,
        };
        match (kind, seen) {
            (EntryKind::File, Some((hash, c))) => {
                entry.hash = Some(hash);
                entry.content_stored = c.is_some();
                content = c;
            }
            (EntryKind::File, None) => match read_file(dir, name, st, self.content_cap) {
                Ok(r) => {
                    if r.changing {
                        notices.push(Notice {
                            path: Some(path.to_vec()),
                            kind: NoticeKind::Other,
                            message: format!(
                                "it changed while it was read: recorded as its first {} bytes, \
                                 its size when it was opened",
                                r.size
                            ),
                        });
                    }
                    // The size of what was hashed, not of the stat before
                    // the open: the entry describes the bytes kept.
                    entry.size = r.size;
                    entry.hash = Some(r.hash);
                    entry.content_stored = r.content.is_some();
                    content = r.content;
                }
                Err(e) => notices.push(unreadable(path, &e)),
            },
            (EntryKind::Symlink, _) => match beneath::read_link_at(dir, name) {
                Ok(t) => entry.link_target = Some(t),
                Err(e) => notices.push(unreadable(path, &e)),
            },
            _ => {}
        }
        Scanned {
            entry,
            content,
            stamp: Some(Stamp {
                ino: st.ino,
                ctime_ns: st.ctime_ns,
            }),
        }
    }
}

/// The most threads [`Scanner::walk_many`] walks on.
pub const WALKERS: usize = 2;

/// Entries a walker of [`Scanner::walk_many`] hands over at once.
const BATCH: usize = 512;

/// The most content bytes [`Scanner::walk_many`]'s batches hold at once,
/// in the channel and being filled (a batch goes early when its share is
/// full).
const HELD: u64 = 32 << 20;

/// Subdirectories past this depth are reopened beneath the root rather
/// than from a kept fd of their parent.
const MAX_OPEN_DEPTH: usize = 128;

/// A directory entry still to be recorded, with the directory it is in.
struct Pending {
    parent: Parent,
    name: Vec<u8>,
    path: Vec<u8>,
    st: Stat,
    depth: usize,
}

enum Parent {
    Open(Rc<OwnedFd>),
    /// Reopen the directory at this target path, which must be this inode.
    Reopen {
        path: Vec<u8>,
        st: Stat,
    },
}

fn reopen(root: &Root, path: &[u8], st: &Stat) -> std::io::Result<OwnedFd> {
    let fd = root.open_path(path, libc::O_PATH | libc::O_DIRECTORY)?;
    if !beneath::fstat(fd.as_fd())?.same_inode(st) {
        return Err(replaced());
    }
    Ok(fd)
}

/// Open the directory `name` of `dir`, not followed, and insist it is the
/// inode `st` describes (`name` empty: `dir` itself, the root).
/// Pseudo filesystems a walk never enters, by `statfs` magic
/// (linux/magic.h). tmpfs and other real filesystems are walked: what an
/// admin keeps there is theirs.
const PSEUDO_FS: &[(i64, &str)] = &[
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x1cd1, "devpts"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0xcafe_4a11, "bpf"),
    (0x6165_676c, "pstore"),
    (0xde5e_81e4, "efivarfs"),
    (0x1980_0202, "mqueue"),
    (0x4249_4e4d, "binfmt_misc"),
    (0x6265_6570, "configfs"),
    (0x6573_5543, "fusectl"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x6e73_6673, "nsfs"),
    (0x0187, "autofs"),
];

/// The pseudo filesystem this directory is on, if it is on one.
fn pseudo_fs(dir: BorrowedFd<'_>) -> Option<&'static str> {
    let st = nix::sys::statfs::fstatfs(dir).ok()?;
    let magic = st.filesystem_type().0 as i64;
    PSEUDO_FS
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

fn open_dir_at(dir: BorrowedFd<'_>, name: &[u8], st: &Stat) -> std::io::Result<OwnedFd> {
    let name = if name.is_empty() { &b"."[..] } else { name };
    let fd = beneath::open_at(dir, name, libc::O_RDONLY | libc::O_DIRECTORY)?;
    let now = beneath::fstat(fd.as_fd())?;
    if !now.is_dir() || !now.same_inode(st) {
        return Err(replaced());
    }
    Ok(fd)
}

fn replaced() -> std::io::Error {
    std::io::Error::other("it was replaced while it was being read")
}

/// Gone, or not there as cft sees it: missing, or behind a directory that
/// is a symlink or a file now (never followed).
fn is_gone(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ELOOP)
    )
}

fn unreadable(path: &[u8], e: &std::io::Error) -> Notice {
    Notice {
        path: Some(path.to_vec()),
        kind: NoticeKind::Unreadable,
        message: e.to_string(),
    }
}

/// What `read_file` read: the hash and size of exactly the bytes read,
/// the content when it was within the cap, and whether the file changed
/// while it was read (what was read is then the file as it was opened, up
/// to the size `fstat` gave).
#[derive(Debug)]
pub struct FileRead {
    pub hash: ContentHash,
    pub size: u64,
    /// The bytes when they are at most `IN_MEMORY`; `Stream` when larger
    /// and within the cap; `None` over the cap.
    pub content: Option<Content>,
    pub changing: bool,
}

/// Read the regular file `name` of the directory `dir` without following a
/// link or blocking on a fifo, and check it is still the file `expect`
/// describes. Reads at most the size `fstat` gave after the open, never
/// more: a file that grows faster than it is read cannot keep a walk busy
/// forever. Keeps the content when it is no larger than `cap`.
pub fn read_file(
    dir: BorrowedFd<'_>,
    name: &[u8],
    expect: &Stat,
    cap: u64,
) -> std::io::Result<FileRead> {
    let (mut f, md) = open_file(dir, name)?;
    if !md.is_file() || !md.same_inode(expect) {
        return Err(std::io::Error::other(
            "the file was replaced while it was being read",
        ));
    }
    let mut h = blake3::Hasher::new();
    let mut content = (md.size <= cap.min(IN_MEMORY)).then(|| Vec::with_capacity(md.size as usize));
    let mut left = md.size;
    if let Some(c) = content.as_mut() {
        // Held whole anyway: read straight into it (a storm's 100k small
        // files need no 64 KiB buffer each).
        (&mut f).take(md.size).read_to_end(c)?;
        h.update(c);
        left -= c.len() as u64;
    } else {
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                break; // shrunk while read
            }
            h.update(&buf[..n]);
            left -= n as u64;
        }
    }
    let size = md.size - left;
    let now = beneath::fstat(f.as_fd())?;
    let changing = left > 0
        || now.size != md.size
        || (now.mtime, now.mtime_nsec, now.ctime_ns) != (md.mtime, md.mtime_nsec, md.ctime_ns);
    let content = match content {
        Some(bytes) => Some(Content::Bytes(bytes)),
        None if size <= cap => Some(Content::Stream),
        None => None,
    };
    Ok(FileRead {
        hash: ContentHash(*h.finalize().as_bytes()),
        size,
        content,
        changing,
    })
}

/// Open the regular file `name` of `dir` to read it, not following a link
/// nor blocking on a fifo, with its `fstat`.
fn open_file(dir: BorrowedFd<'_>, name: &[u8]) -> std::io::Result<(File, Stat)> {
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
    // O_NOATIME keeps a snapshot from touching atimes; it is refused for
    // files we do not own unless we are root, so fall back without it.
    let fd = match beneath::open_at(dir, name, flags | libc::O_NOATIME) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => beneath::open_at(dir, name, flags)?,
        Err(e) => return Err(e),
    };
    let md = beneath::fstat(fd.as_fd())?;
    Ok((File::from(fd), md))
}

/// Whether a content streamed chunk by chunk holds a private key: each
/// chunk is looked at behind the end of the one before, so a key's
/// `-----BEGIN` line cut between two chunks is still seen.
#[derive(Default)]
pub struct KeyWatch {
    tail: Vec<u8>,
    pub found: bool,
}

impl KeyWatch {
    const OVERLAP: usize = 256;

    pub fn feed(&mut self, chunk: &[u8]) {
        if self.found {
            return;
        }
        self.tail.extend_from_slice(chunk);
        self.found = crate::secret::holds_private_key(&self.tail);
        let keep = self.tail.len().saturating_sub(Self::OVERLAP);
        self.tail.drain(..keep);
    }
}

/// For tests: a store at `db` holding a session over `root` watching
/// `watched`, with the baseline of those roots as they are now.
#[cfg(test)]
pub(crate) fn baselined(
    root: &std::path::Path,
    db: &std::path::Path,
    watched: &[&[u8]],
) -> (crate::store::Store, crate::model::Session, Vec<Scanned>) {
    use std::os::unix::ffi::OsStrExt;
    let mut store = crate::store::Store::open(db).unwrap();
    let rootb = root.as_os_str().as_bytes().to_vec();
    let session = store
        .create_session(&crate::store::NewSession {
            name: "t".into(),
            description: None,
            root: rootb.clone(),
            watched: watched.iter().map(|w| w.to_vec()).collect(),
            content_cap: 1 << 20,
            ignore_patterns: vec![],
            facts: crate::model::Facts::default(),
        })
        .unwrap();
    let target = Target::new(&rootb);
    let ignore = Ignore::new(&[]).unwrap();
    let scanner = Scanner {
        target: &target,
        ignore: &ignore,
        progress: crate::progress::SILENT,
        content_cap: 1 << 20,
    };
    let mut rows = Vec::new();
    for w in watched {
        scanner.walk(w, &mut Vec::new(), |_, _| {}, |r| rows.push(r));
    }
    store
        .insert_entries(session.id, crate::store::Snapshot::Baseline, &rows)
        .unwrap();
    (store, session, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    fn scanner_for(root: &Path) -> (Target, Ignore) {
        (
            Target::new(root.as_os_str().as_bytes()),
            Ignore::new(&[]).unwrap(),
        )
    }

    /// `walk_many` on its threads finds exactly what one walk after
    /// another finds: every entry, content and notice, the `known` answers
    /// taken, batches cut by count and by bytes, a root beneath a link
    /// never walked.
    #[test]
    fn walk_many_finds_what_walks_one_by_one_find() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        let mut roots = Vec::new();
        for d in 0..7 {
            let dir = r.join(format!("srv/d{d}"));
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            for f in 0..700 {
                std::fs::write(dir.join(format!("f{f}")), format!("{d} {f}")).unwrap();
            }
            std::fs::write(dir.join("sub/big"), vec![d as u8; 900 << 10]).unwrap();
            roots.push(format!("/srv/d{d}").into_bytes());
        }
        std::os::unix::fs::symlink("/etc", r.join("srv/link")).unwrap();
        roots.push(b"/srv/link/sub".to_vec());
        roots.push(b"/srv/gone".to_vec());
        let (t, ig) = scanner_for(r);
        let s = Scanner {
            target: &t,
            ignore: &ig,
            content_cap: 1 << 20,
            progress: crate::progress::SILENT,
        };
        let taken = ContentHash::of(b"known");
        let known = |p: &[u8], _: &Stat| p.ends_with(b"/f7").then_some((taken, None));
        let known: Known = &known;
        let summary = |mut got: Vec<Scanned>, mut notices: Vec<Notice>| {
            got.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
            notices.sort_by(|a, b| a.path.cmp(&b.path));
            let got: Vec<_> = got
                .into_iter()
                .map(|s| {
                    (
                        s.entry,
                        s.content.and_then(|c| c.bytes().map(<[u8]>::to_vec)),
                    )
                })
                .collect();
            (got, notices)
        };
        let (mut one, mut one_notices) = (Vec::new(), Vec::new());
        for root in &roots {
            s.walk_known(
                root,
                Some(known),
                &mut one_notices,
                |_, _| {},
                |x| one.push(x),
            );
        }
        let (mut many, mut many_notices) = (Vec::new(), Vec::new());
        s.walk_many(&roots, Some(known), &mut many_notices, |x| many.push(x));
        assert_eq!(many.len(), 7 * (700 + 3));
        let taken_n = many.iter().filter(|x| x.entry.hash == Some(taken)).count();
        assert_eq!(taken_n, 7, "known answers are taken");
        let (one, one_notices) = summary(one, one_notices);
        let (many, many_notices) = summary(many, many_notices);
        assert!(one == many, "the same entries and contents");
        assert_eq!(one_notices, many_notices);
    }

    #[test]
    fn walk_records_every_kind_without_following_links() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("etc/sub")).unwrap();
        std::fs::write(r.join("etc/sub/f"), b"hello").unwrap();
        std::os::unix::fs::symlink("/etc/sub", r.join("etc/link")).unwrap();
        std::os::unix::fs::symlink("loop", r.join("etc/loop")).unwrap();
        nix::unistd::mkfifo(
            &r.join("etc/fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        std::fs::write(r.join("etc/x.swp"), b"noise").unwrap();
        std::fs::write(r.join("etc/big"), vec![7u8; 100]).unwrap();
        let (t, ig) = scanner_for(r);
        let s = Scanner {
            target: &t,
            ignore: &ig,
            content_cap: 10,
            progress: crate::progress::SILENT,
        };
        let mut got = Vec::new();
        let mut dirs = Vec::new();
        let mut notices = Vec::new();
        s.walk(
            b"/etc",
            &mut notices,
            |_, d| dirs.push(d.to_vec()),
            |sc| got.push(sc),
        );
        got.sort_by(|a, b| a.entry.path.cmp(&b.entry.path));
        let summary: Vec<(String, EntryKind, bool)> = got
            .iter()
            .map(|s| {
                (
                    String::from_utf8_lossy(&s.entry.path).into_owned(),
                    s.entry.kind,
                    s.content.is_some(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/etc".into(), EntryKind::Dir, false),
                ("/etc/big".into(), EntryKind::File, false),
                ("/etc/fifo".into(), EntryKind::Fifo, false),
                ("/etc/link".into(), EntryKind::Symlink, false),
                ("/etc/loop".into(), EntryKind::Symlink, false),
                ("/etc/sub".into(), EntryKind::Dir, false),
                ("/etc/sub/f".into(), EntryKind::File, true),
            ]
        );
        assert!(notices.is_empty(), "{notices:?}");
        let big = got.iter().find(|s| s.entry.path == b"/etc/big").unwrap();
        assert_eq!(big.entry.hash, Some(ContentHash::of(&[7u8; 100])));
        assert!(!big.entry.content_stored);
        let link = got.iter().find(|s| s.entry.path == b"/etc/link").unwrap();
        assert_eq!(link.entry.link_target.as_deref(), Some(&b"/etc/sub"[..]));
        dirs.sort();
        assert_eq!(dirs, vec![b"/etc".to_vec(), b"/etc/sub".to_vec()]);
    }

    #[test]
    fn a_watched_root_that_is_a_symlink_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("elsewhere")).unwrap();
        std::fs::write(r.join("elsewhere/secret"), b"x").unwrap();
        std::os::unix::fs::symlink(r.join("elsewhere"), r.join("srv")).unwrap();
        let (t, ig) = scanner_for(r);
        let s = Scanner {
            target: &t,
            ignore: &ig,
            content_cap: 10,
            progress: crate::progress::SILENT,
        };
        let mut got = Vec::new();
        s.walk(
            b"/srv",
            &mut Vec::new(),
            |_, _| {},
            |sc| got.push(sc.entry.path),
        );
        assert_eq!(got, vec![b"/srv".to_vec()]);
    }

    #[test]
    fn read_file_refuses_a_swapped_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a"), b"a").unwrap();
        std::fs::write(tmp.path().join("b"), b"b").unwrap();
        let root = Root::open(tmp.path()).unwrap();
        let dir = root
            .open_path(b"/", libc::O_PATH | libc::O_DIRECTORY)
            .unwrap();
        let st_a = beneath::stat_at(dir.as_fd(), b"a").unwrap();
        assert!(read_file(dir.as_fd(), b"a", &st_a, 100).is_ok());
        assert!(read_file(dir.as_fd(), b"b", &st_a, 100).is_err());
        // A symlink in its place is never followed.
        std::fs::remove_file(tmp.path().join("b")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("a"), tmp.path().join("b")).unwrap();
        assert!(read_file(dir.as_fd(), b"b", &st_a, 100).is_err());
    }

    /// A file appended to while it is read, over and under the cap: the
    /// read ends, and what it hashed is exactly the file's first `size`
    /// bytes, the size it had when opened (the old read went on to EOF,
    /// and a writer faster than it kept it reading forever).
    #[test]
    fn a_file_growing_while_read_is_read_to_its_size_at_open() {
        use std::io::Write;
        use std::sync::atomic::{AtomicBool, Ordering};
        for (case, cap) in [("hashed only", 1u64 << 10), ("kept", 64 << 20)] {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("log");
            std::fs::write(&path, vec![b'x'; 4 << 20]).unwrap();
            let stop = std::sync::Arc::new(AtomicBool::new(false));
            let writer = {
                let (stop, path) = (stop.clone(), path.clone());
                std::thread::spawn(move || {
                    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
                    let chunk = vec![b'y'; 1 << 16];
                    // At most 64 MiB, so a failing read still ends.
                    for _ in 0..1024 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        f.write_all(&chunk).unwrap();
                    }
                })
            };
            let root = Root::open(tmp.path()).unwrap();
            let dir = root
                .open_path(b"/", libc::O_PATH | libc::O_DIRECTORY)
                .unwrap();
            let mut reads = Vec::new();
            for _ in 0..20 {
                let st = beneath::stat_at(dir.as_fd(), b"log").unwrap();
                reads.push(read_file(dir.as_fd(), b"log", &st, cap).unwrap());
            }
            stop.store(true, Ordering::Relaxed);
            writer.join().unwrap();
            let all = std::fs::read(&path).unwrap();
            for r in &reads {
                let prefix = &all[..r.size as usize];
                assert_eq!(r.hash, ContentHash::of(prefix), "{case}");
                if let Some(Content::Bytes(c)) = &r.content {
                    assert_eq!(c.as_slice(), prefix, "{case}");
                }
            }
            assert_eq!(reads[0].content.is_some(), cap > 1 << 20, "{case}");
        }
    }

    #[test]
    fn stat_and_walk_never_pass_a_directory_that_is_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"outside").unwrap();
        let r = tmp.path();
        std::fs::create_dir_all(r.join("srv")).unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("srv/x")).unwrap();
        std::os::unix::fs::symlink(outside.path(), r.join("var")).unwrap();
        let (t, ig) = scanner_for(r);
        let s = Scanner {
            target: &t,
            ignore: &ig,
            content_cap: 100,
            progress: crate::progress::SILENT,
        };
        let mut notices = Vec::new();
        for p in [&b"/srv/x/secret"[..], b"/var/secret", b"/var"] {
            let got = s.stat_known(p, None, &mut notices);
            assert!(
                got.is_none_or(|g| g.entry.kind == EntryKind::Symlink),
                "{p:?}"
            );
        }
        for root in [&b"/srv/x"[..], b"/var", b"/srv"] {
            s.walk(
                root,
                &mut notices,
                |_, _| {},
                |sc| {
                    assert!(sc.content.is_none(), "{:?}", sc.entry.path);
                    assert!(!sc.entry.path.ends_with(b"secret"), "{:?}", sc.entry.path);
                },
            );
        }
        assert!(notices.is_empty(), "{notices:?}");
    }
}
