//! Checks the test harness itself (tests/support): real Dovecot, aiosmtpd and the stall
//! proxy start, talk, restart and fail the way nudged's end-to-end tests rely on.

use crate::support;

use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::{Dovecot, SmtpSink, StallProxy};

const MESSAGE: &[u8] = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\n\
Message-ID: <selftest@example.com>\r\n\r\nbody\r\n";

/// Files in a Maildir's new/ and cur/ (where delivered messages live).
fn messages_in(maildir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = fs::read_dir(maildir.join(sub)) {
            for entry in entries {
                let entry = entry.expect("read a Maildir entry");
                found.push(fs::read_to_string(entry.path()).expect("read a message file"));
            }
        }
    }
    found
}

/// A raw IMAP connection for poking at the server from the test.
struct Client {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to IMAP");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set read timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone stream"));
        let mut client = Client { reader, stream };
        let greeting = client.line().expect("read greeting");
        assert!(greeting.starts_with("* OK"), "greeting: {greeting}");
        client
    }

    fn line(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        Ok(line)
    }

    /// Sends `tag cmd` and returns all lines through the tagged reply.
    fn run(&mut self, tag: &str, cmd: &str) -> String {
        write!(self.stream, "{tag} {cmd}\r\n").expect("send IMAP command");
        let mut all = String::new();
        loop {
            let line = self.line().expect("read IMAP reply");
            assert!(
                !line.is_empty(),
                "server closed the connection during {cmd}; got:\n{all}"
            );
            all.push_str(&line);
            if line.starts_with(&format!("{tag} ")) {
                return all;
            }
        }
    }
}

/// The server ended the session (BYE and EOF, or a reset), rather than leaving it hanging.
fn assert_closed(c: &mut Client, after: &str) {
    let mut rest = String::new();
    if let Err(e) = c.reader.read_to_string(&mut rest) {
        let timed_out = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        assert!(
            !timed_out,
            "session still open 5 s after {after}; got {rest:?}"
        );
    }
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn append_lands_in_the_users_maildir() {
    let dovecot = Dovecot::start();
    let maildir = dovecot.maildir("alice");
    let uid = dovecot.append("alice", "INBOX", MESSAGE);
    assert_eq!(uid, 1);
    let stored = messages_in(&maildir);
    assert_eq!(
        stored.len(),
        1,
        "expected one message file under {}",
        maildir.display()
    );
    assert!(stored[0].contains("Subject: hello"));

    // Other folders use Maildir++ layout: Maildir/.Work/{cur,new}.
    assert_eq!(dovecot.append("alice", "Work", MESSAGE), 1);
    assert_eq!(
        dovecot.append("alice", "Work", MESSAGE),
        2,
        "second APPEND must reuse the folder"
    );
    assert_eq!(messages_in(&maildir.join(".Work")).len(), 2);
}

#[test]
fn imaps_and_starttls_verify_against_ca_file() {
    let dovecot = Dovecot::start();
    let ca = dovecot.ca_file();
    let imaps = dovecot.imaps_port().to_string();
    let imap = dovecot.imap_port().to_string();
    for extra in [vec![], vec!["-starttls", "imap"]] {
        let port = if extra.is_empty() { &imaps } else { &imap };
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-verify_return_error",
            ])
            // Keep reading after our stdin ends, until the server closes after LOGOUT.
            .arg("-ign_eof")
            .args(["-verify_hostname", "localhost", "-CAfile"])
            .arg(&ca)
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run openssl s_client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"a LOGOUT\r\n")
            .expect("write to s_client");
        let out = child.wait_with_output().expect("wait for openssl s_client");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("Verify return code: 0 (ok)"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("a OK"),
            "no LOGOUT reply over TLS on {port}:\n{stdout}"
        );
    }
}

#[test]
fn password_and_xoauth2_bearer_token_log_in_wrong_password_does_not() {
    let dovecot = Dovecot::start();
    let mut c = Client::connect(dovecot.imap_port());
    let token = base64(b"user=carol\x01auth=Bearer secret\x01\x01");
    let reply = c.run("a", &format!("AUTHENTICATE XOAUTH2 {token}"));
    assert!(reply.contains("a OK"), "{reply}");

    let mut c = Client::connect(dovecot.imap_port());
    let reply = c.run("a", "LOGIN carol wrong");
    assert!(reply.contains("a NO"), "{reply}");
}

#[test]
fn without_tls_no_starttls_is_offered() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    let mut c = Client::connect(dovecot.imap_port());
    let caps = c.run("a", "CAPABILITY");
    assert!(!caps.contains("STARTTLS"), "{caps}");
    let login = c.run("b", "LOGIN dave secret");
    assert!(
        login.contains("IDLE") && login.contains("QRESYNC") && login.contains("MOVE"),
        "{login}"
    );
    assert_eq!(dovecot.append("dave", "INBOX", MESSAGE), 1);
}

#[test]
#[should_panic(expected = "dovecot did not start")]
fn a_broken_config_fails_loudly() {
    let _ = Dovecot::start_with(|o| o.extra_config = "no_such_setting = 1".into());
}

#[test]
fn restart_keeps_mail_and_drops_clients() {
    let mut dovecot = Dovecot::start();
    dovecot.append("erin", "INBOX", MESSAGE);
    let mut c = Client::connect(dovecot.imap_port());
    c.run("a", "LOGIN erin secret");
    let t = Instant::now();
    dovecot.restart();
    eprintln!("restart took {:?}", t.elapsed());
    assert_closed(&mut c, "restart");
    assert_eq!(dovecot.append("erin", "INBOX", MESSAGE), 2);
}

#[test]
fn kill9_then_start_again() {
    let mut dovecot = Dovecot::start();
    dovecot.append("frank", "INBOX", MESSAGE);
    let mut c = Client::connect(dovecot.imap_port());
    c.run("a", "LOGIN frank secret");
    dovecot.kill9();
    assert_closed(&mut c, "kill9");
    // kill9 returns once nothing listens any more.
    let refused = TcpStream::connect(("127.0.0.1", dovecot.imap_port())).is_err();
    assert!(refused, "port still open after kill9");
    let t = Instant::now();
    dovecot.start_again();
    eprintln!("start_again took {:?}", t.elapsed());
    assert_eq!(dovecot.append("frank", "INBOX", MESSAGE), 2);
}

#[test]
fn doveadm_expunge_kick_and_new_uidvalidity() {
    let dovecot = Dovecot::start();
    for _ in 0..3 {
        dovecot.append("grace", "INBOX", MESSAGE);
    }
    dovecot.doveadm(&["expunge", "-u", "grace", "mailbox", "INBOX", "uid", "2"]);
    let uids = dovecot.doveadm(&["fetch", "-u", "grace", "uid", "mailbox", "INBOX", "all"]);
    assert_eq!(
        uids.split_whitespace()
            .filter(|w| *w != "uid:")
            .collect::<Vec<_>>(),
        ["1", "3"]
    );

    let mut c = Client::connect(dovecot.imap_port());
    c.run("a", "LOGIN grace secret");
    dovecot.doveadm(&["kick", "grace"]);
    assert_closed(&mut c, "doveadm kick");

    dovecot.append("grace", "Work", MESSAGE);
    let status =
        |d: &Dovecot| d.doveadm(&["mailbox", "status", "-u", "grace", "uidvalidity", "Work"]);
    let before = status(&dovecot);
    dovecot.doveadm(&["mailbox", "delete", "-u", "grace", "Work"]);
    thread::sleep(Duration::from_millis(1100)); // UIDVALIDITY is time-based
    dovecot.doveadm(&["mailbox", "create", "-u", "grace", "Work"]);
    assert_ne!(before, status(&dovecot));
}

/// Sends one message with a hand-written SMTP dialogue.
fn smtp_send(port: u16, rcpt: &str, body: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to SMTP sink");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set read timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut writer = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read SMTP reply");
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    };
    expect("220");
    for (cmd, code) in [
        ("EHLO test.local".to_string(), "250"),
        ("MAIL FROM:<nudged@example.com>".to_string(), "250"),
        (format!("RCPT TO:<{rcpt}>"), "250"),
        ("DATA".to_string(), "354"),
    ] {
        write!(writer, "{cmd}\r\n").expect("send SMTP command");
        expect(code);
    }
    writer.write_all(body).expect("send DATA");
    writer.write_all(b".\r\n").expect("end DATA");
    expect("250");
    writer.write_all(b"QUIT\r\n").expect("send QUIT");
    expect("221");
}

#[test]
fn smtp_sink_delivers_into_the_dovecot_users_inbox() {
    let dovecot = Dovecot::start();
    let maildir = dovecot.maildir("heidi");
    let sink = SmtpSink::start(&maildir);
    smtp_send(sink.port(), "heidi@example.com", MESSAGE);
    let stored = messages_in(&maildir);
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].contains("X-RcptTo: heidi@example.com"),
        "{}",
        stored[0]
    );
    // Dovecot can read (and take ownership of) what the sink wrote.
    let mut c = Client::connect(dovecot.imap_port());
    c.run("a", "LOGIN heidi secret");
    let fetched = c.run("b", "SELECT INBOX");
    assert!(fetched.contains("* 1 EXISTS"), "{fetched}");
    let fetched = c.run("c", "FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]");
    assert!(fetched.contains("Subject: hello"), "{fetched}");
}

#[test]
fn smtp_sink_into_a_fresh_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = SmtpSink::start_into_dir(dir.path());
    let banner = support::wait_for_banner(sink.port(), "220", Duration::from_secs(5));
    assert!(banner.contains("SMTP"), "{banner}");
    smtp_send(sink.port(), "x@example.com", MESSAGE);
    assert_eq!(messages_in(sink.maildir()).len(), 1);
}

#[test]
fn stall_proxy_stalls_resumes_and_resets() {
    let dovecot = Dovecot::start();
    let proxy = StallProxy::start(dovecot.imap_port());
    let mut c = Client::connect(proxy.port());
    assert_eq!(proxy.connection_count(), 1);
    assert!(c.run("a", "NOOP").contains("a OK"));

    proxy.stall();
    c.stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("set read timeout");
    write!(c.stream, "b NOOP\r\n").expect("send while stalled");
    let err = c
        .line()
        .expect_err("a stalled connection must time out, not answer or close");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err:?}"
    );

    proxy.resume();
    c.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set read timeout");
    assert!(c.line().expect("reply after resume").starts_with("b OK"));

    proxy.reset_all();
    let mut buf = [0u8; 64];
    let err = c
        .stream
        .read(&mut buf)
        .expect_err("a reset connection must error, not EOF");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err:?}");
    // The proxy keeps accepting new connections after a reset.
    let mut c2 = Client::connect(proxy.port());
    assert!(c2.run("a", "NOOP").contains("a OK"));
}

#[test]
fn many_dovecots_in_parallel_get_distinct_ports() {
    let handles: Vec<_> = (0..6)
        .map(|i| {
            thread::spawn(move || {
                let d = Dovecot::start();
                assert_eq!(d.append(&format!("user{i}"), "INBOX", MESSAGE), 1);
                (d.imap_port(), d.imaps_port())
            })
        })
        .collect();
    let mut ports = Vec::new();
    for h in handles {
        let (a, b) = h.join().expect("a parallel Dovecot failed");
        ports.extend([a, b]);
    }
    let n = ports.len();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), n);
}
