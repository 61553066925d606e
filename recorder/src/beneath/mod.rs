//! Opening and looking at paths beneath the observed system's root, the one
//! way cft reaches the target's files.
//!
//! The guarantee: nothing opened, stat'ed or read through this module lies
//! outside the root, and no symbolic link is followed on the way, in any
//! component, the last one included. A path is resolved from a file
//! descriptor of the root with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
//! | RESOLVE_NO_MAGICLINKS)`; where the kernel lacks `openat2` (`ENOSYS`), one
//! component at a time with `openat(dirfd, name, O_NOFOLLOW | O_DIRECTORY)`.
//! Metadata comes from `fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW)` relative
//! to a directory opened that way, never from a host path string, so a
//! directory swapped for a link between two looks is refused (`ELOOP`,
//! `ENOTDIR`) rather than followed. `..` is refused outright: target paths
//! never need it.
//!
//! The root's own host path (`--root`) is the admin's choice and is opened
//! as given. What is out of reach: a directory already opened and then moved
//! out of the root by someone who can write both places still reads as what
//! it holds; that person could read it anyway.

use crate::model::EntryKind;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once `openat2` has answered `ENOSYS`: the walk by components is used
/// from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// What `fstatat` says about one entry, not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// `st_mode`: the file type bits and the permissions.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: i64,
    /// `st_ctime` in nanoseconds: any write or metadata change moves it,
    /// and no one can set it back.
    pub ctime_ns: i64,
    pub dev: u64,
    pub ino: u64,
}

impl Stat {
    fn from_raw(st: &libc::stat) -> Stat {
        Stat {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            size: u64::try_from(st.st_size).unwrap_or(0),
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
            ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
            dev: st.st_dev,
            ino: st.st_ino,
        }
    }

    /// The entry kind its file type bits say.
    pub fn kind(&self) -> EntryKind {
        if self.is_file() {
            EntryKind::File
        } else if self.is_dir() {
            EntryKind::Dir
        } else if self.is_symlink() {
            EntryKind::Symlink
        } else if self.is_fifo() {
            EntryKind::Fifo
        } else if self.is_socket() {
            EntryKind::Socket
        } else if self.is_char_device() {
            EntryKind::CharDevice
        } else {
            EntryKind::BlockDevice
        }
    }

    fn is(&self, fmt: u32) -> bool {
        self.mode & libc::S_IFMT == fmt
    }
    pub fn is_dir(&self) -> bool {
        self.is(libc::S_IFDIR)
    }
    pub fn is_file(&self) -> bool {
        self.is(libc::S_IFREG)
    }
    pub fn is_symlink(&self) -> bool {
        self.is(libc::S_IFLNK)
    }
    pub fn is_fifo(&self) -> bool {
        self.is(libc::S_IFIFO)
    }
    pub fn is_socket(&self) -> bool {
        self.is(libc::S_IFSOCK)
    }
    pub fn is_char_device(&self) -> bool {
        self.is(libc::S_IFCHR)
    }
    /// The same inode as `other` (a file or directory not replaced between
    /// a look and an open).
    pub fn same_inode(&self, other: &Stat) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }
}

/// The observed system's root, held open: every path is resolved from it.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    host: PathBuf,
}

impl Root {
    /// Open the root at `host` (followed as given: it is the admin's
    /// `--root`).
    pub fn open(host: &Path) -> io::Result<Root> {
        let c = cstr(host.as_os_str().as_bytes())?;
        // SAFETY: `c` is a valid NUL-terminated string for the call's
        // duration; the returned fd, if any, is owned by nobody else.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        Ok(Root {
            fd: owned(fd)?,
            host: host.to_path_buf(),
        })
    }

    /// The root's host path, for messages.
    pub fn host(&self) -> &Path {
        &self.host
    }

    /// Open the target path `path` beneath the root with `flags` (`O_NOFOLLOW`
    /// and `O_CLOEXEC` are always added). `/` is the root itself.
    pub fn open_path(&self, path: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
        let comps = components(path)?;
        if comps.is_empty() {
            return open_at(self.fd.as_fd(), b".", flags & !libc::O_NOFOLLOW);
        }
        if !NO_OPENAT2.load(Ordering::Relaxed) {
            match openat2_beneath(self.fd.as_fd(), &comps, flags) {
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        open_by_components(self.fd.as_fd(), &comps, flags)
    }

    /// A directory beneath the root, opened for reading its entries.
    pub fn open_dir(&self, path: &[u8]) -> io::Result<OwnedFd> {
        self.open_path(path, libc::O_RDONLY | libc::O_DIRECTORY)
    }

    /// The directory holding `path` (opened `O_PATH`) and `path`'s last
    /// component; for `/`, the root itself and an empty name.
    pub fn parent<'p>(&self, path: &'p [u8]) -> io::Result<(OwnedFd, &'p [u8])> {
        match split_parent(path)? {
            None => Ok((self.fd.try_clone()?, b"")),
            Some((dir, name)) => Ok((self.open_path(dir, libc::O_PATH | libc::O_DIRECTORY)?, name)),
        }
    }

    /// `lstat` of a target path beneath the root: its directories are
    /// reached without following a link, and it is not followed itself.
    pub fn lstat(&self, path: &[u8]) -> io::Result<Stat> {
        let (dir, name) = self.parent(path)?;
        stat_at(dir.as_fd(), name)
    }

    /// The whole content of a regular file beneath the root, opened without
    /// following a link or blocking on a fifo; anything but a regular file
    /// is an error. At most the size `fstat` gave is read: a file that
    /// grows while it is read cannot keep a probe reading forever.
    pub fn read_regular(&self, path: &[u8]) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let fd = self.open_path(path, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY)?;
        let st = fstat(fd.as_fd())?;
        if !st.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut data = Vec::with_capacity(usize::try_from(st.size).unwrap_or(0).min(1 << 24));
        std::fs::File::from(fd)
            .take(st.size)
            .read_to_end(&mut data)?;
        Ok(data)
    }

    /// The target of a symbolic link beneath the root.
    pub fn read_link(&self, path: &[u8]) -> io::Result<Vec<u8>> {
        let (dir, name) = self.parent(path)?;
        read_link_at(dir.as_fd(), name)
    }
}

/// A target path's directory and last component; `None` for `/`.
fn split_parent(path: &[u8]) -> io::Result<Option<(&[u8], &[u8])>> {
    let trimmed = trim_slashes(path);
    if trimmed.is_empty() {
        return Ok(None);
    }
    let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(i) => (&trimmed[..i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    if name == b".." || name == b"." {
        return Err(dot_dot());
    }
    Ok(Some((dir, name)))
}

/// `Root::parent` for a run of paths, keeping the last directory open: a
/// run sorted by name opens each directory once, not once per file. The
/// kept fd is the directory as it was when opened, beneath the root; a
/// directory swapped for a link later is not followed through it.
pub struct Parents<'r> {
    root: &'r Root,
    last: Option<(Vec<u8>, OwnedFd)>,
}

impl<'r> Parents<'r> {
    pub fn new(root: &'r Root) -> Parents<'r> {
        Parents { root, last: None }
    }

    /// The directory holding `path`, and `path`'s last component.
    pub fn parent<'p>(&mut self, path: &'p [u8]) -> io::Result<(BorrowedFd<'_>, &'p [u8])> {
        let Some((dir, name)) = split_parent(path)? else {
            return Ok((self.root.fd.as_fd(), b""));
        };
        let kept = match self.last.take() {
            Some((d, fd)) if d == dir => (d, fd),
            _ => {
                let fd = self.root.open_path(dir, libc::O_PATH | libc::O_DIRECTORY)?;
                (dir.to_vec(), fd)
            }
        };
        let kept: &'_ (Vec<u8>, OwnedFd) = self.last.insert(kept);
        Ok((kept.1.as_fd(), name))
    }
}

fn trim_slashes(path: &[u8]) -> &[u8] {
    let mut p = path;
    while let [b'/', rest @ ..] = p {
        p = rest;
    }
    while let [rest @ .., b'/'] = p {
        p = rest;
    }
    p
}

/// The components of a target path, `.` and empty ones dropped; `..` is an
/// error.
fn components(path: &[u8]) -> io::Result<Vec<&[u8]>> {
    let mut out = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(dot_dot()),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn dot_dot() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a path with a `..` component (cft resolves paths beneath the root only)",
    )
}

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in a path"))
}

fn owned(fd: libc::c_int) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by the kernel and is owned by no one.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn openat2_beneath(
    dir: BorrowedFd<'_>,
    comps: &[&[u8]],
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let rel = cstr(&comps.join(&b'/'))?;
    // SAFETY: open_how is three integers (libc marks it non-exhaustive);
    // all zeroes is a valid value, and the kernel wants unused fields zero.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::from((flags | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u32);
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // EAGAIN: the kernel could not rule out an escape during a concurrent
    // rename; asking again is what it asks for.
    for _ in 0..16 {
        // SAFETY: `rel` is NUL-terminated and `how` a valid open_how of the
        // size passed; both outlive the call. The fd returned is ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                rel.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        let r = libc::c_int::try_from(r).unwrap_or(-1);
        match owned(r) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => continue,
            other => return other,
        }
    }
    Err(io::Error::from_raw_os_error(libc::EAGAIN))
}

/// The fallback: each directory opened from the one before, not followed.
pub(crate) fn open_by_components(
    root: BorrowedFd<'_>,
    comps: &[&[u8]],
    flags: libc::c_int,
) -> io::Result<OwnedFd> {
    let Some((last, dirs)) = comps.split_last() else {
        return open_at(root, b".", flags & !libc::O_NOFOLLOW);
    };
    let mut cur: Option<OwnedFd> = None;
    for d in dirs {
        let base = cur.as_ref().map_or(root, |f| f.as_fd());
        let next = open_at(base, d, libc::O_PATH | libc::O_DIRECTORY)?;
        cur = Some(next);
    }
    let base = cur.as_ref().map_or(root, |f| f.as_fd());
    open_at(base, last, flags)
}

/// Open one component `name` of the directory `dir`, never following a
/// link (`O_NOFOLLOW` is added unless `name` is `.`). `name` must not hold a
/// `/` nor be `..`.
pub fn open_at(dir: BorrowedFd<'_>, name: &[u8], flags: libc::c_int) -> io::Result<OwnedFd> {
    if name.is_empty() || name == b".." || name.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a single path component",
        ));
    }
    let flags = if name == b"." {
        flags | libc::O_CLOEXEC
    } else {
        flags | libc::O_NOFOLLOW | libc::O_CLOEXEC
    };
    let c = cstr(name)?;
    // SAFETY: `dir` is a live fd and `c` NUL-terminated for the call.
    owned(unsafe { libc::openat(dir.as_raw_fd(), c.as_ptr(), flags) })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; an empty `name` is `dir`
/// itself.
pub fn stat_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Stat> {
    if name == b".." || name.contains(&b'/') {
        return Err(dot_dot());
    }
    let c = cstr(name)?;
    let mut flags = libc::AT_SYMLINK_NOFOLLOW;
    if name.is_empty() {
        flags |= libc::AT_EMPTY_PATH;
    }
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `st` is writable memory of the right type, `c` is
    // NUL-terminated, `dir` is live; on success the kernel filled `st`.
    let r = unsafe { libc::fstatat(dir.as_raw_fd(), c.as_ptr(), st.as_mut_ptr(), flags) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat succeeded, so `st` is initialised (and was zeroed).
    Ok(Stat::from_raw(unsafe { &st.assume_init() }))
}

/// `fstat` of an open file.
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    stat_at(fd, b"")
}

/// `readlinkat(dir, name)`: a link's target, never followed.
pub fn read_link_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<Vec<u8>> {
    if name.is_empty() || name == b".." || name.contains(&b'/') {
        return Err(dot_dot());
    }
    let c = cstr(name)?;
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: `buf` is writable for `buf.len()` bytes, `c` is
        // NUL-terminated, `dir` is live.
        let n = unsafe {
            libc::readlinkat(
                dir.as_raw_fd(),
                c.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 20 {
            return Err(io::Error::other("symbolic link target too long"));
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// The names in a directory opened for reading, `.` and `..` left out,
/// sorted by bytes. The fd is consumed.
pub fn read_dir(dir: OwnedFd) -> io::Result<Vec<Vec<u8>>> {
    // The Dir owns the fd from here on, and closes it even on failure.
    let d = nix::dir::Dir::from_fd(dir.into_raw_fd()).map_err(io::Error::from)?;
    let mut out = Vec::new();
    for e in d {
        let e = e.map_err(io::Error::from)?;
        let name = e.file_name().to_bytes();
        if name != b"." && name != b".." {
            out.push(name.to_vec());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests;
