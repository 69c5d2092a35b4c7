//! Delivery faults: the SMTP server is down at digest time, drops the connection before
//! or after its 250, or nudged is killed (SIGKILL) while the server holds the message.
//! Each time the digest is never lost, arrives at most twice, and always with the
//! Message-ID it was given when it entered the outbox.

use crate::digest_common;
use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use digest_common::*;
use nudged::config::Config;
use nudged::digest::outbox::DigestOutcome;
use nudged::store::{DigestStatus, Store};
use support::SmtpSink;

fn fault_config(dir: &Path, smtp_port: u16) -> Config {
    config(&format!(
        "[store]\npath = \"{db}\"\n[digest]\nto = \"sam@example.com\"\nfrom = \"nudged <nudged@example.com>\"\n\
         at = \"07:30\"\ntimezone = \"Europe/Berlin\"\ntransport = \"smtp\"\nsend_when_empty = true\n{smtp}",
        db = dir.join("n.db").display(),
        smtp = smtp_section(smtp_port),
    ))
}

fn message_id_of(message: &str) -> String {
    header(message, "Message-ID").expect("Message-ID header")
}

fn outbox(store: &Store) -> Vec<nudged::store::DigestRow> {
    store.all_digests().expect("outbox")
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

#[test]
fn server_down_at_digest_time_is_retried_later_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let down = fault_config(dir.path(), closed_port());
    let mut store = Store::open(&down.store_path()).expect("store");
    let outcome = pass(&mut store, &down, at("2026-11-24T06:31:00Z"));
    let DigestOutcome::Failed { error, .. } = &outcome else {
        panic!("{outcome:?}")
    };
    assert!(error.contains("connection refused"), "{error}");
    // Within the back-off nothing is tried.
    let outcome = pass(&mut store, &down, at("2026-11-24T06:31:30Z"));
    assert!(
        matches!(outcome, DigestOutcome::Waiting { .. }),
        "{outcome:?}"
    );
    // The server is back.
    let sink = SmtpSink::start_into_dir(dir.path());
    let up = fault_config(dir.path(), sink.port());
    let outcome = pass(&mut store, &up, at("2026-11-24T06:33:00Z"));
    assert!(matches!(outcome, DigestOutcome::Sent { .. }), "{outcome:?}");
    assert!(matches!(
        pass(&mut store, &up, at("2026-11-24T07:00:00Z")),
        DigestOutcome::AlreadySent { .. }
    ));
    let arrived = digests_in(sink.maildir());
    assert_eq!(arrived.len(), 1);
    let rows = outbox(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!(message_id_of(&arrived[0]), rows[0].message_id);
    assert_eq!((rows[0].status, rows[0].attempts), (DigestStatus::Sent, 2));
}

#[test]
fn dropped_before_the_250_is_resent_with_the_same_message_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let peer = ScriptedSmtp::start(PeerFault::DropBefore250);
    let mut store = Store::open(&fault_config(dir.path(), peer.port).store_path()).expect("store");
    let outcome = pass(
        &mut store,
        &fault_config(dir.path(), peer.port),
        at("2026-11-24T06:31:00Z"),
    );
    assert!(
        matches!(outcome, DigestOutcome::Failed { .. }),
        "{outcome:?}"
    );
    let seen = peer.messages();
    assert_eq!(seen.len(), 1, "the peer read the message before dropping");
    let sink = SmtpSink::start_into_dir(dir.path());
    let up = fault_config(dir.path(), sink.port());
    let outcome = pass(&mut store, &up, at("2026-11-24T06:35:00Z"));
    assert!(matches!(outcome, DigestOutcome::Sent { .. }), "{outcome:?}");
    let arrived = digests_in(sink.maildir());
    assert_eq!(arrived.len(), 1);
    assert_eq!(message_id_of(&arrived[0]), message_id_of(&seen[0]));
    assert_eq!(message_id_of(&arrived[0]), outbox(&store)[0].message_id);
}

#[test]
fn dropped_after_the_250_counts_as_sent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let peer = ScriptedSmtp::start(PeerFault::DropAfter250);
    let config = fault_config(dir.path(), peer.port);
    let mut store = Store::open(&config.store_path()).expect("store");
    let outcome = pass(&mut store, &config, at("2026-11-24T06:31:00Z"));
    assert!(matches!(outcome, DigestOutcome::Sent { .. }), "{outcome:?}");
    let outcome = pass(&mut store, &config, at("2026-11-24T09:00:00Z"));
    assert!(
        matches!(outcome, DigestOutcome::AlreadySent { .. }),
        "{outcome:?}"
    );
    assert_eq!(peer.messages().len(), 1);
    assert_eq!(outbox(&store)[0].status, DigestStatus::Sent);
}

#[test]
fn crash_after_the_250_resends_once_with_the_same_message_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = SmtpSink::start_into_dir(dir.path());
    let config = fault_config(dir.path(), sink.port());
    let mut store = Store::open(&config.store_path()).expect("store");
    assert!(matches!(
        pass(&mut store, &config, at("2026-11-24T06:31:00Z")),
        DigestOutcome::Sent { .. }
    ));
    // The process died after the server's 250 but before it recorded "sent": the row is
    // left as it was during the attempt.
    let row = &outbox(&store)[0];
    store
        .mark_digest_sending(row.id)
        .expect("simulate the crash");
    assert!(matches!(
        pass(&mut store, &config, at("2026-11-24T06:45:00Z")),
        DigestOutcome::Sent { .. }
    ));
    assert!(matches!(
        pass(&mut store, &config, at("2026-11-24T07:45:00Z")),
        DigestOutcome::AlreadySent { .. }
    ));
    let arrived = digests_in(sink.maildir());
    assert_eq!(arrived.len(), 2, "exactly one duplicate");
    assert_eq!(message_id_of(&arrived[0]), message_id_of(&arrived[1]));
}

#[test]
fn killed_mid_send_the_next_run_sends_the_same_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    let write_config = |port: u16| {
        let text = format!(
            "[store]\npath = \"{db}\"\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"{maildir}\"\n\
             [digest]\nto = \"sam@example.com\"\nat = \"07:30\"\ntimezone = \"Europe/Berlin\"\n\
             transport = \"smtp\"\nsend_when_empty = true\n{smtp}",
            db = dir.path().join("n.db").display(),
            maildir = maildir.display(),
            smtp = smtp_section(port)
        );
        std::fs::write(dir.path().join("config.toml"), text).expect("config");
    };
    let nudged = |now: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nudged"));
        cmd.env("NUDGED_NOW", now)
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .args(["run", "--once"]);
        cmd
    };
    let peer = ScriptedSmtp::start(PeerFault::Stall);
    write_config(peer.port);
    let mut child = nudged("2026-11-24T06:31:00Z")
        .spawn()
        .expect("start nudged");
    let deadline = Instant::now() + Duration::from_secs(30);
    while peer.messages().is_empty() {
        assert!(Instant::now() < deadline, "nudged never sent DATA");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL nudged");
    let _ = child.wait();
    let seen = peer.messages();

    let sink = SmtpSink::start_into_dir(dir.path());
    write_config(sink.port());
    // After the killed process's lease has run out.
    let out = nudged("2026-11-24T06:40:00Z").output().expect("run nudged");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("digest: sent"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arrived = digests_in(sink.maildir());
    assert_eq!(arrived.len(), 1);
    assert_eq!(message_id_of(&arrived[0]), message_id_of(&seen[0]));
    let store = Store::open(&dir.path().join("n.db")).expect("store");
    assert_eq!(store.integrity_check().expect("check"), "ok");
    let rows = outbox(&store);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].status, rows[0].attempts), (DigestStatus::Sent, 2));
}
