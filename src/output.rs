//! What `cft` prints: summaries for people, one line per fact, paths in
//! display form (non-UTF-8 bytes as `\xNN`).

use anyhow::Result;
use recorder::model::SystemChanges;
use recorder::model::{display_path, NoticeKind, SessionState};
use recorder::session::{BeginReport, FinishReport, Status};
use recorder::Store;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Write an `-o FILE` output: replaced whole, never written through a
/// link planted at its name (`recorder::outfile`), with exactly `mode`.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use anyhow::Context;
    recorder::outfile::replace(path, bytes, mode)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn when(ns: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn age(ns: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(ns.max(0) as u64);
    let secs = SystemTime::now()
        .duration_since(t)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

pub fn roots(watched: &[Vec<u8>]) -> String {
    watched
        .iter()
        .map(|w| display_path(w))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Colour for a stream that is (or is not) a terminal: only a terminal,
/// and not when `NO_COLOR` is set to anything (no-color.org).
pub fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Write all of `bytes` to stdout at once.
pub fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// `then`: also say what to do next (not when cft does it itself, as
/// `cft record` does).
pub fn print_begin(r: &BeginReport, db: &Path, then: bool) {
    let s = &r.session;
    println!("recording session '{}'", s.name);
    if s.root != b"/" {
        println!(
            "  root:     {} (paths are recorded as seen inside it)",
            display_path(&s.root)
        );
    }
    let present: Vec<Vec<u8>> = s
        .watched
        .iter()
        .filter(|w| !r.ready.pending.contains(&display_path(w)))
        .cloned()
        .collect();
    println!("  watching: {}", roots(&present));
    if !r.ready.pending.is_empty() {
        println!(
            "  later:    {} (not there yet: recorded if they appear)",
            r.ready.pending.join(", ")
        );
    }
    if r.ready.entries > 0 {
        println!(
            "  baseline: {} entries, {} directories watched",
            r.ready.entries, r.ready.watches
        );
    } else {
        println!("  resumed:  {} directories watched again", r.ready.watches);
        if r.ready.gap > 0 {
            println!(
                "  gap:      {} paths changed since the session finished; they will be recorded",
                r.ready.gap
            );
        }
    }
    if r.ready.notices > 0 {
        println!(
            "  note:     {} entries could not be read (listed by `cft finish`)",
            r.ready.notices
        );
    }
    if r.ready.watch_limit {
        println!(
            "  warning:  the inotify watch limit was reached; raise fs.inotify.max_user_watches. \
             This session will be reconciled by a full rescan at finish."
        );
    }
    println!(
        "  data:     {} (daemon log {})",
        db.display(),
        r.log.display()
    );
    if then {
        println!("finish with `cft finish {}`", s.name);
    }
}

pub fn print_status(st: &[Status], db: &Path) {
    if st.is_empty() {
        println!("no session is recording (in {})", db.display());
        return;
    }
    for s in st {
        let x = &s.session;
        println!(
            "session '{}': recording for {} (since {})",
            x.name,
            age(x.created_at_ns),
            when(x.created_at_ns)
        );
        if let Some(d) = &x.description {
            println!("  description: {d}");
        }
        println!("  root:        {}", display_path(&x.root));
        println!("  watching:    {}", roots(&x.watched));
        println!(
            "  activity:    {} events on {} paths so far; baseline of {} entries",
            s.activity.events, s.activity.paths, s.activity.baseline_entries
        );
        match (s.daemon_alive, x.daemon_pid) {
            (true, Some(pid)) => println!("  daemon:      running (pid {pid})"),
            _ => {
                println!("  daemon:      NOT RUNNING: `cft finish` will rescan every watched root")
            }
        }
        match &x.rescan_reason {
            Some(r) => println!("  rescan:      pending at finish ({r})"),
            None if !s.daemon_alive => {
                println!("  rescan:      pending at finish (daemon not running)")
            }
            None => println!("  rescan:      none pending"),
        }
    }
}

pub fn print_finish(r: &FinishReport, then: bool) {
    let total: usize = r.counts.iter().map(|(_, n)| n).sum();
    println!("finished session '{}': {total} changes", r.session.name);
    for (k, n) in &r.counts {
        println!("  {:<13} {n}", k.as_str());
    }
    print!("{}", system(&r.system));
    match &r.full_rescan {
        Some(reason) => println!("  reconciled by a full rescan of every watched root: {reason}"),
        None => println!(
            "  reconciled {} paths the watcher or a stat of the baseline saw change",
            r.examined
        ),
    }
    print!("{}", notices(&r.notices));
    if r.intents > 0 {
        println!(
            "  commands     {} recorded; `cft show {}` says which change each one made",
            r.intents, r.session.name
        );
    }
    if !r.unexpressed.is_empty() {
        println!(
            "commands that changed nothing cft recorded ({}); replay one in the module with \
             `cft manifest {} --exec ID[:creates=PATH|:unless=CMD]`:",
            r.unexpressed.len(),
            r.session.name
        );
        for i in &r.unexpressed {
            println!("  #{:<5} {}", i.id, short(&i.text()));
        }
    }
    if then {
        println!(
            "write the Puppet module with `cft manifest {} -o DIR`",
            r.session.name
        );
    }
}

/// A command as typed, over several lines when it was (a heredoc, a
/// quoted newline): its first line, then the others each indented by
/// `indent`, every line cut at 100 characters and the whole at
/// `MAX_LINES` lines.
fn as_typed(text: &str, indent: &str) -> (String, String) {
    const MAX_LINES: usize = 20;
    let mut lines = text.lines();
    let first = cut(lines.next().unwrap_or(""));
    let rest: Vec<&str> = lines.collect();
    let mut more = String::new();
    for l in rest.iter().take(MAX_LINES - 1) {
        more.push_str(&format!("{indent}{}\n", cut(l)));
    }
    if rest.len() >= MAX_LINES {
        let left = rest.len() - (MAX_LINES - 1);
        more.push_str(&format!("{indent}… ({left} more lines)\n"));
    }
    (first, more)
}

fn cut(line: &str) -> String {
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line.to_string()
    }
}

/// A command on one line, cut at 100 characters.
fn short(text: &str) -> String {
    let one: String = text
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    if one.chars().count() > 100 {
        format!("{}…", one.chars().take(99).collect::<String>())
    } else {
        one
    }
}

fn status_of(i: &recorder::model::Intent) -> String {
    match (i.exit_code, i.signal, i.end_ns) {
        (_, Some(sig), _) => format!("killed by signal {sig}"),
        (Some(0), _, _) => "ok".into(),
        (Some(c), _, _) => format!("exit {c}"),
        (None, None, None) => "did not end".into(),
        (None, None, Some(_)) => "?".into(),
    }
}

/// Every command, the tools it ran, and what each one changed.
pub fn commands(why: &recorder::model::Why) -> String {
    let mut out = format!("commands ({}):\n", why.intents.len());
    fn walk(
        out: &mut String,
        why: &recorder::model::Why,
        i: &recorder::model::Intent,
        depth: usize,
    ) {
        let pad = "  ".repeat(depth + 1);
        let kind = match i.source {
            recorder::model::IntentSource::Line => "typed",
            recorder::model::IntentSource::Tool => "ran",
        };
        let head = format!("{pad}#{:<5} {kind} ", i.id);
        let (first, more) = as_typed(&i.text(), &" ".repeat(head.chars().count()));
        out.push_str(&format!("{head}{first}  [{}]\n{more}", status_of(i)));
        for a in why.attributions.iter().filter(|a| a.intent == i.id) {
            let name = match a.subject {
                recorder::model::Subject::File => display_path(&a.name),
                _ => String::from_utf8_lossy(&a.name).into_owned(),
            };
            out.push_str(&format!(
                "{pad}       changed {} {name}\n",
                a.subject.as_str()
            ));
        }
        for c in why.intents.iter().filter(|c| c.parent == Some(i.id)) {
            walk(out, why, c, depth + 1);
        }
    }
    for i in why.top_level() {
        walk(&mut out, why, i, 0);
    }
    out
}

/// A kind as a word (`installed`, `created`...): its serde name, lower case.
fn word<T: serde::Serialize>(kind: &T) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_lowercase))
        .unwrap_or_default()
}

/// Packages, accounts and services, one line each.
pub fn system(sys: &SystemChanges) -> String {
    let mut out = String::new();
    for p in &sys.packages {
        let versions = match (&p.before_version, &p.after_version) {
            (Some(b), Some(a)) => format!("{b} -> {a}"),
            (None, Some(a)) => a.clone(),
            (Some(b), None) => b.clone(),
            _ => String::new(),
        };
        let how = if p.explicit {
            "asked for"
        } else {
            "dependency"
        };
        out.push_str(&format!(
            "  package      {} {} {versions} ({how})\n",
            word(&p.kind),
            p.name
        ));
    }
    for g in &sys.groups {
        let by = g
            .by_package
            .as_deref()
            .map(|p| format!(" (by package {p})"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  group        {} {}{by}\n",
            word(&g.kind),
            g.name
        ));
    }
    for u in &sys.users {
        let by = u
            .by_package
            .as_deref()
            .map(|p| format!(" (by package {p})"))
            .unwrap_or_default();
        let pw = if u.password_changed {
            ", password set"
        } else {
            ""
        };
        out.push_str(&format!(
            "  user         {} {}{pw}{by}\n",
            word(&u.kind),
            u.name
        ));
    }
    for s in &sys.services {
        let what: String = match s.enable {
            Some(recorder::model::Enable::True) => "enable true".into(),
            Some(recorder::model::Enable::False) => "enable false".into(),
            Some(recorder::model::Enable::Mask) => "mask".into(),
            None => "restart on config change".into(),
        };
        out.push_str(&format!("  service      {} {what}\n", s.unit));
    }
    out
}

/// What could not be captured or was withheld (nothing when all was).
pub fn notices(notices: &[recorder::model::Notice]) -> String {
    let shown: Vec<_> = notices
        .iter()
        .filter(|n| n.kind != NoticeKind::Rescan)
        .collect();
    if shown.is_empty() {
        return String::new();
    }
    let mut out = format!("could not capture, or withheld ({}):\n", shown.len());
    for n in shown {
        let p = n.path.as_deref().map(display_path).unwrap_or_default();
        out.push_str(&format!("  {:<11} {p}: {}\n", n.kind.as_str(), n.message));
    }
    out
}

pub fn print_list(store: &Store) -> Result<()> {
    let sessions = store.sessions()?;
    if sessions.is_empty() {
        println!("no sessions");
    }
    for s in sessions {
        let state = match s.state {
            SessionState::Recording => "recording".to_string(),
            SessionState::Finished => format!(
                "finished {}",
                s.finished_at_ns.map(when).unwrap_or_default()
            ),
        };
        let changes = store.changed_paths(s.id)?.len();
        println!(
            "{:<20} {:<32} {:>6} changes  began {}  {}",
            s.name,
            state,
            changes,
            when(s.created_at_ns),
            s.description.unwrap_or_default()
        );
    }
    Ok(())
}

pub fn print_manifest(m: &manifest_gen::Module, opts: &manifest_gen::ModuleOptions, out: &Path) {
    println!(
        "wrote module '{}' to {}: {} resources, {} files",
        opts.module_name,
        out.display(),
        m.report.resources,
        m.files.len()
    );
    print_module_report(&m.report);
}

/// What a generated module needs from the user and could not express.
pub fn print_module_report(r: &manifest_gen::Report) {
    for p in &r.parameters {
        println!(
            "  parameter ${} ({}) must be supplied: {}: {}",
            p.name, p.puppet_type, p.path, p.why
        );
    }
    for p in &r.site_parameters {
        let files: Vec<String> = p
            .paths
            .iter()
            .zip(p.lines.iter().chain(std::iter::repeat(&Vec::new())))
            .map(|(path, lines)| {
                let list: Vec<String> = lines.iter().map(usize::to_string).collect();
                match lines.len() {
                    0 => path.clone(),
                    1 => format!("{path} (1 occurrence, line {})", list.join("")),
                    n => format!("{path} ({n} occurrences, lines {})", list.join(", ")),
                }
            })
            .collect();
        println!(
            "  site parameter ${} (default '{}'): {}",
            p.name,
            p.default,
            files.join(", ")
        );
    }
    for s in &r.incomplete {
        println!("  partly expressed: {}: {}", s.path, s.reason);
    }
    for s in &r.skipped {
        println!("  not expressed:    {}: {}", s.path, s.reason);
    }
}

/// One line: the bytes `cft gc` (or `cft erase`) gave back, and what it
/// removed.
pub fn gc(r: &recorder::store::GcReport) -> String {
    let mut line = format!(
        "gave back {} (store {} -> {})",
        bytes(r.given_back()),
        bytes(r.bytes_before),
        bytes(r.bytes_after)
    );
    if r.packs_removed > 0 || r.blobs_removed > 0 {
        line += &format!(
            "; removed {} unused pack(s), {} unused content(s)",
            r.packs_removed, r.blobs_removed
        );
    }
    if !r.wal_truncated {
        line += "; another cft holds the database open, so its log stays until the next `cft gc`";
    }
    line
}

fn bytes(n: u64) -> String {
    match n {
        n if n >= 10 << 20 => format!("{} MB", n >> 20),
        n if n >= 10 << 10 => format!("{} KB", n >> 10),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_keep_their_lines() {
        let cases: &[(&str, &str, &str, &str)] = &[
            ("one line", "echo a; echo b", "echo a; echo b", ""),
            (
                "a heredoc",
                "cat > /etc/x <<EOF\nline1\nline2\nEOF",
                "cat > /etc/x <<EOF",
                "  line1\n  line2\n  EOF\n",
            ),
        ];
        for (name, text, first, more) in cases {
            assert_eq!(
                as_typed(text, "  "),
                (first.to_string(), more.to_string()),
                "{name}"
            );
        }
        let long: Vec<String> = (0..30).map(|n| n.to_string()).collect();
        let (first, more) = as_typed(&long.join("\n"), "");
        assert_eq!(first, "0");
        assert_eq!(more.lines().count(), 20);
        assert!(more.ends_with("… (10 more lines)\n"), "{more}");
    }
}
