//! What the tests read from cft's own store, and the binary under test.
//! Kept here, not in `testkit`, which links no cft crate.

use testkit::cli::Env;

/// The `cft` binary under test: the one `CFT_TEST_BIN` names at build time,
/// to run this suite against another build (an older commit's, say; its
/// `cft-shim` is the one beside it), else this package's own.
pub const CFT: &str = match option_env!("CFT_TEST_BIN") {
    Some(bin) => bin,
    None => env!("CARGO_BIN_EXE_cft"),
};

/// An [`Env`]'s sessions, as the store holds them.
pub trait Stored {
    fn store(&self) -> recorder::Store;

    /// The stored change set as (kind, path) pairs.
    fn changes(&self, name: &str) -> Vec<(String, Vec<u8>)> {
        self.change_set(name)
            .changes
            .into_iter()
            .map(|c| (c.kind.as_str().to_string(), c.path))
            .collect()
    }

    fn change_set(&self, name: &str) -> recorder::model::ChangeSet {
        self.store()
            .change_set(name)
            .unwrap_or_else(|e| panic!("change set of {name}: {e}"))
    }

    fn daemon_pid(&self, name: &str) -> i32 {
        self.store()
            .session(name)
            .unwrap_or_else(|e| panic!("session {name}: {e}"))
            .daemon_pid
            .expect("daemon pid recorded")
    }
}

impl Stored for Env {
    fn store(&self) -> recorder::Store {
        recorder::Store::open_existing(&self.db).expect("open store")
    }
}
