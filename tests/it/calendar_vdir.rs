//! Tasks both ways through a vdir: nudged writes one `.ics` per task, todoman (a real
//! vdir task client) reads them and ticks one off, nudged closes that task; a task closed
//! in nudged shows completed in todoman. khal shows events only, so with `events_path`
//! each open task is also an event in a folder of its own, and khal lists those.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const T0: &str = "2026-06-01T13:00:00Z";

fn nudged(config: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(config)
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
    serde_json::from_slice(&out.stdout).unwrap()
}

fn todoman(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(support::python_env().join("bin/todo"))
        .arg("--config")
        .arg(dir.join("todoman.py"))
        .args(args)
        .output()
        .expect("run todoman");
    assert!(
        out.status.success(),
        "todo {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn todo_list(dir: &Path) -> Vec<Value> {
    let text = todoman(dir, &["--porcelain", "list", "--status", "ANY"]);
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn todoman_ticks_a_task_off_and_nudged_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let lists: PathBuf = root.join("lists");
    std::fs::create_dir_all(root.join("mail/cur")).unwrap();
    std::fs::create_dir_all(root.join("mail/new")).unwrap();
    std::fs::write(
        root.join("todoman.py"),
        format!(
            "path = \"{}/*\"\ndate_format = \"%Y-%m-%d\"\ntime_format = \"%H:%M\"\n\
             default_list = \"nudged\"\ncache_path = \"{}/todoman.sqlite3\"\n",
            lists.display(),
            root.display()
        ),
    )
    .unwrap();
    let config = root.join("config.toml");
    std::fs::write(
        &config,
        "[store]\npath = \"n.db\"\n[[source]]\nname = \"local\"\nkind = \"maildir\"\npath = \"mail\"\n\
         [[calendar]]\nname = \"laptop\"\nkind = \"vdir\"\npath = \"lists/nudged\"\ncolor = \"#3a87ad\"\n\
         events_path = \"lists/nudged-due\"\n",
    )
    .unwrap();
    nudged(&config, &["met", "Ann Lee", "--at", "Chamber breakfast"]);
    let tasks = nudged(&config, &["followups"]).as_array().unwrap().clone();
    let first = nudged(&config, &["run", "--once"]);
    assert_eq!(first["calendars"][0]["created"], 5, "{first}");
    assert_eq!(first["calendars"][0]["events"]["written"], 5, "{first}");
    let titles: Vec<&str> = tasks.iter().map(|t| t["title"].as_str().unwrap()).collect();
    let shown = khal_list(root, &lists);
    for title in &titles {
        assert!(
            shown.contains(title),
            "khal does not list {title:?}:\n{shown}"
        );
    }
    let again = nudged(&config, &["run", "--once"]);
    assert_eq!(
        again["calendars"][0]["events"],
        serde_json::json!({"written": 0, "removed": 0}),
        "unchanged tasks leave their events alone: {again}"
    );
    assert_eq!(
        std::fs::read_to_string(lists.join("nudged/displayname")).unwrap(),
        "nudged"
    );
    assert_eq!(
        std::fs::read_to_string(lists.join("nudged/color")).unwrap(),
        "#3a87ad"
    );
    assert!(
        std::fs::read_dir(lists.join("nudged")).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "no temp file left behind"
    );

    let listed = todo_list(root);
    assert_eq!(listed.len(), 5, "{listed:?}");
    let summary = tasks[0]["title"].as_str().unwrap();
    let ticked = listed.iter().find(|t| t["summary"] == summary).unwrap();
    todoman(root, &["done", &ticked["id"].to_string()]);

    let back = nudged(&config, &["run", "--once"]);
    assert_eq!(back["calendars"][0]["done"], 1, "{back}");
    assert_eq!(back["calendars"][0]["events"]["removed"], 1, "{back}");
    assert_eq!(back["calendars"][0]["updated"], 0, "{back}");
    let now = nudged(&config, &["followups", "--all"]);
    let status = now
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == tasks[0]["id"])
        .unwrap()["status"]
        .clone();
    assert_eq!(status, "done");

    nudged(&config, &["done", &tasks[1]["id"].to_string()]);
    let out = nudged(&config, &["run", "--once"]);
    assert_eq!(out["calendars"][0]["updated"], 1, "{out}");
    let listed = todo_list(root);
    let closed = listed
        .iter()
        .find(|t| t["summary"] == tasks[1]["title"])
        .unwrap();
    assert_eq!(closed["completed"], true, "{closed}");

    assert_eq!(out["calendars"][0]["events"]["removed"], 1, "{out}");

    // khal lists the open tasks only, and never takes the task list's to-dos for events.
    let shown = khal_list(root, &lists);
    for (i, title) in titles.iter().enumerate() {
        assert_eq!(shown.contains(title), i > 1, "{title:?} in:\n{shown}");
    }
    assert_eq!(shown.matches("Ann Lee").count(), 3, "{shown}");
    let listed = todo_list(root);
    assert_eq!(listed.len(), 5, "the events are no to-dos: {listed:?}");
}

/// `khal list` over two years, with the task list and the events folder as calendars.
fn khal_list(root: &Path, lists: &Path) -> String {
    let khal_conf = root.join("khal.conf");
    std::fs::write(
        &khal_conf,
        format!(
            "[calendars]\n[[nudged]]\npath = {}\ntype = calendar\n[[due]]\npath = {}\ntype = calendar\n\
             [sqlite]\npath = {}/khal.db\n\
             [locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
             datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n",
            lists.join("nudged").display(),
            lists.join("nudged-due").display(),
            root.display()
        ),
    )
    .unwrap();
    let khal = Command::new("khal")
        .arg("-c")
        .arg(&khal_conf)
        .args(["list", "2026-01-01", "1000d"])
        .output()
        .expect("khal is installed by scripts/install-test-deps.sh");
    let stderr = String::from_utf8_lossy(&khal.stderr);
    assert!(
        khal.status.success(),
        "khal could not read the vdirs: {stderr}"
    );
    assert!(!stderr.contains("rror"), "{stderr}");
    String::from_utf8_lossy(&khal.stdout).into_owned()
}
