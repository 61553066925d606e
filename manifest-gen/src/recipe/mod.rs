//! The recipe bundle: one deterministic `.tar.gz` holding everything needed
//! to rebuild a recorded machine as an appliance — the virt-image
//! descriptor, the partial kickstart, the Puppet module, a README for the
//! person receiving it and a `SHA256SUMS` list.
//!
//! Layout (every path under one top-level directory, `NAME[-VERSION]/`):
//!
//! ```text
//! NAME-VERSION/README.md
//! NAME-VERSION/SHA256SUMS          sha256sum format, every other file
//! NAME-VERSION/appliance.xml       virt-image descriptor
//! NAME-VERSION/partial.ks          partial kickstart (storage, packages, %post)
//! NAME-VERSION/modules/MODULE/...  the Puppet module (a valid modulepath)
//! ```
//!
//! [`build`] makes the bytes, [`verify`] checks a bundle someone handed
//! you, [`install`] puts its module into a modulepath (or
//! [`install_into_environment`], a Puppet server's environment), and
//! [`instantiate`] merges its partial kickstart with a site's, applying
//! the module masterless or from a server ([`Apply`]). Reading is always through
//! `archive`, which extracts only into a fresh directory and refuses
//! anything but plain relative files and directories.

mod apply;
mod archive;
mod build;
pub mod environment;
mod install;
mod instantiate;
pub mod ks;
mod verify;

pub use apply::{Apply, Server, PARAM};
pub use build::{build, write_bundle, Bundle, Listed};
pub use environment::{install_into_environment, server_codedir, EnvInstalled, Target};
pub use install::{install, InstallOutcome, Installed};
pub use instantiate::{holds_password, instantiate, merge, merge_with};
pub use verify::{verify, verify_with, Check, Outcome, Tools, VerifyReport};

use crate::Error;
use std::path::{Path, PathBuf};

/// File names inside the bundle's top-level directory.
pub const DESCRIPTOR: &str = "appliance.xml";
pub const KICKSTART: &str = "partial.ks";
pub const README: &str = "README.md";
pub const SUMS: &str = "SHA256SUMS";
pub const MODULES: &str = "modules";

/// The virt-image grammar descriptors are checked against.
pub const VIRT_IMAGE_RNG: &str = include_str!("../../../schemas/virt-image.rng");

/// An executable called `name` in an absolute directory of `PATH`
/// (validators are run by path, never through a shell).
pub fn find_tool(name: &str) -> Option<PathBuf> {
    recorder::tools::find_program(name)
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Is this a gzip stream (a bundle) rather than a plain text file?
pub(crate) fn is_gzip(path: &Path) -> Result<bool, Error> {
    use std::io::Read;
    let mut magic = [0u8; 2];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("opening", path, e))?;
    let n = f
        .read(&mut magic)
        .map_err(|e| Error::io("reading", path, e))?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn the_grammar_is_embedded() {
        assert!(VIRT_IMAGE_RNG.contains("<element name=\"image\""));
    }
}
