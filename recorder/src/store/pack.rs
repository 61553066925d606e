//! Pack files: a session's file contents, appended to one private file
//! per session next to the database (the baseline's at begin, the final
//! contents after them at finish); each entry (a baseline entry in its
//! block, see `blocks`; a final entry in its row) says where its content
//! is.
//!
//! A content larger than `IN_MEMORY` (1 MiB) is never held whole: it is
//! streamed from its file into a frame of its own (the header's lengths
//! written in place once the frame is done) and streamed back out of it,
//! its size and hash checked as it ends ([`PackWriter::append_stream`],
//! `copy`).
//!
//! A pack is a sequence of zstd frames, each behind a 16-byte header (the
//! frame's compressed and decompressed lengths, little-endian u64s). Small
//! contents are concatenated into frames of up to [`FRAME`] bytes; a
//! content of that size or more is a frame of its own. An entry keeps the
//! frame's offset and its content's offset inside the decompressed frame
//! (a [`Place`], in its block; `pack_offset` and `pack_within` in the rows
//! of a database before schema 9), so any content is read by
//! decompressing one frame.
//!
//! Why frames of many contents rather than one frame per content
//! (measured with `bench/store.sh`'s 5,000 virtual-host snippets of about
//! 670 bytes, 3.3 MB): a frame per file pays a frame header and starts
//! with an empty window every time, so a file barely shrinks (1.8 MB with
//! `zstd -3` file by file); 128 KiB frames let zstd see the repetition
//! between neighbouring files (the same tree, read in walk order): 127 KB,
//! against 154 KB for `tar | zstd -3` of the tree. Larger frames gain
//! little for what they cost a read (the snippets' tar cut in 256 KiB
//! pieces: 7% smaller than in 128 KiB ones; a Debian /etc: 3%). A trained dictionary
//! would help a frame per file, but must be trained on the tree first (a
//! second pass at begin) and kept beside the pack. Reading one content
//! decompresses at most 128 KiB, and the store keeps the last frame it
//! decompressed, so reading a baseline in walk order decompresses each
//! frame once.
//!
//! Level 3 (zstd's default): `zstd -b3` compresses a Debian base root's
//! /etc at 120 MB/s and the snippets at 1 GB/s on the 2-core machine this
//! was measured on; the walker thread reads the next files meanwhile.
//!
//! Packs written before schema 7 hold raw contents (`pack_within` NULL) and
//! are read as they were written.
//!
//! Reads by hash check the BLAKE3 hash of what they read, so a truncated
//! or damaged pack is an error naming the file, never wrong content. Since
//! schema 9 the baseline's blocks keep no hash of a packed content: it is
//! computed from the pack when a block's hashes are first asked for, so
//! each frame also carries zstd's own checksum (4 bytes), which makes a
//! flipped byte there an error too rather than another hash.

use crate::error::{Error, Result};
use crate::model::ContentHash;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The most contents one shared frame holds, decompressed.
pub const FRAME: usize = 128 << 10;

/// zstd's level for packs and blobs.
pub(super) const LEVEL: i32 = 3;

const HEADER: usize = 16;

/// The packs directory of a database: `DIR/packs` next to `DIR/cft.db`.
pub fn packs_dir(db: &Path) -> PathBuf {
    db.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("packs")
}

/// Where a content is in a pack.
pub use crate::model::PackPlace as Place;

/// Appends contents to one pack, each distinct content once.
pub struct PackWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// Bytes written to the file so far: where the next frame starts.
    offset: u64,
    /// The frame being filled.
    frame: Vec<u8>,
    seen: HashMap<ContentHash, Place>,
    compressor: zstd::bulk::Compressor<'static>,
}

impl PackWriter {
    pub(super) fn create(db: &Path, name: String) -> Result<PackWriter> {
        PackWriter::open(db, name, false)
    }

    /// A writer that appends to the session's pack, made if missing:
    /// `finish` adds the final contents there, after the baseline's. A
    /// frame cut short by a crash before stays where it is, unreferenced.
    pub(super) fn append_to(db: &Path, name: String) -> Result<PackWriter> {
        PackWriter::open(db, name, true)
    }

    fn open(db: &Path, name: String, append: bool) -> Result<PackWriter> {
        let dir = packs_dir(db);
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io(&dir, e))?;
        }
        let path = dir.join(&name);
        let mut options = std::fs::OpenOptions::new();
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
        // Not O_APPEND: a streamed frame's header is written in place
        // after its data (`pwrite` on an O_APPEND file appends).
        options.write(true);
        if append {
            options.create(true);
        } else {
            options.create_new(true);
        }
        let mut file = options.open(&path).map_err(|e| Error::io(&path, e))?;
        let offset = file
            .seek(std::io::SeekFrom::End(0))
            .map_err(|e| Error::io(&path, e))?;
        let mut compressor = zstd::bulk::Compressor::new(LEVEL).map_err(|e| Error::io(&path, e))?;
        // Blocks keep no hash of a packed content (see `blocks`): the
        // frame's own checksum is what tells a damaged pack.
        compressor
            .include_checksum(true)
            .map_err(|e| Error::io(&path, e))?;
        Ok(PackWriter {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
            offset,
            frame: Vec::with_capacity(FRAME),
            seen: HashMap::new(),
            compressor,
        })
    }

    /// Append `data` unless this pack holds it already; returns where it is.
    pub fn append(&mut self, hash: &ContentHash, data: &[u8]) -> Result<Place> {
        if let Some(at) = self.seen.get(hash) {
            return Ok(*at);
        }
        let at = if data.len() >= FRAME {
            self.end_frame()?;
            let offset = self.offset;
            self.write_frame(data)?;
            Place {
                offset,
                within: Some(0),
            }
        } else {
            if self.frame.len() + data.len() > FRAME {
                self.end_frame()?;
            }
            let within = self.frame.len() as u64;
            self.frame.extend_from_slice(data);
            Place {
                offset: self.offset,
                within: Some(within),
            }
        };
        self.seen.insert(*hash, at);
        Ok(at)
    }

    /// Stream one content of `size` bytes from `from` into a frame of its
    /// own, never holding it whole; `each` sees every chunk as it passes.
    /// Returns where it is, or `None` when what was read is not `size`
    /// bytes of this `hash` (the file changed since it was hashed): the
    /// frame written stays unreferenced.
    pub fn append_stream(
        &mut self,
        hash: &ContentHash,
        size: u64,
        from: &mut dyn Read,
        each: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<Place>> {
        if let Some(at) = self.seen.get(hash) {
            return Ok(Some(*at));
        }
        self.end_frame()?;
        let start = self.offset;
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        self.out.write_all(&[0u8; HEADER]).map_err(io)?;
        let mut counted = Counted {
            out: &mut self.out,
            n: 0,
        };
        let mut z = zstd::stream::write::Encoder::new(&mut counted, LEVEL).map_err(io)?;
        z.include_checksum(true).map_err(io)?;
        let mut h = blake3::Hasher::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut read = 0u64;
        while read < size {
            let want = buf
                .len()
                .min(usize::try_from(size - read).unwrap_or(usize::MAX));
            let n = from.read(&mut buf[..want]).map_err(io)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            each(&buf[..n]);
            z.write_all(&buf[..n]).map_err(io)?;
            read += n as u64;
        }
        z.finish().map_err(io)?;
        let zlen = counted.n;
        self.out.flush().map_err(io)?;
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(&zlen.to_le_bytes());
        header[8..].copy_from_slice(&read.to_le_bytes());
        self.out
            .get_ref()
            .write_all_at(&header, start)
            .map_err(io)?;
        self.offset += HEADER as u64 + zlen;
        if read != size || ContentHash(*h.finalize().as_bytes()) != *hash {
            return Ok(None);
        }
        let at = Place {
            offset: start,
            within: Some(0),
        };
        self.seen.insert(*hash, at);
        Ok(Some(at))
    }

    /// Compress and write the frame being filled, if it holds anything.
    fn end_frame(&mut self) -> Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        let frame = std::mem::take(&mut self.frame);
        self.write_frame(&frame)?;
        self.frame = frame;
        self.frame.clear();
        Ok(())
    }

    fn write_frame(&mut self, raw: &[u8]) -> Result<()> {
        let z = self
            .compressor
            .compress(raw)
            .map_err(|e| Error::io(&self.path, e))?;
        let mut header = [0u8; HEADER];
        header[..8].copy_from_slice(&(z.len() as u64).to_le_bytes());
        header[8..].copy_from_slice(&(raw.len() as u64).to_le_bytes());
        self.out
            .write_all(&header)
            .and_then(|()| self.out.write_all(&z))
            .map_err(|e| Error::io(&self.path, e))?;
        self.offset += (HEADER + z.len()) as u64;
        Ok(())
    }

    /// Write the frame being filled and hand what is buffered to the kernel
    /// (cheap; not a disk sync). Contents appended later start a new frame.
    pub fn flush(&mut self) -> Result<()> {
        self.end_frame()?;
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// Flush to the kernel; `sync` also waits for the disk.
    pub fn finish(mut self, sync: bool) -> Result<()> {
        self.end_frame()?;
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io(&path, e.into_error()))?;
        if sync {
            file.sync_data().map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }
}

/// Counts what goes through to `out`.
struct Counted<'a, W: Write> {
    out: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A decompressed frame: its pack, offset and contents.
type Frame = (PathBuf, u64, Arc<Vec<u8>>);

/// The last frame a store decompressed.
#[derive(Default)]
pub(super) struct FrameCache(Mutex<Option<Frame>>);

/// Read one content back and check it is what the index says.
pub(super) fn read(
    db: &Path,
    pack: &str,
    at: Place,
    size: u64,
    hash: &ContentHash,
    cache: &FrameCache,
) -> Result<Vec<u8>> {
    let data = fetch(db, pack, at, size, cache)?;
    if ContentHash::of(&data) != *hash {
        return Err(Error::BadInput {
            path: packs_dir(db).join(pack),
            message: format!(
                "damaged pack: the content at offset {} does not match its hash",
                at.offset
            ),
        });
    }
    Ok(data)
}

/// One content's bytes as the pack holds them, unchecked: a baseline
/// block keeps no hash of a packed content, so this is where it comes
/// from (see `blocks`).
pub(super) fn fetch(
    db: &Path,
    pack: &str,
    at: Place,
    size: u64,
    cache: &FrameCache,
) -> Result<Vec<u8>> {
    let path = packs_dir(db).join(pack);
    let damaged = |message: String| Error::BadInput {
        path: path.clone(),
        message: format!("damaged pack: {message}"),
    };
    let data = match at.within {
        None => {
            let file = open(&path)?;
            let mut data = vec![0u8; size as usize];
            file.read_exact_at(&mut data, at.offset)
                .map_err(|e| Error::io(&path, e))?;
            data
        }
        // An empty content may point at a frame never written.
        Some(_) if size == 0 => Vec::new(),
        Some(within) => {
            let frame = frame(&path, at.offset, within.saturating_add(size), cache)?;
            let range = usize::try_from(within)
                .ok()
                .zip(usize::try_from(within.saturating_add(size)).ok())
                .filter(|(_, end)| *end <= frame.len());
            match range {
                Some((start, end)) => frame[start..end].to_vec(),
                None => {
                    return Err(damaged(format!(
                        "the frame at offset {} is shorter than the content it holds",
                        at.offset
                    )))
                }
            }
        }
    };
    Ok(data)
}

/// Write one content to `out` without holding it whole when it is a frame
/// of its own: decompressed as it streams, its size and hash checked at
/// the end. An error after part of it was written means what `out` got is
/// not the content: the caller writes to a temporary file and drops it.
pub(super) fn copy(
    db: &Path,
    pack: &str,
    at: Place,
    size: u64,
    hash: &ContentHash,
    cache: &FrameCache,
    out: &mut dyn Write,
) -> Result<()> {
    let path = packs_dir(db).join(pack);
    // A content of a shared frame is small: read it the usual way.
    if !matches!(at.within, Some(0) if size > FRAME as u64) {
        let data = read(db, pack, at, size, hash, cache)?;
        return out.write_all(&data).map_err(Error::WriteOut);
    }
    let damaged = |message: String| Error::BadInput {
        path: path.clone(),
        message: format!("damaged pack: the frame at offset {} {message}", at.offset),
    };
    let mut file = open(&path)?;
    let (zlen, raw) = header(&file, &path, at.offset)?;
    if raw != size {
        return Err(damaged(format!(
            "says it holds {raw} bytes, not the {size} of its content"
        )));
    }
    file.seek(std::io::SeekFrom::Start(at.offset + HEADER as u64))
        .map_err(|e| Error::io(&path, e))?;
    let mut z =
        zstd::stream::read::Decoder::new(file.take(zlen)).map_err(|e| Error::io(&path, e))?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let got = z
            .read(&mut buf)
            .map_err(|e| damaged(format!("does not decompress: {e}")))?;
        if got == 0 {
            break;
        }
        n += got as u64;
        if n > size {
            return Err(damaged(format!("decompresses to more than {size} bytes")));
        }
        h.update(&buf[..got]);
        out.write_all(&buf[..got]).map_err(Error::WriteOut)?;
    }
    if n != size || ContentHash(*h.finalize().as_bytes()) != *hash {
        return Err(damaged(format!(
            "decompresses to {n} bytes that do not match the content's size ({size}) and hash"
        )));
    }
    Ok(())
}

/// A frame's header at `offset`: its compressed and decompressed lengths,
/// the compressed one checked against what the file holds.
fn header(file: &File, path: &Path, offset: u64) -> Result<(u64, u64)> {
    let damaged = |message: String| Error::BadInput {
        path: path.to_path_buf(),
        message: format!("damaged pack: the frame at offset {offset} {message}"),
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut header = [0u8; HEADER];
    file.read_exact_at(&mut header, offset)
        .map_err(|_| damaged("is cut short".into()))?;
    let mut word = [0u8; 8];
    word.copy_from_slice(&header[..8]);
    let zlen = u64::from_le_bytes(word);
    word.copy_from_slice(&header[8..]);
    let raw = u64::from_le_bytes(word);
    let room = len.saturating_sub(offset + HEADER as u64);
    if zlen > room {
        return Err(damaged(format!(
            "says {zlen} bytes where the file has {room}"
        )));
    }
    Ok((zlen, raw))
}

fn open(path: &Path) -> Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(path, e))
}

/// The decompressed frame at `offset`, which must hold at least `needed`
/// bytes; lengths in the header are checked against the file and the frame
/// size before anything is allocated.
fn frame(path: &Path, offset: u64, needed: u64, cache: &FrameCache) -> Result<Arc<Vec<u8>>> {
    let mut cached = cache.0.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((p, o, f)) = cached.as_ref() {
        if p == path && *o == offset {
            return Ok(f.clone());
        }
    }
    let damaged = |message: String| Error::BadInput {
        path: path.to_path_buf(),
        message: format!("damaged pack: the frame at offset {offset} {message}"),
    };
    let file = open(path)?;
    let (zlen, raw) = header(&file, path, offset)?;
    // A shared frame is at most FRAME bytes; a larger one is one content.
    if raw < needed || (raw > FRAME as u64 && raw != needed) {
        return Err(damaged(format!(
            "says it holds {raw} bytes, which does not fit its contents"
        )));
    }
    let mut z = vec![0u8; zlen as usize];
    file.read_exact_at(&mut z, offset + HEADER as u64)
        .map_err(|e| Error::io(path, e))?;
    let data = zstd::bulk::decompress(&z, raw as usize)
        .map_err(|e| damaged(format!("does not decompress: {e}")))?;
    if data.len() as u64 != raw {
        return Err(damaged(format!(
            "decompresses to {} bytes, not {raw}",
            data.len()
        )));
    }
    let data = Arc::new(data);
    if data.len() <= FRAME {
        *cached = Some((path.to_path_buf(), offset, data.clone()));
    }
    Ok(data)
}
