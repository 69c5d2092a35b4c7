//! Tasks both ways with a real CalDAV server: Radicale on loopback with htpasswd auth,
//! the Python `caldav` library as the person's phone, nudged as the binary (`run --once`)
//! and as the library (to edit the list between nudged's read and its write).

use crate::support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;
use support::{RADICALE_PASSWORD, RADICALE_USER, Radicale};

const T0: &str = "2026-06-01T13:00:00Z";
const WEEK: i64 = 7 * 86400;

struct Env {
    dir: tempfile::TempDir,
    config: PathBuf,
}

fn env(radicale: &Radicale) -> Env {
    env_with(radicale, "")
}

/// `extra` goes into the `[[calendar]]` table.
fn env_with(radicale: &Radicale, extra: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("mail/cur")).unwrap();
    std::fs::create_dir_all(dir.path().join("mail/new")).unwrap();
    std::fs::write(dir.path().join("pw"), format!("{RADICALE_PASSWORD}\n")).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"n.db\"\n\
             [[source]]\nname = \"local\"\nkind = \"maildir\"\npath = \"mail\"\n\
             [[calendar]]\nname = \"phone\"\nkind = \"caldav\"\nurl = \"{}\"\n\
             username = \"{RADICALE_USER}\"\npassword_file = \"pw\"\n{extra}",
            radicale.url()
        ),
    )
    .unwrap();
    Env { dir, config }
}

impl Env {
    fn json(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
            .arg("--config")
            .arg(&self.config)
            .arg("--json")
            .args(args)
            .env("NUDGED_NOW", T0)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    /// One `run --once`; its report for the one calendar.
    fn pass(&self) -> Value {
        let report = self.json(&["run", "--once"]);
        report["calendars"][0].clone()
    }

    fn tasks(&self) -> Vec<Value> {
        self.json(&["followups", "--all"])
            .as_array()
            .unwrap()
            .clone()
    }
}

/// The UID nudged gives a task's item (its plan key, made safe).
fn uid(task: &Value) -> String {
    let key: String = task["plan_key"]
        .as_str()
        .unwrap()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("todo-{key}@nudged")
}

fn phone_list(radicale: &Radicale) -> Vec<Value> {
    serde_json::from_str::<Value>(&radicale.phone(&["list"]))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn on_phone<'a>(list: &'a [Value], uid: &str) -> Option<&'a Value> {
    list.iter().find(|t| t["uid"] == uid)
}

fn unix(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap()
        .timestamp()
}

#[test]
fn the_phone_closes_snoozes_and_deletes_and_nudged_closes_reach_the_phone() {
    let radicale = Radicale::start();
    let env = env(&radicale);
    env.json(&["met", "Ann Lee", "--at", "Chamber breakfast"]);
    let tasks = env.tasks();
    assert_eq!(tasks.len(), 5);

    let first = env.pass();
    assert_eq!(first["created"], 5, "{first}");
    assert_eq!(first["error"], Value::Null, "{first}");
    let list = phone_list(&radicale);
    assert_eq!(list.len(), 5, "{list:?}");
    for task in &tasks {
        let item = on_phone(&list, &uid(task)).unwrap_or_else(|| panic!("{task} missing"));
        assert_eq!(item["summary"], task["title"]);
        assert_eq!(item["status"], "NEEDS-ACTION");
    }

    // Nothing changed: no upload, one request (sync-collection).
    let idle = env.pass();
    assert_eq!(
        (idle["created"].clone(), idle["updated"].clone()),
        (0.into(), 0.into())
    );
    assert_eq!(idle["requests"], 1, "{idle}");

    let (done, gone, moved) = (&tasks[0], &tasks[1], &tasks[2]);
    radicale.phone(&["complete", &uid(done)]);
    radicale.phone(&["delete", &uid(gone)]);
    radicale.phone(&["move-due", &uid(moved), "7"]);
    let back = env.pass();
    assert_eq!(
        (
            back["done"].clone(),
            back["skipped"].clone(),
            back["snoozed"].clone()
        ),
        (1.into(), 1.into(), 1.into()),
        "{back}"
    );
    let now = env.tasks();
    let status = |id: &Value| {
        now.iter()
            .find(|t| t["id"] == *id)
            .map(|t| (t["status"].clone(), t["due_at"].clone()))
            .unwrap()
    };
    assert_eq!(status(&done["id"]).0, "done");
    assert_eq!(status(&gone["id"]).0, "skipped");
    let (moved_status, moved_due) = status(&moved["id"]);
    assert_eq!(moved_status, "snoozed");
    assert_eq!(
        unix(moved_due.as_str().unwrap()),
        unix(moved["due_at"].as_str().unwrap()) + WEEK
    );
    // The person's edits need nothing sent back.
    assert_eq!(back["updated"], 0, "{back}");

    // Closing in nudged reaches the phone: done → completed, skip → gone.
    let (finished, dropped) = (&tasks[3], &tasks[4]);
    env.json(&["done", &finished["id"].to_string()]);
    env.json(&["skip", &dropped["id"].to_string()]);
    let out = env.pass();
    assert_eq!(
        (out["updated"].clone(), out["removed"].clone()),
        (1.into(), 1.into()),
        "{out}"
    );
    let list = phone_list(&radicale);
    assert_eq!(
        on_phone(&list, &uid(finished)).unwrap()["status"],
        "COMPLETED"
    );
    assert!(on_phone(&list, &uid(dropped)).is_none(), "{list:?}");
    assert!(on_phone(&list, &uid(gone)).is_none());
    assert_eq!(on_phone(&list, &uid(done)).unwrap()["status"], "COMPLETED");

    let settled = env.pass();
    assert_eq!(settled["requests"], 1, "{settled}");
    drop(env.dir);
}

/// `sync = "etag"`: Radicale offers sync-collection, but nudged lists by ctag and ETags
/// and fetches what changed with a multiget; the phone's edits come back all the same.
#[test]
fn without_sync_collection_the_ctag_and_etags_read_the_phone_back() {
    let radicale = Radicale::start();
    let env = env_with(&radicale, "sync = \"etag\"\n");
    env.json(&["met", "Ann Lee", "--at", "Chamber breakfast"]);
    let tasks = env.tasks();
    let first = env.pass();
    assert_eq!(first["created"], 5, "{first}");
    // Our own uploads moved the ctag: a listing (PROPFIND depth 0, then depth 1), and
    // every ETag listed is the one our PUTs got back, so nothing is fetched.
    let after_upload = env.pass();
    assert_eq!(after_upload["requests"], 2, "{after_upload}");
    assert_eq!(after_upload["updated"], 0, "{after_upload}");
    // Unchanged ctag: one request.
    let idle = env.pass();
    assert_eq!(idle["requests"], 1, "{idle}");

    let (done, gone, moved) = (&tasks[0], &tasks[1], &tasks[2]);
    radicale.phone(&["complete", &uid(done)]);
    radicale.phone(&["delete", &uid(gone)]);
    radicale.phone(&["move-due", &uid(moved), "7"]);
    let back = env.pass();
    assert_eq!(
        (
            back["done"].clone(),
            back["skipped"].clone(),
            back["snoozed"].clone(),
            back["updated"].clone()
        ),
        (1.into(), 1.into(), 1.into(), 0.into()),
        "{back}"
    );
    // ctag moved → depth-1 listing → one multiget for the two changed items; with
    // sync-collection this would have been a REPORT and the multiget.
    assert_eq!(back["requests"], 3, "{back}");
    let now = env.tasks();
    let status = |id: &Value| now.iter().find(|t| t["id"] == *id).unwrap().clone();
    assert_eq!(status(&done["id"])["status"], "done");
    assert_eq!(status(&gone["id"])["status"], "skipped");
    let snoozed = status(&moved["id"]);
    assert_eq!(snoozed["status"], "snoozed");
    assert_eq!(
        unix(snoozed["due_at"].as_str().unwrap()),
        unix(moved["due_at"].as_str().unwrap()) + WEEK
    );
    let settled = env.pass();
    assert_eq!(settled["requests"], 1, "{settled}");
    assert_eq!(
        (settled["done"].clone(), settled["updated"].clone()),
        (0.into(), 0.into()),
        "{settled}"
    );
}

/// A store with `n` open tasks and the config pointing at `radicale`, for library calls.
fn library_env(
    radicale: &Radicale,
    n: usize,
) -> (tempfile::TempDir, nudged::store::Db, nudged::config::Config) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), RADICALE_PASSWORD).unwrap();
    let text = format!(
        "[store]\npath = \"n.db\"\n[[calendar]]\nname = \"phone\"\nkind = \"caldav\"\n\
         url = \"{}\"\nusername = \"{RADICALE_USER}\"\npassword_file = \"pw\"\n",
        radicale.url()
    );
    let config = nudged::config::Config::parse(&text, None, dir.path()).unwrap();
    let mut store = nudged::store::Store::open(&config.store_path()).unwrap();
    let (contact, _) = store
        .resolve_contact(
            &nudged::store::NewIdentity {
                platform: "in_person".into(),
                display_name: Some("Ines".into()),
                ..Default::default()
            },
            1,
        )
        .unwrap()
        .unwrap();
    for i in 0..n {
        let new = nudged::store::NewFollowup {
            contact_id: contact,
            interaction_id: None,
            plan_key: format!("k{i}"),
            rule: "connection.thank".into(),
            title: format!("Thank Ines {i}"),
            note: None,
            due_at: 1_900_000_000 + i as i64,
        };
        store.insert_followup(&new, 1).unwrap();
    }
    (dir, nudged::store::Db::with_writer(store).unwrap(), config)
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn an_edit_between_read_and_write_gives_412_and_is_merged() {
    use nudged::calendar::sync::{SyncHooks, sync_calendars};
    let radicale = Radicale::start();
    let (_dir, store, config) = library_env(&radicale, 1);
    let now = chrono::Utc::now();
    let first = block_on(sync_calendars(&store, &config, now, &SyncHooks::default()));
    assert_eq!(first[0].created, 1, "{first:?}");

    // nudged snoozes the task; the phone raises its priority after nudged has read the
    // list and before it writes: the PUT meets 412, is re-read, merged and sent again.
    let until = 1_950_000_000;
    store
        .write_blocking(move |s| s.snooze_followup(1, until, 2))
        .unwrap();
    let phone = Arc::new(radicale.url());
    let hooks = SyncHooks {
        before_push: Some(Arc::new({
            let phone = Arc::clone(&phone);
            move |_: &str| {
                let out = Command::new(support::python_env().join("bin/python"))
                    .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/phone.py"))
                    .args([phone.as_str(), RADICALE_USER, RADICALE_PASSWORD])
                    .args(["set-priority", "todo-k0@nudged", "1"])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        })),
    };
    let second = block_on(sync_calendars(&store, &config, now, &hooks));
    assert_eq!(second[0].conflicts, 1, "{second:?}");
    assert_eq!(second[0].updated, 1, "{second:?}");
    let list = phone_list(&radicale);
    let item = on_phone(&list, "todo-k0@nudged").unwrap();
    assert_eq!(item["priority"], 1, "the person's priority is kept: {item}");
    assert_eq!(
        unix(item["due"].as_str().unwrap()),
        until,
        "nudged's snooze is kept: {item}"
    );
    let third = block_on(sync_calendars(&store, &config, now, &SyncHooks::default()));
    assert_eq!((third[0].updated, third[0].conflicts), (0, 0), "{third:?}");
}

#[test]
fn a_server_that_is_down_loses_nothing() {
    use nudged::calendar::sync::{SyncHooks, sync_calendars};
    use nudged::store::FollowupStatus;
    let mut radicale = Radicale::start();
    let (_dir, store, config) = library_env(&radicale, 3);
    let now = chrono::Utc::now();
    let hooks = SyncHooks::default();
    assert_eq!(
        block_on(sync_calendars(&store, &config, now, &hooks))[0].created,
        3
    );

    radicale.stop();
    store
        .write_blocking(|s| s.resolve_followup(1, FollowupStatus::Done, 5))
        .unwrap();
    let down = block_on(sync_calendars(&store, &config, now, &hooks));
    assert!(down[0].error.is_some(), "{down:?}");

    radicale.restart();
    radicale.phone(&["complete", "todo-k1@nudged"]);
    let back = block_on(sync_calendars(&store, &config, now, &hooks));
    assert_eq!(back[0].error, None, "{back:?}");
    assert_eq!((back[0].done, back[0].updated), (1, 1), "{back:?}");
    let list = phone_list(&radicale);
    assert_eq!(
        on_phone(&list, "todo-k0@nudged").unwrap()["status"],
        "COMPLETED"
    );
    assert_eq!(
        store
            .read_blocking(|s| s.followup(2))
            .unwrap()
            .unwrap()
            .status,
        FollowupStatus::Done
    );
    assert_eq!(
        on_phone(&list, "todo-k2@nudged").unwrap()["status"],
        "NEEDS-ACTION"
    );
}

#[test]
fn check_logs_in_to_each_list_and_says_what_is_wrong() {
    let radicale = Radicale::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good"), RADICALE_PASSWORD).unwrap();
    std::fs::write(dir.path().join("bad"), "not-the-password").unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"n.db\"\n\
             [[calendar]]\nname = \"good\"\nkind = \"caldav\"\nurl = \"{url}\"\nusername = \"{RADICALE_USER}\"\npassword_file = \"good\"\n\
             [[calendar]]\nname = \"bad\"\nkind = \"caldav\"\nurl = \"{url}\"\nusername = \"{RADICALE_USER}\"\npassword_file = \"bad\"\n\
             [[contacts]]\nname = \"book\"\nkind = \"carddav\"\nurl = \"{url}\"\nusername = \"{RADICALE_USER}\"\npassword_file = \"good\"\n",
            url = radicale.url()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("[ok  ] calendar \"good\": logged in; no task list named \"nudged\" yet"),
        "{text}"
    );
    assert!(text.contains("[FAIL] calendar \"bad\""), "{text}");
    assert!(text.contains("refused the login (401)"), "{text}");
    assert!(
        text.contains("fix: check username and the password"),
        "{text}"
    );
    assert!(
        text.contains("[FAIL] contacts \"book\""),
        "no address book yet: {text}"
    );
    assert!(
        !text.contains("not-the-password"),
        "a secret in the output: {text}"
    );
}
