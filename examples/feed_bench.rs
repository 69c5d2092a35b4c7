//! Load figures for the calendar feed (not a test): 5,000 open follow-ups, the real
//! server on loopback, driven by `wrk`. Reports requests/s and p99 latency for polling
//! clients (If-None-Match → 304) and for full downloads, and how long a changed task
//! takes to show in the feed, idle and under load. Then the same feed served by the
//! daemon itself (its runtime, its database): p99 of polling clients while it idles,
//! and while it backfills 5,000 notifications dropped into a real Dovecot's Maildir.
//!
//!     cargo run --release --example feed_bench [-- SECONDS CONNECTIONS]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "../tests/it/support/mod.rs"]
mod support;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use nudged::clock::Clock;
use nudged::config::Config;
use nudged::store::{Db, NewFollowup, NewIdentity, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TASKS: usize = 5_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    Command::new("wrk")
        .arg("--version")
        .output()
        .context("wrk is needed; run scripts/install-test-deps.sh")?;

    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db");
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[store]\npath = {:?}\n[followups]\ntimezone = \"Europe/Berlin\"\n[web]\nlisten = \"127.0.0.1:0\"\n",
            db.display().to_string()
        ),
    )?;
    let config = Arc::new(Config::load(&config_path)?);
    let started = Instant::now();
    let (token, first_task) = seed(&db)?;
    eprintln!("seeded {TASKS} open follow-ups in {:?}", started.elapsed());
    println!(
        "render {TASKS} tasks (events + to-dos): {} ms",
        render_ms(&db, &config)?
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let store = Db::open(&db)?;
    tokio::spawn(nudged::web::serve(
        listener,
        store,
        config,
        Clock::System,
        std::future::pending(),
    ));
    let path = format!("/feed/{token}.ics");
    let url = format!("http://{addr}{path}");
    let (status, etag, body_len) = wait_for_feed(addr, &path).await?;
    eprintln!("feed: HTTP {status}, {body_len} bytes, ETag {etag}");

    let polling = wrk(&url, seconds, connections, Some(&etag)).await?;
    println!(
        "polling clients (If-None-Match → 304), {connections} connections, {seconds}s: \
         {:.0} req/s, p99 {}",
        polling.0, polling.1
    );
    let full = wrk(&url, seconds, 8, None).await?;
    println!(
        "full downloads ({body_len} bytes each), 8 connections, {seconds}s: {:.0} req/s, p99 {}",
        full.0, full.1
    );

    let mut other = Store::open(&db)?;
    let idle = change_latency(addr, &path, &mut other, first_task, 10).await?;
    println!("change visible (idle): {}", summary(&idle));
    let url_bg = url.clone();
    let etag_bg = etag.clone();
    let load = tokio::spawn(async move { wrk(&url_bg, 8, connections, Some(&etag_bg)).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = change_latency(addr, &path, &mut other, first_task, 10).await?;
    load.await??;
    println!("change visible (under polling load): {}", summary(&busy));
    drop(other);
    daemon_under_backfill(&db, &token, seconds, connections).await
}

const MENTION: &str = include_str!("../tests/fixtures/github/mention.eml");
const BACKFILL: usize = 5_000;

/// The daemon's own feed (its runtime and database, as `nudged run` has them) polled by
/// `connections` clients: idle, then while it logs `BACKFILL` new notifications.
async fn daemon_under_backfill(
    db: &std::path::Path,
    token: &str,
    seconds: u32,
    connections: u32,
) -> Result<()> {
    let dovecot = support::Dovecot::start_with(|o| o.tls = false);
    let maildir = dovecot.maildir("bench");
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("password"), support::PASSWORD)?;
    let port = support::free_port();
    let config_path = dir.path().join("daemon.toml");
    std::fs::write(
        &config_path,
        format!(
            "[store]\npath = {db:?}\n[followups]\ntimezone = \"Europe/Berlin\"\n\
             [web]\nlisten = \"127.0.0.1:{port}\"\n\
             [[source]]\nname = \"bench\"\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\n\
             tls = \"none\"\nusername = \"bench\"\npassword_file = {pw:?}\nbackfill_days = 36500\n",
            db = db.display().to_string(),
            imap = dovecot.imap_port(),
            pw = dir.path().join("password").display().to_string(),
        ),
    )?;
    let config = Config::load(&config_path)?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let daemon = {
        let (config, shutdown) = (config.clone(), shutdown.clone());
        std::thread::spawn(move || run_daemon(config, shutdown))
    };
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let path = format!("/feed/{token}.ics");
    // The daemon binds its port once its database is open: wait for it.
    let started = Instant::now();
    let etag = loop {
        match get(addr, &path, None).await {
            Ok((200, etag, _)) => break etag,
            _ if started.elapsed() > Duration::from_secs(30) => {
                bail!("the daemon's feed did not answer within 30 s")
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let url = format!("http://{addr}{path}");
    let idle = wrk(&url, seconds, connections, Some(&etag)).await?;

    // Written whole into tmp/, owned by the mail user, then renamed into cur/ at once:
    // the daemon, idling on INBOX, is told of 5,000 new messages together.
    let staged = maildir.join("tmp");
    let mut names = Vec::new();
    for i in 0..BACKFILL {
        let raw = MENTION.replace(
            "Message-ID: <fieldnote/relay/issues/58/3109876543@github.com>",
            &format!("Message-ID: <bench-{i}@github.com>"),
        );
        let name = format!("{}.M{i}P1.bench,S={}:2,", 1_795_000_000 + i, raw.len());
        std::fs::write(staged.join(&name), raw)?;
        names.push(name);
    }
    let owner = format!("{}:", dovecot.mail_user());
    Command::new("chown")
        .args(["-R", &owner, &maildir.display().to_string()])
        .status()?;
    let logged = |db: &std::path::Path| -> Result<i64> {
        Ok(Store::open_reader(db)?.read().query_row(
            "SELECT count(*) FROM interaction",
            [],
            |r| r.get(0),
        )?)
    };
    let before = logged(db)?;
    let started = Instant::now();
    for name in &names {
        std::fs::rename(staged.join(name), maildir.join("cur").join(name))?;
    }
    // wrk starts once the backfill is under way.
    while logged(db)? == before {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the daemon did not start logging the new mail within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let at_start = logged(db)? - before;
    let busy = wrk(&url, seconds, connections, Some(&etag)).await?;
    let at_end = logged(db)? - before;
    while logged(db)? - before < BACKFILL as i64 {
        if started.elapsed() > Duration::from_secs(300) {
            bail!("the backfill did not finish within 300 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let backfill = started.elapsed();
    println!(
        "daemon feed, {connections} polling clients, {seconds}s: idle {:.0} req/s p99 {}; \
         during the backfill {:.0} req/s p99 {} (logged {at_start}..{at_end} of {BACKFILL} \
         during the run; whole backfill {} ms)",
        idle.0,
        idle.1,
        busy.0,
        busy.1,
        backfill.as_millis()
    );
    shutdown.cancel();
    daemon
        .join()
        .map_err(|_| anyhow::anyhow!("the daemon thread panicked"))??;
    Ok(())
}

/// What `nudged run` does, on this thread: one current-thread runtime for the mail
/// loops and the web side, the database writer on its own thread.
fn run_daemon(config: Config, shutdown: tokio_util::sync::CancellationToken) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()?;
    runtime.block_on(async {
        let daemon = nudged::service::daemon::Daemon::new(
            config.clone(),
            Clock::System,
            shutdown.clone(),
            nudged::source::imap::Hooks::default(),
        )?;
        let web = nudged::web::spawn_background(
            &Arc::new(config),
            daemon.db().clone(),
            Clock::System,
            shutdown.clone(),
        )?;
        let (_signals, done) = daemon.watch();
        let result = done.await;
        let _ = web.await;
        result
    })
}

/// How long one rendering of both feed variants takes, the floor of change latency.
fn render_ms(db: &std::path::Path, config: &Config) -> Result<u128> {
    use nudged::calendar::{CalendarOptions, Stamp, write_calendar_with};
    use nudged::config::CalendarStyle;
    let tasks = Store::open(db)?.feed_followups(0, 0, i64::MAX)?;
    let started = Instant::now();
    for style in [CalendarStyle::Vevent, CalendarStyle::Vtodo] {
        let options = CalendarOptions {
            style,
            timed: false,
            alarm: Some(chrono::Duration::minutes(15)),
            stamp: Stamp::LastChange,
            name: "nudged follow-ups".into(),
            refresh: Some(chrono::Duration::minutes(15)),
        };
        std::hint::black_box(write_calendar_with(&tasks, config.timezone(), &options));
    }
    Ok(started.elapsed().as_millis())
}

fn seed(db: &std::path::Path) -> Result<(String, i64)> {
    let mut store = Store::open(db)?;
    let now = Utc::now().timestamp();
    let mut first = None;
    for i in 0..TASKS {
        let who = NewIdentity {
            platform: "linkedin".into(),
            display_name: Some(format!("Person Nummer {} Müller", i / 5)),
            handle: Some(format!("person-{}", i / 5)),
            profile_url: None,
            email: None,
        };
        let (contact_id, _) = store.resolve_contact(&who, now)?.context("contact")?;
        store.insert_followup(
            &NewFollowup {
                contact_id,
                interaction_id: None,
                plan_key: format!("bench-{i}"),
                rule: "bench".into(),
                title: format!("Call Person Nummer {} Müller about the Köln meetup", i / 5),
                note: Some("What can you give them? An intro to the DACH community.".into()),
                due_at: now + (i as i64) * 3_600,
            },
            now,
        )?;
        if first.is_none() {
            first = store.pending_followups(None)?.first().map(|t| t.id);
        }
    }
    let token = nudged::web::token::new_token(&mut store)?;
    Ok((token, first.context("no task")?))
}

/// One GET; returns status, ETag and body length.
async fn get(
    addr: std::net::SocketAddr,
    path: &str,
    etag: Option<&str>,
) -> Result<(u16, String, usize)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let condition = etag
        .map(|e| format!("If-None-Match: {e}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{condition}\r\n")
                .as_bytes(),
        )
        .await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").context("no response head")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("status")?;
    let etag = head
        .lines()
        .find_map(|l| l.strip_prefix("etag: "))
        .unwrap_or_default()
        .to_string();
    Ok((status, etag, body.len()))
}

async fn wait_for_feed(addr: std::net::SocketAddr, path: &str) -> Result<(u16, String, usize)> {
    for _ in 0..100 {
        let reply = get(addr, path, None).await?;
        if reply.0 == 200 {
            return Ok(reply);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the feed never answered 200")
}

/// Snooze a task from another connection (as `nudged snooze` would) and time until a
/// conditional GET with the old ETag returns the new feed.
async fn change_latency(
    addr: std::net::SocketAddr,
    path: &str,
    other: &mut Store,
    task: i64,
    rounds: usize,
) -> Result<Vec<Duration>> {
    let mut took = Vec::new();
    for round in 0..rounds {
        let (_, etag, _) = get(addr, path, None).await?;
        let now = Utc::now().timestamp();
        let changed = Instant::now();
        // A minute later each round, two days out: the task stays among the `feed_max`
        // the feed holds (days further on pushed it out, and then a change changed nothing).
        other.snooze_followup(task, now + 2 * 86_400 + 60 * (round as i64 + 1), now)?;
        loop {
            if get(addr, path, Some(&etag)).await?.0 == 200 {
                took.push(changed.elapsed());
                break;
            }
            if changed.elapsed() > Duration::from_secs(5) {
                bail!("a change was not visible after 5 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(took)
}

fn summary(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    let max = sorted.last().copied().unwrap_or_default();
    format!(
        "median {} ms, max {} ms over {} changes",
        median.as_millis(),
        max.as_millis(),
        sorted.len()
    )
}

const POLL_SCRIPT: &str = r#"
local etag = "ETAG"
request = function()
  return wrk.format("GET", nil, { ["If-None-Match"] = etag })
end
response = function(status, headers, body)
  local seen = headers["etag"] or headers["ETag"]
  if seen then etag = seen end
end
"#;

/// Run wrk; returns requests/s and the p99 latency as wrk prints it.
async fn wrk(
    url: &str,
    seconds: u32,
    connections: u32,
    etag: Option<&str>,
) -> Result<(f64, String)> {
    let mut command = tokio::process::Command::new("wrk");
    command
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{seconds}s"))
        .arg("--latency");
    if let Some(etag) = etag {
        // Like a real polling client: send the last ETag seen, and take the new one
        // when the feed changes (so a change costs one download, not all of them).
        let script = std::env::temp_dir().join(format!("nudged-poll-{}.lua", std::process::id()));
        std::fs::write(
            &script,
            POLL_SCRIPT.replace("ETAG", &etag.replace('"', "\\\"")),
        )?;
        command.arg("-s").arg(&script);
    }
    let out = command.arg(url).output().await.context("wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    eprintln!("{text}");
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .context("no Requests/sec in wrk output")?;
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| v.trim().to_string())
        .context("no 99% line in wrk output")?;
    if text.contains("Non-2xx or 3xx responses") {
        bail!("wrk saw error responses:\n{text}");
    }
    Ok((rps, p99))
}
