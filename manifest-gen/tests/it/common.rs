//! Change sets shared by the golden tests and the real-Puppet checks: small
//! builders, and the scenarios both of them exercise.

use recorder::model::ChangeSet;
use recorder::model::SystemChanges;
use recorder::model::{
    Change, ChangeKind, ContentHash, Entry, EntryKind, Facts, Notice, NoticeKind, Session,
    SessionState,
};
use std::collections::HashMap;

/// A change set under construction, with the blobs its files refer to.
pub struct Fixture {
    pub name: String,
    pub description: Option<String>,
    pub changes: Vec<Change>,
    pub notices: Vec<Notice>,
    pub blobs: HashMap<ContentHash, Vec<u8>>,
    pub system: SystemChanges,
    pub why: recorder::model::Why,
    /// `--exec` arguments.
    pub execs: Vec<String>,
}

impl Fixture {
    /// Module options as `cft manifest` would build them for this fixture.
    pub fn options(&self, include_secrets: bool) -> manifest_gen::ModuleOptions {
        let mut opts =
            manifest_gen::ModuleOptions::new(manifest_gen::default_module_name(&self.name));
        opts.include_secrets = include_secrets;
        opts.execs = self
            .execs
            .iter()
            .map(|e| manifest_gen::ExecSpec::parse(e).expect("--exec"))
            .collect();
        opts
    }
}

pub fn entry(path: &[u8], kind: EntryKind, mode: u32) -> Entry {
    Entry {
        path: path.to_vec(),
        kind,
        mode,
        uid: 0,
        gid: 0,
        owner: Some("root".into()),
        group: Some("root".into()),
        size: 0,
        mtime_ns: 0,
        hash: None,
        content_stored: false,
        link_target: None,
    }
}

impl Fixture {
    pub fn new(name: &str) -> Fixture {
        Fixture {
            name: name.to_string(),
            description: None,
            changes: Vec::new(),
            notices: Vec::new(),
            blobs: HashMap::new(),
            system: SystemChanges::default(),
            why: Default::default(),
            execs: Vec::new(),
        }
    }

    pub fn file_entry(&mut self, path: &[u8], content: &[u8], mode: u32) -> Entry {
        let hash = ContentHash::of(content);
        self.blobs.insert(hash, content.to_vec());
        Entry {
            size: content.len() as u64,
            hash: Some(hash),
            content_stored: true,
            ..entry(path, EntryKind::File, mode)
        }
    }

    pub fn push(
        &mut self,
        kind: ChangeKind,
        before: Option<Entry>,
        after: Option<Entry>,
    ) -> &mut Change {
        let path = after
            .as_ref()
            .or(before.as_ref())
            .map(|e| e.path.clone())
            .unwrap_or_default();
        self.changes.push(Change {
            path,
            kind,
            before,
            after,
            secret: false,
            origin: Default::default(),
            package: None,
        });
        self.changes.last_mut().expect("just pushed")
    }

    pub fn created_file(&mut self, path: &[u8], content: &[u8], mode: u32) -> &mut Change {
        let e = self.file_entry(path, content, mode);
        self.push(ChangeKind::Created, None, Some(e))
    }

    pub fn created_dir(&mut self, path: &[u8], mode: u32) -> &mut Change {
        self.push(
            ChangeKind::DirCreated,
            None,
            Some(entry(path, EntryKind::Dir, mode)),
        )
    }

    pub fn created_link(&mut self, path: &[u8], target: &[u8]) -> &mut Change {
        let e = Entry {
            link_target: Some(target.to_vec()),
            ..entry(path, EntryKind::Symlink, 0o777)
        };
        self.push(ChangeKind::Created, None, Some(e))
    }

    pub fn removed(&mut self, path: &[u8], kind: EntryKind) -> &mut Change {
        let ck = if kind == EntryKind::Dir {
            ChangeKind::DirRemoved
        } else {
            ChangeKind::Removed
        };
        self.push(ck, Some(entry(path, kind, 0o644)), None)
    }

    pub fn change_set(&self) -> ChangeSet {
        let mut changes = self.changes.clone();
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        ChangeSet {
            session: Session {
                id: 1,
                name: self.name.clone(),
                description: self.description.clone(),
                root: b"/".to_vec(),
                watched: vec![b"/etc".to_vec()],
                state: SessionState::Finished,
                created_at_ns: 1_700_000_000_000_000_000,
                finished_at_ns: Some(1_700_000_100_000_000_000),
                daemon_pid: None,
                daemon_start: None,
                rescan_reason: None,
                content_cap: 1 << 20,
                ignore_patterns: Vec::new(),
                facts: Facts {
                    hostname: "web1".into(),
                    os_id: "debian".into(),
                    os_version_id: "12".into(),
                    os_name: "Debian GNU/Linux".into(),
                    os_pretty_name: "Debian GNU/Linux 12 (bookworm)".into(),
                    arch: "x86_64".into(),
                    kernel: "6.1.0".into(),
                    ..Facts::default()
                },
            },
            changes,
            notices: self.notices.clone(),
            system: self.system.clone(),
            why: self.why.clone(),
        }
    }
}

/// (a) The everyday changes: a file, a directory, a symlink, a removal and
/// a mode-only change.
pub fn basic() -> Fixture {
    let mut f = Fixture::new("web-setup");
    f.description = Some("Install myapp behind nginx".into());
    f.created_dir(b"/etc/myapp", 0o755);
    let conf = f.file_entry(b"/etc/myapp/myapp.conf", b"listen 8080\n", 0o640);
    f.push(
        ChangeKind::Created,
        None,
        Some(Entry {
            gid: 998,
            group: Some("myapp".into()),
            ..conf
        }),
    );
    let old = f.file_entry(b"/etc/nginx/nginx.conf", b"worker_processes 1;\n", 0o644);
    let new = f.file_entry(b"/etc/nginx/nginx.conf", b"worker_processes auto;\n", 0o644);
    f.push(ChangeKind::Modified, Some(old), Some(new));
    f.created_link(
        b"/etc/nginx/sites-enabled/myapp",
        b"../sites-available/myapp",
    );
    f.removed(b"/etc/cron.daily/old-job", EntryKind::File);
    let tool = entry(b"/usr/local/bin/tool", EntryKind::File, 0o755);
    let suid = Entry {
        mode: 0o4755,
        ..tool.clone()
    };
    f.push(ChangeKind::Metadata, Some(tool), Some(suid));
    f.notices.push(Notice {
        path: None,
        kind: NoticeKind::Rescan,
        message: "the watcher overflowed; a full rescan replaced its events".into(),
    });
    f
}

/// The 255-byte file name of the awkward corpus.
pub fn long_name() -> Vec<u8> {
    let mut p = b"/etc/awk/".to_vec();
    p.extend([b'n'; 255]);
    p
}

/// (b) Names and contents that break naive generators.
pub fn awkward() -> Fixture {
    let mut f = Fixture::new("awkward");
    f.created_dir(b"/etc/awk", 0o755);
    f.created_file(b"/etc/awk/it's", b"quote ' and \"double\"\n", 0o644);
    f.created_file(b"/etc/awk/back\\slash", b"C:\\path\\\n", 0o644);
    f.created_file(b"/etc/awk/$HOME", b"$HOME ${x} <%= @x %>\n", 0o644);
    f.created_file(b"/etc/awk/${x}", b"interpolation in the name\n", 0o644);
    f.created_file(b"/etc/awk/<% erb %>", b"<% raise %>\n", 0o644);
    f.created_file(b"/etc/awk/with space", b"crlf\r\nline\r\n", 0o644);
    f.created_file(b"/etc/awk/no-newline", b"no newline at the end", 0o644);
    f.created_file(b"/etc/awk/binary.bin", b"\x00\xff\xfe\x01\x02", 0o644);
    f.created_file(b"/etc/awk/tab\there", b"tab\n", 0o644);
    f.created_file(b"/etc/awk/new\nline", b"newline\n", 0o644);
    f.created_file("/etc/awk/caf\u{e9}".as_bytes(), b"accent\n", 0o644);
    f.created_file(b"/etc/awk/\xff\xfe", b"not UTF-8\n", 0o644);
    f.created_file(&long_name(), b"long\n", 0o644);
    f.created_link(b"/etc/awk/link", b"it's $target");
    f.push(
        ChangeKind::Created,
        None,
        Some(entry(b"/etc/awk/fifo", EntryKind::Fifo, 0o600)),
    );
    let mut big = f.file_entry(b"/etc/awk/big", b"placeholder", 0o644);
    big.content_stored = false;
    f.blobs.remove(&big.hash.expect("hash"));
    f.push(ChangeKind::Created, None, Some(big));
    f.notices.push(Notice {
        path: Some(b"/etc/awk/big".to_vec()),
        kind: NoticeKind::TooLarge,
        message: "larger than the capture cap".into(),
    });
    f
}

pub const SECRET: &[u8] =
    b"-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n";

/// (c) A private key among ordinary changes.
pub fn secrets() -> Fixture {
    let mut f = Fixture::new("ssh");
    f.created_file(
        b"/etc/ssh/sshd_config.d/cft.conf",
        b"PermitRootLogin no\n",
        0o644,
    );
    f.created_file(b"/etc/ssh/ssh_host_ed25519_key", SECRET, 0o600)
        .secret = true;
    f.notices.push(Notice {
        path: Some(b"/etc/ssh/ssh_host_ed25519_key".to_vec()),
        kind: NoticeKind::Secret,
        message: "private key: content withheld unless --include-secrets".into(),
    });
    f
}

/// A carriage return in a name, then lines puppet-lint must be told about.
pub fn carriage_return() -> Fixture {
    let mut f = Fixture::new("cr");
    f.created_dir(b"/etc/cr", 0o755);
    f.created_dir(b"/etc/cr/a\rb", 0o755);
    f.created_link(b"/etc/cr/l", b"x\ry");
    let mut long = b"/etc/cr/z".to_vec();
    long.extend([b'z'; 200]);
    f.created_dir(&long, 0o755);
    f.created_dir(b"/etc/cr/zz${x}", 0o755);
    f
}

/// (e) Site values: a mail relay recorded in two files and a port in one,
/// around text that looks like template syntax; and a file without any.
pub fn site() -> Fixture {
    let mut f = Fixture::new("mail");
    f.created_dir(b"/etc/app", 0o755);
    f.created_file(
        b"/etc/app/mail.conf",
        b"# outgoing mail\nrelayhost = smtp.example.com\n# stays text: <% x %> <%= y %> %%> $z\nfallback_relay = [smtp.example.com]:587\n",
        0o644,
    );
    f.created_file(
        b"/etc/app/app.ini",
        b"[mail]\r\nhub = smtp.example.com\r\nport = 2525\r\n",
        0o640,
    );
    f.created_file(b"/etc/app/motd", b"Mail via smtp.example.com\n", 0o644);
    f
}

/// The site parameters of [`site`].
pub fn site_params() -> Vec<manifest_gen::SiteParam> {
    [
        "mailhub=/etc/app/mail.conf:*:smtp.example.com",
        "mailhub=/etc/app/app.ini:smtp.example.com",
        "smtp_port=/etc/app/app.ini:2525",
    ]
    .iter()
    .map(|a| manifest_gen::SiteParam::parse(a).expect("valid"))
    .collect()
}

/// The password hash of the system scenario's user: must never appear in
/// a module generated without secrets.
pub const ALICE_HASH: &str = "$6$rounds=5000$salt$K9p0m1tZq2Yx";

fn user(name: &str, uid: u32, gid: u32, groups: &[&str]) -> recorder::model::User {
    recorder::model::User {
        name: name.into(),
        uid,
        gid,
        gecos: String::new(),
        home: format!("/home/{name}"),
        shell: "/bin/bash".into(),
        password: Some("!".into()),
        groups: groups.iter().map(|g| g.to_string()).collect(),
    }
}

/// (d) A web server set up the way an admin does it: a repository and its
/// key, packages in and out, a group and users, an edited packaged file,
/// a unit of its own, services enabled, disabled and masked; plus what
/// the packages and account tools did on their own.
pub fn system() -> Fixture {
    use recorder::model::Origin;
    use recorder::model::{
        AccountChangeKind as A, Enable, GroupChange, PackageChange, PackageChangeKind as P,
        Running, ServiceChange, UserChange,
    };
    use recorder::model::{Enablement, Group, PackageFamily, Service};
    let mut f = Fixture::new("web");
    f.created_file(
        b"/etc/apt/sources.list.d/nginx.list",
        b"deb [signed-by=/etc/apt/keyrings/nginx.gpg] http://nginx.org/packages/debian bookworm nginx\n",
        0o644,
    );
    f.created_file(b"/etc/apt/keyrings/nginx.gpg", b"\x99\x01\x0dKEY", 0o644);
    let old = f.file_entry(
        b"/etc/nginx/nginx.conf",
        b"worker_connections 768;\n",
        0o644,
    );
    let new = f.file_entry(
        b"/etc/nginx/nginx.conf",
        b"worker_connections 1024;\n",
        0o644,
    );
    f.push(ChangeKind::Modified, Some(old), Some(new)).package = Some("nginx".into());
    f.removed(b"/etc/nginx/koi-win", EntryKind::File).package = Some("nginx".into());
    f.created_file(
        b"/etc/systemd/system/app.service",
        b"[Service]\nExecStart=/usr/bin/app\n[Install]\nWantedBy=multi-user.target\n",
        0o644,
    );
    for (path, origin) in [
        (&b"/etc/group"[..], Origin::Accounts),
        (b"/etc/passwd", Origin::Accounts),
        (b"/etc/shadow", Origin::Accounts),
        (
            b"/etc/systemd/system/multi-user.target.wants/app.service",
            Origin::Service,
        ),
        (
            b"/usr/share/nginx/html/index.html",
            Origin::Package("nginx".into()),
        ),
        (b"/usr/sbin/nginx", Origin::Package("nginx".into())),
    ] {
        let c = f.created_file(path, b"not the admin's\n", 0o644);
        c.origin = origin;
        c.secret = path == b"/etc/shadow";
    }

    let package =
        |name: &str, kind, before: Option<&str>, after: Option<&str>, explicit| PackageChange {
            name: name.into(),
            arch: "amd64".into(),
            kind,
            before_version: before.map(String::from),
            after_version: after.map(String::from),
            explicit,
            hold: None,
        };
    let mut alice = user("alice", 1001, 1001, &["adm", "web"]);
    alice.gecos = "Alice Admin".into();
    alice.password = Some(ALICE_HASH.into());
    let games_before = recorder::model::User {
        home: "/usr/games".into(),
        shell: "/usr/sbin/nologin".into(),
        gecos: "games".into(),
        ..user("games", 5, 60, &[])
    };
    let games_after = recorder::model::User {
        shell: "/bin/sh".into(),
        ..games_before.clone()
    };
    let unit = |name: &str| Service {
        unit: name.into(),
        enablement: Enablement::Enabled,
        wanted_by: vec!["multi-user.target".into()],
        sysv_start_runlevels: Vec::new(),
        has_unit_file: true,
        has_init_script: false,
    };
    let service = |name: &str, enable, ensure, subscribe: &[&str]| ServiceChange {
        unit: name.into(),
        before: None,
        after: Some(unit(name)),
        enable,
        ensure,
        package: None,
        subscribe: subscribe.iter().map(|p| p.as_bytes().to_vec()).collect(),
    };
    f.system = SystemChanges {
        family: Some(PackageFamily::Dpkg),
        packages: vec![
            package("nginx", P::Installed, None, Some("1.26.2-1~bookworm"), true),
            package("libpcre2-8-0", P::Installed, None, Some("10.42-1"), false),
            package(
                "curl",
                P::Upgraded,
                Some("7.88.1-10"),
                Some("7.88.1-10+deb12u8"),
                true,
            ),
            package("cowsay", P::Purged, Some("3.03+dfsg2-8"), None, true),
            package("telnet", P::Removed, Some("0.17+2.4-2"), None, true),
        ],
        groups: vec![
            GroupChange {
                name: "web".into(),
                kind: A::Created,
                before: None,
                after: Some(Group {
                    name: "web".into(),
                    gid: 1001,
                    members: vec!["alice".into()],
                    password: None,
                }),
                by_package: None,
            },
            GroupChange {
                name: "nginx".into(),
                kind: A::Created,
                before: None,
                after: Some(Group {
                    name: "nginx".into(),
                    gid: 101,
                    members: Vec::new(),
                    password: None,
                }),
                by_package: Some("nginx".into()),
            },
        ],
        users: vec![
            UserChange {
                name: "alice".into(),
                kind: A::Created,
                before: None,
                after: Some(alice),
                home_created: true,
                password_changed: true,
                by_package: None,
            },
            UserChange {
                name: "bob".into(),
                kind: A::Removed,
                before: Some(user("bob", 1002, 1002, &[])),
                after: None,
                home_created: false,
                password_changed: false,
                by_package: None,
            },
            UserChange {
                name: "games".into(),
                kind: A::Changed,
                before: Some(games_before),
                after: Some(games_after),
                home_created: false,
                password_changed: false,
                by_package: None,
            },
            UserChange {
                name: "nginx".into(),
                kind: A::Created,
                before: None,
                after: Some(user("nginx", 101, 101, &[])),
                home_created: false,
                password_changed: false,
                by_package: Some("nginx".into()),
            },
        ],
        services: vec![
            service(
                "nginx.service",
                Some(Enable::True),
                Some(Running::Running),
                &["/etc/nginx/nginx.conf", "/usr/share/nginx/html/index.html"],
            ),
            service(
                "app.service",
                Some(Enable::True),
                None,
                &["/etc/systemd/system/app.service"],
            ),
            service("e2scrub_reap.service", Some(Enable::False), None, &[]),
            service(
                "debug-shell.service",
                Some(Enable::Mask),
                Some(Running::Stopped),
                &[],
            ),
        ],
        ..SystemChanges::default()
    };
    f
}

/// `system()` recorded through the recording shell: typed lines, the tools
/// they ran, what each changed, and two commands replayed as execs (one
/// guarded by `creates`, one not).
pub fn commands() -> Fixture {
    use recorder::model::{Attribution, Subject, Why};
    use recorder::model::{Intent, IntentSource};
    let mut f = system();
    let sec = 1_000_000_000i64;
    let base = 1_700_000_000 * sec;
    let intent = |id: i64, parent: Option<i64>, argv: &[&str], at: i64| Intent {
        id,
        source: if parent.is_some() {
            IntentSource::Tool
        } else {
            IntentSource::Line
        },
        parent,
        argv: argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
        cwd: b"/root".to_vec(),
        uid: 0,
        pid: 100 + id as i32,
        ppid: 99,
        start_ns: base + at * sec,
        end_ns: Some(base + (at + 5) * sec),
        exit_code: Some(0),
        signal: None,
    };
    let intents = vec![
        intent(1, None, &["apt-get install -y nginx curl"], 10),
        intent(
            2,
            Some(1),
            &["apt-get", "install", "-y", "nginx", "curl"],
            11,
        ),
        intent(3, None, &["vi /etc/nginx/nginx.conf"], 30),
        intent(4, None, &["createdb app"], 50),
        intent(5, None, &["useradd -m -G adm,web alice"], 60),
        intent(6, Some(5), &["useradd", "-m", "-G", "adm,web", "alice"], 61),
        intent(
            7,
            None,
            &["systemctl enable app && systemctl start nginx"],
            70,
        ),
        intent(8, Some(7), &["systemctl", "enable", "app"], 71),
        intent(9, Some(7), &["systemctl", "start", "nginx"], 72),
        intent(10, None, &["psql -f /root/schema.sql app"], 80),
        intent(
            11,
            None,
            &["cat >> /root/notes <<'EOF'\nschema loaded\n\nEOF"],
            90,
        ),
    ];
    let at = |subject, name: &str, intent| Attribution {
        subject,
        name: name.as_bytes().to_vec(),
        intent,
    };
    let mut attributions = vec![
        at(Subject::Package, "nginx", 2),
        at(Subject::Package, "curl", 2),
        at(Subject::File, "/etc/nginx/nginx.conf", 3),
        at(Subject::User, "alice", 6),
        at(Subject::Service, "app.service", 8),
        at(Subject::Service, "nginx.service", 9),
    ];
    attributions.sort();
    f.why = Why {
        intents,
        attributions,
    };
    f.execs = vec![
        "4:creates=/var/lib/postgresql/15/main/base/app".into(),
        "10".into(),
    ];
    f
}
