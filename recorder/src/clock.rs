//! The one clock: event, intent and session times are nanoseconds since
//! the Unix epoch; and a process's start time, which with its pid names it
//! (a session's daemon, the `cft begin` that made a session).

/// Now, in nanoseconds since the epoch (0 if the clock is before it).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// A time for people and logs: `2026-12-01T20:18:39Z`.
pub fn utc(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .map(|t| {
            t.round(jiff::Unit::Second)
                .map_or_else(|_| t.to_string(), |t| t.to_string())
        })
        .unwrap_or_else(|_| ns.to_string())
}

/// Start time of a process in clock ticks since boot (`/proc/PID/stat`
/// field 22): with the PID it identifies a process even after PID reuse.
pub fn process_start(pid: i32) -> Option<u64> {
    let (state, start) = proc_stat(pid)?;
    (state != 'Z' && state != 'X').then_some(start)
}

fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Is the process with this PID and start time still running?
pub fn is_alive(pid: Option<i32>, start: Option<u64>) -> bool {
    match (pid, start) {
        (Some(pid), Some(start)) => process_start(pid) == Some(start),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_start_identifies_this_process() {
        let me = std::process::id() as i32;
        let start = process_start(me).expect("own stat");
        assert!(is_alive(Some(me), Some(start)));
        assert!(
            !is_alive(Some(me), Some(start + 1)),
            "a recycled PID is not alive"
        );
        assert!(!is_alive(None, None));
    }
}
