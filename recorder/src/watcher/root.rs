//! Where a watched root stands in the target system: there, not there yet
//! (and below which existing ancestor to wait for it), or behind something
//! cft will not go through. The one place the watcher looks at a root's
//! components; the dispatcher decides what each answer means.

use crate::model::join;
use crate::target::Target;

/// Where a watched root stands in the target system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootState {
    /// A directory, reached without following a link.
    Present,
    /// Not there yet; `ancestor` is the nearest directory that is.
    Pending { ancestor: Vec<u8> },
    /// `at` (the root itself or one of its parents) is not a directory:
    /// a symlink, which is never followed, or something else.
    Blocked { at: Vec<u8>, what: &'static str },
}

/// Look at each component of `root` in turn, beneath the root and
/// following no link (`crate::beneath`), so a root is never reached
/// through one.
pub fn root_state(target: &Target, root: &[u8]) -> RootState {
    let beneath = match target.root() {
        Ok(r) => r,
        Err(_) => {
            return RootState::Blocked {
                at: b"/".to_vec(),
                what: "unreadable",
            }
        }
    };
    let mut cur = b"/".to_vec();
    for comp in root.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        let next = join(&cur, comp);
        match beneath.lstat(&next) {
            Ok(md) if md.is_dir() => cur = next,
            Ok(md) => {
                let what = if md.is_symlink() {
                    "a symbolic link, which cft never follows"
                } else {
                    "not a directory"
                };
                return RootState::Blocked { at: next, what };
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return RootState::Pending { ancestor: cur }
            }
            Err(_) => {
                return RootState::Blocked {
                    at: next,
                    what: "unreadable",
                }
            }
        }
    }
    RootState::Present
}
