//! The passwords a command line carries (`useradd -p HASH`,
//! `--password=X`, `mysql -pX`, `htpasswd -b FILE USER PW`, `pass:X`, a
//! URL's `user:password@`): masked wherever a command is shown.

/// The password values in one command's words.
pub(super) fn secrets_of(words: &[String]) -> Vec<String> {
    let Some((tool, args)) = words.split_first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let value_flags: &[&str] = match tool.as_str() {
        "useradd" | "usermod" | "groupadd" | "groupmod" => &["-p", "--password"],
        "mysql" | "mysqladmin" | "mysqldump" | "mariadb" | "mariadb-dump" => &["--password"],
        _ => &[],
    };
    let mut next_is_secret = false;
    for (i, w) in args.iter().enumerate() {
        if next_is_secret {
            out.push(w.clone());
            next_is_secret = false;
            continue;
        }
        if value_flags.contains(&w.as_str()) {
            next_is_secret = true;
        } else if let Some((key, value)) = w.split_once('=') {
            let key = key.trim_start_matches('-').to_ascii_lowercase();
            if key.contains("password") || key.contains("passwd") || key == "pass" {
                out.push(value.to_string());
            }
        } else if let Some(v) = w.strip_prefix("pass:") {
            out.push(v.to_string());
        }
        if matches!(
            tool.as_str(),
            "mysql" | "mysqladmin" | "mysqldump" | "mariadb" | "mariadb-dump"
        ) {
            if let Some(v) = w.strip_prefix("-p").filter(|v| !v.is_empty()) {
                out.push(v.to_string());
            }
        }
        if tool == "htpasswd"
            && i + 1 == args.len()
            && args
                .iter()
                .any(|a| a.starts_with("-b") || (a.starts_with('-') && a.contains('b')))
        {
            out.push(w.clone());
        }
        // scheme://user:password@host
        if let Some(rest) = w.split_once("://").map(|(_, r)| r) {
            if let Some((userinfo, _)) = rest.split_once('@') {
                if let Some((_, pw)) = userinfo.split_once(':') {
                    out.push(pw.to_string());
                }
            }
        }
    }
    out
}
