//! Putting a generated [`Module`] on disk: directories 0755, files 0644
//! whatever the umask, and never over somebody else's work. A previous cft
//! module in the same place is replaced, so files of an older recording do
//! not linger in `files/`, `manifests/` or `templates/`. No link is
//! followed: `DIR` itself and every directory inside it must be a real
//! directory, and each file replaces what is at its name
//! (`recorder::outfile`), so a symlink planted at `DIR`, `DIR/manifests` or
//! `DIR/README.md` never redirects a write.

use crate::render::CFT_TAG;
use crate::{Body, Error, Module};
use recorder::model::{BlobSource, ContentHash};
use std::fs;
use std::io::ErrorKind;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path};

/// The subdirectories a cft module owns entirely.
const OWNED_DIRS: [&str; 3] = ["files", "manifests", "templates"];

/// Write `module` into `out_dir`, creating it if needed. An existing
/// directory must be empty or hold a module cft generated (its
/// `metadata.json` carries the `cft` tag); anything else is refused.
/// Contents the module left in the store are streamed from `blobs`.
pub fn write_module(module: &Module, blobs: &dyn BlobSource, out_dir: &Path) -> Result<(), Error> {
    for rel in module.files.keys() {
        check_relpath(rel)?;
    }
    if fs::symlink_metadata(out_dir).is_ok_and(|m| !m.is_dir()) {
        return Err(Error::NotADir {
            path: out_dir.to_path_buf(),
        });
    }
    match fs::read_dir(out_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                if !is_cft_module(out_dir) {
                    return Err(Error::NotAModuleDir {
                        path: out_dir.to_path_buf(),
                    });
                }
                for dir in OWNED_DIRS {
                    remove_if_present(&out_dir.join(dir))?;
                }
            }
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            if let Some(parent) = out_dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(|e| Error::io("creating", parent, e))?;
            }
            make_dir(out_dir)?;
        }
        Err(e) => return Err(Error::io("reading", out_dir, e)),
    }
    for (rel, bytes) in &module.files {
        let path = out_dir.join(rel);
        let mut dir = out_dir.to_path_buf();
        if let Some(parent) = Path::new(rel).parent() {
            for c in parent.components() {
                dir.push(c);
                match fs::symlink_metadata(&dir) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => return Err(Error::NotADir { path: dir }),
                    Err(e) if e.kind() == ErrorKind::NotFound => make_dir(&dir)?,
                    Err(e) => return Err(Error::io("examining", &dir, e)),
                }
            }
        }
        let mode = if module.private.contains(rel) {
            0o600
        } else {
            0o644
        };
        match bytes {
            Body::Bytes(bytes) => write_file(&path, bytes, mode)?,
            Body::Stored { hash, .. } => copy_file(&path, blobs, hash, rel, mode)?,
        }
    }
    Ok(())
}

/// Keys come from `generate`, but `Module` is a plain struct: refuse
/// anything that would land outside `out_dir`.
fn check_relpath(rel: &str) -> Result<(), Error> {
    let p = Path::new(rel);
    let plain = !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(Error::BadRelPath {
            rel: rel.to_string(),
        })
    }
}

fn is_cft_module(dir: &Path) -> bool {
    let Ok(text) = fs::read(dir.join("metadata.json")) else {
        return false;
    };
    let Ok(meta) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return false;
    };
    meta.get("tags")
        .and_then(|t| t.as_array())
        .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(CFT_TAG)))
}

fn remove_if_present(path: &Path) -> Result<(), Error> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("examining", path, e)),
        // remove_dir_all does not follow a symlink; remove_file removes it.
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).map_err(|e| Error::io("removing", path, e)),
        Ok(_) => fs::remove_file(path).map_err(|e| Error::io("removing", path, e)),
    }
}

fn make_dir(path: &Path) -> Result<(), Error> {
    fs::DirBuilder::new()
        .mode(0o755)
        .create(path)
        .and_then(|()| fs::set_permissions(path, fs::Permissions::from_mode(0o755)))
        .map_err(|e| Error::io("creating", path, e))
}

/// Replace whatever is at `path` (a symlink is replaced, not followed);
/// the file has its final mode before it has its name, so a secret is
/// never readable by others, not even for a moment.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    recorder::outfile::replace(path, bytes, mode).map_err(|e| Error::io("writing", path, e))
}

/// `write_file` for a content the store holds, streamed into the file;
/// nothing replaces `path` unless all of it came, with its hash.
fn copy_file(
    path: &Path,
    blobs: &dyn BlobSource,
    hash: &ContentHash,
    rel: &str,
    mode: u32,
) -> Result<(), Error> {
    let mut out =
        recorder::outfile::Replacement::new(path).map_err(|e| Error::io("writing", path, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out.file());
    let copied = blobs.copy_blob(hash, &mut w);
    let flushed = w.flush();
    drop(w);
    let blob_err = |source| Error::Blob {
        path: rel.to_string(),
        source,
    };
    match copied {
        Err(recorder::Error::WriteOut(e)) => return Err(Error::io("writing", path, e)),
        Err(e) => return Err(blob_err(e)),
        Ok(false) => return Err(Body::gone(rel)),
        Ok(true) => {}
    }
    flushed.map_err(|e| Error::io("writing", path, e))?;
    out.commit(mode).map_err(|e| Error::io("writing", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Report;
    use std::collections::BTreeMap;

    fn module(files: &[(&str, &str)]) -> Module {
        Module {
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec().into()))
                .collect::<BTreeMap<_, _>>(),
            private: Default::default(),
            report: Report::default(),
        }
    }

    fn no_blobs() -> std::collections::HashMap<ContentHash, Vec<u8>> {
        Default::default()
    }

    fn cft_module(extra: &[(&str, &str)]) -> Module {
        let mut files = vec![
            ("metadata.json", r#"{"name": "cft-m", "tags": ["cft"]}"#),
            ("manifests/init.pp", "class m {}\n"),
        ];
        files.extend_from_slice(extra);
        module(&files)
    }

    fn mode_of(p: &Path) -> u32 {
        fs::metadata(p).expect("exists").permissions().mode() & 0o7777
    }

    #[test]
    fn creates_dirs_and_files_with_fixed_modes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("a/m");
        let m = cft_module(&[("files/etc/x", "x")]);
        write_module(&m, &no_blobs(), &out).expect("writes");
        assert_eq!(fs::read(out.join("files/etc/x")).expect("read"), b"x");
        assert_eq!(mode_of(&out), 0o755);
        assert_eq!(mode_of(&out.join("files/etc")), 0o755);
        assert_eq!(mode_of(&out.join("files/etc/x")), 0o644);
    }

    #[test]
    fn replaces_a_previous_cft_module_without_stale_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("m");
        write_module(&cft_module(&[("files/etc/old", "old")]), &no_blobs(), &out).expect("first");
        fs::write(out.join("notes.txt"), "mine").expect("user file");
        write_module(&cft_module(&[("files/etc/new", "new")]), &no_blobs(), &out).expect("second");
        assert!(!out.join("files/etc/old").exists(), "stale file removed");
        assert!(out.join("files/etc/new").exists());
        assert!(
            out.join("notes.txt").exists(),
            "files outside files/ and manifests/ are left alone"
        );
    }

    #[test]
    fn refuses_a_foreign_directory() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("plain files", &[("precious.txt", "x")]),
            (
                "someone else's module",
                &[("metadata.json", r#"{"name": "me-web"}"#)],
            ),
            ("broken metadata", &[("metadata.json", "{")]),
        ];
        for (name, existing) in cases {
            let tmp = tempfile::tempdir().expect("tempdir");
            for (rel, text) in existing.iter() {
                fs::write(tmp.path().join(rel), text).expect("seed");
            }
            let err = write_module(&cft_module(&[]), &no_blobs(), tmp.path()).expect_err(name);
            assert!(matches!(err, Error::NotAModuleDir { .. }), "{name}: {err}");
            assert!(
                err.to_string().contains(&tmp.path().display().to_string()),
                "{name}: names the path"
            );
            for (rel, text) in existing.iter() {
                assert_eq!(
                    fs::read_to_string(tmp.path().join(rel)).expect("kept"),
                    *text,
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn writes_into_an_empty_existing_directory() {
        let tmp = tempfile::tempdir().expect("tempdir");
        write_module(&cft_module(&[]), &no_blobs(), tmp.path()).expect("writes");
        assert!(tmp.path().join("manifests/init.pp").exists());
    }

    #[test]
    fn rejects_paths_escaping_the_module() {
        for rel in ["../x", "/etc/x", "files/../../x", ""] {
            let tmp = tempfile::tempdir().expect("tempdir");
            let err = write_module(&module(&[(rel, "x")]), &no_blobs(), &tmp.path().join("m"))
                .expect_err(rel);
            assert!(matches!(err, Error::BadRelPath { .. }), "{rel}: {err}");
        }
    }

    #[test]
    fn does_not_follow_a_symlink_in_the_way() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let out = tmp.path().join("m");
        write_module(&cft_module(&[]), &no_blobs(), &out).expect("first");
        let victim = tmp.path().join("victim");
        fs::write(&victim, "keep").expect("victim");
        fs::remove_file(out.join("README.md")).ok();
        std::os::unix::fs::symlink(&victim, out.join("README.md")).expect("symlink");
        write_module(&cft_module(&[("README.md", "new")]), &no_blobs(), &out).expect("second");
        assert_eq!(fs::read_to_string(&victim).expect("victim"), "keep");
        assert_eq!(
            fs::read_to_string(out.join("README.md")).expect("readme"),
            "new"
        );
    }

    #[test]
    fn does_not_follow_a_planted_directory_link() {
        let cases: &[(&str, &str)] = &[
            ("the output directory", ""),
            ("manifests/ of a fresh output", "manifests"),
            ("a directory inside files/", "files"),
        ];
        for &(name, planted) in cases {
            let tmp = tempfile::tempdir().expect("tempdir");
            let victim = tmp.path().join("victim");
            fs::create_dir(&victim).expect("victim");
            fs::write(victim.join("init.pp"), "keep").expect("victim file");
            let out = tmp.path().join("m");
            let m = cft_module(&[("files/etc/x", "x")]);
            if planted.is_empty() {
                std::os::unix::fs::symlink(&victim, &out).expect("symlink");
            } else {
                // A link that would be made after the owned dirs are
                // removed: the check before each write refuses it.
                fs::create_dir(&out).expect("out");
                std::os::unix::fs::symlink(&victim, out.join(planted)).expect("symlink");
            }
            let err = write_module(&m, &no_blobs(), &out).expect_err(name);
            assert!(
                matches!(err, Error::NotADir { .. } | Error::NotAModuleDir { .. }),
                "{name}: {err}"
            );
            assert_eq!(
                fs::read_dir(&victim).expect("victim").count(),
                1,
                "{name}: nothing written into the link's target"
            );
            assert_eq!(
                fs::read_to_string(victim.join("init.pp")).expect("kept"),
                "keep",
                "{name}"
            );
        }
    }

    #[test]
    fn a_planted_link_in_a_previous_module_is_removed_not_followed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let victim = tmp.path().join("victim");
        fs::create_dir(&victim).expect("victim");
        let out = tmp.path().join("m");
        write_module(&cft_module(&[]), &no_blobs(), &out).expect("first");
        fs::remove_dir_all(out.join("manifests")).expect("rm");
        std::os::unix::fs::symlink(&victim, out.join("manifests")).expect("symlink");
        write_module(&cft_module(&[]), &no_blobs(), &out).expect("second");
        assert_eq!(fs::read_dir(&victim).expect("victim").count(), 0);
        assert!(fs::symlink_metadata(out.join("manifests"))
            .expect("manifests")
            .is_dir());
        assert_eq!(mode_of(&out.join("manifests/init.pp")), 0o644);
    }
}
