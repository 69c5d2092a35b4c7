//! Radicale (CalDAV + CardDAV, from the virtualenv `scripts/install-test-deps.sh` makes
//! under target/) on a free loopback port with htpasswd auth, its storage in a temp dir
//! that outlives a stop and start, and the Python tools of that virtualenv (caldav as
//! the phone, todoman).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{INSTALL_HINT, file_tail, free_port, stop_group};

pub const RADICALE_USER: &str = "alice";
pub const RADICALE_PASSWORD: &str = "s3cret-pass";

/// The test virtualenv (Radicale, caldav, todoman).
pub fn python_env() -> PathBuf {
    let env = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyenv");
    if !env.join("bin/radicale").exists() || !env.join("bin/todo").exists() {
        panic!(
            "the test virtualenv {} lacks radicale or todoman; {INSTALL_HINT}",
            env.display()
        );
    }
    env
}

pub struct Radicale {
    port: u16,
    dir: TempDir,
    child: Option<Child>,
}

impl Radicale {
    pub fn start() -> Radicale {
        let dir = tempfile::Builder::new()
            .prefix("radicale-")
            .tempdir()
            .expect("create a temp dir for Radicale");
        std::fs::write(
            dir.path().join("users"),
            format!("{RADICALE_USER}:{RADICALE_PASSWORD}\n"),
        )
        .expect("write htpasswd");
        let mut radicale = Radicale {
            port: 0,
            dir,
            child: None,
        };
        radicale.port = free_port();
        radicale.spawn();
        radicale
    }

    fn spawn(&mut self) {
        let dir = self.dir.path();
        let config = dir.join("config");
        std::fs::write(
            &config,
            format!(
                "[server]\nhosts = 127.0.0.1:{port}\n\
                 [auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n\
                 [storage]\nfilesystem_folder = {storage}\n\
                 [logging]\nlevel = warning\n",
                port = self.port,
                users = dir.join("users").display(),
                storage = dir.join("collections").display(),
            ),
        )
        .expect("write the Radicale config");
        let log = std::fs::File::create(dir.join("radicale.log")).expect("create the Radicale log");
        let child = Command::new(python_env().join("bin/python"))
            .args(["-m", "radicale", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup the log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start Radicale: {e}; {INSTALL_HINT}"));
        self.child = Some(child);
        self.wait_until_answering();
    }

    /// An open port is not enough: wait for an HTTP answer.
    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.answers() {
                return;
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!(
                    "Radicale exited ({status}):\n{}",
                    file_tail(&self.dir.path().join("radicale.log"), 30)
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "Radicale did not answer on port {} within 20 s:\n{}",
                    self.port,
                    file_tail(&self.dir.path().join("radicale.log"), 30)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        if stream
            .write_all(b"OPTIONS / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut head = [0u8; 5];
        stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Radicale's storage folder (`collection-root/USER/LIST/ITEM`).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("collections")
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_group(&mut child);
        }
    }

    /// Start again on the same port with the same storage.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Run tests/py/phone.py against this server; its stdout.
    pub fn phone(&self, args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/phone.py");
        let out = Command::new(python_env().join("bin/python"))
            .arg(script)
            .args([&self.url(), RADICALE_USER, RADICALE_PASSWORD])
            .args(args)
            .output()
            .expect("run phone.py");
        assert!(
            out.status.success(),
            "phone.py {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Radicale {
    fn drop(&mut self) {
        self.stop();
    }
}
