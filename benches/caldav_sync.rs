//! Figures for the task-list sync against a real Radicale (not a timed test; run with
//! `cargo bench --bench caldav_sync`, size with NUDGED_BENCH_TASKS, default 5000;
//! NUDGED_BENCH_PYTHON=0 skips the Python baseline):
//! - the first upload of every open task, beside the Python `caldav` client uploading the
//!   same item texts to a second list on the same server in the same run;
//! - a pass with nothing changed: requests made, wall time, and our own CPU time (the
//!   server is another process, so this process's CPU is "our side");
//! - a pass after the phone ticked one task off.
//!
//! Radicale checks UID uniqueness on every PUT by reading the collection, so uploads get
//! slower as the list grows (1,000 items: ~100 s on a loaded 2-core box). With
//! NUDGED_BENCH_SEED=1 the upload is skipped: the items nudged would write are placed in
//! Radicale's storage folder and nudged's item rows filled from one PROPFIND, which is the
//! state after a first upload; then the passes with nothing changed are measured.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use nudged::calendar::sync::{SyncHooks, alarm_of, sync_calendars};
use nudged::calendar::vtodo::{ItemState, default_priority, render_item};
use nudged::store::{Db, NewFollowup, NewIdentity, Store};
use support::{RADICALE_PASSWORD, RADICALE_USER, Radicale};

const PYTHON_UPLOAD: &str = r#"
import os, sys, time
from caldav import DAVClient
url, user, password, folder = sys.argv[1:5]
texts = [open(os.path.join(folder, n)).read() for n in sorted(os.listdir(folder))]
principal = DAVClient(url, username=user, password=password).principal()
cal = principal.make_calendar(name="python", supported_calendar_component_set=["VTODO"])
start = time.monotonic()
for text in texts:
    cal.save_todo(text)
print(time.monotonic() - start)
"#;

/// CPU time of this process (all threads), user + system.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF cannot fail.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn main() {
    let n: usize = std::env::var("NUDGED_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let radicale = Radicale::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), RADICALE_PASSWORD).unwrap();
    let text = format!(
        "[store]\npath = \"n.db\"\n[[calendar]]\nname = \"bench\"\nkind = \"caldav\"\n\
         url = \"{}\"\nusername = \"{RADICALE_USER}\"\npassword_file = \"pw\"\ntimeout = \"10m\"\n",
        radicale.url()
    );
    let config = nudged::config::Config::parse(&text, None, dir.path()).unwrap();
    let mut store = Store::open(&config.store_path()).unwrap();
    let (contact, _) = store
        .resolve_contact(
            &NewIdentity {
                platform: "in_person".into(),
                display_name: Some("Bench Person".into()),
                ..Default::default()
            },
            1,
        )
        .unwrap()
        .unwrap();
    for i in 0..n {
        let new = NewFollowup {
            contact_id: contact,
            interaction_id: None,
            plan_key: format!("bench:{i}"),
            rule: if i % 3 == 0 {
                "message.reply"
            } else {
                "connection.thank"
            }
            .into(),
            title: format!("Thank person {i} for the introduction"),
            note: Some(format!("Met at meetup #{i}; talked about sailing and Rust")),
            due_at: 1_900_000_000 + i as i64 * 600,
        };
        store.insert_followup(&new, 1).unwrap();
    }
    // The same item texts for the Python client, rendered as nudged renders them.
    let items = dir.path().join("items");
    std::fs::create_dir_all(&items).unwrap();
    let now = chrono::Utc::now();
    for task in store.pending_followups(None).unwrap() {
        let text = render_item(
            &task,
            ItemState::NeedsAction,
            default_priority(&task.rule),
            alarm_of(&config),
            now,
        );
        std::fs::write(items.join(format!("{:06}.ics", task.id)), text).unwrap();
    }
    let store = Db::with_writer(store).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hooks = SyncHooks::default();
    let pass = |label: &str| {
        let (wall, cpu) = (Instant::now(), cpu_time());
        let report = runtime.block_on(sync_calendars(&store, &config, now, &hooks));
        let (wall, cpu) = (wall.elapsed(), cpu_time() - cpu);
        let r = &report[0];
        assert!(r.error.is_none(), "{label}: {r:?}");
        println!(
            "{label:<34} wall {:>9.1} ms  our CPU {:>8.1} ms  requests {:>5}  created {} updated {} done {}",
            wall.as_secs_f64() * 1000.0,
            cpu.as_secs_f64() * 1000.0,
            r.requests,
            r.created,
            r.updated,
            r.done
        );
        (wall, r.clone())
    };

    println!("caldav_sync: {n} open tasks, Radicale 3.9 on loopback");
    let seeded = std::env::var("NUDGED_BENCH_SEED").as_deref() == Ok("1");
    let ours = if seeded {
        runtime.block_on(seed(&radicale, &items, &config, &store));
        let (_, first) = pass("first pass over a seeded list");
        assert_eq!(first.created + first.updated, 0, "{first:?}");
        Duration::ZERO
    } else {
        // The order alternates between runs (NUDGED_BENCH_PYTHON_FIRST=1), since the box
        // is shared and its load drifts.
        if std::env::var("NUDGED_BENCH_PYTHON_FIRST").as_deref() == Ok("1") {
            let python = python_upload(&radicale, &items, dir.path());
            println!(
                "{:<34} wall {:>9.1} ms",
                "first upload (Python caldav)",
                python * 1000.0
            );
        }
        let (ours, first) = pass("first upload (nudged)");
        assert_eq!(first.created, n);
        ours
    };

    for round in 1..=5 {
        let (_, idle) = pass(&format!("nothing changed, pass {round}"));
        assert_eq!(idle.created + idle.updated, 0);
    }
    radicale.phone(&["complete", "todo-bench-7@nudged"]);
    let (_, changed) = pass("after the phone ticked one off");
    assert_eq!(changed.done, 1);
    let (_, idle) = pass("nothing changed again");
    assert_eq!(idle.requests, 1);
    // The baseline: Radicale's PUT cost grows with the collection, so at 5,000 items this
    // takes as long as nudged's upload; NUDGED_BENCH_PYTHON=0 leaves it out.
    if seeded
        || std::env::var("NUDGED_BENCH_PYTHON").as_deref() == Ok("0")
        || std::env::var("NUDGED_BENCH_PYTHON_FIRST").as_deref() == Ok("1")
    {
        return;
    }
    let python = python_upload(&radicale, &items, dir.path());
    println!(
        "{:<34} wall {:>9.1} ms  (nudged/python = {:.2})",
        "first upload (Python caldav)",
        python * 1000.0,
        ours.as_secs_f64() / python
    );
}

/// The state a first upload leaves: every item in Radicale's storage, and nudged's item
/// rows with the ETags the server reports (one PROPFIND).
async fn seed(
    radicale: &Radicale,
    items: &std::path::Path,
    config: &nudged::config::Config,
    store: &Db,
) {
    use nudged::calendar::vtodo::{content_hash, item_name, item_uid};
    let collection = radicale.storage().join("collection-root/alice/nudged");
    std::fs::create_dir_all(&collection).unwrap();
    std::fs::write(
        collection.join(".Radicale.props"),
        r#"{"C:supported-calendar-component-set": "VTODO", "D:displayname": "nudged", "tag": "VCALENDAR"}"#,
    )
    .unwrap();
    let tasks = store.read_blocking(|s| s.pending_followups(None)).unwrap();
    for task in &tasks {
        let text = std::fs::read_to_string(items.join(format!("{:06}.ics", task.id))).unwrap();
        std::fs::write(collection.join(item_name(&item_uid(task))), text).unwrap();
    }
    let endpoint = config.calendars[0].endpoint();
    let client = nudged::calendar::dav::DavClient::new(&endpoint)
        .await
        .unwrap();
    let url = reqwest::Url::parse(&format!("{}{RADICALE_USER}/nudged/", radicale.url())).unwrap();
    let listing = client
        .multistatus(
            "PROPFIND",
            &url,
            "1",
            r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>"#,
        )
        .await
        .unwrap();
    let etags: std::collections::HashMap<String, String> = listing
        .responses
        .iter()
        .filter_map(|r| {
            let name = r.href.rsplit('/').next()?.to_string();
            Some((name, r.text("getetag")?.to_string()))
        })
        .collect();
    let alarm = alarm_of(config);
    // The bench's own connection: seeding rows is set-up, not the code under test.
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    for task in &tasks {
        let uid = item_uid(task);
        let name = item_name(&uid);
        let etag = etags
            .get(&name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        let hash = content_hash(
            task,
            ItemState::NeedsAction,
            default_priority(&task.rule),
            alarm,
        );
        conn.execute(
            "INSERT INTO calendar_item (calendar, uid, followup_id, href, etag, hash, state, due_at)
             VALUES ('bench', ?1, ?2, ?3, ?4, ?5, 'needs-action', ?6)",
            rusqlite::params![uid, task.id, name, etag, hash, task.due_at],
        )
        .unwrap();
    }
}

/// The Python `caldav` client uploading the same item texts to a list of its own;
/// its seconds.
fn python_upload(radicale: &Radicale, items: &std::path::Path, dir: &std::path::Path) -> f64 {
    let script = dir.join("upload.py");
    std::fs::write(&script, PYTHON_UPLOAD).unwrap();
    let out = Command::new(support::python_env().join("bin/python"))
        .arg(&script)
        .args([&radicale.url(), RADICALE_USER, RADICALE_PASSWORD])
        .arg(items)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python upload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
