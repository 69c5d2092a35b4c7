//! Tasks both ways through a vdir: nudged writes one `.ics` per task, todoman (a real
//! vdir task client) reads them and ticks one off, nudged closes that task; a task closed
//! in nudged shows completed in todoman; khal reads the same folder.

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
         [[calendar]]\nname = \"laptop\"\nkind = \"vdir\"\npath = \"lists/nudged\"\ncolor = \"#3a87ad\"\n",
    )
    .unwrap();
    nudged(&config, &["met", "Ann Lee", "--at", "Chamber breakfast"]);
    let tasks = nudged(&config, &["followups"]).as_array().unwrap().clone();
    let first = nudged(&config, &["run", "--once"]);
    assert_eq!(first["calendars"][0]["created"], 5, "{first}");
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

    // khal reads the same folder (it shows events only, so the list itself is empty).
    let khal_conf = root.join("khal.conf");
    std::fs::write(
        &khal_conf,
        format!(
            "[calendars]\n[[nudged]]\npath = {}\ntype = calendar\n[sqlite]\npath = {}/khal.db\n\
             [locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
             datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n",
            lists.join("nudged").display(),
            root.display()
        ),
    )
    .unwrap();
    let khal = Command::new("khal")
        .arg("-c")
        .arg(&khal_conf)
        .args(["list", "2026-01-01", "2000d"])
        .output()
        .expect("khal is installed by scripts/install-test-deps.sh");
    assert!(
        khal.status.success(),
        "khal could not read the vdir: {}",
        String::from_utf8_lossy(&khal.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&khal.stderr).contains("rror"),
        "{}",
        String::from_utf8_lossy(&khal.stderr)
    );
}
