//! A private Dovecot 2.3 per test: own temp dir, ports, self-signed cert and config, so
//! tests run in parallel and can restart, kill or reconfigure their server freely.

use std::fs::{self, OpenOptions};
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::{
    INSTALL_HINT, file_tail, find_program, free_port, mini_imap, read_banner, run_checked,
    stop_group, sys,
};

/// Password of every Dovecot user; also accepted as the XOAUTH2/OAUTHBEARER bearer token.
pub const PASSWORD: &str = "secret";

/// Variants of the Dovecot config, set through [`Dovecot::start_with`].
#[derive(Debug, Clone)]
pub struct DovecotOptions {
    /// `true` (default): STARTTLS on the plain port plus an IMAPS port. `false`: `ssl = no`
    /// globally and only the plain port runs (Dovecot cannot turn TLS off per listener).
    pub tls: bool,
    /// Appended verbatim to dovecot.conf, e.g. `imap_idle_notify_interval = 5 secs`.
    pub extra_config: String,
}

impl Default for DovecotOptions {
    fn default() -> Self {
        DovecotOptions {
            tls: true,
            extra_config: String::new(),
        }
    }
}

/// A private Dovecot 2.3 in its own temp dir, on its own ports; stopped on drop.
pub struct Dovecot {
    dir: TempDir,
    opts: DovecotOptions,
    imap_port: u16,
    imaps_port: u16,
    /// Owner of the mail files and of the login/internal processes: never root.
    mail_owner: (String, u32, u32),
    dovecot_bin: PathBuf,
    child: Option<Child>,
    /// Set after the first start; a failed start already put the log in its panic message.
    started: bool,
}

impl Dovecot {
    pub fn start() -> Dovecot {
        Dovecot::start_with(|_| {})
    }

    pub fn start_with(configure: impl FnOnce(&mut DovecotOptions)) -> Dovecot {
        let mut opts = DovecotOptions::default();
        configure(&mut opts);
        let dovecot_bin = find_program("dovecot", "dovecot-imapd");
        find_program("doveadm", "dovecot-core");
        if !Path::new("/usr/lib/dovecot/imap").exists() {
            panic!("/usr/lib/dovecot/imap missing (Debian package dovecot-imapd); {INSTALL_HINT}");
        }
        let dir = tempfile::Builder::new()
            .prefix("dovecot-test-")
            .tempdir()
            .expect("create a temp dir for dovecot");
        // TempDir is 0700; the unprivileged mail processes must be able to walk through it.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
            .expect("chmod the dovecot temp dir");
        let mail_owner = if sys::is_root() {
            let uid = run_checked(
                Command::new("id").args(["-u", "dovecot"]),
                "look up the dovecot user",
            );
            let gid = run_checked(
                Command::new("id").args(["-g", "dovecot"]),
                "look up the dovecot group",
            );
            (
                "dovecot".to_string(),
                uid.parse().expect("numeric uid"),
                gid.parse().expect("numeric gid"),
            )
        } else {
            let meta = fs::metadata(dir.path()).expect("stat own temp dir");
            (
                run_checked(Command::new("id").arg("-un"), "look up own user name"),
                meta.uid(),
                meta.gid(),
            )
        };
        for sub in ["run", "state", "mail"] {
            fs::create_dir_all(dir.path().join(sub)).expect("create dovecot run/state/mail dirs");
        }
        std::os::unix::fs::chown(
            dir.path().join("mail"),
            Some(mail_owner.1),
            Some(mail_owner.2),
        )
        .expect("chown the mail dir to the dovecot user");
        if opts.tls {
            make_cert(dir.path());
        }
        let mut dovecot = Dovecot {
            dir,
            opts,
            imap_port: 0,
            imaps_port: 0,
            mail_owner,
            dovecot_bin,
            child: None,
            started: false,
        };
        // Ports come from bind(0) and are released before dovecot binds them, so another
        // process may take one in between: then try again with fresh ports.
        for attempt in 1..=5 {
            dovecot.imap_port = free_port();
            dovecot.imaps_port = if dovecot.opts.tls { free_port() } else { 0 };
            dovecot.write_config();
            match dovecot.spawn_and_wait() {
                Ok(()) => {
                    dovecot.started = true;
                    return dovecot;
                }
                Err(e) if e.contains("Address already in use") && attempt < 5 => continue,
                Err(e) => panic!("dovecot did not start: {e}"),
            }
        }
        unreachable!()
    }

    pub fn imap_port(&self) -> u16 {
        self.imap_port
    }

    pub fn imaps_port(&self) -> u16 {
        assert!(
            self.opts.tls,
            "this Dovecot was started with tls = false: it has no IMAPS port"
        );
        self.imaps_port
    }

    /// The self-signed server certificate, for the client's extra CA file.
    pub fn ca_file(&self) -> PathBuf {
        assert!(
            self.opts.tls,
            "this Dovecot was started with tls = false: it has no certificate"
        );
        self.dir.path().join("cert.pem")
    }

    pub fn conf_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything Dovecot logged so far (auth failures, disconnect reasons, errors).
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// The user's Maildir root (holding cur/ new/ tmp/), created owned by the mail user so a
    /// test may drop files into it before or after the user first logs in.
    pub fn maildir(&self, user: &str) -> PathBuf {
        assert!(
            !user.is_empty() && !user.contains('/'),
            "user name {user:?} cannot be a directory name"
        );
        let home = self.dir.path().join("mail").join(user);
        let maildir = home.join("Maildir");
        for d in [
            home.clone(),
            maildir.clone(),
            maildir.join("cur"),
            maildir.join("new"),
            maildir.join("tmp"),
        ] {
            if !d.exists() {
                fs::create_dir(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
                std::os::unix::fs::chown(&d, Some(self.mail_owner.1), Some(self.mail_owner.2))
                    .unwrap_or_else(|e| panic!("chown {} to the mail user: {e}", d.display()));
            }
        }
        maildir
    }

    /// Name of the system user that owns the mail files (`dovecot` as root, else yourself).
    pub fn mail_user(&self) -> &str {
        &self.mail_owner.0
    }

    /// Stores `raw` in `folder` with a real IMAP APPEND (creating the folder if needed) and
    /// returns the UID the server gave it (UIDPLUS APPENDUID).
    pub fn append(&self, user: &str, folder: &str, raw: &[u8]) -> u32 {
        mini_imap::append(self.imap_port, user, folder, raw)
    }

    /// `doveadm -c CONF ARGS...`, e.g. `["expunge", "-u", "alice", "mailbox", "INBOX", "uid", "3"]`,
    /// `["kick", "alice"]`, `["mailbox", "delete", "-u", "alice", "Work"]`. Returns stdout;
    /// panics with stderr on failure.
    pub fn doveadm(&self, args: &[&str]) -> String {
        let doveadm = find_program("doveadm", "dovecot-core");
        run_checked(
            Command::new(doveadm)
                .arg("-c")
                .arg(self.conf_path())
                .args(args),
            "doveadm",
        )
    }

    /// Graceful stop (SIGTERM) and start again on the same ports and directories.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Crash: SIGKILL to every Dovecot process at once (no goodbye to clients). Returns once
    /// the ports refuse connections.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            sys::signal_group(child.id(), sys::SIGKILL);
            let _ = child.wait();
            self.wait_until_closed();
        }
    }

    /// Starts a stopped or killed Dovecot on the same ports and directories.
    pub fn start_again(&mut self) {
        assert!(
            self.child.is_none(),
            "start_again: dovecot is still running; call kill9() or stop() first"
        );
        // Sockets of the killed processes may linger for a moment: retry the bind briefly.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.spawn_and_wait() {
                Ok(()) => return,
                Err(e) if e.contains("Address already in use") && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(100))
                }
                Err(e) => panic!(
                    "dovecot did not start again on ports {}/{}: {e}",
                    self.imap_port, self.imaps_port
                ),
            }
        }
    }

    /// Graceful stop (SIGTERM, SIGKILL after 3 s); returns once the ports refuse
    /// connections. Drop does this too.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_group(&mut child);
            self.wait_until_closed();
        }
    }

    /// The master is gone before its children have closed their copies of the listening
    /// sockets; poll so "server down" is really down when kill9/stop return.
    fn wait_until_closed(&self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        while TcpStream::connect(("127.0.0.1", self.imap_port)).is_ok() && Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("dovecot.log")
    }

    fn write_config(&self) {
        let dir = self.dir.path().display();
        let (internal_user, login_user) = if sys::is_root() {
            ("dovecot".to_string(), "dovenull".to_string())
        } else {
            (self.mail_owner.0.clone(), self.mail_owner.0.clone())
        };
        let internal_group = run_checked(
            Command::new("id").args(["-gn", &internal_user]),
            "look up a group",
        );
        let (mail_uid, mail_gid) = (self.mail_owner.1, self.mail_owner.2);
        let ssl = if self.opts.tls {
            format!("ssl = yes\nssl_cert = <{dir}/cert.pem\nssl_key = <{dir}/key.pem\n")
        } else {
            "ssl = no\n".to_string()
        };
        // Port 0 disables the built-in imaps listener (otherwise it would bind port 993).
        let imaps = if self.opts.tls {
            format!("port = {}\n    ssl = yes", self.imaps_port)
        } else {
            "port = 0".into()
        };
        // %u (the full login name) keeps alice@a and alice@b apart; maildir() uses the same.
        let conf = format!(
            "# Written by tests/support/mod.rs for one test.
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
{ssl}mail_location = maildir:{dir}/mail/%u/Maildir
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={dir}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    {imaps}
  }}
}}
service anvil {{
  chroot =
}}
{extra}
",
            imap = self.imap_port,
            extra = self.opts.extra_config,
        );
        fs::write(self.conf_path(), conf).expect("write dovecot.conf");
    }

    /// Starts `dovecot -F` and waits for its `* OK` greeting. Err carries the log on failure.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        // A master.pid left by a killed instance would make dovecot refuse to start if the
        // pid got reused; every process of ours is gone by now, so it is safe to drop.
        let _ = fs::remove_file(self.dir.path().join("run/master.pid"));
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open dovecot.log");
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut child = Command::new(&self.dovecot_bin)
            .arg("-c")
            .arg(self.conf_path())
            .arg("-F")
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                log.try_clone().expect("dup dovecot.log handle"),
            ))
            .stderr(Stdio::from(log))
            .process_group(0) // so stop/kill9 reach imap-login, auth, imap... too
            .spawn()
            .unwrap_or_else(|e| {
                panic!("spawn {}: {e}; {INSTALL_HINT}", self.dovecot_bin.display())
            });
        let deadline = Instant::now() + Duration::from_secs(15);
        let failure = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break format!("dovecot exited with {status}");
            }
            match read_banner(self.imap_port, "* OK", Duration::from_secs(2)) {
                Ok(_) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => {
                    stop_group(&mut child);
                    break format!(
                        "no `* OK` greeting on port {} within 15 s ({e})",
                        self.imap_port
                    );
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        };
        let text = fs::read_to_string(self.log_path()).unwrap_or_default();
        let new_log = text.get(log_start as usize..).unwrap_or(&text);
        Err(format!(
            "{failure}; config {}; log:\n{new_log}",
            self.conf_path().display()
        ))
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if thread::panicking() && self.started {
            eprintln!(
                "--- last lines of {} ---\n{}",
                self.log_path().display(),
                file_tail(&self.log_path(), 40)
            );
        }
        self.stop();
    }
}

/// A self-signed leaf certificate (CA:FALSE, serverAuth): rustls rejects a CA cert as a server cert.
fn make_cert(dir: &Path) {
    let openssl = find_program("openssl", "openssl");
    // The line from TESTING.md, verbatim.
    let args = "req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
        -keyout key.pem -out cert.pem -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
        -addext basicConstraints=critical,CA:FALSE -addext extendedKeyUsage=serverAuth";
    let mut cmd = Command::new(openssl);
    cmd.current_dir(dir).args(args.split_whitespace());
    run_checked(&mut cmd, "make the test TLS certificate");
}
