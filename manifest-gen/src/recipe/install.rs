//! `cft recipe install`: the bundle's module into a Puppet modulepath, all
//! or nothing. The bundle is extracted into a temporary directory inside
//! the modulepath (same filesystem), its checksums are checked, and the
//! module directory is renamed into place: Puppet never sees half a module.
//!
//! An existing `DIR/MODULE` is compared without following any symlink in
//! it; identical content is left alone; a newer version of the same module
//! (the same `metadata.json` name, a higher version) replaces it, and
//! anything else only when forced. Replacing is an atomic exchange
//! (`renameat2`), and the old tree is removed with the temporary directory.

use super::archive::{self, Unpacked};
use super::{KICKSTART, MODULES};
use crate::Error;
use nix::fcntl::{renameat2, RenameFlags};
use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallOutcome {
    Installed,
    /// The same module was already there; nothing was changed.
    AlreadyInstalled,
    /// A newer version of the same module replaced the installed one.
    Upgraded {
        from: String,
        to: String,
    },
    /// A different module of the same name was replaced (`--force`).
    Replaced,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub module: String,
    /// `DIR/MODULE`.
    pub path: PathBuf,
    pub outcome: InstallOutcome,
}

/// Install the module of `bundle` as `modulepath/MODULE` (see the module
/// doc). `modulepath` is created if missing.
pub fn install(bundle: &Path, modulepath: &Path, force: bool) -> Result<Installed, Error> {
    install_keeping(bundle, modulepath, force).map(|(done, _)| done)
}

/// [`install`], also returning the bundle's partial kickstart (`None` if
/// it has none), read from the same extraction.
pub(crate) fn install_keeping(
    bundle: &Path,
    modulepath: &Path,
    force: bool,
) -> Result<(Installed, Option<String>), Error> {
    fs::create_dir_all(modulepath).map_err(|e| Error::io("creating", modulepath, e))?;
    let tmp = tempfile::Builder::new()
        .prefix(".cft-recipe-")
        .tempdir_in(modulepath)
        .map_err(|e| Error::io("creating a directory in", modulepath, e))?;
    let u = archive::unpack_checked(bundle, tmp.path())?;
    let kickstart = if u.files.contains_key(KICKSTART) {
        let path = u.root.join(KICKSTART);
        Some(fs::read_to_string(&path).map_err(|e| Error::io("reading", &path, e))?)
    } else {
        None
    };
    let module = the_module(&u)?;
    let src = u.root.join(MODULES).join(&module);
    let dest = modulepath.join(&module);
    let outcome = match fs::symlink_metadata(&dest) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // NOREPLACE: something created in the meantime is not clobbered.
            renameat2(None, &src, None, &dest, RenameFlags::RENAME_NOREPLACE)
                .map_err(|e| Error::io("renaming into", &dest, e.into()))?;
            InstallOutcome::Installed
        }
        Err(e) => return Err(Error::io("examining", &dest, e)),
        Ok(m) => {
            if m.is_dir() && same_tree(&src, &dest)? {
                InstallOutcome::AlreadyInstalled
            } else if let Some((from, to)) = upgrade(&src, &dest, m.is_dir()) {
                exchange(&src, &dest)?;
                InstallOutcome::Upgraded { from, to }
            } else if !force {
                return Err(Error::Exists {
                    path: dest.clone(),
                    installed: version_of(&dest, m.is_dir()),
                    bundled: metadata(&src).map(|(_, v)| v),
                });
            } else {
                exchange(&src, &dest)?;
                InstallOutcome::Replaced
            }
        }
    };
    // `tmp` (now holding the replaced tree, if any) is removed on drop;
    // removal does not follow symlinks.
    drop(tmp);
    let done = Installed {
        module,
        path: dest,
        outcome,
    };
    Ok((done, kickstart))
}

/// `metadata.json`'s name and version in a module directory; `None` when
/// missing, not a plain file or not the shape cft writes.
fn metadata(dir: &Path) -> Option<(String, String)> {
    let path = dir.join("metadata.json");
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    // Metadata is small; a huge file is not cft's.
    (&mut f).take(1 << 20).read_to_string(&mut text).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let name = v.get("name")?.as_str()?.to_string();
    let version = v.get("version")?.as_str()?.to_string();
    Some((name, version))
}

fn version_of(dir: &Path, is_dir: bool) -> Option<String> {
    is_dir.then(|| metadata(dir)).flatten().map(|(_, v)| v)
}

/// `X.Y.Z` as numbers, for ordering.
fn semver(v: &str) -> Option<(u64, u64, u64)> {
    let mut it = v.split('.').map(|p| p.parse::<u64>().ok());
    let t = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(t)
}

/// `Some((installed, new))` when `new` is a newer version of the module at
/// `installed`: the same metadata name, a higher `X.Y.Z`.
fn upgrade(new: &Path, installed: &Path, is_dir: bool) -> Option<(String, String)> {
    if !is_dir {
        return None;
    }
    let (new_name, new_version) = metadata(new)?;
    let (old_name, old_version) = metadata(installed)?;
    (new_name == old_name && semver(&new_version)? > semver(&old_version)?)
        .then_some((old_version, new_version))
}

/// The single module a recipe carries, with a name that is a plain path
/// component.
fn the_module(u: &Unpacked) -> Result<String, Error> {
    let modules = super::verify::module_dirs(u);
    match modules.as_slice() {
        [one] => {
            crate::validate_module_name(one)?;
            Ok(one.clone())
        }
        _ => Err(Error::Layout {
            bundle: u.bundle.clone(),
            reason: format!(
                "expected exactly one module directory under {MODULES}/, found {}",
                modules.len()
            ),
        }),
    }
}

/// Swap `src` and `dest` atomically. Filesystems without
/// `RENAME_EXCHANGE` get two renames (the module is briefly absent).
fn exchange(src: &Path, dest: &Path) -> Result<(), Error> {
    match renameat2(None, src, None, dest, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {
            let old = src.with_extension("old");
            fs::rename(dest, &old).map_err(|e| Error::io("renaming", dest, e))?;
            fs::rename(src, dest).map_err(|e| Error::io("renaming into", dest, e))
        }
        Err(e) => Err(Error::io("exchanging", dest, e.into())),
    }
}

/// One entry of a tree, for comparison: relative path, kind, permission
/// bits and (files) the SHA-256 of the content.
type Fingerprint = (PathBuf, char, u32, Option<[u8; 32]>);

/// Do both trees hold the same directories and files (same content, same
/// permissions) and nothing else? Symlinks and special files in `existing`
/// make it different; none is followed.
fn same_tree(new: &Path, existing: &Path) -> Result<bool, Error> {
    Ok(fingerprint(new)? == fingerprint(existing)?)
}

fn fingerprint(root: &Path) -> Result<Vec<Fingerprint>, Error> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .follow_links(false)
        .follow_root_links(false)
        .sort_by_file_name();
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            Error::io("reading", path, e.into())
        })?;
        let path = entry.path();
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("examining", path, e.into()))?;
        let rel = path.strip_prefix(root).unwrap_or(path).to_path_buf();
        let perm = meta.permissions().mode() & 0o7777;
        let ft = entry.file_type();
        let item = if ft.is_dir() {
            (rel, 'd', perm, None)
        } else if ft.is_file() {
            (rel, 'f', perm, Some(hash_file(path)?))
        } else {
            (rel, 'o', perm, None)
        };
        out.push(item);
    }
    Ok(out)
}

fn hash_file(path: &Path) -> Result<[u8; 32], Error> {
    let io = |e| Error::io("reading", path, e);
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags((nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK).bits())
        .open(path)
        .map_err(io)?;
    if !f.metadata().map_err(io)?.is_file() {
        // Swapped for something else since the walk: not the same tree.
        return Ok([0; 32]);
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}
