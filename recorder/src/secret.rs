//! Which captured contents are secrets: shadow files, SSH host keys and
//! anything holding a PEM private key. Secrets are recorded (the store is
//! private) but generators withhold them unless explicitly asked.

use crate::model::is_within;

/// Paths whose content is secret whatever it holds.
pub fn is_secret_path(path: &[u8]) -> bool {
    const EXACT: &[&[u8]] = &[
        b"/etc/shadow",
        b"/etc/gshadow",
        b"/etc/shadow-",
        b"/etc/gshadow-",
        b"/etc/security/opasswd",
    ];
    if EXACT.contains(&path) {
        return true;
    }
    if is_within(path, b"/etc/ssl/private") && path != b"/etc/ssl/private" {
        return true;
    }
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    is_within(path, b"/etc/ssh") && name.starts_with(b"ssh_host_") && name.ends_with(b"_key")
}

/// Does this content hold a PEM (or OpenSSH, or PGP) private key?
pub fn holds_private_key(content: &[u8]) -> bool {
    let mut rest = content;
    while let Some(i) = find(rest, b"-----BEGIN ") {
        let after = &rest[i + 11..];
        let line_end = after
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(after.len());
        if find(&after[..line_end], b"PRIVATE KEY").is_some() {
            return true;
        }
        rest = after;
    }
    false
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_paths() {
        let cases: &[(&[u8], bool)] = &[
            (b"/etc/shadow", true),
            (b"/etc/gshadow", true),
            (b"/etc/passwd", false),
            (b"/etc/ssh/ssh_host_ed25519_key", true),
            (b"/etc/ssh/ssh_host_ed25519_key.pub", false),
            (b"/etc/ssh/sshd_config", false),
            (b"/etc/ssl/private/site.key", true),
            (b"/etc/ssl/private", false),
            (b"/etc/ssl/certs/site.pem", false),
        ];
        for (p, want) in cases {
            assert_eq!(is_secret_path(p), *want, "{}", String::from_utf8_lossy(p));
        }
    }

    #[test]
    fn private_key_content() {
        let cases: &[(&str, &[u8], bool)] = &[
            ("rsa", b"-----BEGIN RSA PRIVATE KEY-----\nMII\n", true),
            ("pkcs8", b"x\n-----BEGIN PRIVATE KEY-----\n", true),
            ("encrypted", b"-----BEGIN ENCRYPTED PRIVATE KEY-----", true),
            ("openssh", b"-----BEGIN OPENSSH PRIVATE KEY-----\n", true),
            ("pgp", b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n", true),
            ("certificate", b"-----BEGIN CERTIFICATE-----\nMII\n", false),
            ("public", b"-----BEGIN PUBLIC KEY-----\n", false),
            (
                "cert then key",
                b"-----BEGIN CERTIFICATE-----\n..\n-----BEGIN EC PRIVATE KEY-----\n",
                true,
            ),
            (
                "words only",
                b"PRIVATE KEY on another line\n-----BEGIN X-----\n",
                false,
            ),
            ("binary", b"\x00\xff-----BEGIN ", false),
        ];
        for (name, c, want) in cases {
            assert_eq!(holds_private_key(c), *want, "{name}");
        }
    }
}
