//! Writing an output file (`-o FILE` of every command, the files of a
//! generated module) the one safe way: a fresh temporary file in the
//! target's directory (`O_EXCL`, 0600 while it is written), its final mode
//! set on the open descriptor, then `rename(2)` over the target. Whatever
//! was at the target (a file, a symlink someone planted in `/tmp`) is
//! replaced as a name; it is never opened, so a link is never followed and
//! the file it pointed to is left unchanged. Readers never see a half
//! written file.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// An output file being written; it replaces its target only on
/// [`Replacement::commit`], and is removed if dropped before.
pub struct Replacement {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Replacement {
    /// Start replacing `target` (a temporary file beside it).
    pub fn new(target: &Path) -> io::Result<Replacement> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".cft-out.")
            .tempfile_in(dir)?;
        Ok(Replacement {
            tmp,
            target: target.to_path_buf(),
        })
    }

    /// The open temporary file, to write the content to.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Give the file `mode` (whatever the umask), flush it to disk and
    /// rename it over the target.
    pub fn commit(self, mode: u32) -> io::Result<()> {
        let f = self.tmp.as_file();
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.sync_all()?;
        self.tmp.persist(&self.target).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Replace `target` with a regular file holding `bytes`, mode `mode`.
pub fn replace(target: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut out = Replacement::new(target)?;
    out.file().write_all(bytes)?;
    out.commit(mode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn mode_of(p: &Path) -> u32 {
        fs::symlink_metadata(p)
            .expect("exists")
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn replaces_what_is_there_without_following_it() {
        let cases: &[(&str, bool)] = &[("nothing", false), ("a planted symlink", true)];
        for &(name, link) in cases {
            let tmp = tempfile::tempdir().expect("tempdir");
            let victim = tmp.path().join("victim");
            fs::write(&victim, "keep").expect("victim");
            let out = tmp.path().join("out");
            if link {
                std::os::unix::fs::symlink(&victim, &out).expect("symlink");
            }
            replace(&out, b"new", 0o600).expect(name);
            assert_eq!(
                fs::read_to_string(&victim).expect("victim"),
                "keep",
                "{name}"
            );
            let meta = fs::symlink_metadata(&out).expect("out");
            assert!(meta.file_type().is_file(), "{name}: a regular file");
            assert_eq!(mode_of(&out), 0o600, "{name}");
            assert_eq!(fs::read(&out).expect("read"), b"new", "{name}");
            let left: Vec<_> = fs::read_dir(tmp.path()).expect("dir").collect();
            assert_eq!(left.len(), 2, "{name}: no temporary file left");
        }
    }

    #[test]
    fn mode_is_exact_whatever_the_umask() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        replace(&out, b"x", 0o644).expect("write");
        assert_eq!(mode_of(&out), 0o644);
    }

    #[test]
    fn a_dropped_replacement_leaves_the_target_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("out");
        fs::write(&out, "old").expect("old");
        let mut r = Replacement::new(&out).expect("new");
        r.file().write_all(b"half").expect("write");
        drop(r);
        assert_eq!(fs::read_to_string(&out).expect("read"), "old");
        assert_eq!(fs::read_dir(tmp.path()).expect("dir").count(), 1);
    }
}
