//! Figures for the web side under attack (not a test): starts a `nudged run` binary with
//! the default `[web]` limits under a descriptor limit, opens slowloris, silent and
//! huge-unfinished-header connections at once (from 50 loopback addresses, so a
//! per-client cap alone cannot stop them), holds them, and reports how many the
//! server still holds after the hold time, its VmRSS before / peak / after, and how long
//! a feed request takes in the middle of the attack. Give it another build of nudged
//! (e.g. the previous release) to compare in the same run.
//!
//!     cargo build --release --bin nudged --example web_attack
//!     target/release/examples/web_attack [--binary PATH] [--nofile 1024] [--per-kind 300] [--hold 40]

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Options {
    binary: PathBuf,
    nofile: u64,
    per_kind: usize,
    hold: Duration,
}

fn options() -> Result<Options> {
    let sibling = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("nudged"))
        .context("cannot find the nudged binary beside this example")?;
    let mut options = Options {
        binary: sibling,
        nofile: 1024,
        per_kind: 300,
        hold: Duration::from_secs(40),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--binary" => options.binary = PathBuf::from(value),
            "--nofile" => options.nofile = value.parse()?,
            "--per-kind" => options.per_kind = value.parse()?,
            "--hold" => options.hold = Duration::from_secs(value.parse()?),
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(options)
}

fn vm_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .context("no VmRSS")
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// The attacker needs more descriptors than the daemon: raise this process's soft limit.
fn raise_own_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read or write the struct on this stack.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

fn start_daemon(options: &Options, dir: &std::path::Path, port: u16) -> Result<(Child, String)> {
    std::fs::create_dir_all(dir.join("Maildir/new"))?;
    std::fs::create_dir_all(dir.join("Maildir/cur"))?;
    let config = dir.join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"Maildir\"\n\n\
             [followups]\ntimezone = \"Europe/Berlin\"\n\n[web]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )?;
    let made = Command::new(&options.binary)
        .arg("--config")
        .arg(&config)
        .arg("feed-url")
        .output()?;
    if !made.status.success() {
        bail!("feed-url: {}", String::from_utf8_lossy(&made.stderr));
    }
    let url = String::from_utf8(made.stdout)?;
    let path = url
        .trim()
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .context("feed URL")?
        .to_string();
    let limit = libc::rlimit {
        rlim_cur: options.nofile,
        rlim_max: options.nofile,
    };
    let mut command = Command::new(&options.binary);
    command
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log"))?);
    // SAFETY: setrlimit is async-signal-safe and reads only the copied struct.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    Ok((command.spawn()?, path))
}

/// A TCP connection to the daemon from loopback address `from`.
async fn connect_from(from: std::net::Ipv4Addr, port: u16) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((from, 0).into())?;
    socket
        .connect((std::net::Ipv4Addr::LOCALHOST, port).into())
        .await
}

/// A feed GET from a client that is not attacking; its latency, or `None` if no answer
/// within 10 s.
async fn feed_latency(port: u16, path: &str) -> Option<Duration> {
    let start = Instant::now();
    let attempt = async {
        let mut stream = connect_from(std::net::Ipv4Addr::new(127, 0, 0, 2), port)
            .await
            .ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        head.starts_with(b"HTTP/1.1 200").then_some(())
    };
    tokio::time::timeout(Duration::from_secs(10), attempt)
        .await
        .ok()
        .flatten()
        .map(|()| start.elapsed())
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Slowloris,
    Silent,
    HugeHeader,
}

/// One attack connection; counts itself in `open` until the server closes it.
async fn attack(port: u16, from: std::net::Ipv4Addr, kind: Kind, open: Arc<AtomicUsize>) {
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(10), connect_from(from, port)).await
    else {
        return;
    };
    open.fetch_add(1, Ordering::Relaxed);
    let (mut reader, mut writer) = stream.split();
    let write = async {
        match kind {
            Kind::Silent => {}
            Kind::Slowloris => {
                let _ = writer
                    .write_all(b"GET /feed/x.ics HTTP/1.1\r\nHost: a\r\nX-Slow: ")
                    .await;
                while writer.write_all(b"a").await.is_ok() {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
            Kind::HugeHeader => {
                let _ = writer
                    .write_all(b"GET /feed/x.ics HTTP/1.1\r\nHost: a\r\nX-Big: ")
                    .await;
                let chunk = vec![b'a'; 4096];
                for _ in 0..95 {
                    if writer.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
            }
        }
        std::future::pending::<()>().await
    };
    let read = async {
        let mut buf = [0u8; 512];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    tokio::select! {
        () = read => {}
        () = write => {}
    }
    open.fetch_sub(1, Ordering::Relaxed);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let options = options()?;
    raise_own_limit();
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let (mut child, feed) = start_daemon(&options, dir.path(), port)?;
    let up = Instant::now();
    while feed_latency(port, &feed).await.is_none() {
        if up.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            bail!("the daemon did not serve the feed within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id();
    let before = vm_rss_kib(pid)?;
    let kinds = [Kind::Slowloris, Kind::Silent, Kind::HugeHeader];
    let open: Vec<Arc<AtomicUsize>> = kinds.iter().map(|_| Arc::default()).collect();
    let mut attackers = tokio::task::JoinSet::new();
    for (kind, open) in kinds.iter().zip(&open) {
        for n in 0..options.per_kind {
            let from = std::net::Ipv4Addr::new(127, 0, 1, 1 + (n % 50) as u8);
            attackers.spawn(attack(port, from, *kind, Arc::clone(open)));
        }
    }
    let start = Instant::now();
    let mut peak = before;
    let fds_before = open_descriptors(pid);
    let mut fds_peak = fds_before;
    let mut feed_mid = None;
    while start.elapsed() < options.hold {
        peak = peak.max(vm_rss_kib(pid)?);
        fds_peak = fds_peak.max(open_descriptors(pid));
        if feed_mid.is_none() && start.elapsed() >= options.hold / 2 {
            feed_mid = Some(feed_latency(port, &feed).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let held: Vec<usize> = open.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    let fds_end = open_descriptors(pid);
    attackers.shutdown().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = vm_rss_kib(pid)?;
    let feed_after = feed_latency(port, &feed).await;
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();

    println!(
        "binary {} · RLIMIT_NOFILE {} · {} connections of each kind, held {} s",
        options.binary.display(),
        options.nofile,
        options.per_kind,
        options.hold.as_secs()
    );
    for (kind, held) in kinds.iter().zip(&held) {
        println!(
            "  {kind:?}: {held} still open (client side) after {} s",
            options.hold.as_secs()
        );
    }
    println!(
        "  daemon's open descriptors: {fds_before} before, {fds_peak} peak, {fds_end} at the end of the hold"
    );
    let show = |latency: Option<Duration>| {
        latency.map_or("no answer in 10 s".to_string(), |l| {
            format!("{:.1} ms", l.as_secs_f64() * 1000.0)
        })
    };
    println!(
        "  feed GET mid-attack: {}; after: {}",
        show(feed_mid.flatten()),
        show(feed_after)
    );
    println!(
        "  VmRSS {before} KiB before, {peak} KiB peak (+{} KiB), {after} KiB 5 s after",
        peak.saturating_sub(before)
    );
    let emfile = log.matches("Too many open files").count();
    println!("  \"Too many open files\" in the daemon's log: {emfile} line(s)");
    Ok(())
}
