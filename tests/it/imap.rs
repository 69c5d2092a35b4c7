//! The IMAP source against a real Dovecot on loopback (tests/support): logging what is
//! appended, surviving restarts, kill -9, new UIDVALIDITY, expunges, stalls and wrong
//! passwords, and every way of logging in. Each test has its own server and user.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nudged::clock::Clock;
use nudged::config::Config;
use nudged::service::daemon::Daemon;
use nudged::source::imap::Hooks;
use nudged::store::Store;
use serde_json::Value;
use support::{Dovecot, StallProxy};
use tokio_util::sync::CancellationToken;

const MENTION: &str = include_str!("../fixtures/github/mention.eml");

/// A GitHub mention with its own Message-ID, so each one is a new interaction.
fn notification(n: usize) -> Vec<u8> {
    MENTION
        .replace(
            "Message-ID: <fieldnote/relay/issues/58/3109876543@github.com>",
            &format!("Message-ID: <test-{n}@github.com>"),
        )
        .into_bytes()
}

fn ordinary(n: usize) -> Vec<u8> {
    format!(
        "From: Aunt May <may@example.org>\r\nTo: sam@example.com\r\nSubject: lunch {n}\r\n\
         Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <plain-{n}@example.org>\r\n\r\nSee you on Sunday.\r\n"
    )
    .into_bytes()
}

/// A test's private directory with its config, password file and database.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    /// `source` is the body of the [[source]] table after name/kind/username.
    fn new(user: &str, source: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("password"),
            format!("{}\n", support::PASSWORD),
        )
        .unwrap();
        let config = dir.path().join("nudged.toml");
        std::fs::write(
            &config,
            format!(
                "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"mail\"\nkind = \"imap\"\n\
                 username = \"{user}\"\nbackfill_days = 3650\n{source}\n"
            ),
        )
        .unwrap();
        Setup { dir, config }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("nudged.db")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nudged"));
        cmd.arg("--config").arg(&self.config).args(args);
        cmd.env_remove("NUDGED_NOW").env_remove("RUST_LOG");
        cmd
    }

    /// `nudged run --once --json`; panics with stderr unless it succeeds.
    fn once(&self) -> Value {
        let out = self.command(&["run", "--once", "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "run --once failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn spawn(&self) -> Daemon_ {
        let mut child = self
            .command(&["run"])
            .env("RUST_LOG", "nudged=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&log);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Daemon_ { child, log }
    }

    fn interactions(&self) -> i64 {
        count(&self.db(), "SELECT count(*) FROM interaction")
    }
}

fn count(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

/// A running `nudged run` with its stderr collected.
#[allow(non_camel_case_types)]
struct Daemon_ {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Daemon_ {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_for_log(&self, needle: &str, within: Duration) -> Duration {
        let start = Instant::now();
        while start.elapsed() < within {
            if self.log().contains(needle) {
                return start.elapsed();
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{needle:?} not logged within {within:?}; log:\n{}",
            self.log()
        );
    }

    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        unsafe extern "C" {
            fn kill(pid: i32, sig: i32) -> i32;
        }
        // SAFETY: plain kill(2) on our own child.
        unsafe { kill(self.child.id() as i32, 15) };
        let status = self.child.wait().unwrap();
        thread::sleep(Duration::from_millis(50));
        (status, self.log())
    }
}

impl Drop for Daemon_ {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < within {
        if done() {
            return start.elapsed();
        }
        thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not within {within:?}");
}

fn tls_source(d: &Dovecot) -> String {
    format!(
        "host = \"127.0.0.1\"\nport = {}\ntls = \"implicit\"\nca_file = \"{}\"\npassword_file = \"password\"\n",
        d.imaps_port(),
        d.ca_file().display()
    )
}

fn plain_source(port: u16) -> String {
    format!("host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\npassword_file = \"password\"\n")
}

#[test]
fn appended_mail_is_logged_once_and_while_watching() {
    let dovecot = Dovecot::start();
    dovecot.append("ann", "INBOX", &notification(1));
    dovecot.append("ann", "INBOX", &ordinary(1));
    let setup = Setup::new(
        "ann",
        &format!("{}idle_timeout = \"5s\"\n", tls_source(&dovecot)),
    );
    let report = setup.once();
    assert_eq!(report["sources"][0]["messages"], 2, "{report}");
    assert_eq!(report["sources"][0]["logged"], 1, "{report}");
    // Nothing new: nothing fetched, nothing logged.
    assert_eq!(setup.once()["sources"][0]["messages"], 0);

    let daemon = setup.spawn();
    daemon.wait_for_log("connected", Duration::from_secs(10));
    dovecot.append("ann", "INBOX", &notification(2));
    let took = wait_until(
        "second notification logged",
        Duration::from_secs(10),
        || setup.interactions() == 2,
    );
    eprintln!("APPEND → logged in {took:?}");
    let (status, log) = daemon.terminate();
    assert!(status.success(), "daemon exit {status}: {log}");
    assert!(log.contains("logging out"), "{log}");
    // \Seen was never set: the user's client still shows the mail as unread.
    let flags = dovecot.doveadm(&["fetch", "-u", "ann", "flags", "mailbox", "INBOX", "all"]);
    assert!(!flags.contains("\\Seen"), "{flags}");
}

#[test]
fn mail_that_arrived_while_dovecot_was_down_is_logged_after_reconnect() {
    let mut dovecot = Dovecot::start();
    let maildir = dovecot.maildir("bob");
    dovecot.append("bob", "INBOX", &notification(1));
    let setup = Setup::new(
        "bob",
        &format!(
            "host = \"localhost\"\nport = {}\ntls = \"starttls\"\nca_file = \"{}\"\npassword_file = \"password\"\n",
            dovecot.imap_port(),
            dovecot.ca_file().display()
        ),
    );
    let daemon = setup.spawn();
    wait_until("first notification", Duration::from_secs(10), || {
        setup.interactions() == 1
    });
    daemon.wait_for_log("connected", Duration::from_secs(5));
    dovecot.stop();
    // Delivered straight into the Maildir while the server is down.
    let file = maildir.join("new").join("1795000000.M1P1.test");
    std::fs::write(&file, notification(2)).unwrap();
    thread::sleep(Duration::from_millis(500));
    dovecot.start_again();
    let took = wait_until(
        "mail delivered during the outage",
        Duration::from_secs(30),
        || setup.interactions() == 2,
    );
    eprintln!("logged {took:?} after the restart");
    let log = daemon.log();
    assert!(log.contains("reconnecting in"), "{log}");
}

#[test]
fn kill9_during_backfill_logs_each_notification_exactly_once() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let new = dovecot.maildir("carol").join("new");
    let mut expected = 0;
    // Three FETCH batches (500 + 500 + 100): kills also land while one batch's bodies
    // and the next batch's header fields are both in flight.
    for n in 0..1100 {
        let raw = if n % 3 == 0 {
            expected += 1;
            notification(n)
        } else {
            ordinary(n)
        };
        std::fs::write(new.join(format!("17950{n:05}.M{n}P1.test")), raw).unwrap();
    }
    // Small batches make more commits to land between.
    let setup = Setup::new("carol", &plain_source(dovecot.imap_port()));
    let mut rng_state = 0x2545F4914F6CDD1Du64;
    for round in 0..6 {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let delay = Duration::from_millis(30 + rng_state % 400);
        let mut child = setup
            .command(&["run"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        eprintln!(
            "round {round}: killed after {delay:?}, {} logged",
            setup.interactions()
        );
    }
    let report = setup.once();
    assert!(
        report["sources"][0]["errors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{report}"
    );
    assert_eq!(setup.interactions(), expected);
    assert_eq!(
        count(
            &setup.db(),
            "SELECT count(DISTINCT source_message_id) FROM interaction"
        ),
        expected
    );
    assert_eq!(
        count(&setup.db(), "SELECT last_seen_uid FROM mailbox_state"),
        1100
    );
    let store = Store::open(&setup.db()).unwrap();
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn a_recreated_folder_is_read_again_without_duplicates() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    for n in 0..3 {
        dovecot.append("dave", "Work", &notification(n));
    }
    let setup = Setup::new(
        "dave",
        &format!(
            "{}folders = [\"Work\"]\n",
            plain_source(dovecot.imap_port())
        ),
    );
    assert_eq!(setup.once()["sources"][0]["logged"], 3);
    let before = count(&setup.db(), "SELECT uidvalidity FROM mailbox_state");
    dovecot.doveadm(&["mailbox", "delete", "-u", "dave", "Work"]);
    thread::sleep(Duration::from_millis(1100)); // UIDVALIDITY is time-based
    for n in 0..4 {
        dovecot.append("dave", "Work", &notification(n));
    }
    let report = setup.once();
    assert_eq!(report["sources"][0]["messages"], 4, "{report}");
    assert_eq!(report["sources"][0]["logged"], 1, "{report}");
    assert_eq!(setup.interactions(), 4);
    assert_ne!(
        before,
        count(&setup.db(), "SELECT uidvalidity FROM mailbox_state")
    );
}

#[test]
fn a_message_expunged_between_fetches_is_recorded_not_retried() {
    let dovecot = Arc::new(Dovecot::start_with(|o| o.tls = false));
    for n in 0..3 {
        dovecot.append("erin", "INBOX", &notification(n));
    }
    let setup = Setup::new("erin", &plain_source(dovecot.imap_port()));
    let config = Config::load(&setup.config).unwrap();
    let server = Arc::clone(&dovecot);
    let hooks = Hooks {
        between_fetches: Some(Arc::new(move |_folder: &str, _uids: &[u32]| {
            server.doveadm(&["expunge", "-u", "erin", "mailbox", "INBOX", "uid", "2"]);
        })),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let daemon = Daemon::new(
        config.clone(),
        Clock::System,
        CancellationToken::new(),
        hooks,
    )
    .unwrap();
    let (reports, failed) = runtime.block_on(daemon.run_once());
    assert!(!failed, "{reports:?}");
    assert_eq!(reports[0].skipped, 1, "{reports:?}");
    assert_eq!(reports[0].logged, 2, "{reports:?}");
    let skipped = daemon
        .db()
        .read_blocking(|store| store.imap_skipped("mail", "INBOX"))
        .unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, 2);
    // The next pass neither retries it nor loops.
    let (again, failed) = runtime.block_on(daemon.run_once());
    assert!(!failed, "{again:?}");
    assert_eq!(again[0].messages, 0, "{again:?}");
}

/// A backfill of several batches, where each batch's bodies are fetched while the next
/// batch's header fields are already asked for: every notification once, the one
/// expunged meanwhile recorded, the cursor at the top.
#[test]
fn a_backfill_of_several_batches_reads_each_notification_once() {
    let dovecot = Arc::new(Dovecot::start_with(|o| o.tls = false));
    let new = dovecot.maildir("olga").join("new");
    let mut expected = 0;
    for n in 0..1234 {
        let raw = if n % 7 == 3 {
            expected += 1;
            notification(n)
        } else {
            ordinary(n)
        };
        std::fs::write(new.join(format!("17950{n:05}.M{n}P1.test")), raw).unwrap();
    }
    let setup = Setup::new("olga", &plain_source(dovecot.imap_port()));
    let config = Config::load(&setup.config).unwrap();
    let server = Arc::clone(&dovecot);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    let hooks = Hooks {
        between_fetches: Some(Arc::new(move |_folder: &str, uids: &[u32]| {
            let mut seen = seen.lock().unwrap();
            seen.push(uids.to_vec());
            // In the second batch, one candidate vanishes before its body is read.
            if seen.len() == 2 {
                let uid = uids[0].to_string();
                server.doveadm(&["expunge", "-u", "olga", "mailbox", "INBOX", "uid", &uid]);
            }
        })),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let daemon = Daemon::new(config, Clock::System, CancellationToken::new(), hooks).unwrap();
    let (reports, failed) = runtime.block_on(daemon.run_once());
    assert!(!failed, "{reports:?}");
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3, "one body FETCH per batch of 500: {calls:?}");
    assert!(calls[1][0] > 500 && calls[2][0] > 1000, "{calls:?}");
    assert_eq!(reports[0].skipped, 1, "{reports:?}");
    assert_eq!(reports[0].logged, expected - 1, "{reports:?}");
    assert_eq!(setup.interactions(), (expected - 1) as i64);
    assert_eq!(
        count(&setup.db(), "SELECT last_seen_uid FROM mailbox_state"),
        1234
    );
    let (again, failed) = runtime.block_on(daemon.run_once());
    assert!(!failed, "{again:?}");
    assert_eq!(again[0].messages, 0, "{again:?}");
}

#[test]
fn a_wrong_password_is_reported_and_retried_slowly() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let setup = Setup::new("frank", &plain_source(dovecot.imap_port()));
    std::fs::write(setup.dir.path().join("password"), "wrong\n").unwrap();
    let out = setup.command(&["run", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("authentication failed"), "{stderr}");

    let daemon = setup.spawn();
    daemon.wait_for_log("authentication failed", Duration::from_secs(10));
    thread::sleep(Duration::from_secs(3));
    let (_, log) = daemon.terminate();
    assert!(log.contains("next attempt in 15 min"), "{log}");
    let attempts = dovecot.log().matches("auth failed").count();
    assert!(
        attempts <= 2,
        "{attempts} log-in attempts in 3 s:\n{}",
        dovecot.log()
    );
}

#[test]
fn a_stalled_connection_is_noticed_within_the_timeout() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let proxy = StallProxy::start(dovecot.imap_port());
    let setup = Setup::new(
        "grace",
        &format!(
            "{}idle_timeout = \"2s\"\nread_timeout = \"2s\"\n",
            plain_source(proxy.port())
        ),
    );
    let daemon = setup.spawn();
    daemon.wait_for_log("connected", Duration::from_secs(10));
    thread::sleep(Duration::from_millis(300));
    proxy.stall();
    let noticed = daemon.wait_for_log("connection lost", Duration::from_secs(15));
    eprintln!("stall noticed after {noticed:?}");
    assert!(noticed <= Duration::from_secs(8), "{noticed:?}");
    proxy.resume();
    dovecot.append("grace", "INBOX", &notification(1));
    wait_until("logged after the stall", Duration::from_secs(20), || {
        setup.interactions() == 1
    });
}

#[test]
fn starttls_that_is_not_offered_is_refused() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let setup = Setup::new(
        "heidi",
        &format!(
            "host = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\npassword_file = \"password\"\n",
            dovecot.imap_port()
        ),
    );
    let out = setup.command(&["run", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused STARTTLS"), "{stderr}");
    assert!(
        !dovecot.log().contains("Login: user=<heidi>"),
        "logged in without TLS"
    );
}

#[test]
fn tls_without_the_test_ca_is_refused() {
    let dovecot = Dovecot::start();
    let source = tls_source(&dovecot).replace(
        &format!("ca_file = \"{}\"\n", dovecot.ca_file().display()),
        "",
    );
    let setup = Setup::new("ivan", &source);
    let out = setup.command(&["run", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TLS handshake"), "{stderr}");
}

/// A token endpoint that hands out the Dovecot password as access token and remembers
/// each request body.
fn token_endpoint() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buf = vec![0u8; 8192];
            let mut got = Vec::new();
            while let Ok(n) = stream.read(&mut buf) {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("Content-Length: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            record
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&got).into_owned());
            let body = format!(
                "{{\"access_token\":\"{}\",\"expires_in\":3600,\"token_type\":\"Bearer\"}}",
                support::PASSWORD
            );
            let _ = write!(
                stream,
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, seen)
}

#[test]
fn xoauth2_with_a_refresh_token_and_with_an_access_token_file() {
    let dovecot = Dovecot::start();
    dovecot.append("judy", "INBOX", &notification(1));
    let (port, requests) = token_endpoint();
    let base = tls_source(&dovecot).replace("password_file = \"password\"\n", "");
    let setup = Setup::new(
        "judy",
        &format!(
            "{base}[source.oauth2]\ntoken_url = \"http://127.0.0.1:{port}/token\"\nclient_id = \"nudged-test\"\n\
             client_secret_file = \"client-secret\"\nrefresh_token_file = \"refresh-token\"\n"
        ),
    );
    std::fs::write(setup.dir.path().join("client-secret"), "cs-81be0f\n").unwrap();
    std::fs::write(setup.dir.path().join("refresh-token"), "rt-7f3a9c\n").unwrap();
    assert_eq!(setup.once()["sources"][0]["logged"], 1);
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].contains("grant_type=refresh_token&refresh_token=rt-7f3a9c"),
        "{}",
        requests[0]
    );
    assert!(
        dovecot.log().contains("mech=XOAUTH2") || dovecot.log().contains("judy"),
        "{}",
        dovecot.log()
    );

    let setup = Setup::new(
        "judy",
        &format!("{base}[source.oauth2]\naccess_token_file = \"token\"\n"),
    );
    std::fs::write(
        setup.dir.path().join("token"),
        format!("{}\n", support::PASSWORD),
    )
    .unwrap();
    assert_eq!(setup.once()["sources"][0]["logged"], 1);
}

#[test]
fn secrets_never_reach_the_log_even_at_trace_level() {
    let dovecot = Dovecot::start();
    dovecot.append("kim", "INBOX", &notification(1));
    let (port, _) = token_endpoint();
    let setups = [
        Setup::new("kim", &tls_source(&dovecot)),
        Setup::new(
            "kim",
            &format!(
                "{}[source.oauth2]\ntoken_url = \"http://127.0.0.1:{port}/token\"\nclient_id = \"nudged-test\"\n\
                 client_secret_file = \"client-secret\"\nrefresh_token_file = \"refresh-token\"\n",
                tls_source(&dovecot).replace("password_file = \"password\"\n", "")
            ),
        ),
    ];
    std::fs::write(setups[1].dir.path().join("client-secret"), "cs-81be0f\n").unwrap();
    std::fs::write(setups[1].dir.path().join("refresh-token"), "rt-7f3a9c\n").unwrap();
    for setup in &setups {
        let out = setup
            .command(&["run", "--once"])
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.len() > 200,
            "trace logging produced almost nothing: {all}"
        );
        use base64::Engine;
        let b64 = |raw: &str| base64::engine::general_purpose::STANDARD.encode(raw);
        let encoded = [
            b64("user=kim\x01auth=Bearer secret\x01\x01"),
            b64("\0kim\0secret"),
        ];
        for secret in ["cs-81be0f", "rt-7f3a9c", &encoded[0], &encoded[1]] {
            assert!(
                !all.contains(secret),
                "{secret:?} appears in the output:\n{all}"
            );
        }
        // The Dovecot password is the word "secret", which rustls traces contain as part
        // of longer names (extended_master_secret): look for it as a word of its own.
        let word = regex::Regex::new(&format!(
            "(^|[^A-Za-z0-9_]){}([^A-Za-z0-9_]|$)",
            support::PASSWORD
        ))
        .unwrap();
        assert!(
            !word.is_match(&all),
            "the password appears in the output:\n{all}"
        );
    }
}

#[test]
fn the_sent_folder_reaches_known_contacts() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let setup = Setup::new(
        "leo",
        &format!(
            "{}sent_folder = \"Sent\"\n",
            plain_source(dovecot.imap_port())
        ),
    );
    let met = setup
        .command(&["met", "Ann Lee", "--email", "ann@example.com"])
        .output()
        .unwrap();
    assert!(
        met.status.success(),
        "{}",
        String::from_utf8_lossy(&met.stderr)
    );
    let sent = "From: leo@example.com\r\nTo: Ann Lee <ann@example.com>\r\nSubject: good to meet you\r\n\
                Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <sent-1@example.com>\r\n\r\nHi Ann\r\n";
    dovecot.append("leo", "Sent", sent.as_bytes());
    dovecot.append("leo", "INBOX", &ordinary(1));
    let report = setup.once();
    assert_eq!(report["sources"][0]["sent_contacts"], 1, "{report}");
    assert_eq!(count(&setup.db(), "SELECT count(*) FROM mailbox_state"), 2);
}

#[test]
fn check_source_lists_folders_and_capabilities() {
    let dovecot = Dovecot::start();
    dovecot.append("mia", "INBOX", &ordinary(1));
    let setup = Setup::new(
        "mia",
        &format!(
            "{}folders = [\"INBOX\", \"Missing\"]\n",
            tls_source(&dovecot)
        ),
    );
    let config = Config::load(&setup.config).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime
        .block_on(nudged::source::imap::check_source(&config.sources[0]))
        .unwrap();
    assert!(report.idle, "{report:?}");
    assert_eq!(
        report.folders,
        vec![("INBOX".to_string(), true), ("Missing".to_string(), false)]
    );
    assert!(
        report.capabilities.iter().any(|c| c == "IDLE"),
        "{report:?}"
    );
}

#[test]
fn without_idle_the_folder_is_polled_and_two_accounts_share_one_daemon() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let setup = Setup::new(
        "nina",
        &format!(
            "{}idle = false\npoll_interval = \"1s\"\nfolders = [\"INBOX\", \"Work\"]\n\n\
             [[source]]\nname = \"second\"\nkind = \"imap\"\nusername = \"oscar\"\n{}",
            plain_source(dovecot.imap_port()),
            plain_source(dovecot.imap_port())
        ),
    );
    dovecot.append("nina", "Work", &ordinary(1));
    let daemon = setup.spawn();
    daemon.wait_for_log(
        "first sync of every source finished",
        Duration::from_secs(10),
    );
    dovecot.append("nina", "INBOX", &notification(1));
    dovecot.append("nina", "Work", &notification(2));
    dovecot.append("oscar", "INBOX", &notification(3));
    wait_until("all three logged", Duration::from_secs(15), || {
        setup.interactions() == 3
    });
    assert_eq!(count(&setup.db(), "SELECT count(*) FROM mailbox_state"), 3);
}

#[test]
fn backfill_days_bounds_only_the_first_read() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let new = dovecot.maildir("quinn").join("new");
    // An old message before the first start: outside a one-day backfill, not read.
    let old = new.join("1700000000.M1P1.test");
    std::fs::write(&old, notification(1)).unwrap();
    let aged = |path: &Path| {
        // Dovecot's INTERNALDATE for Maildir is the file's mtime; SEARCH SINCE uses it.
        let status = Command::new("touch")
            .args(["-d", "10 days ago"])
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success());
    };
    aged(&old);
    let setup = Setup::new("quinn", &plain_source(dovecot.imap_port()));
    let text = std::fs::read_to_string(&setup.config)
        .unwrap()
        .replace("backfill_days = 3650", "backfill_days = 1");
    std::fs::write(&setup.config, text).unwrap();
    setup.once();
    assert_eq!(
        setup.interactions(),
        0,
        "a first start reads back backfill_days only"
    );
    // After an outage longer than backfill_days, mail that arrived meanwhile (old
    // INTERNALDATE) is above the cursor and must be read.
    let late = new.join("1700000001.M2P1.test");
    std::fs::write(&late, notification(2)).unwrap();
    aged(&late);
    setup.once();
    assert_eq!(
        setup.interactions(),
        1,
        "mail above the cursor is read whatever its date"
    );
}
