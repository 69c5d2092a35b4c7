//! Figures for the IMAP source against a real Dovecot (not a timed test; run with
//! `cargo bench --bench imap_backfill`, size with NUDGED_BENCH_MESSAGES, default 100000):
//! - backfill of the whole mailbox (classification and storage included) by
//!   `nudged run --once`, against a plain client (Python imaplib) fetching every
//!   message's full header block, same mailbox, same cache state, alternating;
//! - `run --once` again with nothing new (the UID cursor means nothing is fetched);
//! - APPEND → interaction row committed, 200 times, while the daemon watches, beside
//!   the server's own floor (a bare IDLE client's APPEND → EXISTS; Dovecot waits
//!   500 ms after a change before it tells an idling client) and our share (IDLE news →
//!   rows committed, from the daemon's own log);
//! - peak RSS (VmHWM) of the daemon during and after its backfill.
//!
//! To compare with another build (an older commit) in the same session, name its binary
//! in NUDGED_BENCH_BASELINE: its backfill and resync then run in the same rounds, same
//! mailbox, the order alternating. NUDGED_BENCH_ROUNDS sets the rounds (default 5);
//! NUDGED_BENCH_BACKFILL_ONLY=1 stops before the daemon part; NUDGED_BENCH_CALLGRIND=DIR
//! runs one more backfill of each binary under callgrind, its profile written to DIR.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use support::Dovecot;

const USER: &str = "bench";
const MENTION: &str = include_str!("../tests/fixtures/github/mention.eml");
const LINKEDIN: &str = include_str!("../tests/fixtures/linkedin/message_via_linkedin.eml");

const PLAIN_CLIENT: &str = r#"
import imaplib, sys
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
m = imaplib.IMAP4("127.0.0.1", port)
m.login(user, password)
m.select("INBOX", readonly=True)
typ, data = m.uid("SEARCH", None, "ALL")
uids = data[0].split()
count = total = 0
for i in range(0, len(uids), 5000):
    chunk = uids[i:i + 5000]
    typ, data = m.uid("FETCH", b"%s:%s" % (chunk[0], chunk[-1]), "(BODY.PEEK[HEADER])")
    for item in data:
        if isinstance(item, tuple):
            count += 1
            total += len(item[1])
m.logout()
print(count, total)
"#;

/// The server's own floor for "new mail → client told": a bare IDLE client timing
/// APPEND (on a second connection) to the `* n EXISTS` it receives.
const IDLE_PROBE: &str = r#"
import imaplib, socket, sys, time
port, user, password, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
a = socket.create_connection(("127.0.0.1", port)); f = a.makefile("rb")
f.readline()
def line():
    got = f.readline()
    if not got: sys.exit("the server closed the IDLE connection")
    return got
def run(tag, cmd):
    a.sendall(b"%s %s\r\n" % (tag, cmd))
    while not line().startswith(tag + b" "): pass
run(b"a", b"LOGIN %s %s" % (user.encode(), password.encode()))
run(b"b", b"SELECT INBOX")
b = imaplib.IMAP4("127.0.0.1", port); b.login(user, password)
msg = b"From: probe@example.org\r\nSubject: probe\r\n\r\nprobe\r\n"
lat = []
for i in range(rounds):
    a.sendall(b"i%d IDLE\r\n" % i)
    while not line().startswith(b"+"): pass
    t = time.time(); b.append("INBOX", None, None, msg)
    while b"EXISTS" not in line(): pass
    lat.append((time.time() - t) * 1000)
    a.sendall(b"DONE\r\n")
    while not line().startswith(b"i%d " % i): pass
lat.sort()
print("%.1f %.1f" % (lat[len(lat) // 2], lat[-1]))
"#;

/// An ordinary message with the transport headers real mail carries (~3 KB).
fn ordinary(n: usize) -> String {
    let sig: String = (0..344)
        .map(|i| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7 + n) % 64]
                as char
        })
        .collect();
    let domain = [
        "example.org",
        "shop.example",
        "news.example.net",
        "work.example.com",
    ][n % 4];
    format!(
        "Return-Path: <bounce-{n}@{domain}>\r\nDelivered-To: sam@example.com\r\n\
Received: from mx.example.com (mx.example.com [192.0.2.25])\r\n\tby imap.example.com with LMTP\r\n\tid a{n:08}kWLssxzcoM68vG4\r\n\t(envelope-from <bounce-{n}@{domain}>)\r\n\tfor <sam@example.com>; Sat, 21 Nov 2026 08:12:07 +0000\r\n\
Authentication-Results: mx.example.com;\r\n\tdkim=pass (2048-bit key; unprotected) header.d={domain} header.i=@{domain} header.a=rsa-sha256 header.s=s1 header.b=JFi6fK3g;\r\n\tspf=pass (mx.example.com: domain of bounce-{n}@{domain} designates 203.0.113.77 as permitted sender) smtp.mailfrom={domain};\r\n\tdmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from={domain}\r\n\
Received: from mta7.{domain} (mta7.{domain} [203.0.113.77])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n\t(No client certificate requested)\r\n\tby mx.example.com (Postfix) with ESMTPS id XXJZ{n:08}\r\n\tfor <sam@example.com>; Sat, 21 Nov 2026 08:12:07 +0000 (UTC)\r\n\
Received: from app{m}.internal.{domain} (app{m}.internal.{domain} [10.1.2.{m}])\r\n\tby mta7.{domain} (Postfix) with ESMTP id 4c{n:08}\r\n\tfor <sam@example.com>; Sat, 21 Nov 2026 08:12:05 +0000 (UTC)\r\n\
ARC-Seal: i=1; a=rsa-sha256; d={domain}; s=arc; t=1795249925; cv=none;\r\n\tb={sig}\r\n\
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1;\r\n\th=from:to:subject:date:message-id:mime-version:content-type;\r\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb={sig}\r\n\
Date: Sat, 21 Nov 2026 08:12:04 +0000\r\nFrom: Someone {n} <someone{n}@{domain}>\r\nTo: Sam Rivera <sam@example.com>\r\n\
Subject: Re: the plan for week {w}, item {n}\r\nMessage-ID: <msg-{n}.{sig8}@{domain}>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\nX-Mailer: Example Mail 4.2\r\n\r\n\
Hi Sam,\r\n\r\nhere is the update for item {n}. Nothing urgent; read it when you have a minute.\r\n\r\nBest,\r\nSomeone\r\n",
        m = n % 200,
        w = n % 52,
        sig8 = &sig[..8],
    )
}

fn notification(n: usize) -> String {
    if n.is_multiple_of(2) {
        MENTION.replace(
            "Message-ID: <fieldnote/relay/issues/58/3109876543@github.com>",
            &format!("Message-ID: <bench-{n}@github.com>"),
        )
    } else {
        LINKEDIN.replace(
            "Message-ID: <5088969996.80502.1776159002000@ltx1-app69483.prod.linkedin.com>",
            &format!("Message-ID: <bench-{n}@linkedin.com>"),
        )
    }
}

/// Write `n` messages straight into the Maildir (2% notifications); returns how many
/// notifications there are.
fn seed(dovecot: &Dovecot, n: usize) -> usize {
    let cur = dovecot.maildir(USER).join("cur");
    let mut notifications = 0;
    for i in 0..n {
        let raw = if i % 50 == 25 {
            notifications += 1;
            notification(i)
        } else {
            ordinary(i)
        };
        let name = format!("{}.M{i}P1.bench,S={}:2,", 1_795_000_000 + i, raw.len());
        std::fs::write(cur.join(name), raw).expect("write a message file");
    }
    let owner = dovecot.mail_user().to_string();
    let status = Command::new("chown")
        .args([
            "-R",
            &format!("{owner}:"),
            &dovecot.maildir(USER).display().to_string(),
        ])
        .status()
        .expect("chown");
    assert!(status.success());
    notifications
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    std::fs::write(dir.join("password"), support::PASSWORD).unwrap();
    let path = dir.join("nudged.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\npath = \"nudged.db\"\n[[source]]\nname = \"bench\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\n\
             port = {port}\ntls = \"none\"\nusername = \"{USER}\"\npassword_file = \"password\"\nbackfill_days = 36500\n"
        ),
    )
    .unwrap();
    path
}

fn nudged(config: &Path, args: &[&str]) -> Command {
    nudged_at(Path::new(env!("CARGO_BIN_EXE_nudged")), config, args)
}

fn nudged_at(bin: &Path, config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("NUDGED_NOW");
    cmd
}

fn timed(mut cmd: Command) -> (Duration, String) {
    let start = Instant::now();
    let out = cmd.output().expect("run");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn scalar(db: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(db)
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or(0)
}

fn vm_hwm_kb(child: &Child) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resident kB by what they are: the program's own mapped file, other files (libraries,
/// the database), and anonymous memory (heap, stacks).
fn rss_parts(child: &Child) -> String {
    let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", child.id())).unwrap_or_default();
    let (mut own, mut files, mut anon) = (0u64, 0u64, 0u64);
    let mut mapping = String::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("Rss:") => {
                let kb: u64 = words.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                if mapping.ends_with("/nudged") {
                    own += kb;
                } else if mapping.starts_with('/') {
                    files += kb;
                } else {
                    anon += kb;
                }
            }
            Some(first) if first.contains('-') && line.split_whitespace().count() >= 5 => {
                mapping = line.split_whitespace().nth(5).unwrap_or("").to_string();
            }
            _ => {}
        }
    }
    format!("binary {own} kB, other files {files} kB, heap and stacks {anon} kB")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let n: usize = std::env::var("NUDGED_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dovecot = Dovecot::start_with(|o| {
        o.tls = false;
        // Dovecot's default 256 MB per imap process is too little to refresh the
        // uidlist of a 100,000-message Maildir during IDLE. NUDGED_BENCH_DOVECOT adds
        // lines (e.g. `maildir_very_dirty_syncs = yes`) to compare server settings.
        o.extra_config = format!(
            "default_vsz_limit = 2G\n{}",
            std::env::var("NUDGED_BENCH_DOVECOT").unwrap_or_default()
        );
    });
    let port = dovecot.imap_port();
    let t = Instant::now();
    let expected = seed(&dovecot, n);
    eprintln!(
        "seeded {n} messages ({expected} notifications) in {:?}",
        t.elapsed()
    );
    let plain = || {
        let mut cmd = Command::new("python3");
        cmd.args([
            "-c",
            PLAIN_CLIENT,
            &port.to_string(),
            USER,
            support::PASSWORD,
        ]);
        timed(cmd)
    };
    // Warm-up: Dovecot indexes the Maildir and both fetch paths fill its caches.
    let (took, out) = plain();
    eprintln!("warm-up, plain client: {took:?} ({out})");
    let scratch = tempfile::tempdir().unwrap();
    let warm = write_config(scratch.path(), port);
    let (took, _) = timed(nudged(&warm, &["run", "--once"]));
    eprintln!("warm-up, nudged backfill: {took:?}");

    let baseline: Option<PathBuf> = std::env::var_os("NUDGED_BENCH_BASELINE").map(PathBuf::from);
    let rounds: usize = std::env::var("NUDGED_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    if let Some(bin) = &baseline {
        let scratch = tempfile::tempdir().unwrap();
        let warm = write_config(scratch.path(), port);
        let (took, _) = timed(nudged_at(bin, &warm, &["run", "--once"]));
        eprintln!("warm-up, baseline backfill: {took:?}");
    }
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_nudged"));
    // Ours first in even rounds, the baseline first in odd ones.
    let order = |round: usize| -> Vec<(usize, &Path)> {
        let mut bins = vec![(0, ours.as_path())];
        if let Some(bin) = &baseline {
            bins.push((1, bin.as_path()));
            if round % 2 == 1 {
                bins.reverse();
            }
        }
        bins
    };
    let mut plain_times = Vec::new();
    let mut backfill_times = [Vec::new(), Vec::new()];
    let mut last = [None, None];
    for round in 0..rounds {
        let (took, out) = plain();
        plain_times.push(took);
        let mut line = format!("round {round}: plain client {took:?} ({out})");
        for (which, bin) in order(round) {
            let dir = tempfile::tempdir().unwrap();
            let config = write_config(dir.path(), port);
            let (backfill, _) = timed(nudged_at(bin, &config, &["run", "--once"]));
            backfill_times[which].push(backfill);
            line += &format!(", {} backfill {backfill:?}", ["nudged", "baseline"][which]);
            let logged = scalar(
                &dir.path().join("nudged.db"),
                "SELECT count(*) FROM interaction",
            );
            assert_eq!(logged as usize, expected, "every notification once");
            assert_eq!(
                scalar(
                    &dir.path().join("nudged.db"),
                    "SELECT last_seen_uid FROM mailbox_state"
                ) as usize,
                n
            );
            last[which] = Some((dir, config));
        }
        eprintln!("{line}");
    }
    let mut resync = [Vec::new(), Vec::new()];
    for round in 0..10 {
        for (which, bin) in order(round) {
            let (_, config) = last[which].as_ref().unwrap();
            resync[which].push(timed(nudged_at(bin, config, &["run", "--once"])).0);
        }
    }
    for times in resync.iter_mut().chain(backfill_times.iter_mut()) {
        times.sort();
    }
    plain_times.sort();
    if let Ok(out) = std::env::var("NUDGED_BENCH_CALLGRIND") {
        for (which, bin) in order(0) {
            let dir = tempfile::tempdir().unwrap();
            let config = write_config(dir.path(), port);
            let name = ["nudged", "baseline"][which];
            let mut cmd = Command::new("valgrind");
            cmd.args(["--tool=callgrind", "--trace-children=no"])
                .arg(format!("--callgrind-out-file={out}/{name}.callgrind"))
                .arg(bin)
                .arg("--config")
                .arg(&config)
                .args(["run", "--once"])
                .env_remove("RUST_LOG");
            let (took, _) = timed(cmd);
            eprintln!("callgrind, {name}: {took:?} → {out}/{name}.callgrind");
        }
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name\t: "))
        .unwrap_or("?");
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    println!("machine: {model}, {cores} cores; Dovecot on loopback, plain IMAP");
    println!("mailbox: {n} messages, {expected} notifications");
    let median = |times: &[Duration]| percentile(times, 0.5);
    let ratio =
        |times: &[Duration]| median(times).as_secs_f64() / median(&plain_times).as_secs_f64();
    println!(
        "backfill (run --once, fresh db): median {:?}, min {:?}, {:.2}× the plain client's median (rounds, sorted: {:?})",
        median(&backfill_times[0]),
        backfill_times[0][0],
        ratio(&backfill_times[0]),
        backfill_times[0]
    );
    if let Some(bin) = &baseline {
        println!(
            "baseline {}: backfill median {:?}, min {:?}, {:.2}× the plain client's median (rounds, sorted: {:?}); run --once with nothing new: p50 {:?} (ours p50 {:?})",
            bin.display(),
            median(&backfill_times[1]),
            backfill_times[1][0],
            ratio(&backfill_times[1]),
            backfill_times[1],
            median(&resync[1]),
            median(&resync[0]),
        );
    }
    println!(
        "plain client, every header block: median {:?}, min {:?} (rounds, sorted: {plain_times:?})",
        median(&plain_times),
        plain_times[0]
    );
    let [resync, _] = resync;
    let (dir, _) = last[0].take().unwrap();
    if std::env::var_os("NUDGED_BENCH_BACKFILL_ONLY").is_some() {
        println!(
            "run --once with nothing new: p50 {:?}, max {:?}",
            percentile(&resync, 0.5),
            resync.last().unwrap()
        );
        return;
    }

    let mut probe = Command::new("python3");
    probe.args([
        "-c",
        IDLE_PROBE,
        &port.to_string(),
        USER,
        support::PASSWORD,
        "50",
    ]);
    let (_, idle_floor) = timed(probe);

    // The daemon on a fresh database: backfill, then watch.
    let daemon_dir = tempfile::tempdir().unwrap();
    let daemon_config = write_config(daemon_dir.path(), port);
    let db = daemon_dir.path().join("nudged.db");
    let start = Instant::now();
    let daemon_log = daemon_dir.path().join("daemon.log");
    let mut child = nudged(&daemon_config, &["run"])
        .env("RUST_LOG", "nudged=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&daemon_log).unwrap())
        .spawn()
        .unwrap();
    while (scalar(&db, "SELECT last_seen_uid FROM mailbox_state") as usize) < n {
        thread::sleep(Duration::from_millis(20));
    }
    let daemon_backfill = start.elapsed();
    let hwm_backfill = vm_hwm_kb(&child);
    let parts_backfill = rss_parts(&child);
    thread::sleep(Duration::from_millis(500)); // let it enter IDLE
    let mut from_start = Vec::new();
    let mut from_stored = Vec::new();
    let conn = rusqlite::Connection::open(&db).unwrap();
    for i in 0..200 {
        let before: i64 = conn
            .query_row("SELECT count(*) FROM interaction", [], |r| r.get(0))
            .unwrap();
        let t0 = Instant::now();
        dovecot.append(USER, "INBOX", notification(n + 1000 + i).as_bytes());
        let t1 = Instant::now();
        loop {
            let now: i64 = conn
                .query_row("SELECT count(*) FROM interaction", [], |r| r.get(0))
                .unwrap();
            if now > before {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "APPEND {i} not logged within 10 s"
            );
            thread::sleep(Duration::from_millis(1));
        }
        from_start.push(t0.elapsed());
        from_stored.push(t1.elapsed());
    }
    let hwm_after = vm_hwm_kb(&child);
    let parts_after = rss_parts(&child);
    // The daemon's own share: how long each sync pass after an IDLE wake-up took.
    let took = regex::Regex::new(r"took_ms(?:\x1b\[[0-9;]*m)*=(?:\x1b\[[0-9;]*m)*(\d+)").unwrap();
    let log = std::fs::read_to_string(&daemon_log).unwrap_or_default();
    let mut passes: Vec<u64> = took
        .captures_iter(&log)
        .filter_map(|c| c[1].parse().ok())
        .collect();
    let backfill_pass = passes.first().copied().unwrap_or(0);
    let mut passes = passes.split_off(1.min(passes.len()));
    passes.sort_unstable();
    let phases: Vec<&str> = log.lines().filter(|l| l.contains("sync phases")).collect();
    if let Some(last) = phases.last() {
        let clean = regex::Regex::new(r"\x1b\[[0-9;]*m").unwrap();
        println!("last sync pass, by phase: {}", clean.replace_all(last, ""));
        if let Some(mid) = phases.get(phases.len() / 2) {
            println!("a middle one: {}", clean.replace_all(mid, ""));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    from_start.sort();
    from_stored.sort();
    drop(dir);

    println!("backfill (daemon, fresh db): {daemon_backfill:?}");
    println!(
        "run --once with nothing new: p50 {:?}, max {:?}",
        percentile(&resync, 0.5),
        resync.last().unwrap()
    );
    println!(
        "APPEND start → row committed: p50 {:?} p99 {:?}; APPEND done → row: p50 {:?} p99 {:?}",
        percentile(&from_start, 0.5),
        percentile(&from_start, 0.99),
        percentile(&from_stored, 0.5),
        percentile(&from_stored, 0.99)
    );
    if !passes.is_empty() {
        println!(
            "our share, IDLE news → rows committed ({} passes): p50 {} ms, p99 {} ms (backfill pass {} ms)",
            passes.len(),
            passes[passes.len() / 2],
            passes[(passes.len() - 1) * 99 / 100],
            backfill_pass
        );
    }
    println!(
        "server floor, APPEND start → IDLE client sees EXISTS (p50 p99 ms over 50): {}",
        idle_floor.trim()
    );
    println!(
        "daemon VmHWM: {hwm_backfill} kB after backfill ({parts_backfill}), {hwm_after} kB after 200 APPENDs ({parts_after})"
    );
}
