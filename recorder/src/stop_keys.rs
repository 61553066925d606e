//! Ctrl-C and Ctrl-\ while a wrapper (`cft-shim`, `cft record`) waits for
//! the command it runs: the terminal signals the whole foreground group,
//! and the keys are for the command. The wrapper must survive them to
//! record how the command ended, and the command must see them exactly as
//! if it had been run directly.
//!
//! A handler that does nothing (not `SIG_IGN`) does both: it is in place
//! before the spawn, so there is no moment a signal can kill the wrapper,
//! and `exec` resets caught signals to their default in the child, so the
//! command starts with the caller's dispositions without a `pre_exec` hook
//! (which would cost the fast `posix_spawn` path). A key the caller had
//! ignored stays ignored, for the wrapper and the command alike.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

const KEYS: [Signal; 2] = [Signal::SIGINT, Signal::SIGQUIT];

extern "C" fn nothing(_: libc::c_int) {}

/// The keys caught until this is dropped, then restored.
pub struct StopKeys {
    old: Vec<(Signal, SigAction)>,
}

impl StopKeys {
    pub fn catch() -> StopKeys {
        let mut old = Vec::new();
        for sig in KEYS {
            let catch = SigAction::new(
                SigHandler::Handler(nothing),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            // SAFETY: the handler does nothing, so it is async-signal-safe.
            if let Ok(prev) = unsafe { sigaction(sig, &catch) } {
                if prev.handler() == SigHandler::SigIgn {
                    // SAFETY: restoring what was there.
                    let _ = unsafe { sigaction(sig, &prev) };
                }
                old.push((sig, prev));
            }
        }
        StopKeys { old }
    }
}

impl Drop for StopKeys {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restoring the disposition that was there before.
            let _ = unsafe { sigaction(*sig, prev) };
        }
    }
}

static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn cancel(_: libc::c_int) {
    CANCELLED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Ctrl-C, SIGTERM or a hang-up while `begin` waits for its daemon: noted
/// (`cancelled`) instead of killing cft and leaving the daemon behind.
pub struct Cancel {
    old: Vec<(Signal, SigAction)>,
}

impl Cancel {
    pub fn catch() -> Cancel {
        CANCELLED.store(false, std::sync::atomic::Ordering::SeqCst);
        let mut old = Vec::new();
        for sig in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            let catch = SigAction::new(
                SigHandler::Handler(cancel),
                SaFlags::SA_RESTART,
                SigSet::empty(),
            );
            // SAFETY: the handler only stores to an atomic, which is
            // async-signal-safe.
            if let Ok(prev) = unsafe { sigaction(sig, &catch) } {
                old.push((sig, prev));
            }
        }
        Cancel { old }
    }

    pub fn cancelled(&self) -> bool {
        CANCELLED.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        for (sig, prev) in &self.old {
            // SAFETY: restoring the disposition that was there before.
            let _ = unsafe { sigaction(*sig, prev) };
        }
    }
}
