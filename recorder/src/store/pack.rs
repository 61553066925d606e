//! Pack files: the baseline's file contents, appended to one private file
//! per session next to the database; each baseline entry (in its block,
//! see `blocks`) says where its content is.
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
use std::io::{BufWriter, Write};
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// The frame's offset in the pack (a raw content's, in an old pack).
    pub offset: u64,
    /// The content's offset in the decompressed frame; `None` in a pack
    /// written before schema 7 (raw contents).
    pub within: Option<u64>,
}

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
        let dir = packs_dir(db);
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| Error::io(&dir, e))?;
        }
        let path = dir.join(&name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
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
            offset: 0,
            frame: Vec::with_capacity(FRAME),
            seen: HashMap::new(),
            compressor,
        })
    }

    /// Append `data` unless this pack holds it already; returns where it is.
    pub(super) fn append(&mut self, hash: &ContentHash, data: &[u8]) -> Result<Place> {
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
