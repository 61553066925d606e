//! The package manager's own account of what it did and when: dpkg's log
//! (`/var/log/dpkg.log`, with its rotated and gzipped predecessors) and
//! apt's history (`/var/log/apt/history.log*`). Extraction reads them for
//! the runs of the package manager (a file made during one is a package's)
//! and for what was installed, upgraded, removed and purged after the
//! system's own installation.
//!
//! Both logs write local time without a zone; it is read in the target's
//! own `/etc/localtime`.

use crate::probe::fs::read_target;
use crate::target::Target;
use std::io::Read;

/// A package operation dpkg logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    pub time_ns: i64,
    pub verb: Verb,
    /// Without the `:arch` qualifier.
    pub package: String,
    /// The version before (`<none>` for an install).
    pub from: Option<String>,
    /// The version after (`<none>` for a removal).
    pub to: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Install,
    Upgrade,
    Remove,
    Purge,
}

/// One apt run (a `history.log` block).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AptRun {
    pub start_ns: i64,
    pub end_ns: i64,
    pub commandline: String,
    /// Installed by name (not `automatic`).
    pub asked: Vec<String>,
}

/// What the logs say, and which files they were read from.
#[derive(Clone, Debug, Default)]
pub struct Logs {
    pub actions: Vec<Action>,
    /// Runs of the package manager, (start, end) in ns, merged, sorted.
    pub windows: Vec<(i64, i64)>,
    pub apt: Vec<AptRun>,
    /// The log files read, oldest first (target paths).
    pub files: Vec<String>,
}

impl Logs {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Read every dpkg and apt log of the target, rotated ones included.
pub fn read(target: &Target) -> Logs {
    let tz = target_zone(target);
    let mut logs = Logs::default();
    let mut runs: Vec<(i64, i64)> = Vec::new();
    for (path, text) in rotated(target, "/var/log/dpkg.log") {
        logs.files.push(path);
        let mut current: Option<(i64, i64)> = None;
        for line in text.lines() {
            let Some((t, rest)) = stamp(line, &tz) else {
                continue;
            };
            if rest.starts_with("startup ") {
                runs.extend(current.take());
                current = Some((t, t));
            } else if let Some(c) = current.as_mut() {
                c.1 = t;
            } else {
                current = Some((t, t));
            }
            if let Some(a) = action(t, rest) {
                logs.actions.push(a);
            }
        }
        runs.extend(current);
    }
    for (path, text) in rotated(target, "/var/log/apt/history.log") {
        logs.files.push(path);
        logs.apt.extend(history(&text, &tz));
    }
    for a in &logs.apt {
        runs.push((a.start_ns, a.end_ns.max(a.start_ns)));
    }
    // Logs have whole seconds: a file written during the last second of a
    // run has an mtime up to a second after its stamp.
    runs.sort_unstable();
    for (a, b) in runs {
        let b = b + 1_000_000_000;
        match logs.windows.last_mut() {
            Some((_, end)) if a <= *end => *end = (*end).max(b),
            _ => logs.windows.push((a, b)),
        }
    }
    logs.actions.sort_by_key(|a| a.time_ns);
    logs
}

/// `BASE`, `BASE.1`, `BASE.2.gz`..., oldest first, as (path, text).
fn rotated(target: &Target, base: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for n in (1..=99).rev() {
        for name in [format!("{base}.{n}.gz"), format!("{base}.{n}")] {
            if let Some(data) = read_target(target, name.as_bytes()) {
                let text = if name.ends_with(".gz") {
                    let mut s = Vec::new();
                    let mut d = flate2::read::GzDecoder::new(&data[..]);
                    if d.read_to_end(&mut s).is_err() {
                        continue;
                    }
                    s
                } else {
                    data
                };
                out.push((name, String::from_utf8_lossy(&text).into_owned()));
            }
        }
    }
    if let Some(data) = read_target(target, base.as_bytes()) {
        out.push((
            base.to_string(),
            String::from_utf8_lossy(&data).into_owned(),
        ));
    }
    out
}

/// The target's time zone (its `/etc/localtime`), UTC if unreadable.
fn target_zone(target: &Target) -> jiff::tz::TimeZone {
    read_target(target, b"/etc/localtime")
        .or_else(|| {
            // Usually a link into /usr/share/zoneinfo: read what it names.
            let link = std::fs::read_link(target.host_path(b"/etc/localtime")).ok()?;
            let p = link.to_string_lossy().into_owned();
            let p = p.trim_start_matches("..");
            read_target(target, p.as_bytes())
        })
        .and_then(|d| jiff::tz::TimeZone::tzif("localtime", &d).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// `YYYY-MM-DD HH:MM:SS rest`: the time in ns, and the rest.
fn stamp<'a>(line: &'a str, tz: &jiff::tz::TimeZone) -> Option<(i64, &'a str)> {
    let (when, rest) = (line.get(..19)?, line.get(20..)?);
    Some((local_ns(when, tz)?, rest))
}

fn local_ns(when: &str, tz: &jiff::tz::TimeZone) -> Option<i64> {
    let dt: jiff::civil::DateTime = when.trim().replacen(' ', "T", 1).parse().ok()?;
    let z = tz.to_ambiguous_zoned(dt).compatible().ok()?;
    i64::try_from(z.timestamp().as_nanosecond()).ok()
}

/// `install pkg:arch <none> 1.0`, `upgrade pkg:arch 1.0 1.1`, `remove
/// pkg:arch 1.0 <none>`, `purge pkg:arch 1.0 <none>`.
fn action(time_ns: i64, rest: &str) -> Option<Action> {
    let mut w = rest.split_whitespace();
    let verb = match w.next()? {
        "install" => Verb::Install,
        "upgrade" => Verb::Upgrade,
        "remove" => Verb::Remove,
        "purge" => Verb::Purge,
        _ => return None,
    };
    let package = w.next()?.split(':').next()?.to_string();
    let version = |v: Option<&str>| v.filter(|v| *v != "<none>").map(str::to_string);
    Some(Action {
        time_ns,
        verb,
        package,
        from: version(w.next()),
        to: version(w.next()),
    })
}

/// The blocks of a history log.
fn history(text: &str, tz: &jiff::tz::TimeZone) -> Vec<AptRun> {
    let mut out: Vec<AptRun> = Vec::new();
    for line in text.lines() {
        let Some((field, value)) = line.split_once(": ") else {
            continue;
        };
        match field {
            "Start-Date" => out.push(AptRun {
                start_ns: local_ns(&value.replace("  ", " "), tz).unwrap_or(0),
                ..AptRun::default()
            }),
            "End-Date" => {
                if let Some(r) = out.last_mut() {
                    r.end_ns = local_ns(&value.replace("  ", " "), tz).unwrap_or(r.start_ns);
                }
            }
            "Commandline" => {
                if let Some(r) = out.last_mut() {
                    r.commandline = value.to_string();
                }
            }
            "Install" => {
                if let Some(r) = out.last_mut() {
                    r.asked.extend(
                        crate::why::history_entries(value)
                            .into_iter()
                            .filter(|(_, auto)| !auto)
                            .map(|(n, _)| n),
                    );
                }
            }
            _ => {}
        }
    }
    out.retain(|r| r.start_ns > 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_lines_become_actions() {
        let cases = [
            (
                "install nginx:amd64 <none> 1.22",
                Some((Verb::Install, "nginx", None, Some("1.22"))),
            ),
            (
                "upgrade libssl3:amd64 3.0.20 3.0.22",
                Some((Verb::Upgrade, "libssl3", Some("3.0.20"), Some("3.0.22"))),
            ),
            (
                "purge rsync:amd64 3.2 <none>",
                Some((Verb::Purge, "rsync", Some("3.2"), None)),
            ),
            ("status installed nginx:amd64 1.22", None),
            ("startup archives unpack", None),
        ];
        for (line, want) in cases {
            let got = action(7, line);
            let got = got.as_ref().map(|a| {
                (
                    a.verb,
                    a.package.as_str(),
                    a.from.as_deref(),
                    a.to.as_deref(),
                )
            });
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn times_are_local_to_the_target() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(local_ns("1970-01-01 00:01:00", &utc), Some(60_000_000_000));
        let (t, rest) = stamp("2026-12-01 20:18:39 startup archives install", &utc).unwrap();
        assert_eq!(rest, "startup archives install");
        assert_eq!(t % 1_000_000_000, 0);
        assert_eq!(local_ns("garbage", &utc), None);
    }

    #[test]
    fn apt_history_blocks() {
        let text = "\nStart-Date: 2026-12-01  21:00:00\nCommandline: apt-get install -y nginx\n\
Install: nginx:amd64 (1.22), nginx-common:amd64 (1.22, automatic)\nEnd-Date: 2026-12-01  21:00:09\n";
        let runs = history(text, &jiff::tz::TimeZone::UTC);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].asked, vec!["nginx".to_string()]);
        assert_eq!(runs[0].end_ns - runs[0].start_ns, 9_000_000_000);
        assert_eq!(runs[0].commandline, "apt-get install -y nginx");
    }
}
