//! A finished session's change set: the one value that flows from
//! recording (or, later, extraction and import) to the generators.

use super::{
    Attribution, Change, ContentHash, EntryWithContent, Notice, Session, SystemChanges,
    SystemSnapshot, Why,
};
use crate::Error;

/// Everything a generator needs to know about a finished session.
#[derive(Clone, Debug)]
pub struct ChangeSet {
    pub session: Session,
    /// Sorted by path bytes.
    pub changes: Vec<Change>,
    pub notices: Vec<Notice>,
    /// Packages, accounts and services (empty for sessions recorded
    /// without probes).
    pub system: SystemChanges,
    /// The commands run during the session and what each one changed
    /// (empty without the shim or a recording shell).
    pub why: Why,
}

/// Where captured file contents come from (the store, or a map in tests).
pub trait BlobSource {
    /// The content with this hash, `None` if it was never captured.
    fn blob(&self, hash: &ContentHash) -> Result<Option<Vec<u8>>, Error>;

    /// Write the content with this hash to `out`, streamed where the
    /// source can (a large content is never held whole); `false` if it
    /// was never captured. An error may come after part of it was written.
    fn copy_blob(&self, hash: &ContentHash, out: &mut dyn std::io::Write) -> Result<bool, Error> {
        match self.blob(hash)? {
            Some(data) => out.write_all(&data).map(|()| true).map_err(Error::WriteOut),
            None => Ok(false),
        }
    }
}

impl BlobSource for std::collections::HashMap<ContentHash, Vec<u8>> {
    fn blob(&self, hash: &ContentHash) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.get(hash).cloned())
    }
}

/// Everything one finish stores, in one transaction.
pub struct Finished {
    pub session: i64,
    pub changes: Vec<Change>,
    pub finals: Vec<EntryWithContent>,
    pub notices: Vec<Notice>,
    /// The system changes and what the probes saw at finish (none when the
    /// session had no probe at begin, or probing failed now).
    pub system: Option<(SystemChanges, SystemSnapshot)>,
    pub attributions: Vec<Attribution>,
}
