//! The real daemon for the hostile-web tests: `nudged run` on a fresh Maildir with the
//! web side on a free loopback port, optionally under a lowered RLIMIT_NOFILE, with
//! what the tests read from outside: the feed, the database, /proc memory figures.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MENTION: &str = include_str!("../../fixtures/github/mention.eml");

/// A mention notification with its own Message-ID, so each copy is a new interaction.
pub fn mention(id: &str) -> String {
    MENTION.replace(
        "<fieldnote/relay/issues/58/3109876543@github.com>",
        &format!("<hostile-{id}@github.com>"),
    )
}

pub fn drop_into_maildir(maildir: &Path, name: &str, raw: &str) {
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, raw).unwrap();
    std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
}

pub fn interactions(db: &Path) -> i64 {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return 0;
    };
    conn.query_row("SELECT COUNT(*) FROM interaction", [], |r| r.get(0))
        .unwrap_or(0)
}

pub struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    feed_path: String,
}

impl Daemon {
    /// `nudged run` on a fresh Maildir holding one message, `[web]` on a free port with
    /// `web_extra` lines, under `nofile` descriptors when given.
    pub fn start(web_extra: &str, nofile: Option<u64>) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        drop_into_maildir(&maildir, "1700000000.first.host", &mention("first"));
        let port = crate::support::free_port();
        std::fs::write(
            dir.path().join("nudged.toml"),
            format!(
                "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"local\"\nkind = \"maildir\"\n\
                 path = \"Maildir\"\n\n[followups]\ntimezone = \"Europe/Berlin\"\n\n\
                 [web]\nlisten = \"127.0.0.1:{port}\"\n{web_extra}\n"
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
            .arg("--config")
            .arg(dir.path().join("nudged.toml"))
            .arg("feed-url")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap();
        let feed_path = url
            .trim()
            .strip_prefix(&format!("http://127.0.0.1:{port}"))
            .unwrap_or_else(|| panic!("feed URL {url:?}"))
            .to_string();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_nudged"));
        command
            .arg("--config")
            .arg(dir.path().join("nudged.toml"))
            .arg("run")
            .env("RUST_LOG", "info")
            .env_remove("NUDGED_NOW")
            .env_remove("NOTIFY_SOCKET")
            .stdout(Stdio::null())
            .stderr(stderr);
        if let Some(nofile) = nofile {
            let limit = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            // SAFETY: setrlimit is async-signal-safe and only reads `limit`, a copy
            // moved into the closure.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let child = command.spawn().expect("start nudged run");
        let daemon = Daemon {
            child,
            dir,
            port,
            feed_path,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(daemon.feed_answers(Duration::from_secs(2)) && interactions(&daemon.db()) == 1) {
            assert!(
                Instant::now() < deadline,
                "the daemon did not serve the feed and log the first message within 30 s:\n{}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        daemon
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("nudged.db")
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("Maildir")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Whether a GET of the feed gets a 200 within `within`.
    pub fn feed_answers(&self, within: Duration) -> bool {
        use std::io::{Read, Write};
        let Ok(mut stream) = std::net::TcpStream::connect_timeout(
            &format!("127.0.0.1:{}", self.port).parse().unwrap(),
            within,
        ) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(within));
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            self.feed_path
        );
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
    }

    /// VmRSS and VmHWM in KiB.
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the daemon is alive");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
