//! A real Puppet server (Debian's `puppetserver`, a JVM service) for tier
//! 2, run in the foreground under the test's control: its own
//! configuration, CA, code directory and logs in a temporary directory,
//! listening on a free loopback port, signing only the certnames the test
//! names. It is stopped by its PID when dropped, on every failure path
//! too (and dies with the thread that started it, should the test process
//! be killed).
//!
//! Agents reach it from the test bed's roots, which share the host's
//! loopback: `puppet agent --test --server localhost --serverport PORT`.

use crate::tools::{testbed_dir, tool, SETUP};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTALL_DIR: &str = "/usr/share/puppetserver";
const PACKAGE_CONF: &str = "/etc/puppet/puppetserver";

/// A running server; stopped when dropped.
pub struct PuppetServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// Its code directory (`environments/` below).
    pub codedir: PathBuf,
    /// From spawn to `/status/v1/simple` saying `running`.
    pub started_in: Duration,
    child: Child,
}

impl PuppetServer {
    /// Set up a CA for `localhost`, autosign `certnames` only, start the
    /// server and wait until it serves (at most 4 minutes).
    pub fn start(certnames: &[&str]) -> PuppetServer {
        tool("puppetserver");
        tool("curl");
        let java = Path::new("/usr/bin/java");
        assert!(java.is_file(), "{} is missing: {SETUP}", java.display());
        let base = testbed_dir().join("tmp");
        std::fs::create_dir_all(&base).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("puppetserver.")
            .tempdir_in(&base)
            .unwrap();
        let d = dir.path();
        let codedir = d.join("code");
        for sub in [
            "conf.d",
            "confdir",
            "var",
            "run",
            "log",
            "code/environments",
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for f in [
            "auth.conf",
            "global.conf",
            "metrics.conf",
            "web-routes.conf",
            "ca.conf",
        ] {
            std::fs::copy(
                Path::new(PACKAGE_CONF).join("conf.d").join(f),
                d.join("conf.d").join(f),
            )
            .unwrap_or_else(|e| panic!("{PACKAGE_CONF}/conf.d/{f}: {e}: {SETUP}"));
        }
        let port = free_port();
        let p = |s: &str| d.join(s).display().to_string();
        write(
            &d.join("conf.d/puppetserver.conf"),
            &format!(
                "jruby-puppet: {{\n\
                 \x20   ruby-load-path: [/usr/lib/puppetserver/ruby/vendor_ruby]\n\
                 \x20   gem-home: /var/lib/puppetserver/jruby-gems\n\
                 \x20   gem-path: [${{jruby-puppet.gem-home}}, \"/usr/lib/puppetserver/vendored-jruby-gems\"]\n\
                 \x20   server-conf-dir: {}\n\
                 \x20   server-code-dir: {}\n\
                 \x20   server-var-dir: {}\n\
                 \x20   server-run-dir: {}\n\
                 \x20   server-log-dir: {}\n\
                 \x20   max-active-instances: 1\n\
                 }}\n\
                 http-client: {{}}\n\
                 profiler: {{}}\n",
                p("confdir"),
                p("code"),
                p("var"),
                p("run"),
                p("log")
            ),
        );
        write(
            &d.join("conf.d/webserver.conf"),
            &format!(
                "webserver: {{\n\
                 \x20   access-log-config: {PACKAGE_CONF}/request-logging.xml\n\
                 \x20   client-auth: want\n\
                 \x20   ssl-host: 127.0.0.1\n\
                 \x20   ssl-port: {port}\n\
                 }}\n"
            ),
        );
        let conf = d.join("confdir/puppet.conf");
        let settings = format!(
            "vardir = {}\nlogdir = {}\nrundir = {}\ncodedir = {}\nssldir = {}\n",
            p("var"),
            p("log"),
            p("run"),
            p("code"),
            p("confdir/ssl")
        );
        write(
            &conf,
            &format!(
                "[main]\n{settings}certname = localhost\n\
                 [server]\n{settings}cadir = {}\nautosign = {}\ncertname = localhost\n",
                p("confdir/ca"),
                p("confdir/autosign.conf")
            ),
        );
        let mut signed = String::new();
        for c in certnames {
            signed.push_str(c);
            signed.push('\n');
        }
        write(&d.join("confdir/autosign.conf"), &signed);
        let out = Command::new(tool("puppetserver"))
            .args(["ca", "setup", "--certname", "localhost", "--config"])
            .arg(&conf)
            .output()
            .expect("puppetserver ca setup");
        assert!(
            out.status.success(),
            "puppetserver ca setup: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );

        let log = std::fs::File::create(d.join("server.log")).unwrap();
        let t0 = Instant::now();
        let mut cmd = Command::new(java);
        cmd.current_dir(INSTALL_DIR)
            .args([
                "-Xms512m",
                "-Xmx1g",
                "-Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger",
                "-Dlogappender=STDOUT",
                "-Djruby.lib=/usr/share/jruby/lib",
                "-XX:+CrashOnOutOfMemoryError",
            ])
            .arg(format!("-XX:ErrorFile={}", p("log/java_err_pid%p.log")))
            .arg("-jar")
            .arg(Path::new(INSTALL_DIR).join("puppetserver.jar"))
            .arg("--config")
            .arg(d.join("conf.d"))
            .arg("--bootstrap-config")
            .arg(Path::new(PACKAGE_CONF).join("services.d"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; it only asks the kernel to
        // kill the server when the thread that started it is gone.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start puppetserver");
        let mut server = PuppetServer {
            dir,
            port,
            codedir,
            started_in: Duration::ZERO,
            child,
        };
        server.wait_running(t0);
        server
    }

    fn wait_running(&mut self, t0: Instant) {
        let url = format!("https://127.0.0.1:{}/status/v1/simple", self.port);
        while t0.elapsed() < Duration::from_secs(240) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "puppetserver exited ({status}) before it served:\n{}",
                    self.log_tail()
                );
            }
            let out = Command::new(tool("curl"))
                .args(["-sk", "--max-time", "5", &url])
                .output()
                .expect("curl");
            if out.stdout == b"running" {
                self.started_in = t0.elapsed();
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!(
            "puppetserver did not serve within 240 s:\n{}",
            self.log_tail()
        );
    }

    /// The environment directory `name` (not created).
    pub fn environment(&self, name: &str) -> PathBuf {
        self.codedir.join("environments").join(name)
    }

    /// The last lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for PuppetServer {
    fn drop(&mut self) {
        // SIGTERM lets the JVM shut down; SIGKILL if it has not within 20 s.
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signalling our own child, which has not been reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write(path: &Path, text: &str) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// A port nothing listens on now (the kernel's pick).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
