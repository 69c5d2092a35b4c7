//! Hostile web clients against the real daemon (`nudged run`, a Maildir source, the web
//! side on loopback) under a lowered RLIMIT_NOFILE: half-sent requests, silent
//! connections and huge unfinished headers are dropped within the configured timeouts,
//! memory stays bounded, a message dropped into the Maildir meanwhile is logged, and the
//! feed answers afterwards. The smaller tests check the defaults and each cap.

use crate::web_daemon;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use web_daemon::{Daemon, drop_into_maildir, interactions, mention};

/// The descriptor limit the attacked daemon runs under: 64 for the web side at most.
const NOFILE: u64 = 144;

/// How attack connections ended.
#[derive(Default)]
struct Tally {
    /// Longest time from a connect until the server closed the connection, in ms
    /// (time spent in the kernel's backlog included).
    longest_held_ms: AtomicUsize,
    closed: AtomicUsize,
    refused_431: AtomicUsize,
}

impl Tally {
    fn held(&self, since: Instant) {
        let ms = usize::try_from(since.elapsed().as_millis()).unwrap_or(usize::MAX);
        self.longest_held_ms.fetch_max(ms, Ordering::Relaxed);
        self.closed.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Clone, Copy)]
enum Attack {
    /// One header byte a second, never finishing the head.
    Slowloris,
    /// Connects and says nothing.
    Silent,
    /// One header line of 380 KB, never ended.
    HugeHeader,
}

/// Until `stop`: connect, attack, wait for the server to close, note how long that
/// took, connect again.
async fn attacker(port: u16, kind: Attack, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    while !stop.load(Ordering::Relaxed) {
        let connect = tokio::time::timeout(
            Duration::from_secs(3),
            TcpStream::connect(("127.0.0.1", port)),
        )
        .await;
        let Ok(Ok(mut stream)) = connect else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let since = Instant::now();
        let (mut reader, mut writer) = stream.split();
        let mut answer = Vec::new();
        let write = async {
            match kind {
                Attack::Silent => std::future::pending::<()>().await,
                Attack::Slowloris => {
                    let _ = writer
                        .write_all(b"GET /feed/x.ics HTTP/1.1\r\nHost: a\r\nX-Slow: ")
                        .await;
                    loop {
                        if writer.write_all(b"a").await.is_err() {
                            std::future::pending::<()>().await;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Attack::HugeHeader => {
                    let _ = writer
                        .write_all(b"GET /feed/x.ics HTTP/1.1\r\nHost: a\r\nX-Big: ")
                        .await;
                    let chunk = vec![b'a'; 4096];
                    for _ in 0..95 {
                        if writer.write_all(&chunk).await.is_err() {
                            break;
                        }
                    }
                    std::future::pending::<()>().await
                }
            }
        };
        let read = async {
            let mut buf = [0u8; 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        };
        let stopped = async {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        let closed = tokio::select! {
            () = read => true,
            () = write => true,
            () = stopped => false,
        };
        if closed {
            tally.held(since);
            if answer.starts_with(b"HTTP/1.1 431") {
                tally.refused_431.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[test]
fn attack_under_a_low_descriptor_limit_leaves_mail_and_feed_working() {
    let mut daemon = Daemon::start(
        "header_timeout = \"3s\"\nidle_timeout = \"5s\"\nmax_connections_per_client = 100000\n",
        Some(NOFILE),
    );
    let (rss_before, _) = daemon.memory();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tallies: Vec<(&str, Arc<Tally>)> = ["slowloris", "silent", "huge header"]
        .into_iter()
        .map(|name| (name, Arc::new(Tally::default())))
        .collect();
    // Together far more connections than the daemon has descriptors.
    for (kind, count, tally) in [
        (Attack::Slowloris, 200, &tallies[0].1),
        (Attack::Silent, 200, &tallies[1].1),
        (Attack::HugeHeader, 60, &tallies[2].1),
    ] {
        for _ in 0..count {
            runtime.spawn(attacker(
                daemon.port,
                kind,
                Arc::clone(&stop),
                Arc::clone(tally),
            ));
        }
    }
    let attack_start = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    // The Maildir is read once a minute: the next pass must find this one although the
    // web side is full.
    drop_into_maildir(
        &daemon.maildir(),
        "1700000100.during.host",
        &mention("during"),
    );
    let mut peak = (rss_before, 0u64);
    let deadline = Instant::now() + Duration::from_secs(80);
    while interactions(&daemon.db()) < 2 {
        assert!(
            Instant::now() < deadline,
            "the message dropped during the attack was not logged within 80 s:\n{}",
            daemon.log()
        );
        let (rss, hwm) = daemon.memory();
        peak = (peak.0.max(rss), hwm);
        std::thread::sleep(Duration::from_millis(500));
    }
    let attacked_for = attack_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    runtime.shutdown_timeout(Duration::from_secs(5));
    let (peak_rss, hwm) = peak;
    let feed_deadline = Instant::now() + Duration::from_secs(15);
    while !daemon.feed_answers(Duration::from_secs(2)) {
        assert!(
            Instant::now() < feed_deadline,
            "the feed did not answer within 15 s after the attack:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (rss_after, _) = daemon.memory();
    let log = daemon.log();
    for (name, tally) in &tallies {
        eprintln!(
            "{name}: {} connections closed by the server, longest held {} ms, {} got 431",
            tally.closed.load(Ordering::Relaxed),
            tally.longest_held_ms.load(Ordering::Relaxed),
            tally.refused_431.load(Ordering::Relaxed)
        );
    }
    eprintln!(
        "attack {:.0} s; VmRSS {rss_before} KiB before, {peak_rss} KiB peak, {rss_after} KiB after; VmHWM {hwm} KiB",
        attacked_for.as_secs_f64()
    );
    assert!(daemon.alive(), "the daemon died under the attack:\n{log}");
    for (name, tally) in &tallies {
        let closed = tally.closed.load(Ordering::Relaxed);
        let longest = tally.longest_held_ms.load(Ordering::Relaxed);
        assert!(closed > 0, "no {name} connection was ever closed");
        // Accepted connections are dropped at the 3 s header timeout; a connection the
        // kernel took while every slot was busy waits in the backlog first.
        assert!(
            longest <= 40_000,
            "a {name} connection was held {longest} ms"
        );
    }
    assert!(
        tallies[2].1.refused_431.load(Ordering::Relaxed) > 0,
        "a huge header was never refused with 431"
    );
    assert!(
        peak_rss.saturating_sub(rss_before) <= 64 * 1024,
        "RSS grew from {rss_before} to {peak_rss} KiB under attack"
    );
    assert!(
        !log.contains("Too many open files") && !log.contains("maildir pass failed"),
        "the mail side ran out of descriptors:\n{log}"
    );
}

/// One raw HTTP exchange: send `request`, read until the server closes or `within`.
async fn exchange(port: u16, request: &[u8], within: Duration) -> (Vec<u8>, Duration) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(within, stream.read_to_end(&mut answer)).await;
    (answer, start.elapsed())
}

#[test]
fn default_limits_drop_silent_clients_and_refuse_big_heads_and_bodies() {
    let daemon = Daemon::start("", None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let silent = exchange(daemon.port, b"", Duration::from_secs(20));
        let half = exchange(
            daemon.port,
            b"GET / HTTP/1.1\r\nHost: a\r\n",
            Duration::from_secs(20),
        );
        let mut big_head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
        big_head.extend(std::iter::repeat_n(b'a', 20 * 1024));
        let big_head = exchange(daemon.port, &big_head, Duration::from_secs(5));
        let body = format!(
            "POST /a/done/1/99999999999/x HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
            65 * 1024
        );
        let big_body = exchange(daemon.port, body.as_bytes(), Duration::from_secs(5));
        // A kept-alive connection that asks nothing more waits for a head: same deadline.
        let kept = exchange(
            daemon.port,
            b"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n",
            Duration::from_secs(20),
        );
        let (silent, half, kept, big_head, big_body) =
            tokio::join!(silent, half, kept, big_head, big_body);
        assert!(
            kept.0.starts_with(b"HTTP/1.1 404"),
            "{:?}",
            String::from_utf8_lossy(&kept.0)
        );
        for (name, (answer, took)) in [
            ("silent", &silent),
            ("half-sent", &half),
            ("kept-alive idle", &kept),
        ] {
            assert!(
                *took >= Duration::from_secs(9) && *took <= Duration::from_secs(13),
                "a {name} connection was closed after {took:?}, not at the 10 s default: {:?}",
                String::from_utf8_lossy(answer)
            );
        }
        assert!(
            big_head.0.starts_with(b"HTTP/1.1 431"),
            "{:?}",
            String::from_utf8_lossy(&big_head.0)
        );
        assert!(
            big_body.0.starts_with(b"HTTP/1.1 413"),
            "{:?}",
            String::from_utf8_lossy(&big_body.0)
        );
    });
}

#[test]
fn one_client_address_gets_only_its_share_of_connections() {
    let daemon = Daemon::start("max_connections_per_client = 3\n", None);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(
                TcpStream::connect(("127.0.0.1", daemon.port))
                    .await
                    .unwrap(),
            );
        }
        // Give the server time to accept the three, then the fourth is closed at once.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (answer, took) = exchange(
            daemon.port,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            Duration::from_secs(5),
        )
        .await;
        assert!(
            answer.is_empty() && took < Duration::from_secs(2),
            "a fourth connection from one address was served: {:?} after {took:?}",
            String::from_utf8_lossy(&answer)
        );
        // Another loopback address is another client.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut other = socket
            .connect(format!("127.0.0.1:{}", daemon.port).parse().unwrap())
            .await
            .unwrap();
        other
            .write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), other.read_to_end(&mut answer))
            .await
            .expect("the other client is answered")
            .unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 404"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
        drop(held);
    });
}
