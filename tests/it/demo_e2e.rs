//! End to end on the bundled demo: the real binary reads the demo Maildir, logs,
//! plans and writes a digest; a second run adds nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const NOW: &str = "2026-11-22T08:00:00Z";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A private copy of examples/ so tests never write into the repository.
fn demo_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::copy(examples.join("demo.toml"), dir.path().join("demo.toml")).unwrap();
    copy_dir(
        &examples.join("demo-maildir"),
        &dir.path().join("demo-maildir"),
    );
    let config = dir.path().join("demo.toml");
    (dir, config)
}

fn nudged(config: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .env("NUDGED_NOW", NOW)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run the nudged binary");
    assert!(
        out.status.success(),
        "nudged {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(config: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&nudged(config, &args)).unwrap()
}

#[test]
fn demo_run_is_idempotent_and_plans_the_connection_sequence() {
    let (dir, config) = demo_copy();
    let first = nudged(&config, &["run", "--once"]);
    assert!(first.contains("interaction(s) logged"), "{first}");
    assert!(first.contains("digest: sent"), "{first}");

    let interactions = json(&config, &["interactions", "--all", "--limit", "1000"]);
    let followups = json(&config, &["followups"]);
    let n_interactions = interactions.as_array().unwrap().len();
    let n_followups = followups.as_array().unwrap().len();
    assert!(n_interactions >= 15, "only {n_interactions} interactions");
    let platforms: std::collections::BTreeSet<&str> = interactions
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["platform"].as_str().unwrap())
        .collect();
    assert!(platforms.len() >= 5, "{platforms:?}");

    let second = nudged(&config, &["run", "--once"]);
    assert!(second.contains("0 interaction(s) logged"), "{second}");
    assert!(second.contains("digest: already sent"), "{second}");
    assert_eq!(
        json(&config, &["interactions", "--all", "--limit", "1000"])
            .as_array()
            .unwrap()
            .len(),
        n_interactions
    );
    assert_eq!(
        json(&config, &["followups"]).as_array().unwrap().len(),
        n_followups
    );

    // The accepted LinkedIn invitation: thank +48 h, call +30 d, meet +90 d.
    let accepted = interactions
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["platform"] == "linkedin" && i["kind"] == "connection")
        .expect("the demo has a new LinkedIn connection");
    let occurred =
        chrono::DateTime::parse_from_rfc3339(accepted["occurred_at"].as_str().unwrap()).unwrap();
    let mut steps: Vec<(String, i64)> = followups
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["interaction_id"] == accepted["id"])
        .map(|f| {
            let due = chrono::DateTime::parse_from_rfc3339(f["due_at"].as_str().unwrap()).unwrap();
            (
                f["title"].as_str().unwrap().to_string(),
                (due - occurred).num_hours(),
            )
        })
        .collect();
    steps.sort_by_key(|s| s.1);
    let name = accepted["contact_name"].as_str().unwrap();
    assert_eq!(
        steps,
        vec![
            (format!("Thank {name}"), 48),
            (format!("Call {name}"), 30 * 24),
            (format!("Meet {name} face to face"), 90 * 24),
        ]
    );

    // Exactly one digest was written, and it is a parseable message.
    let outbox: Vec<_> = std::fs::read_dir(dir.path().join("demo-state/outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    let raw = std::fs::read(&outbox[0]).unwrap();
    let message = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(message.subject().unwrap().contains("follow-ups due"));
    assert!(message.message_id().unwrap().starts_with("digest-"));
}

#[test]
fn noise_and_ordinary_mail_create_no_tasks() {
    let (_dir, config) = demo_copy();
    nudged(&config, &["run", "--once"]);
    let interactions = json(&config, &["interactions", "--all", "--limit", "1000"]);
    let followups = json(&config, &["followups", "--all"]);
    let noise_ids: Vec<&Value> = interactions
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "noise" || i["kind"] == "follow" || i["kind"] == "reaction")
        .map(|i| &i["id"])
        .collect();
    assert!(!noise_ids.is_empty());
    for task in followups.as_array().unwrap() {
        assert!(
            !noise_ids.contains(&&task["interaction_id"]),
            "task for noise: {task}"
        );
    }
    // The personal mail and the newsletter are not interactions at all.
    assert!(
        interactions
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["platform"] != "unknown")
    );
}

#[test]
fn done_snooze_skip_and_met_from_the_command_line() {
    let (_dir, config) = demo_copy();
    nudged(&config, &["run", "--once"]);
    let due = json(&config, &["followups", "--due"]);
    let ids: Vec<i64> = due
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() >= 3, "{due}");
    let done = json(&config, &["done", &ids[0].to_string()]);
    assert_eq!(done["status"], "done");
    // Marking it done again changes nothing.
    assert_eq!(
        json(&config, &["done", &ids[0].to_string()])["updated_at"],
        done["updated_at"]
    );
    let snoozed = json(&config, &["snooze", &ids[1].to_string(), "1w"]);
    assert_eq!(snoozed["status"], "snoozed");
    assert_eq!(snoozed["due_at"], "2026-11-29T08:00:00+00:00");
    assert_eq!(
        json(&config, &["skip", &ids[2].to_string()])["status"],
        "skipped"
    );
    let still_due = json(&config, &["followups", "--due"]);
    assert_eq!(still_due.as_array().unwrap().len(), ids.len() - 3);

    let met = json(
        &config,
        &[
            "met",
            "Ruth Okoye",
            "--at",
            "the spring fair",
            "--email",
            "ruth@example.net",
        ],
    );
    assert_eq!(met["planned"], 5);
    let ics = nudged(&config, &["ics"]);
    assert!(
        ics.contains("BEGIN:VCALENDAR") && ics.contains("Ruth Okoye"),
        "{ics}"
    );
}
