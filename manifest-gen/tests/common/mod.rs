//! Change sets shared by the golden tests and the real-Puppet checks: small
//! builders, and the scenarios both of them exercise.
#![allow(dead_code)]

use recorder::model::{
    Change, ChangeKind, ContentHash, Entry, EntryKind, Facts, Notice, NoticeKind, Session,
    SessionState,
};
use recorder::ChangeSet;
use std::collections::HashMap;

/// A change set under construction, with the blobs its files refer to.
pub struct Fixture {
    pub name: String,
    pub description: Option<String>,
    pub changes: Vec<Change>,
    pub notices: Vec<Notice>,
    pub blobs: HashMap<ContentHash, Vec<u8>>,
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
                },
            },
            changes,
            notices: self.notices.clone(),
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
    p.extend(std::iter::repeat(b'n').take(255));
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
    long.extend(std::iter::repeat(b'z').take(200));
    f.created_dir(&long, 0o755);
    f.created_dir(b"/etc/cr/zz${x}", 0o755);
    f
}
