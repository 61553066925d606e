//! The session's timeline as picture geometry: one row per recorded
//! command (a bar from its start to its end), the changes attributed to it
//! as marks beneath the bar at the time the watcher last saw them, a strip
//! of the watcher's activity, and a row for file changes no command
//! claimed. Numbers and plain strings only: the template draws the SVG and
//! escapes every string, so nothing recorded is ever markup.

use recorder::model::{display_path, ChangeSet, Event, Intent, Subject};
use serde::Serialize;
use std::collections::BTreeMap;

/// The drawing's width in user units (the SVG scales to the page).
const WIDTH: f64 = 1000.0;
/// Where the plot starts: the labels sit left of it.
const PLOT_X: f64 = 330.0;
const PLOT_W: f64 = WIDTH - PLOT_X - 10.0;
const TOP: f64 = 58.0;
const ROW_H: f64 = 34.0;
/// Rows drawn at most; the rest are counted.
const MAX_ROWS: usize = 300;
/// Marks drawn per row at most; the rest are counted in the row's title.
const MAX_MARKS: usize = 400;
/// Columns of the activity strip.
const BUCKETS: usize = 100;
/// Characters of a command shown as its label.
const LABEL_CHARS: usize = 48;
/// As `why`: an event a little after a command's recorded end is its own.
const SLACK_NS: i64 = 300_000_000;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Timeline {
    pub width: f64,
    pub height: f64,
    pub plot_x: f64,
    pub plot_w: f64,
    pub axis_y: f64,
    pub ticks: Vec<Tick>,
    /// The watcher's events, bucketed over time.
    pub activity: Vec<Bar>,
    pub activity_y: f64,
    pub rows: Vec<Row>,
    /// Commands not drawn (past `MAX_ROWS`).
    pub more: usize,
    /// When the picture starts and ends (UTC).
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Tick {
    pub x: f64,
    pub label: String,
    /// `text-anchor`: the last label ends at the edge.
    pub anchor: &'static str,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub title: String,
}

/// One command (or the unattributed changes, with no bar).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Row {
    /// The intent id; `None` for the unattributed row.
    pub id: Option<i64>,
    pub y: f64,
    pub label: String,
    pub title: String,
    pub bar: Option<Bar>,
    /// `ok`, `failed` or `running` (did not end).
    pub status: &'static str,
    /// Nesting depth (a tool run by a typed line is 1).
    pub depth: usize,
    pub label_x: f64,
    pub marks: Vec<Mark>,
    /// How many changes the command made (marks drawn or not).
    pub changes: usize,
}

/// A change beneath its command's bar.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Mark {
    pub x: f64,
    pub y: f64,
    /// `file`, `package`, `user`, `group` or `service`.
    pub subject: &'static str,
    pub title: String,
}

/// Lay out the timeline of a session.
pub(crate) fn build(cs: &ChangeSet, events: &[Event]) -> Timeline {
    let why = &cs.why;
    let mut seen: BTreeMap<&[u8], Vec<i64>> = BTreeMap::new();
    for e in events {
        for p in [&e.path, &e.path_to].into_iter().flatten() {
            seen.entry(p.as_slice()).or_default().push(e.time_ns);
        }
    }
    for times in seen.values_mut() {
        times.sort_unstable();
    }

    // The span: the session, and whatever was recorded outside it.
    let s = &cs.session;
    let mut t0 = s.created_at_ns;
    let mut t1 = s.finished_at_ns.unwrap_or(s.created_at_ns);
    for i in &why.intents {
        t0 = t0.min(i.start_ns);
        t1 = t1.max(i.end_ns.unwrap_or(i.start_ns));
    }
    for e in events {
        t0 = t0.min(e.time_ns);
        t1 = t1.max(e.time_ns);
    }
    let span = (t1 - t0).max(1);
    let x_of = |t: i64| PLOT_X + PLOT_W * ((t - t0) as f64 / span as f64);

    let axis_y = TOP - 24.0;
    let ticks = (0..=4)
        .map(|k| {
            let t = t0 + span / 4 * k;
            Tick {
                x: round(x_of(t)),
                label: format!("+{}", duration(t - t0)),
                anchor: if k == 4 { "end" } else { "middle" },
            }
        })
        .collect();

    let activity_y = TOP - 16.0;
    let activity = activity(events, t0, span, activity_y);

    let mut rows = Vec::new();
    let mut y = TOP;
    let drawn: Vec<&Intent> = why.intents.iter().take(MAX_ROWS).collect();
    for i in &drawn {
        let end = i.end_ns.unwrap_or(t1);
        let (x, x_end) = (x_of(i.start_ns), x_of(end));
        let status = match (i.end_ns, i.succeeded()) {
            (None, _) => "running",
            (Some(_), true) => "ok",
            (Some(_), false) => "failed",
        };
        let depth = depth(why, i);
        let text = i.text();
        let attributions = why.attributions.iter().filter(|a| a.intent == i.id);
        let mut marks = Vec::new();
        let mut changes = 0;
        for a in attributions {
            changes += 1;
            if marks.len() >= MAX_MARKS {
                continue;
            }
            let t = match a.subject {
                Subject::File => {
                    last_seen(&seen, &a.name, i.start_ns - SLACK_NS, end + SLACK_NS).unwrap_or(end)
                }
                _ => i.start_ns + (end - i.start_ns) / 2,
            };
            marks.push(Mark {
                x: round(x_of(t)),
                y: y + 20.0,
                subject: a.subject.as_str(),
                title: format!("{} {}", a.subject.as_str(), display_path(&a.name)),
            });
        }
        let title = format!(
            "#{} {text}\n{} \u{2192} {} ({}), {}; {changes} change(s)",
            i.id,
            recorder::clock::utc(i.start_ns),
            i.end_ns
                .map(recorder::clock::utc)
                .unwrap_or_else(|| "no recorded end".into()),
            duration(end - i.start_ns),
            match (i.exit_code, i.signal) {
                (_, Some(sig)) => format!("killed by signal {sig}"),
                (Some(c), _) => format!("exit {c}"),
                _ => "did not end".into(),
            },
        );
        rows.push(Row {
            id: Some(i.id),
            y,
            label: label(&text),
            title: title.clone(),
            bar: Some(Bar {
                x: round(x),
                y,
                w: round((x_end - x).max(2.0)),
                h: 14.0,
                title,
            }),
            status,
            depth,
            label_x: 4.0 + 12.0 * depth.min(4) as f64,
            marks,
            changes,
        });
        y += ROW_H;
    }

    // File changes no command claimed, where the watcher saw them.
    let mut marks = Vec::new();
    let mut changes = 0;
    for c in &cs.changes {
        if why.of(Subject::File, &c.path).is_some() {
            continue;
        }
        let Some(t) = seen.get(c.path.as_slice()).and_then(|t| t.last()) else {
            continue;
        };
        changes += 1;
        if marks.len() < MAX_MARKS {
            marks.push(Mark {
                x: round(x_of(*t)),
                y: y + 20.0,
                subject: "file",
                title: format!("file {} ({})", display_path(&c.path), c.kind.as_str()),
            });
        }
    }
    if changes > 0 {
        let title = format!("{changes} file change(s) not attributed to a recorded command");
        rows.push(Row {
            id: None,
            y,
            label: "(no recorded command)".into(),
            title,
            bar: None,
            status: "none",
            depth: 0,
            label_x: 4.0,
            marks,
            changes,
        });
        y += ROW_H;
    }

    Timeline {
        width: WIDTH,
        height: y + 6.0,
        plot_x: PLOT_X,
        plot_w: PLOT_W,
        axis_y,
        ticks,
        activity,
        activity_y,
        rows,
        more: why.intents.len().saturating_sub(MAX_ROWS),
        start: recorder::clock::utc(t0),
        end: recorder::clock::utc(t1),
    }
}

/// The watcher's events (not its own start and stop) counted per column.
fn activity(events: &[Event], t0: i64, span: i64, y: f64) -> Vec<Bar> {
    use recorder::model::EventKind;
    let mut counts = [0usize; BUCKETS];
    for e in events {
        if matches!(e.kind, EventKind::Started | EventKind::Stopped) {
            continue;
        }
        let k = ((e.time_ns - t0) as i128 * BUCKETS as i128 / (span as i128 + 1)) as usize;
        counts[k.min(BUCKETS - 1)] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let w = PLOT_W / BUCKETS as f64;
    counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| {
            let h = (10.0 * *n as f64 / max as f64).max(1.0);
            Bar {
                x: round(PLOT_X + w * k as f64),
                y: round(y + 10.0 - h),
                w: round(w.max(1.0)),
                h: round(h),
                title: format!("{n} watcher event(s)"),
            }
        })
        .collect()
}

/// The last time the watcher saw `path` within `[from, to]`, else at all.
fn last_seen(seen: &BTreeMap<&[u8], Vec<i64>>, path: &[u8], from: i64, to: i64) -> Option<i64> {
    let times = seen.get(path)?;
    times
        .iter()
        .rev()
        .find(|t| (from..=to).contains(*t))
        .or(times.last())
        .copied()
}

fn depth(why: &recorder::model::Why, i: &Intent) -> usize {
    let mut d = 0;
    let mut cur = i.parent;
    while let Some(p) = cur.and_then(|p| why.intent(p)) {
        d += 1;
        cur = p.parent;
        if d > 64 {
            break;
        }
    }
    d
}

/// A command shortened to fit beside the plot.
fn label(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > LABEL_CHARS {
        let mut s: String = one_line.chars().take(LABEL_CHARS - 1).collect();
        s.push('\u{2026}');
        s
    } else {
        one_line
    }
}

/// Two decimals are plenty for a picture, and keep the output stable.
fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// `850ms`, `12.5s`, `3m04s`, `1h02m`.
pub(crate) fn duration(ns: i64) -> String {
    let ms = ns.max(0) / 1_000_000;
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1000, (ms % 1000) / 100)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use recorder::model::{
        Attribution, EventKind, EventSource, Facts, IntentSource, Session, SessionState,
        SystemChanges, Why,
    };

    const T0: i64 = 1_700_000_000_000_000_000;
    const S: i64 = 1_000_000_000;

    fn intent(id: i64, parent: Option<i64>, line: &str, start: i64, end: Option<i64>) -> Intent {
        Intent {
            id,
            source: IntentSource::Line,
            parent,
            argv: vec![line.as_bytes().to_vec()],
            cwd: b"/".to_vec(),
            uid: 0,
            pid: 1,
            ppid: 1,
            start_ns: T0 + start * S,
            end_ns: end.map(|e| T0 + e * S),
            exit_code: end.map(|_| 0),
            signal: None,
        }
    }

    fn change_set(why: Why) -> ChangeSet {
        ChangeSet {
            session: Session {
                id: 1,
                name: "t".into(),
                description: None,
                root: b"/".to_vec(),
                watched: vec![],
                state: SessionState::Finished,
                created_at_ns: T0,
                finished_at_ns: Some(T0 + 100 * S),
                daemon_pid: None,
                daemon_start: None,
                rescan_reason: None,
                content_cap: 0,
                ignore_patterns: vec![],
                facts: Facts::default(),
            },
            changes: vec![],
            notices: vec![],
            system: SystemChanges::default(),
            why,
        }
    }

    fn event(at: i64, path: &[u8]) -> Event {
        Event {
            time_ns: T0 + at * S,
            kind: EventKind::Modified,
            path: Some(path.to_vec()),
            path_to: None,
            source: EventSource::Watcher,
        }
    }

    #[test]
    fn bars_span_their_commands_and_marks_sit_at_the_last_event() {
        let why = Why {
            intents: vec![
                intent(1, None, "apt-get install nginx", 0, Some(50)),
                intent(2, Some(1), "dpkg -i x", 10, Some(20)),
                intent(3, None, "vi /etc/x", 75, None),
            ],
            attributions: vec![Attribution {
                subject: Subject::File,
                name: b"/etc/x".to_vec(),
                intent: 3,
            }],
        };
        let cs = change_set(why);
        let events = [event(80, b"/etc/x"), event(90, b"/etc/x")];
        let t = build(&cs, &events);
        assert_eq!(t.rows.len(), 3);
        let bars: Vec<(f64, f64)> = t
            .rows
            .iter()
            .map(|r| r.bar.as_ref().map(|b| (b.x, b.w)).unwrap())
            .collect();
        assert_eq!(bars[0], (PLOT_X, round(PLOT_W * 0.5)));
        assert_eq!(bars[1], (round(PLOT_X + PLOT_W * 0.1), round(PLOT_W * 0.1)));
        // No recorded end: the bar runs to the end of the session.
        assert_eq!(t.rows[2].status, "running");
        assert_eq!(bars[2].0 + bars[2].1, round(PLOT_X + PLOT_W));
        assert_eq!(t.rows[1].depth, 1);
        let m = &t.rows[2].marks;
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].x, round(PLOT_X + PLOT_W * 0.9));
        assert_eq!(m[0].title, "file /etc/x");
        assert_eq!(t.activity.len(), 2);
    }

    #[test]
    fn labels_are_one_short_line() {
        assert_eq!(label("a\nb"), "a b");
        let long = "x".repeat(100);
        assert_eq!(label(&long).chars().count(), LABEL_CHARS);
    }

    #[test]
    fn durations() {
        for (ns, want) in [
            (0, "0ms"),
            (850_000_000, "850ms"),
            (12_500_000_000, "12.5s"),
            (184 * S, "3m04s"),
            (3720 * S, "1h02m"),
            (-5, "0ms"),
        ] {
            assert_eq!(duration(ns), want, "{ns}");
        }
    }
}
