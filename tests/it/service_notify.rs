//! The sd_notify protocol, spoken to a socket this test listens on: READY=1 comes after
//! the first sync (the notification already logged), WATCHDOG=1 keeps coming while the
//! IMAP loop makes progress and stops while its connection is stalled.

use crate::support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Dovecot, StallProxy};

const MENTION: &str = include_str!("../fixtures/github/mention.eml");

fn interactions(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT COUNT(*) FROM interaction", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Datagrams received until `until` says stop or `within` passes.
fn receive(
    socket: &UnixDatagram,
    within: Duration,
    mut until: impl FnMut(&str) -> bool,
) -> Vec<(Instant, String)> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    while start.elapsed() < within {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            let stop = until(&text);
            got.push((Instant::now(), text));
            if stop {
                break;
            }
        }
    }
    got
}

/// `nudged run` watching nina's INBOX on `port` (plain IMAP) with these `timeouts`
/// (TOML lines), telling the returned socket what systemd would hear, watchdog 1 s.
fn watched_daemon(
    dir: &std::path::Path,
    port: u16,
    timeouts: &str,
) -> (std::process::Child, UnixDatagram) {
    std::fs::write(dir.join("password"), format!("{}\n", support::PASSWORD)).unwrap();
    let config = dir.join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"mail\"\nkind = \"imap\"\nusername = \"nina\"\n\
             host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\npassword_file = \"password\"\n{timeouts}"
        ),
    )
    .unwrap();
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("WATCHDOG_PID")
        .env_remove("NUDGED_NOW")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, socket)
}

#[test]
fn ready_after_first_sync_and_watchdog_stops_while_stalled() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    dovecot.append("nina", "INBOX", MENTION.as_bytes());
    let proxy = StallProxy::start(dovecot.imap_port());
    let dir = tempfile::tempdir().unwrap();
    let (mut child, socket) = watched_daemon(
        dir.path(),
        proxy.port(),
        "backfill_days = 3650\nidle_timeout = \"1s\"\nread_timeout = \"1s\"\npoll_interval = \"1s\"\n",
    );

    let got = receive(&socket, Duration::from_secs(20), |m| m.contains("READY=1"));
    let ready = got.iter().find(|(_, m)| m.contains("READY=1"));
    assert!(ready.is_some(), "no READY=1 within 20 s: {got:?}");
    assert_eq!(
        interactions(&dir.path().join("nudged.db")),
        1,
        "READY before the first sync was committed"
    );
    assert!(
        ready.unwrap().1.contains("STATUS=watching 1 folder"),
        "{got:?}"
    );

    // While the connection works, the watchdog is fed about every half second.
    let healthy = receive(&socket, Duration::from_secs(4), |_| false);
    let pings = healthy
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .count();
    assert!(pings >= 3, "only {pings} WATCHDOG=1 in 4 s: {healthy:?}");

    // Stall the connection without closing it: the pings must stop (stale after
    // idle 1 s + 2 × read 1 s + 10 s) and stay stopped.
    proxy.stall();
    let stalled = receive(&socket, Duration::from_secs(30), |_| false);
    let last_ping = stalled
        .iter()
        .rev()
        .find(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(at, _)| *at);
    let stall_seen = stalled.iter().any(|(_, m)| m.contains("STATUS=stalled"));
    assert!(stall_seen, "no stalled status: {stalled:?}");
    let silent_for = last_ping.map_or(Duration::from_secs(30), |at| at.elapsed());
    assert!(
        silent_for >= Duration::from_secs(10),
        "watchdog still fed {silent_for:?} ago: {stalled:?}"
    );

    let _ = child.kill();
    let _ = child.wait();
}

/// A server that sends `* OK Still here` while idling (Dovecot does every 2 minutes) must
/// not keep one IDLE open past `idle_timeout`: the loop re-issues it and keeps the
/// watchdog fed. Before, the keepalives restarted the wait each time, the loop went 25
/// minutes without a heartbeat and systemd killed a healthy service every 17 minutes.
#[test]
fn keepalives_while_idling_do_not_starve_the_watchdog() {
    let dovecot = Dovecot::start_with(|o| {
        o.tls = false;
        o.extra_config = "imap_idle_notify_interval = 1 secs\n".to_string();
    });
    dovecot.append("nina", "INBOX", MENTION.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    // Stale after idle 3 s + 2 × read 1 s + 10 s = 15 s without a heartbeat (the poll
    // interval counts too, so it is short as well).
    let (mut child, socket) = watched_daemon(
        dir.path(),
        dovecot.imap_port(),
        "idle_timeout = \"3s\"\nread_timeout = \"1s\"\npoll_interval = \"1s\"\n",
    );
    let got = receive(&socket, Duration::from_secs(20), |m| m.contains("READY=1"));
    assert!(
        got.iter().any(|(_, m)| m.contains("READY=1")),
        "no READY=1 within 20 s: {got:?}"
    );
    // Past the 15 s stale bound, with a keepalive every second all along.
    let later = receive(&socket, Duration::from_secs(24), |_| false);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !later.iter().any(|(_, m)| m.contains("STATUS=stalled")),
        "a healthy idling connection was taken for stalled: {later:?}"
    );
    let fed_late = later
        .iter()
        .filter(|(at, m)| m.contains("WATCHDOG=1") && at.elapsed() < Duration::from_secs(5))
        .count();
    assert!(
        fed_late >= 3,
        "the watchdog went unfed at the end ({fed_late} pings in the last 5 s): {later:?}"
    );
}

#[test]
fn not_ready_while_the_first_sync_keeps_failing() {
    // Nothing listens on this port: every attempt is refused.
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "x\n").unwrap();
    let config = dir.path().join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"mail\"\nkind = \"imap\"\nusername = \"u\"\n\
             host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\npassword_file = \"password\"\n"
        ),
    )
    .unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("RUST_LOG", "info")
        .env_remove("WATCHDOG_USEC")
        .env_remove("NUDGED_NOW")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let got = receive(&socket, Duration::from_secs(5), |m| m.contains("READY=1"));
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(
        log.contains("connection lost or failed"),
        "the source never tried: {log}"
    );
    assert!(
        !got.iter().any(|(_, m)| m.contains("READY=1")),
        "READY=1 although no sync worked: {got:?}"
    );
    assert!(
        got.iter()
            .any(|(_, m)| m.contains("STATUS=starting: waiting for the first successful sync")),
        "{got:?}"
    );
    assert!(
        !log.contains("first sync of every source finished"),
        "{log}"
    );
}
