//! The dispatcher's table: each case is a session (roots, pending roots,
//! watched directories), a script of raw events and answers, and the
//! actions it must lead to, written one a line. No kernel: watch
//! descriptors are numbers, and the bed carries out the watch map's own
//! actions (and gives a new directory the next number) the way the reader
//! thread would.

use super::*;
use inotify::EventMask as M;

/// One step of a case.
enum Step {
    /// A raw event: watch descriptor, mask, cookie, name.
    Ev(u32, M, u32, Option<&'static str>),
    /// The kernel has nothing more for now.
    EndOfBatch,
    /// The reader looked at this pending root's components.
    Arm(&'static str, RootState),
    /// The reader read this new directory: names, and directory or not.
    Listed(&'static str, &'static [(&'static str, bool)]),
}

use Step::*;

fn ev(wd: u32, mask: M, name: &'static str) -> Step {
    Ev(wd, mask, 0, Some(name))
}

fn mv(wd: u32, mask: M, cookie: u32, name: &'static str) -> Step {
    Ev(wd, mask, cookie, Some(name))
}

/// An event about the watched directory itself (no name).
fn own(wd: u32, mask: M) -> Step {
    Ev(wd, mask, 0, None)
}

fn pending_at(ancestor: &str) -> RootState {
    RootState::Pending {
        ancestor: ancestor.as_bytes().to_vec(),
    }
}

struct Case {
    name: &'static str,
    roots: &'static [&'static str],
    /// Roots not there at the start (also in `roots`).
    pending: &'static [&'static str],
    /// Watched at the start: watch descriptors 1, 2, ... in this order.
    watched: &'static [&'static str],
    /// Of those, the ones watched for their package locks alone.
    lock_only: &'static [&'static str],
    /// User ignore patterns, after the built-ins.
    ignore: &'static [&'static str],
    steps: Vec<Step>,
    want: &'static [&'static str],
}

impl Default for Case {
    fn default() -> Case {
        Case {
            name: "",
            roots: &["/etc"],
            pending: &[],
            watched: &["/etc"],
            lock_only: &[],
            ignore: &[],
            steps: Vec::new(),
            want: &[],
        }
    }
}

fn show(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// The dispatcher, its watch map, and what came out, one line each.
struct Bed {
    d: Dispatcher,
    map: WatchMap<u32>,
    next_wd: u32,
    lines: Vec<String>,
}

impl Bed {
    fn new(case: &Case) -> Bed {
        let owned =
            |v: &[&str]| -> Vec<Vec<u8>> { v.iter().map(|s| s.as_bytes().to_vec()).collect() };
        let user: Vec<String> = case.ignore.iter().map(|s| s.to_string()).collect();
        let ignore = Ignore::new(&user).expect("ignore rules");
        let mut map = WatchMap::default();
        for (i, dir) in case.watched.iter().enumerate() {
            map.insert(i as u32 + 1, dir.as_bytes());
        }
        for dir in case.lock_only {
            map.mark_lock_only(dir.as_bytes());
        }
        Bed {
            d: Dispatcher::new(ignore, &owned(case.roots), &owned(case.pending)),
            map,
            next_wd: case.watched.len() as u32 + 1,
            lines: Vec::new(),
        }
    }

    /// The kernel hands back the descriptor a directory has already.
    fn watch(&mut self, dir: &[u8]) -> u32 {
        if let Some(wd) = self.map.wd_of(dir) {
            return *wd;
        }
        let wd = self.next_wd;
        self.next_wd += 1;
        self.map.insert(wd, dir);
        wd
    }

    fn step(&mut self, step: &Step) {
        let actions = match step {
            Ev(wd, mask, cookie, name) => {
                let raw = Raw {
                    wd: *wd,
                    mask: *mask,
                    cookie: *cookie,
                    name: name.map(|n| n.as_bytes().to_vec()),
                };
                self.d.event(&self.map, raw)
            }
            EndOfBatch => self.d.end_of_batch(),
            Arm(root, state) => match self.d.arm(root.as_bytes(), state.clone()) {
                Armed::Done(actions) => actions,
                Armed::WatchAncestor(dir) => {
                    let wd = self.watch(&dir);
                    self.lines
                        .push(format!("watch ancestor {} as wd {wd}", show(&dir)));
                    Vec::new()
                }
            },
            Listed(dir, entries) => {
                let entries = entries
                    .iter()
                    .map(|(n, d)| (n.as_bytes().to_vec(), *d))
                    .collect();
                self.d.listed(dir.as_bytes(), entries)
            }
        };
        for action in actions {
            self.carry_out(action);
        }
    }

    /// As the reader does, less the kernel: the map follows, hints pass
    /// the dedup, the rest is written down.
    fn carry_out(&mut self, action: Action<u32>) {
        let line = match action {
            Action::Emit(hint) => {
                if !self.d.admit(&hint) {
                    return;
                }
                let mut line = format!("{} {}", hint.kind.as_str(), show(&hint.path));
                if let Some(to) = &hint.to {
                    line.push_str(&format!(" -> {}", show(to)));
                }
                if hint.source != EventSource::Watcher {
                    line.push_str(&format!(" ({})", hint.source.as_str()));
                }
                line
            }
            Action::WatchTree(dir) => {
                let wd = self.watch(&dir);
                format!("watch+read {} as wd {wd}", show(&dir))
            }
            Action::Arm(root) => format!("arm {}", show(&root)),
            Action::MoveWatches { from, to } => {
                self.map.rename_prefix(&from, &to);
                format!("move watches {} -> {}", show(&from), show(&to))
            }
            Action::DropWatches(dir) => {
                self.map.drop_prefix(&dir);
                format!("drop watches {}", show(&dir))
            }
            Action::Forget(wd) => {
                self.map.forget(&wd);
                format!("forget wd {wd}")
            }
            Action::Rescan {
                event: Some(event),
                reason,
            } => format!("{} + rescan: {reason}", event.as_str()),
            Action::Rescan {
                event: None,
                reason,
            } => format!("rescan: {reason}"),
            Action::Warn(message) => format!("warn: {message}"),
        };
        self.lines.push(line);
    }
}

fn cases() -> Vec<Case> {
    vec![
        // Renames, paired by cookie.
        Case {
            name: "file renamed within a directory",
            steps: vec![mv(1, M::MOVED_FROM, 7, "a.conf"), mv(1, M::MOVED_TO, 7, "b.conf")],
            want: &["renamed /etc/a.conf -> /etc/b.conf"],
            ..Case::default()
        },
        Case {
            name: "file moved between two watched directories",
            watched: &["/etc", "/etc/ssh"],
            steps: vec![mv(1, M::MOVED_FROM, 7, "x"), mv(2, M::MOVED_TO, 7, "x")],
            want: &["renamed /etc/x -> /etc/ssh/x"],
            ..Case::default()
        },
        Case {
            name: "interleaved renames pair by cookie",
            steps: vec![
                mv(1, M::MOVED_FROM, 1, "a"),
                mv(1, M::MOVED_FROM, 2, "b"),
                mv(1, M::MOVED_TO, 2, "d"),
                mv(1, M::MOVED_TO, 1, "c"),
            ],
            want: &["renamed /etc/b -> /etc/d", "renamed /etc/a -> /etc/c"],
            ..Case::default()
        },
        Case {
            name: "file moved in from outside is created",
            steps: vec![mv(1, M::MOVED_TO, 7, "new.conf"), EndOfBatch],
            want: &["created /etc/new.conf"],
            ..Case::default()
        },
        Case {
            name: "directory moved in from outside is watched and read",
            steps: vec![
                mv(1, M::MOVED_TO | M::ISDIR, 7, "d"),
                Listed("/etc/d", &[("f", false)]),
                ev(2, M::CREATE, "g"),
            ],
            want: &[
                "created /etc/d",
                "watch+read /etc/d as wd 2",
                "created /etc/d/f (rescan)",
                "created /etc/d/g",
            ],
            ..Case::default()
        },
        Case {
            name: "file moved out to outside is removed at the end of the batch",
            steps: vec![mv(1, M::MOVED_FROM, 7, "old.conf"), EndOfBatch],
            want: &["removed /etc/old.conf"],
            ..Case::default()
        },
        Case {
            name: "directory moved out drops its watches and below",
            watched: &["/etc", "/etc/d", "/etc/d/e", "/etc/dd"],
            steps: vec![
                mv(1, M::MOVED_FROM | M::ISDIR, 7, "d"),
                EndOfBatch,
                ev(3, M::CREATE, "late"),
                ev(4, M::CREATE, "kept"),
            ],
            want: &["drop watches /etc/d", "removed /etc/d", "created /etc/dd/kept"],
            ..Case::default()
        },
        Case {
            name: "the other half in a later batch is a removal and a creation",
            steps: vec![
                mv(1, M::MOVED_FROM, 7, "a"),
                EndOfBatch,
                mv(1, M::MOVED_TO, 7, "b"),
            ],
            want: &["removed /etc/a", "created /etc/b"],
            ..Case::default()
        },
        Case {
            name: "watched directory moved within the tree: its watches follow the inode",
            watched: &["/etc", "/etc/d", "/etc/d/e"],
            steps: vec![
                mv(1, M::MOVED_FROM | M::ISDIR, 7, "d"),
                mv(1, M::MOVED_TO | M::ISDIR, 7, "z"),
                own(2, M::MOVE_SELF),
                ev(3, M::CREATE, "f"),
            ],
            want: &[
                "move watches /etc/d -> /etc/z",
                "renamed /etc/d -> /etc/z",
                "created /etc/z/e/f",
            ],
            ..Case::default()
        },
        Case {
            name: "unwatched directory renamed from an ignored name is watched and read",
            steps: vec![
                mv(1, M::MOVED_FROM | M::ISDIR, 7, "x.dpkg-new"),
                mv(1, M::MOVED_TO | M::ISDIR, 7, "x"),
            ],
            want: &["renamed /etc/x.dpkg-new -> /etc/x", "watch+read /etc/x as wd 2"],
            ..Case::default()
        },
        // The ignore rules.
        Case {
            name: "rename from an ignored name to a kept one is recorded",
            steps: vec![
                ev(1, M::CREATE, "foo.conf.dpkg-new"),
                ev(1, M::CLOSE_WRITE, "foo.conf.dpkg-new"),
                mv(1, M::MOVED_FROM, 7, "foo.conf.dpkg-new"),
                mv(1, M::MOVED_TO, 7, "foo.conf"),
            ],
            want: &["renamed /etc/foo.conf.dpkg-new -> /etc/foo.conf"],
            ..Case::default()
        },
        Case {
            name: "rename between two ignored names records nothing",
            steps: vec![
                mv(1, M::MOVED_FROM, 7, "a.dpkg-tmp"),
                mv(1, M::MOVED_TO, 7, "a.dpkg-new"),
            ],
            want: &[],
            ..Case::default()
        },
        Case {
            name: "rename from a kept name to an ignored one is recorded",
            steps: vec![mv(1, M::MOVED_FROM, 7, "hosts"), mv(1, M::MOVED_TO, 7, "hosts~")],
            want: &["renamed /etc/hosts -> /etc/hosts~"],
            ..Case::default()
        },
        Case {
            name: "ignored names and user patterns record nothing",
            ignore: &["*.log"],
            steps: vec![
                ev(1, M::CREATE, ".hosts.swp"),
                ev(1, M::MODIFY, "app.log"),
                ev(1, M::CREATE | M::ISDIR, "__pycache__"),
                mv(1, M::MOVED_TO, 7, "passwd.1234"),
                ev(1, M::MODIFY, "hosts"),
            ],
            want: &["modified /etc/hosts"],
            ..Case::default()
        },
        Case {
            name: "a user's negation brings a built-in back",
            ignore: &["!keep.swp"],
            steps: vec![ev(1, M::CREATE, "keep.swp"), ev(1, M::CREATE, "x.swp")],
            want: &["created /etc/keep.swp"],
            ..Case::default()
        },
        Case {
            name: "new directory: its entries are recorded, then its subdirectories read, the last first",
            steps: vec![
                ev(1, M::CREATE | M::ISDIR, "nginx"),
                Listed(
                    "/etc/nginx",
                    &[
                        ("sites", true),
                        ("nginx.conf", false),
                        ("conf.d", true),
                        (".nginx.conf.swp", false),
                        ("__pycache__", true),
                    ],
                ),
            ],
            want: &[
                "created /etc/nginx",
                "watch+read /etc/nginx as wd 2",
                "created /etc/nginx/conf.d (rescan)",
                "created /etc/nginx/nginx.conf (rescan)",
                "created /etc/nginx/sites (rescan)",
                "watch+read /etc/nginx/sites as wd 3",
                "watch+read /etc/nginx/conf.d as wd 4",
            ],
            ..Case::default()
        },
        // The package managers' locks.
        Case {
            name: "dpkg locks opened and closed",
            roots: &["/etc"],
            watched: &["/etc", "/var/lib/dpkg"],
            lock_only: &["/var/lib/dpkg"],
            steps: vec![
                ev(2, M::OPEN, "lock-frontend"),
                ev(2, M::OPEN, "lock"),
                ev(2, M::CLOSE_WRITE, "lock"),
                ev(2, M::CLOSE_NOWRITE, "lock-frontend"),
            ],
            want: &[
                "lock_opened /var/lib/dpkg/lock-frontend",
                "lock_opened /var/lib/dpkg/lock",
                "lock_closed /var/lib/dpkg/lock",
                "lock_closed /var/lib/dpkg/lock-frontend",
            ],
            ..Case::default()
        },
        Case {
            name: "rpm lock opened and closed",
            watched: &["/etc", "/var/lib/rpm"],
            lock_only: &["/var/lib/rpm"],
            steps: vec![ev(2, M::OPEN, ".rpm.lock"), ev(2, M::CLOSE_WRITE, ".rpm.lock")],
            want: &["lock_opened /var/lib/rpm/.rpm.lock", "lock_closed /var/lib/rpm/.rpm.lock"],
            ..Case::default()
        },
        Case {
            name: "lock-only directory: its other files are ignored",
            watched: &["/etc", "/var/lib/dpkg"],
            lock_only: &["/var/lib/dpkg"],
            steps: vec![
                ev(2, M::OPEN, "status"),
                ev(2, M::CLOSE_WRITE, "status-new"),
                ev(2, M::CREATE, "status-new"),
                ev(2, M::MODIFY, "lock"),
                ev(2, M::OPEN | M::ISDIR, "info"),
            ],
            want: &[],
            ..Case::default()
        },
        Case {
            name: "lock directory watched as part of a tree keeps its tree events",
            roots: &["/var/lib"],
            watched: &["/var/lib", "/var/lib/dpkg"],
            steps: vec![
                ev(2, M::OPEN, "lock"),
                ev(2, M::MODIFY, "lock"),
                ev(2, M::CREATE, "status-new"),
                ev(2, M::OPEN, "status"),
                ev(2, M::CLOSE_WRITE, "lock"),
                mv(2, M::MOVED_FROM, 7, "status-new"),
                mv(2, M::MOVED_TO, 7, "status"),
            ],
            want: &[
                "lock_opened /var/lib/dpkg/lock",
                "created /var/lib/dpkg/status-new",
                "lock_closed /var/lib/dpkg/lock",
                "renamed /var/lib/dpkg/status-new -> /var/lib/dpkg/status",
            ],
            ..Case::default()
        },
        // Roots that do not exist yet.
        Case {
            name: "start arms every pending root",
            roots: &["/etc", "/srv/www", "/var/www"],
            pending: &["/var/www", "/srv/www"],
            steps: vec![],
            want: &["arm /srv/www", "arm /var/www"],
            ..Case::default()
        },
        Case {
            name: "pending root waits below its nearest ancestor, once",
            roots: &["/var/www"],
            pending: &["/var/www"],
            watched: &[],
            steps: vec![Arm("/var/www", pending_at("/var")), Arm("/var/www", pending_at("/var"))],
            want: &["arm /var/www", "watch ancestor /var as wd 1"],
            ..Case::default()
        },
        Case {
            name: "pending root: the next component appears, deeper is armed",
            roots: &["/var/www/html"],
            pending: &["/var/www/html"],
            watched: &[],
            steps: vec![
                Arm("/var/www/html", pending_at("/var")),
                ev(1, M::CREATE | M::ISDIR, "log"),
                ev(1, M::CREATE | M::ISDIR, "www"),
                Arm("/var/www/html", pending_at("/var/www")),
                Arm("/var/www/html", pending_at("/var/www")),
                ev(2, M::CREATE | M::ISDIR, "html"),
            ],
            want: &[
                "arm /var/www/html",
                "watch ancestor /var as wd 1",
                "arm /var/www/html",
                "watch ancestor /var/www as wd 2",
                "arm /var/www/html",
            ],
            ..Case::default()
        },
        Case {
            name: "pending root: the root appears and is watched and read",
            roots: &["/var/www"],
            pending: &["/var/www"],
            watched: &[],
            steps: vec![
                Arm("/var/www", pending_at("/var")),
                ev(1, M::CREATE | M::ISDIR, "www"),
                Arm("/var/www", RootState::Present),
                Listed("/var/www", &[("index.html", false)]),
                ev(2, M::MODIFY, "index.html"),
                ev(2, M::CREATE, "about.html"),
            ],
            want: &[
                "arm /var/www",
                "watch ancestor /var as wd 1",
                "arm /var/www",
                "created /var/www (rescan)",
                "watch+read /var/www as wd 2",
                "created /var/www/index.html (rescan)",
                "created /var/www/about.html",
            ],
            ..Case::default()
        },
        Case {
            name: "pending root: moved in by rename",
            roots: &["/srv/app"],
            pending: &["/srv/app"],
            watched: &[],
            steps: vec![
                Arm("/srv/app", pending_at("/srv")),
                mv(1, M::MOVED_TO | M::ISDIR, 7, "app"),
                EndOfBatch,
            ],
            want: &["arm /srv/app", "watch ancestor /srv as wd 1", "arm /srv/app"],
            ..Case::default()
        },
        Case {
            name: "pending root: appears as a symlink, recorded but not watched",
            roots: &["/var/www"],
            pending: &["/var/www"],
            watched: &[],
            steps: vec![Arm(
                "/var/www",
                RootState::Blocked {
                    at: b"/var/www".to_vec(),
                    what: "a symbolic link, which cft never follows",
                },
            )],
            want: &["arm /var/www", "created /var/www (rescan)"],
            ..Case::default()
        },
        Case {
            name: "pending root: a parent turns out a file, said in the log",
            roots: &["/var/www/html"],
            pending: &["/var/www/html"],
            watched: &[],
            steps: vec![Arm(
                "/var/www/html",
                RootState::Blocked {
                    at: b"/var/www".to_vec(),
                    what: "not a directory",
                },
            )],
            want: &[
                "arm /var/www/html",
                "warn: /var/www/html is not watched: /var/www is not a directory",
            ],
            ..Case::default()
        },
        Case {
            name: "pending root: the ancestor's watch goes, it waits further up",
            roots: &["/var/www/html"],
            pending: &["/var/www/html"],
            watched: &[],
            steps: vec![
                Arm("/var/www/html", pending_at("/var/www")),
                own(1, M::DELETE_SELF),
                own(1, M::IGNORED),
                Arm("/var/www/html", pending_at("/var")),
            ],
            want: &[
                "arm /var/www/html",
                "watch ancestor /var/www as wd 1",
                "forget wd 1",
                "arm /var/www/html",
                "watch ancestor /var as wd 2",
            ],
            ..Case::default()
        },
        Case {
            name: "pending root below a watched tree keeps the tree's events",
            roots: &["/etc", "/etc/nginx/sites"],
            pending: &["/etc/nginx/sites"],
            watched: &["/etc"],
            steps: vec![
                Arm("/etc/nginx/sites", pending_at("/etc")),
                ev(1, M::CREATE | M::ISDIR, "nginx"),
                ev(1, M::MODIFY, "hosts"),
            ],
            want: &[
                "arm /etc/nginx/sites",
                "watch ancestor /etc as wd 1",
                "arm /etc/nginx/sites",
                "created /etc/nginx",
                "watch+read /etc/nginx as wd 2",
                "modified /etc/hosts",
            ],
            ..Case::default()
        },
        Case {
            name: "root deleted: recorded and waited for again",
            roots: &["/srv"],
            watched: &["/srv"],
            steps: vec![
                own(1, M::DELETE_SELF),
                Arm("/srv", pending_at("/")),
                own(1, M::IGNORED),
            ],
            want: &[
                "removed /srv",
                "rescan: the watched directory /srv was deleted during the session",
                "arm /srv",
                "watch ancestor / as wd 2",
                "forget wd 1",
            ],
            ..Case::default()
        },
        Case {
            name: "root moved away (MOVE_SELF): its watches dropped, recorded, a rescan, waited for again",
            roots: &["/srv"],
            watched: &["/srv", "/srv/a"],
            steps: vec![own(1, M::MOVE_SELF), ev(2, M::CREATE, "late")],
            want: &[
                "drop watches /srv",
                "removed /srv",
                "rescan: the watched directory /srv was moved away during the session",
                "arm /srv",
            ],
            ..Case::default()
        },
        Case {
            name: "an unmount below a root asks for one rescan, however many watches it takes",
            roots: &["/srv"],
            watched: &["/srv", "/srv/mnt", "/srv/mnt/a"],
            steps: vec![
                own(2, M::UNMOUNT),
                own(3, M::UNMOUNT),
                own(2, M::IGNORED),
                own(3, M::IGNORED),
            ],
            want: &[
                "forget wd 2",
                "rescan: the watched directory /srv/mnt was unmounted during the session",
                "forget wd 3",
                "forget wd 2",
                "forget wd 3",
            ],
            ..Case::default()
        },
        Case {
            name: "a directory's own MOVE_SELF is told by its parent",
            watched: &["/etc", "/etc/d"],
            steps: vec![own(2, M::MOVE_SELF)],
            want: &[],
            ..Case::default()
        },
        Case {
            name: "a directory deleted is recorded and its watch forgotten",
            watched: &["/etc", "/etc/d"],
            steps: vec![
                ev(1, M::DELETE | M::ISDIR, "d"),
                own(2, M::DELETE_SELF),
                own(2, M::IGNORED),
            ],
            want: &["removed /etc/d", "forget wd 2"],
            ..Case::default()
        },
        // Lost events.
        Case {
            name: "queue overflow asks for a rescan",
            steps: vec![ev(1, M::CREATE, "a"), Ev(0, M::Q_OVERFLOW, 0, None)],
            want: &[
                "created /etc/a",
                "overflow + rescan: the inotify event queue overflowed (fs.inotify.max_queued_events)",
            ],
            ..Case::default()
        },
        Case {
            name: "an event on an unknown watch is dropped",
            steps: vec![ev(9, M::CREATE, "a"), own(9, M::DELETE_SELF)],
            want: &[],
            ..Case::default()
        },
        // One hint per change.
        Case {
            name: "create, modify, close-write is one hint",
            steps: vec![
                ev(1, M::CREATE, "f"),
                ev(1, M::MODIFY, "f"),
                ev(1, M::CLOSE_WRITE, "f"),
            ],
            want: &["created /etc/f"],
            ..Case::default()
        },
        Case {
            name: "a write twice is one hint",
            steps: vec![ev(1, M::MODIFY, "f"), ev(1, M::CLOSE_WRITE, "f")],
            want: &["modified /etc/f"],
            ..Case::default()
        },
        Case {
            name: "another path in between lets the second through",
            steps: vec![
                ev(1, M::MODIFY, "a"),
                ev(1, M::MODIFY, "b"),
                ev(1, M::MODIFY, "a"),
            ],
            want: &["modified /etc/a", "modified /etc/b", "modified /etc/a"],
            ..Case::default()
        },
        Case {
            name: "a chmod after a create is kept, so is a removal",
            steps: vec![
                ev(1, M::CREATE, "f"),
                ev(1, M::ATTRIB, "f"),
                ev(1, M::DELETE, "f"),
                ev(1, M::CREATE, "f"),
            ],
            want: &["created /etc/f", "attrib /etc/f", "removed /etc/f", "created /etc/f"],
            ..Case::default()
        },
        Case {
            name: "a rename between two writes lets the second through",
            steps: vec![
                ev(1, M::MODIFY, "a"),
                mv(1, M::MOVED_FROM, 7, "b"),
                mv(1, M::MOVED_TO, 7, "c"),
                ev(1, M::MODIFY, "a"),
            ],
            want: &["modified /etc/a", "renamed /etc/b -> /etc/c", "modified /etc/a"],
            ..Case::default()
        },
        Case {
            name: "the same creation told twice is one hint, the directory read again",
            steps: vec![
                ev(1, M::CREATE | M::ISDIR, "d"),
                Listed("/etc/d", &[]),
                ev(1, M::CREATE | M::ISDIR, "d"),
            ],
            want: &["created /etc/d", "watch+read /etc/d as wd 2", "watch+read /etc/d as wd 2"],
            ..Case::default()
        },
    ]
}

#[test]
fn dispatch_table() {
    let mut failed = Vec::new();
    for case in cases() {
        let mut bed = Bed::new(&case);
        let start = bed.d.start();
        for action in start {
            bed.carry_out(action);
        }
        for step in &case.steps {
            bed.step(step);
        }
        if bed.lines != case.want {
            failed.push(format!(
                "{}:\n  want {:#?}\n  got  {:#?}",
                case.name, case.want, bed.lines
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn case_names_are_unique() {
    let mut names: Vec<&str> = cases().iter().map(|c| c.name).collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all);
}
