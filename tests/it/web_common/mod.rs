//! Shared by the web tests: the real server on 127.0.0.1:0 over a real database file, a
//! plain HTTP/1.1 client on a TCP socket (so what is tested is the bytes on the wire),
//! and seeding of tasks through the store's public API.

// Each test file uses a different part of this module.
#![allow(dead_code)]

pub mod parsers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use nudged::clock::Clock;
use nudged::config::Config;
use nudged::store::{Db, NewFollowup, NewIdentity, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Db,
    pub config: Arc<Config>,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Start the server with `[web]` lines beyond `listen`, on a database in a fresh temp
/// dir that `seed` fills first.
pub async fn start<T>(
    web_extra: &str,
    clock: Clock,
    seed: impl FnOnce(&mut Store) -> T,
) -> (TestServer, T) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nudged.db");
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[store]\npath = {:?}\n\n[followups]\ntimezone = \"Europe/Berlin\"\n\n\
             [web]\nlisten = \"127.0.0.1:0\"\npublic_url = \"https://nudged.example.com/\"\n{web_extra}\n",
            db.display().to_string()
        ),
    )
    .unwrap();
    let config = Arc::new(Config::load(&config_path).unwrap());
    let mut store = Store::open(&db).unwrap();
    let seeded = seed(&mut store);
    let store = Db::with_writer(store).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(nudged::web::serve(
        listener,
        store.clone(),
        config.clone(),
        clock,
        async {
            let _ = stopped.await;
        },
    ));
    let server = TestServer {
        addr,
        store,
        config,
        db,
        dir,
        stop: Some(stop),
        task: Some(task),
    };
    (server, seeded)
}

impl TestServer {
    /// Stop the server and check that it shut down cleanly.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[]).await
    }

    /// A separate connection to the same database file, as `nudged done` from a shell
    /// would open it.
    pub fn other_connection(&self) -> Store {
        Store::open(&self.db).unwrap()
    }

    /// The whole database as SQL text, read by the real sqlite3 shell.
    pub fn dump(&self) -> String {
        sqlite_dump(&self.db)
    }

    /// Make a feed token through a separate connection and return the events path.
    pub fn new_feed_path(&self) -> (String, String) {
        let mut store = self.other_connection();
        let token = nudged::web::token::new_token(&mut store).unwrap();
        (
            format!("/feed/{token}.ics"),
            format!("/feed/{token}/todo.ics"),
        )
    }
}

pub fn sqlite_dump(db: &Path) -> String {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(".dump")
        .output()
        .unwrap_or_else(|e| {
            panic!("sqlite3 is needed to dump the database ({e}); run scripts/install-test-deps.sh")
        });
    assert!(out.status.success(), "sqlite3 .dump failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`, so the body ends
/// where the stream does).
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if method == "POST" {
        head.push_str("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Add a contact named `name` and one open task for them; returns the task id.
pub fn add_task(store: &mut Store, name: &str, title: &str, due: DateTime<Utc>, key: &str) -> i64 {
    let now = Utc::now().timestamp();
    let (contact_id, _) = store
        .resolve_contact(
            &NewIdentity {
                platform: "in_person".into(),
                display_name: Some(name.into()),
                handle: None,
                profile_url: None,
                email: Some(format!("{key}@example.com")),
            },
            now,
        )
        .unwrap()
        .unwrap();
    store
        .insert_followup(
            &NewFollowup {
                contact_id,
                interaction_id: None,
                plan_key: key.into(),
                rule: "test".into(),
                title: title.into(),
                note: Some(format!("Note for {name}")),
                due_at: due.timestamp(),
            },
            now,
        )
        .unwrap();
    store
        .pending_followups(None)
        .unwrap()
        .into_iter()
        .find(|t| t.plan_key == key)
        .unwrap()
        .id
}

/// Poll `check` until it holds or `limit` passes; returns how long it took.
pub async fn within(
    limit: std::time::Duration,
    mut check: impl AsyncFnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}
