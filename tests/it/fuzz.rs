//! Fuzz targets (bolero) for what cft reads from other people: kickstart
//! files (`recipe instantiate`'s merger), typed command lines (the intent
//! lexer and password masker) and portable sessions (`cft import`).
//!
//! Under `cargo test` each target runs a fixed number of random inputs
//! (seconds each; `BOLERO_RANDOM_ITERATIONS` sets another number). For a
//! long run with coverage guidance: `cargo bolero test --package cft
//! --test it fuzz::TARGET` (needs cargo-bolero and a nightly toolchain).
//!
//! Each target asserts more than "no panic": a merged kickstart parses
//! again and pulls nothing in; a masked password is nowhere in what a
//! reader sees; a hostile portable session is refused without changing
//! the database, or imported as data whose module stays in its directory.

use crate::util::CFT;
use bolero::check;
use manifest_gen::recipe::{self, ks, Apply, Server};
use recorder::model::{Intent, IntentSource};
use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;

/// Lines a kickstart is made of, good and bad, for structured inputs.
const KS_LINES: &[&str] = &[
    "lang en_US.UTF-8",
    "keyboard us",
    "timezone Etc/UTC",
    "rootpw --lock",
    "rootpw --iscrypted $6$x$y",
    "network --bootproto=dhcp",
    "reboot",
    "poweroff",
    "part / --size=4000 --ondisk=vda",
    "part /srv --size=100",
    "bootloader --location=mbr",
    "autopart",
    "zerombr",
    "%packages",
    "%packages --nocore",
    "@core",
    "-vim",
    "vim",
    "@^server",
    "%post",
    "%post --nochroot",
    "%pre",
    "%end",
    "%include /etc/shadow",
    "%ksappend http://x/y",
    "echo hi",
    "# cft-step: apply-module web",
    "# cft-step: copy-module web",
    "# cft-requires admin_password Sensitive[String]",
    "# cft-param admin_password=$6$a'b",
    "# cft-param other=x",
    "# cft-param =",
    "#",
    "",
    "'unclosed",
    "%anaconda",
    "%addon com_x",
    "url --url=http://x",
    "\u{2028}%include /x",
];

#[derive(Debug, bolero::TypeGenerator)]
struct KsPair {
    recipe: Vec<u8>,
    site: Vec<u8>,
    server: bool,
    raw_recipe: String,
    raw_site: String,
}

/// Only the lines outside sections: a site file that often merges.
fn commands(picks: &[u8]) -> String {
    let plain: Vec<&str> = KS_LINES
        .iter()
        .copied()
        .filter(|l| !l.starts_with('%') && !l.contains('\'') && !l.contains('\u{2028}'))
        // The site may not set storage: those always conflict.
        .filter(|l| {
            !["part ", "bootloader", "autopart", "zerombr"]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .collect();
    picks
        .iter()
        .map(|b| plain[usize::from(*b) % plain.len()])
        .collect::<Vec<_>>()
        .join("\n")
}

fn lines(picks: &[u8]) -> String {
    picks
        .iter()
        .map(|b| KS_LINES[usize::from(*b) % KS_LINES.len()])
        .collect::<Vec<_>>()
        .join("\n")
}

/// A recipe and a site that merge, for random lines to be added to.
const RECIPE: &str = "bootloader --location=mbr\npart / --size=4000\n%packages\n@core\n%end\n# cft-step: apply-module web\n%post\nputs\n%end\n";
const SITE: &str = "lang en_US.UTF-8\nkeyboard us\ntimezone Etc/UTC\nrootpw --lock\n";

#[test]
fn kickstart_merger() {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let server = Apply::Server(Server::parse("puppet.example.com", Some("prod")).unwrap());
    let (tried, merged) = (AtomicU64::new(0), AtomicU64::new(0));
    check!()
        .with_iterations(5000)
        .with_type::<KsPair>()
        .for_each(|p| {
            let apply = if p.server {
                &server
            } else {
                &Apply::Masterless
            };
            for (r, s) in [
                (lines(&p.recipe), lines(&p.site)),
                (
                    format!("{RECIPE}{}", lines(&p.recipe)),
                    format!("{SITE}{}", lines(&p.site)),
                ),
                (RECIPE.to_string(), format!("{SITE}{}", commands(&p.site))),
                (
                    format!("{}\n{}", lines(&p.recipe), p.raw_recipe),
                    p.raw_site.clone(),
                ),
            ] {
                tried.fetch_add(1, Relaxed);
                let Ok(out) = recipe::merge_with(&r, "partial.ks", &s, "site.ks", apply) else {
                    continue;
                };
                merged.fetch_add(1, Relaxed);
                // What was merged parses again, and pulls nothing in.
                let parsed = ks::parse("out", &out);
                assert!(parsed.is_ok(), "{out}");
                assert!(ks::find_include(&out).is_none(), "{out}");
                // No parameter line is left outside the scripts (inside
                // one it is the script's own comment).
                if let Ok(k) = parsed {
                    let outside = k.items.iter().flat_map(|i| match i {
                        ks::Item::Trivia(l) => vec![l],
                        ks::Item::Section(sec) => sec.leading.iter().collect(),
                        ks::Item::Command(_) => vec![],
                    });
                    for l in outside {
                        assert!(!l.text.trim_start().starts_with("# cft-param "), "{out}");
                    }
                }
            }
        });
    let (t, m) = (tried.into_inner(), merged.into_inner());
    eprintln!("kickstart_merger: {t} pairs, {m} merged");
    assert!(
        m > 0 && m < t,
        "the inputs reach both outcomes: {m} of {t} merged"
    );
}

#[derive(Debug, bolero::TypeGenerator)]
struct Line {
    /// Index into a template of a secret-carrying command.
    template: u8,
    /// The password's characters (mapped to letters and digits).
    secret: Vec<u8>,
    before: String,
    after: String,
    raw: String,
}

const TEMPLATES: &[&str] = &[
    "echo 'root:{}' | chpasswd",
    "chpasswd <<< 'admin:{}'",
    "curl -u admin:{} https://x/",
    "PGPASSWORD={} psql -h db",
    "sshpass -p {} ssh host",
    "export AWS_SECRET_ACCESS_KEY={}",
    "redis-cli -a {} ping",
    "docker login -u me -p {} registry",
    "mysql -u root -p{} db",
];

fn typed(line: &str) -> Intent {
    Intent {
        id: 1,
        source: IntentSource::Line,
        parent: None,
        argv: vec![line.as_bytes().to_vec()],
        cwd: b"/root".to_vec(),
        uid: 0,
        pid: 1,
        ppid: 1,
        start_ns: 0,
        end_ns: Some(1),
        exit_code: Some(0),
        signal: None,
    }
}

#[test]
fn intent_lexer_and_masker() {
    const ALNUM: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let masked = std::sync::atomic::AtomicU64::new(0);
    check!()
        .with_iterations(3000)
        .with_type::<Line>()
        .for_each(|l| {
            // Anything typed: read without a panic.
            let i = typed(&l.raw);
            let _ = (i.text(), i.commands(), i.secrets(), i.masked_argv());

            // A password in a command cft knows: masked wherever it is shown,
            // whatever surrounds it (separated from it by a command break).
            if l.secret.len() < 10 {
                return;
            }
            let secret: String = l
                .secret
                .iter()
                .map(|b| char::from(ALNUM[usize::from(*b) % ALNUM.len()]))
                .collect();
            let template = TEMPLATES[usize::from(l.template) % TEMPLATES.len()];
            let clean = |s: &str| -> String {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == ' ')
                    .take(40)
                    .collect()
            };
            let line = format!(
                "true {} ; {} ; true {}",
                clean(&l.before),
                template.replace("{}", &secret),
                clean(&l.after)
            );
            masked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let i = typed(&line);
            let shown = i.text();
            assert!(!shown.contains(&secret), "{line}\n-> {shown}");
            for a in i.masked_argv() {
                assert!(
                    !String::from_utf8_lossy(&a).contains(&secret),
                    "{line}\n-> {}",
                    String::from_utf8_lossy(&a)
                );
            }
        });
    let n = masked.into_inner();
    eprintln!("intent_lexer_and_masker: {n} lines with a password");
    assert!(n > 0, "no input carried a password");
}

/// A real export of a small session (with a user, a secret file and
/// commands), made once by the real binary.
fn exported() -> &'static Vec<u8> {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let env = testkit::cli::Env::new(CFT);
        let write = testkit::cli::write;
        write(&env.p("/etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
        write(&env.p("/etc/shadow"), "root:*:19000:0:99999:7:::\n");
        env.begin("fz", &[]);
        write(&env.p("/srv/app/app.conf"), "port = 8080\n");
        write(
            &env.p("/etc/ssl/private/k.pem"),
            "-----BEGIN PRIVATE KEY-----\nx\n",
        );
        std::os::unix::fs::symlink("/srv/app/app.conf", env.p("/etc/app.conf")).unwrap();
        env.finish("fz");
        let out = env.tmp.path().join("fz.cftx");
        env.ok([
            "export".as_ref(),
            "fz".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ]);
        std::fs::read(out).unwrap()
    })
}

/// The decompressed body of an export.
fn body_of(file: &[u8]) -> Vec<u8> {
    let n = file.len() - 32;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&file[16..n])
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// An export file around `body`, with a correct envelope and checksum.
fn seal(body: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(body).unwrap();
    let compressed = z.finish().unwrap();
    let mut out = b"CFTX".to_vec();
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&(compressed.len() as u64).to_be_bytes());
    out.extend_from_slice(&compressed);
    let sum = sha2::Sha256::digest(&out);
    out.extend_from_slice(&sum);
    out
}

/// Hostile values for a JSON leaf.
fn hostile(pick: u8, text: &str) -> serde_json::Value {
    use serde_json::json;
    match pick % 14 {
        0 => json!("../../etc/shadow"),
        1 => json!("/"),
        2 => json!(""),
        3 => json!(-1),
        4 => json!(u64::MAX),
        5 => json!(null),
        6 => json!({"hex": "2e2e2f2e2e2f657463"}),
        7 => json!({"hex": "zz"}),
        8 => json!("a\u{0}b"),
        9 => json!(text),
        10 => json!([]),
        11 => json!("/etc/../../../root/.ssh/id_rsa"),
        12 => json!("x".repeat(5000)),
        _ => json!(true),
    }
}

/// Replace the `n`-th leaf (depth first) of `v`.
fn replace_leaf(v: &mut serde_json::Value, n: &mut usize, with: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m.values_mut().any(|x| replace_leaf(x, n, with)),
        serde_json::Value::Array(a) => a.iter_mut().any(|x| replace_leaf(x, n, with)),
        leaf => {
            if *n == 0 {
                *leaf = with.clone();
                true
            } else {
                *n -= 1;
                false
            }
        }
    }
}

#[derive(Debug, bolero::TypeGenerator)]
struct Mutation {
    /// (leaf index, hostile value) edits of the header.
    edits: Vec<(u16, u8)>,
    text: String,
    /// Raw byte flips of the body after the header.
    flips: Vec<(u16, u8)>,
    raw: Vec<u8>,
}

#[test]
fn import_format() {
    let original = exported();
    let body = body_of(original);
    let hlen = u64::from_be_bytes(body[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&body[8..8 + hlen]).unwrap();
    let rest = body[8 + hlen..].to_vec();
    let dir = tempfile::tempdir().unwrap();
    let mut store = recorder::Store::open(&dir.path().join("cft.db")).unwrap();
    let label = dir.path().join("in.cftx");
    // The unmodified file imports: the targets start from something valid.
    recorder::portable::import(&mut store, &mut Cursor::new(original), &label, Some("base"))
        .expect("the real export imports");
    // Mutex and atomic: bolero runs the closure under catch_unwind.
    let store = std::sync::Mutex::new(store);
    let count = std::sync::atomic::AtomicU64::new(0);
    let (imported, refused) = (
        std::sync::atomic::AtomicU64::new(0),
        std::sync::atomic::AtomicU64::new(0),
    );
    check!()
        .with_iterations(400)
        .with_type::<Mutation>()
        .for_each(|m| {
            let mut h = header.clone();
            // One hostile value alone, half the time: often still a valid
            // session, so the import gets past the header's checks.
            let edits = if m.text.len() % 2 == 0 {
                &m.edits[..m.edits.len().min(1)]
            } else {
                &m.edits[..]
            };
            for (leaf, pick) in edits {
                let mut n = usize::from(*leaf) % 400;
                replace_leaf(&mut h, &mut n, &hostile(*pick, &m.text));
            }
            let htext = serde_json::to_vec(&h).unwrap();
            let mut flipped = rest.clone();
            for (at, b) in &m.flips {
                if !flipped.is_empty() {
                    let i = usize::from(*at) % flipped.len();
                    flipped[i] ^= b | 1;
                }
            }
            let body = |tail: &[u8]| {
                let mut b = (htext.len() as u64).to_be_bytes().to_vec();
                b.extend_from_slice(&htext);
                b.extend_from_slice(tail);
                seal(&b)
            };
            let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("m{n}");
            let mut st = store.lock().unwrap_or_else(|e| e.into_inner());
            let outcome = |ok: bool| {
                let c = if ok { &imported } else { &refused };
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            };
            for input in [body(&rest), body(&flipped), seal(&m.raw), m.raw.clone()] {
                let before = st.sessions().unwrap().len();
                match recorder::portable::import(
                    &mut st,
                    &mut Cursor::new(&input),
                    &label,
                    Some(&name),
                ) {
                    Err(_) => {
                        outcome(false);
                        assert_eq!(
                            st.sessions().unwrap().len(),
                            before,
                            "a refused import left a session"
                        );
                    }
                    Ok(r) => {
                        outcome(true);
                        // Imported: inert data. Its module stays inside its
                        // directory, whatever the paths say.
                        let cs = st.change_set(&r.session.name).unwrap();
                        let opts = manifest_gen::ModuleOptions::new("fz");
                        if let Ok(module) = manifest_gen::generate(&cs, &*st, &opts) {
                            for rel in module.files.keys() {
                                assert!(
                                    !rel.starts_with('/')
                                        && !rel.split('/').any(|c| c == ".." || c.is_empty()),
                                    "{rel}"
                                );
                            }
                        }
                        st.erase_session(r.session.id).unwrap();
                    }
                }
            }
        });
    let (i, r) = (imported.into_inner(), refused.into_inner());
    eprintln!("import_format: {i} imported, {r} refused");
    assert!(
        i > 0 && r > 0,
        "the inputs reach both outcomes: {i} imported, {r} refused"
    );
}
