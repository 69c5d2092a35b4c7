//! aiosmtpd as the SMTP server nudged sends digests to: it delivers each message into a
//! Maildir (adding X-MailFrom / X-RcptTo), e.g. straight into a Dovecot user's inbox.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{INSTALL_HINT, file_tail, free_port, read_banner, stop_group, sys};

/// aiosmtpd delivering every message into a Maildir (with X-MailFrom / X-RcptTo headers).
pub struct SmtpSink {
    port: u16,
    maildir: PathBuf,
    log_dir: TempDir,
    /// Keeps the Maildir of `start_into_dir` alive.
    _own_dir: Option<TempDir>,
    child: Option<Child>,
}

impl SmtpSink {
    /// Delivers into an existing Maildir, e.g. `dovecot.maildir("alice")`. As root the sink
    /// runs as the Maildir's owner (`dovecot`), like `runuser -u dovecot --` would.
    pub fn start(maildir: &Path) -> SmtpSink {
        SmtpSink::start_owned(maildir.to_path_buf(), None)
    }

    /// Delivers into a fresh Maildir `<dir>/Maildir` in a new temp dir under `dir`.
    pub fn start_into_dir(dir: &Path) -> SmtpSink {
        let own = tempfile::Builder::new()
            .prefix("smtp-sink-")
            .tempdir_in(dir)
            .expect("create a temp dir for the SMTP sink");
        let maildir = own.path().join("Maildir");
        SmtpSink::start_owned(maildir, Some(own))
    }

    fn start_owned(maildir: PathBuf, own_dir: Option<TempDir>) -> SmtpSink {
        let python = Path::new("/usr/bin/python3");
        if !python.exists() {
            panic!("/usr/bin/python3 missing (Debian package python3-aiosmtpd); {INSTALL_HINT}");
        }
        let log_dir = tempfile::Builder::new()
            .prefix("smtp-sink-log-")
            .tempdir()
            .expect("create a temp dir for the SMTP sink log");
        let mut sink = SmtpSink {
            port: 0,
            maildir,
            log_dir,
            _own_dir: own_dir,
            child: None,
        };
        for attempt in 1..=5 {
            sink.port = free_port();
            match sink.spawn_and_wait() {
                Ok(()) => return sink,
                Err(e) if e.contains("in use") && attempt < 5 => continue,
                Err(e) => panic!("aiosmtpd did not start: {e}"),
            }
        }
        unreachable!()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn maildir(&self) -> &Path {
        &self.maildir
    }

    fn log_path(&self) -> PathBuf {
        self.log_dir.path().join("aiosmtpd.log")
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let listen = format!("127.0.0.1:{}", self.port);
        let args = [
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &listen,
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ];
        // As root, write as whoever owns the Maildir (or its parent, if not made yet), so
        // Dovecot can read and rename the files. std's uid/gid rather than `runuser`, whose
        // SIGTERM handling sleeps 2 s before it exits.
        let owner_path = if self.maildir.exists() {
            self.maildir.clone()
        } else {
            self.maildir.parent().expect("maildir parent").to_path_buf()
        };
        let owner = fs::metadata(&owner_path)
            .unwrap_or_else(|e| panic!("stat {}: {e}", owner_path.display()));
        let mut cmd = Command::new("/usr/bin/python3");
        if sys::is_root() && owner.uid() != 0 {
            cmd.uid(owner.uid()).gid(owner.gid()).env("HOME", "/");
        }
        let log = File::create(self.log_path()).expect("create aiosmtpd.log");
        let mut child = cmd
            .args(args)
            .arg(&self.maildir)
            .current_dir("/") // the mailbox user may not be allowed into our cwd
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                log.try_clone().expect("dup aiosmtpd.log handle"),
            ))
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .map_err(|e| format!("spawn /usr/bin/python3 -m aiosmtpd: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = fs::read_to_string(self.log_path()).unwrap_or_default();
                return Err(format!(
                    "exited with {status} (is python3-aiosmtpd installed? {INSTALL_HINT}):\n{log}"
                ));
            }
            match read_banner(self.port, "220", Duration::from_secs(2)) {
                Ok(_) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => {
                    stop_group(&mut child);
                    let log = fs::read_to_string(self.log_path()).unwrap_or_default();
                    return Err(format!(
                        "no 220 banner on port {} within 15 s ({e}):\n{log}",
                        self.port
                    ));
                }
                Err(_) => thread::sleep(Duration::from_millis(25)),
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- aiosmtpd log ---\n{}", file_tail(&self.log_path(), 40));
        }
        if let Some(mut child) = self.child.take() {
            stop_group(&mut child);
        }
    }
}
