//! A pseudo-terminal for tests of what cft shows only on a terminal: run a
//! command with its stderr (or stdout) on the terminal and keep every byte
//! it wrote there. No tool needed, only the kernel's ptys (`/dev/ptmx`).

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Output, Stdio};

/// The two ends of a new pty, both close-on-exec (no other test's child
/// inherits them), 24×80.
fn open() -> (File, OwnedFd) {
    // SAFETY: plain libc calls on descriptors this function owns; the
    // name buffer is large enough and NUL-terminated by ptsname_r.
    unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(
            master >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let master = File::from_raw_fd(master);
        let m = std::os::fd::AsRawFd::as_raw_fd(&master);
        assert_eq!(libc::grantpt(m), 0, "grantpt");
        assert_eq!(libc::unlockpt(m), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(
            libc::ptsname_r(m, name.as_mut_ptr(), name.len()),
            0,
            "ptsname_r"
        );
        let slave = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(
            slave >= 0,
            "open the pty: {}",
            std::io::Error::last_os_error()
        );
        let size = libc::winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        libc::ioctl(slave, libc::TIOCSWINSZ, &size);
        (master, OwnedFd::from_raw_fd(slave))
    }
}

/// Run `cmd` with its stderr on a terminal (an `xterm`: with no `TERM`, a
/// terminal is taken for a dumb one, and nothing is drawn on it) and its
/// stdout piped; returns its output (stderr empty) and what it wrote on
/// the terminal.
pub fn stderr_on_terminal(mut cmd: Command) -> (Output, Vec<u8>) {
    let (mut master, slave) = open();
    let child = cmd
        .env("TERM", "xterm")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn");
    // The child holds the only slave now: its exit ends the reads (EIO).
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        seen
    });
    let out = child.wait_with_output().expect("wait");
    (out, reader.join().expect("pty reader"))
}
