//! The people commands through the binary, with `--json` and a pinned clock:
//! `met`, `log`, `contacts` (list, show, merge, tier), `import`, `stats`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

struct Env {
    _dir: tempfile::TempDir,
    config: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[store]\npath = \"n.db\"\n[followups]\ntimezone = \"America/New_York\"\ntiers = { close = \"30d\" }\n",
    )
    .unwrap();
    Env { _dir: dir, config }
}

impl Env {
    fn run(&self, now: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_nudged"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("NUDGED_NOW", now)
            .output()
            .unwrap()
    }

    fn json(&self, now: &str, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(now, &all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

const T0: &str = "2026-06-01T13:00:00Z";
const T1: &str = "2026-06-20T13:00:00Z";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn met_attaches_to_the_one_contact_of_that_name_and_meeting_closes_meet() {
    let env = env();
    let first = env.json(T0, &["met", "Ann Lee", "--at", "Chamber breakfast"]);
    assert_eq!(first["planned"], 5);
    let second = env.json(T0, &["met", "ann lee", "--email", "ann@example.com"]);
    assert_eq!(second["contact_id"], first["contact_id"]);
    let contacts = env.json(T0, &["contacts"]);
    assert_eq!(contacts.as_array().unwrap().len(), 1);
    let logged = env.json(
        T1,
        &["log", "Ann Lee", "--kind", "meeting", "--note", "coffee"],
    );
    assert_eq!(logged["contact_id"], first["contact_id"]);
    assert_eq!(logged["planned"], 0);
    let tasks = env.json(T1, &["followups", "--all"]);
    let meets: Vec<&Value> = tasks
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["rule"] == "met.meet")
        .collect();
    assert_eq!(meets.len(), 2);
    // The second `met` settled the first one's "meet"; the logged meeting the second's.
    let closed_by: Vec<&str> = meets
        .iter()
        .map(|t| t["closed_by"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(closed_by, vec!["met", "meeting"], "{meets:#?}");
    // A call closes "call" by its id too.
    let id = first["contact_id"].to_string();
    env.json(T1, &["log", &id, "--kind", "call"]);
    let open = env.json(T1, &["followups"]);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|t| t["rule"] != "met.call")
    );
}

#[test]
fn contacts_show_merge_and_tier() {
    let env = env();
    let ann = env.json(T0, &["met", "Ann Lee"])["contact_id"].clone();
    let annie =
        env.json(T0, &["met", "Annie", "--email", "annie@example.com"])["contact_id"].clone();
    let merged = env.json(T1, &["contacts", "merge", "Ann Lee", "Annie"]);
    assert_eq!(merged["into"], ann);
    assert_eq!(merged["already_merged"], false);
    let again = env.json(T1, &["contacts", "merge", "Ann Lee", "Annie"]);
    assert_eq!(again["already_merged"], true);
    let same = env.run(T1, &["contacts", "merge", "Ann Lee", "Ann Lee"]);
    assert_eq!(same.status.code(), Some(2));
    let shown = env.json(T1, &["contacts", "show", "Annie"]);
    assert_eq!(shown["id"], ann);
    assert_eq!(shown["aliases"][0], "Annie");
    assert_eq!(shown["history"].as_array().unwrap().len(), 2);
    assert_eq!(shown["followups"].as_array().unwrap().len(), 10);
    assert!(
        shown["identities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["email"] == "annie@example.com")
    );
    let old_id = annie.to_string();
    assert_eq!(env.json(T1, &["contacts", "show", &old_id])["id"], ann);
    let tier = env.json(T1, &["contacts", "tier", "Ann Lee", "close"]);
    assert_eq!(tier["cadence"], "30d");
    assert_eq!(env.json(T1, &["contacts"])[0]["tier"], "close");
    let bad = env.run(T1, &["contacts", "tier", "Ann Lee", "bestie"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("close"));
    let missing = env.run(T1, &["contacts", "show", "Nobody"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn imports_report_added_merged_skipped_and_are_idempotent() {
    let env = env();
    let v3 = env.json(T0, &["import", "vcard", &fixture("contacts-3.0.vcf")]);
    assert_eq!(
        (v3["added"].as_u64(), v3["skipped"].as_u64()),
        (Some(2), Some(1))
    );
    let csv = env.json(T0, &["import", "linkedin", &fixture("Connections.csv")]);
    assert_eq!(
        (csv["added"].as_u64(), csv["merged"].as_u64()),
        (Some(3), Some(1))
    );
    let again = env.json(T0, &["import", "linkedin", &fixture("Connections.csv")]);
    assert_eq!(
        (
            again["added"].as_u64(),
            again["merged"].as_u64(),
            again["skipped"].as_u64()
        ),
        (Some(0), Some(0), Some(4))
    );
    let not_csv = env.run(T0, &["import", "linkedin", &fixture("contacts-4.0.vcf")]);
    assert_eq!(not_csv.status.code(), Some(1));
}

#[test]
fn stats_per_platform_for_30_and_90_days() {
    let env = env();
    env.json(T0, &["import", "linkedin", &fixture("Connections.csv")]);
    env.json(T0, &["met", "Ann Lee"]);
    let stats = env.json("2026-11-20T13:00:00Z", &["stats"]);
    let windows = stats["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0]["days"], 30);
    // Sam connected on 08 Nov 2026: in both windows. The June meeting is in neither.
    let linkedin = windows[0]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["platform"] == "linkedin")
        .unwrap();
    assert_eq!(
        (
            linkedin["interactions"].as_i64(),
            linkedin["people"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(linkedin["noise_only"], false);
}
