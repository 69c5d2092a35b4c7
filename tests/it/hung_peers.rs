//! Peers that hang must delay only their own task. A digest is due while its mail
//! server accepts, greets and then never answers (a tarpit in this file), or while
//! `sendmail_command` never exits: meanwhile mail APPENDed to a real Dovecot is logged,
//! `nudged followups` answers and so does the feed. Once a server answers, the digest
//! goes out exactly once. And `run --once` with a source it cannot reach still plans,
//! sends the digest and then says it failed.

use crate::support;
use crate::tarpit;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use support::{Dovecot, SmtpSink};
use tarpit::Tarpit;

const MENTION: &str = include_str!("../fixtures/github/mention.eml");
/// 07:31 in Berlin: the 07:30 digest is due.
const NOW: &str = "2026-11-24T06:31:00Z";
/// Ten minutes on: the first sender's lease (five minutes) has run out.
const LATER: &str = "2026-11-24T06:41:00Z";

fn notification(n: usize) -> Vec<u8> {
    MENTION
        .replace(
            "Message-ID: <fieldnote/relay/issues/58/3109876543@github.com>",
            &format!("Message-ID: <hung-{n}@github.com>"),
        )
        .into_bytes()
}

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    web_port: u16,
}

impl Setup {
    /// An IMAP source on `dovecot`, the digest through `transport` lines, the web side.
    fn new(dovecot: &Dovecot, transport: &str) -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("password"),
            format!("{}\n", support::PASSWORD),
        )
        .unwrap();
        let web_port = support::free_port();
        let setup = Setup {
            config: dir.path().join("nudged.toml"),
            dir,
            web_port,
        };
        setup.write_config(dovecot, transport);
        setup
    }

    fn write_config(&self, dovecot: &Dovecot, transport: &str) {
        std::fs::write(
            &self.config,
            format!(
                "[store]\npath = \"nudged.db\"\n\n\
                 [[source]]\nname = \"mail\"\nkind = \"imap\"\nusername = \"ann\"\n\
                 host = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\npassword_file = \"password\"\n\
                 backfill_days = 3650\nidle_timeout = \"5s\"\n\n\
                 [digest]\nto = \"Ann <ann@example.com>\"\nfrom = \"nudged <nudged@example.com>\"\n\
                 at = \"07:30\"\ntimezone = \"Europe/Berlin\"\nsend_when_empty = true\n{transport}\n\
                 [web]\nlisten = \"127.0.0.1:{web}\"\npublic_url = \"https://nudged.example.com/\"\n",
                imap = dovecot.imap_port(),
                web = self.web_port,
            ),
        )
        .unwrap();
    }

    fn command(&self, now: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nudged"));
        cmd.arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env("NUDGED_NOW", now)
            .env_remove("RUST_LOG");
        cmd
    }

    fn run(&self, now: &str, args: &[&str]) -> Output {
        self.command(now, args).output().expect("run nudged")
    }

    /// The feed's path, made before the daemon starts.
    fn feed_path(&self) -> String {
        let out = self.run(NOW, &["feed-url"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let at = url.find("/feed/").expect("a feed URL");
        url[at..].to_string()
    }

    fn daemon(&self) -> Running {
        let mut child = self
            .command(NOW, &["run"])
            .env("RUST_LOG", "nudged=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nudged run");
        let log = Arc::new(Mutex::new(String::new()));
        let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Running { child, log }
    }

    fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join("nudged.db")).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
    }
}

struct Running {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Running {
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGTERM; the daemon must stop promptly even with its digest stuck.
    fn stop(mut self) {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let stopped = wait_until(
            "the daemon exits after SIGTERM",
            Duration::from_secs(10),
            || matches!(self.child.try_wait(), Ok(Some(_))),
        );
        assert!(stopped < Duration::from_secs(10));
    }
}

impl Drop for Running {
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

/// GET `path` over plain HTTP/1.1; (status, time to the whole answer).
fn get(port: u16, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the web side");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read the answer");
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, started.elapsed())
}

/// What must keep working while the digest is stuck; `stuck` says it still is.
fn everything_else_goes_on(
    dovecot: &Dovecot,
    setup: &Setup,
    daemon: &Running,
    feed: &str,
    stuck: impl Fn() -> bool,
) {
    assert!(stuck(), "the digest is not stuck; log:\n{}", daemon.log());
    dovecot.append("ann", "INBOX", &notification(1));
    let logged = wait_until(
        "the APPENDed notification is logged",
        Duration::from_secs(5),
        || setup.count("SELECT count(*) FROM interaction") == 1,
    );
    eprintln!("logged {logged:?} after APPEND while the digest hangs");

    let started = Instant::now();
    let listed = setup.run(NOW, &["followups", "--json"]);
    let took = started.elapsed();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(
        took < Duration::from_secs(2),
        "`nudged followups` took {took:?}"
    );

    let (status, took) = get(setup.web_port, feed);
    assert_eq!(status, 200, "the feed did not answer");
    assert!(took < Duration::from_millis(200), "the feed took {took:?}");
    assert!(stuck(), "the digest stopped being stuck during the checks");
    assert_eq!(
        setup.count("SELECT count(*) FROM digest WHERE status = 'sent'"),
        0
    );
}

fn wait_for_web(setup: &Setup, feed: &str) {
    wait_until("the web side answers", Duration::from_secs(10), || {
        TcpStream::connect(("127.0.0.1", setup.web_port)).is_ok()
            && get(setup.web_port, feed).0 == 200
    });
}

#[test]
fn a_tarpit_smtp_server_delays_only_the_digest() {
    let dovecot = Dovecot::start();
    let tarpit = Tarpit::start();
    let setup = Setup::new(
        &dovecot,
        &format!(
            "transport = \"smtp\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
            tarpit.port
        ),
    );
    let feed = setup.feed_path();
    let daemon = setup.daemon();
    wait_until(
        "the digest reaches the tarpit",
        Duration::from_secs(15),
        || tarpit.accepted() == 1,
    );
    wait_for_web(&setup, &feed);
    everything_else_goes_on(&dovecot, &setup, &daemon, &feed, || {
        setup.count("SELECT count(*) FROM digest WHERE status = 'sending'") == 1
    });
    daemon.stop();

    // A real server answers now, behind the same address.
    let inbox = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start_into_dir(inbox.path());
    tarpit.forward_to(sink.port());
    let out = setup.run(LATER, &["run", "--once", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["digest"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sent"),
        "{report}"
    );
    let again = setup.run(LATER, &["run", "--once", "--json"]);
    assert!(again.status.success());
    assert_eq!(delivered(sink.maildir()), 1, "the digest was sent once");
    assert_eq!(
        setup.count("SELECT count(*) FROM digest WHERE status = 'sent'"),
        1
    );
    assert_eq!(tarpit.accepted(), 1, "the tarpit saw one attempt only");
}

#[test]
fn a_sendmail_that_never_exits_delays_only_the_digest_and_is_killed() {
    let dovecot = Dovecot::start();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sendmail.pid");
    let hang = dir.path().join("hang.sh");
    std::fs::write(
        &hang,
        format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 600\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let setup = Setup::new(
        &dovecot,
        &format!(
            "transport = \"sendmail\"\nsendmail_command = \"/bin/sh {}\"\n",
            hang.display()
        ),
    );
    let feed = setup.feed_path();
    let daemon = setup.daemon();
    let sendmail_pid =
        || -> Option<i32> { std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok() };
    wait_until("sendmail is started", Duration::from_secs(15), || {
        sendmail_pid().is_some()
    });
    let pid = sendmail_pid().unwrap();
    wait_for_web(&setup, &feed);
    everything_else_goes_on(&dovecot, &setup, &daemon, &feed, || running(pid));
    daemon.stop();
    wait_until(
        "the hung sendmail is killed",
        Duration::from_secs(5),
        || !running(pid),
    );

    // A sendmail that works: one message file per run.
    let out_dir = dir.path().join("sent");
    std::fs::create_dir(&out_dir).unwrap();
    let works = dir.path().join("works.sh");
    std::fs::write(
        &works,
        format!("#!/bin/sh\ncat > {}/$$.eml\n", out_dir.display()),
    )
    .unwrap();
    setup.write_config(
        &dovecot,
        &format!(
            "transport = \"sendmail\"\nsendmail_command = \"/bin/sh {}\"\n",
            works.display()
        ),
    );
    for _ in 0..2 {
        let out = setup.run(LATER, &["run", "--once"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
    assert_eq!(
        setup.count("SELECT count(*) FROM digest WHERE status = 'sent'"),
        1
    );
}

#[test]
fn run_once_with_an_unreachable_source_still_plans_and_sends_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    std::fs::write(
        maildir.join("cur/1700000000.M1P1.test:2,S"),
        notification(7),
    )
    .unwrap();
    let closed = support::free_port(); // nothing listens here
    let config = dir.path().join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"nudged.db\"\n\n\
             [[source]]\nname = \"local\"\nkind = \"maildir\"\npath = \"{maildir}\"\n\n\
             [[source]]\nname = \"away\"\nkind = \"imap\"\nusername = \"ann\"\nhost = \"127.0.0.1\"\n\
             port = {closed}\ntls = \"none\"\npassword_file = \"password\"\n\n\
             [digest]\nto = \"ann@example.com\"\nat = \"07:30\"\ntimezone = \"Europe/Berlin\"\n\
             transport = \"file\"\nfile_dir = \"out\"\n",
            maildir = maildir.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("password"), "secret\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--json"])
        .current_dir(dir.path())
        .env("NUDGED_NOW", NOW)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("away"),
        "the failure names the source: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["sources"][0]["logged"], 1, "{report}");
    assert!(
        !report["sources"][1]["errors"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{report}"
    );
    assert!(
        report["digest"]
            .as_str()
            .unwrap_or_default()
            .starts_with("sent"),
        "{report}"
    );
    assert_eq!(delivered(&dir.path().join("out")), 1);
    let conn = rusqlite::Connection::open(dir.path().join("nudged.db")).unwrap();
    let planned: i64 = conn
        .query_row("SELECT count(*) FROM followup", [], |r| r.get(0))
        .unwrap();
    assert!(planned >= 1, "the mention was planned");
}

/// Messages in a directory, or in a Maildir's new/ and cur/.
fn delivered(dir: &Path) -> usize {
    let files = |d: &Path| std::fs::read_dir(d).map_or(0, |e| e.count());
    if dir.join("new").is_dir() {
        files(&dir.join("new")) + files(&dir.join("cur"))
    } else {
        files(dir)
    }
}

/// Alive and not a zombie.
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(") ")
                .map(|(_, rest)| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}
