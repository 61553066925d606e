//! The rpm-family package repositories of the target (`/etc/yum.repos.d/
//! *.repo`, the INI files dnf and yum read): recorded as a fact at `begin`
//! so a partial kickstart can name the repositories provisioning needs.
//! Only what kickstart's `repo` command can carry is kept; credentials
//! (`username`, `password`, `sslclientkey`) never are.

use super::fs::{read_dir, read_file};
use crate::model::RepoFact;
use crate::target::Target;

const REPO_DIR: &[u8] = b"/etc/yum.repos.d";

/// Every repository section of every `.repo` file, sorted by id; an
/// unreadable file is skipped (a fact is best effort, never a failure).
pub fn read(target: &Target) -> Vec<RepoFact> {
    let Ok(Some((dir, entries))) = read_dir(target, REPO_DIR) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        if !e.file_type.is_file() || !e.name.ends_with(b".repo") {
            continue;
        }
        let path = crate::model::join(&dir, &e.name);
        if let Ok(Some((_, data))) = read_file(target, &path) {
            out.extend(parse(&String::from_utf8_lossy(&data)));
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// Parse one `.repo` file.
pub fn parse(text: &str) -> Vec<RepoFact> {
    let mut out: Vec<RepoFact> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(id) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push(RepoFact {
                id: id.trim().to_string(),
                enabled: true,
                ..RepoFact::default()
            });
            continue;
        }
        let (Some(repo), Some((key, value))) = (out.last_mut(), line.split_once('=')) else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "name" => repo.name = value,
            // Continuation lines of a multi-URL baseurl are not kept: the
            // first mirror is enough for provisioning.
            "baseurl" => {
                repo.baseurl = value.split_whitespace().next().map(str::to_string);
            }
            "mirrorlist" => repo.mirrorlist = Some(value),
            "metalink" => repo.metalink = Some(value),
            "enabled" => repo.enabled = !matches!(value.as_str(), "0" | "false" | "no"),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_files() {
        let text = "\
# comment
[baseos]
name=Rocky Linux $releasever - BaseOS
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever
enabled=1
password=secret

[devel]
name=Devel
baseurl=http://a.example/devel/ http://b.example/devel/
enabled=0
[epel]
metalink=https://mirrors.fedoraproject.org/metalink?repo=epel-9&arch=$basearch
";
        let got = parse(text);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].id, "baseos");
        assert!(got[0].enabled);
        assert!(got[0].mirrorlist.as_deref().unwrap().contains("BaseOS"));
        assert_eq!(got[1].baseurl.as_deref(), Some("http://a.example/devel/"));
        assert!(!got[1].enabled);
        assert!(got[2].metalink.is_some() && got[2].enabled);
        assert!(!format!("{got:?}").contains("secret"));
    }
}
