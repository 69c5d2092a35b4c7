//! The clock moved through DST days in America/New_York and Europe/Berlin and across a
//! three-day outage, with a daemon pass every 15 minutes: exactly one digest per local
//! day, at the first instant after a skipped hour, once on a repeated hour, one catch-up
//! after the outage covering everything that happened meanwhile, none when there is
//! nothing to say. The transport is a file per message: delivery is not under test here.

use crate::digest_common;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use digest_common::*;
use nudged::classify::Kind;
use nudged::config::Config;
use nudged::digest::outbox::DigestOutcome;
use nudged::ingest::{ManualEntry, log_manual};
use nudged::store::{NewIdentity, Store, from_unix};

fn schedule_config(dir: &Path, tz: &str, at: &str, send_when_empty: bool) -> Config {
    config(&format!(
        "[store]\npath = \"{db}\"\n[digest]\nto = \"sam@example.com\"\nat = \"{at}\"\ntimezone = \"{tz}\"\n\
         transport = \"file\"\nfile_dir = \"{out}\"\nsend_when_empty = {send_when_empty}\n",
        db = dir.join("n.db").display(),
        out = dir.join("out").display(),
    ))
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Passes every 15 minutes from `from` to `to`; returns the local times digests went out.
fn run_days(tz_name: &str, at_time: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = schedule_config(dir.path(), tz_name, at_time, true);
    let mut store = Store::open(&config.store_path()).expect("store");
    let tz: Tz = tz_name.parse().expect("zone");
    let mut sent = Vec::new();
    let mut now = from;
    while now <= to {
        if let DigestOutcome::Sent { .. } = pass(&mut store, &config, now) {
            sent.push(
                now.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string(),
            );
        }
        now += Duration::minutes(15);
    }
    assert_eq!(files_in(&dir.path().join("out")), sent.len());
    sent
}

#[test]
fn new_york_spring_forward_and_fall_back() {
    // 2026-03-08: 02:00 → 03:00, so 02:30 does not exist.
    let sent = run_days(
        "America/New_York",
        "02:30",
        at("2026-03-07T05:00:00Z"),
        at("2026-03-10T05:00:00Z"),
    );
    assert_eq!(
        sent,
        [
            "2026-03-07 02:30 EST",
            "2026-03-08 03:00 EDT",
            "2026-03-09 02:30 EDT"
        ]
    );
    // 2026-11-01: 01:30 happens twice; one digest, at the first.
    let sent = run_days(
        "America/New_York",
        "01:30",
        at("2026-10-31T04:00:00Z"),
        at("2026-11-03T04:00:00Z"),
    );
    assert_eq!(
        sent,
        [
            "2026-10-31 01:30 EDT",
            "2026-11-01 01:30 EDT",
            "2026-11-02 01:30 EST"
        ]
    );
}

#[test]
fn berlin_spring_forward_and_fall_back() {
    // 2026-03-29: 02:00 → 03:00.
    let sent = run_days(
        "Europe/Berlin",
        "02:30",
        at("2026-03-27T23:00:00Z"),
        at("2026-03-30T23:00:00Z"),
    );
    assert_eq!(
        sent,
        [
            "2026-03-28 02:30 CET",
            "2026-03-29 03:00 CEST",
            "2026-03-30 02:30 CEST"
        ]
    );
    // 2026-10-25: 02:00–03:00 happens twice.
    let sent = run_days(
        "Europe/Berlin",
        "02:30",
        at("2026-10-23T22:00:00Z"),
        at("2026-10-26T23:00:00Z"),
    );
    assert_eq!(
        sent,
        [
            "2026-10-24 02:30 CEST",
            "2026-10-25 02:30 CEST",
            "2026-10-26 02:30 CET"
        ]
    );
}

fn meet(store: &mut Store, config: &Config, name: &str, now: DateTime<Utc>) {
    let who = NewIdentity {
        platform: "in_person".into(),
        display_name: Some(name.into()),
        ..NewIdentity::default()
    };
    log_manual(
        store,
        config,
        &ManualEntry {
            who,
            contact_id: None,
            kind: Kind::Met,
            subject: format!("Met {name}"),
            note: None,
        },
        now,
    )
    .expect("log");
}

#[test]
fn three_days_off_means_one_catch_up_digest_covering_the_gap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = schedule_config(dir.path(), "Europe/Berlin", "07:30", false);
    let mut store = Store::open(&config.store_path()).expect("store");
    meet(
        &mut store,
        &config,
        "Ann Before",
        at("2026-11-20T05:00:00Z"),
    );
    let mut sent = Vec::new();
    let mut now = at("2026-11-20T05:00:00Z");
    // Up until the evening of the 20th; then the machine is off until noon on the 24th.
    while now <= at("2026-11-20T20:00:00Z") {
        if let DigestOutcome::Sent { .. } = pass(&mut store, &config, now) {
            sent.push(now);
        }
        now += Duration::minutes(15);
    }
    assert_eq!(sent, [at("2026-11-20T06:30:00Z")]);
    // Mail that arrived while it was off is read when it comes back.
    let back = at("2026-11-24T11:00:00Z");
    meet(&mut store, &config, "Bob During", back);
    meet(&mut store, &config, "Cleo During", back);
    let mut now = back;
    while now <= at("2026-11-24T22:00:00Z") {
        if let DigestOutcome::Sent { .. } = pass(&mut store, &config, now) {
            sent.push(now);
        }
        now += Duration::minutes(15);
    }
    assert_eq!(sent.len(), 2, "one catch-up, no backlog: {sent:?}");
    assert_eq!(sent[1], back);
    let rows = store.all_digests().expect("outbox");
    assert_eq!(rows.len(), 2);
    let catch_up = String::from_utf8_lossy(&rows[1].body).into_owned();
    let slot = from_unix(rows[1].slot).to_rfc3339();
    assert_eq!(slot, "2026-11-24T06:30:00+00:00");
    let text = mail_parser::MessageParser::default()
        .parse(catch_up.as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .expect("text part");
    assert!(
        text.contains("Bob During") && text.contains("Cleo During"),
        "{text}"
    );
    // "New" starts after the previous digest: Ann was in the first one already.
    let new_part = text
        .split("New since the last digest")
        .nth(1)
        .expect("new section");
    assert!(!new_part.contains("Ann Before"), "{text}");
}

#[test]
fn nothing_due_and_nothing_new_sends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = schedule_config(dir.path(), "Europe/Berlin", "07:30", false);
    let mut store = Store::open(&config.store_path()).expect("store");
    let outcome = pass(&mut store, &config, at("2026-11-24T06:31:00Z"));
    assert!(
        matches!(outcome, DigestOutcome::NothingToSay { .. }),
        "{outcome:?}"
    );
    assert_eq!(files_in(&dir.path().join("out")), 0);
    // A clock moved back never sends an older slot.
    meet(&mut store, &config, "Dan", at("2026-11-24T06:40:00Z"));
    assert!(matches!(
        pass(&mut store, &config, at("2026-11-24T06:45:00Z")),
        DigestOutcome::Sent { .. }
    ));
    let back = pass(&mut store, &config, at("2026-11-23T06:45:00Z"));
    assert!(
        matches!(back, DigestOutcome::AlreadySent { .. }),
        "{back:?}"
    );
}
