//! Benchmark: planning after a new interaction, and the ROI figures, on a file
//! database the size of a busy user's (10,000 contacts, 200,000 interactions).
//!
//!     cargo run --release --example bench_planner
//!
//! Targets: ingest + plan of one message under 1 ms, `stats` under 100 ms (median and
//! p99 are printed; the process exits 1 when a median misses its target).

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{TimeZone, Utc};
use nudged::classify::RuleSet;
use nudged::config::Config;
use nudged::ingest::Ingest;
use nudged::store::Store;
use rusqlite::params;

const CONTACTS: i64 = 10_000;
const INTERACTIONS: i64 = 200_000;
const PLATFORMS: [&str; 5] = ["linkedin", "github", "mastodon", "x", "meetup"];
const KINDS: [&str; 6] = [
    "message",
    "connection",
    "reaction",
    "mention",
    "noise",
    "follow",
];

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // A path argument keeps the database for a look with `sqlite3` afterwards.
    let path = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.db"));
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let mut store = Store::open(&path)?;
    let started = Instant::now();
    seed(&mut store, now.timestamp())?;
    drop(store);
    println!(
        "seeded {CONTACTS} contacts, {INTERACTIONS} interactions in {:.1?}",
        started.elapsed()
    );
    // A fresh connection, as the daemon would have after a restart.
    let mut store = Store::open(&path)?;
    let config = Config::parse(
        "[followups]\ntimezone = \"America/New_York\"\n[trust]\nallow_unverified = true\n",
        None,
        std::path::Path::new("."),
    )?;
    let rules = RuleSet::builtin();
    let ingest = Ingest {
        rules: &rules,
        config: &config,
        now,
    };

    let mut plan_times = Vec::new();
    for i in 0..520 {
        let contact = (i * 7919) % CONTACTS;
        let raw = format!(
            "From: Person {contact} <messages-noreply@linkedin.com>\r\nTo: me@example.com\r\nSubject: Person {contact} sent you a message\r\nX-LinkedIn-Class: MSG\r\nMessage-ID: <bench-{i}@linkedin.com>\r\nDate: {}\r\n\r\nHi! https://www.linkedin.com/comm/in/c{contact}?trk=x\r\n",
            now.to_rfc2822()
        );
        let t = Instant::now();
        let done = store.write(|tx| ingest.message(tx, raw.as_bytes()))?;
        let elapsed = t.elapsed();
        assert_eq!(done.planned, 1, "the message should plan one reply");
        if i >= 20 {
            plan_times.push(elapsed);
        }
    }
    let mut stats_times = Vec::new();
    for i in 0..55 {
        let t = Instant::now();
        let report = nudged::digest::stats::roi_report(&store, now)?;
        let elapsed = t.elapsed();
        assert!(!report.windows[1].platforms.is_empty());
        if i >= 5 {
            stats_times.push(elapsed);
        }
    }
    let plan = summary("ingest + plan one message", &mut plan_times);
    let stats = summary("stats (30 and 90 days)", &mut stats_times);
    let ok = plan < Duration::from_millis(1) && stats < Duration::from_millis(100);
    println!(
        "{}",
        if ok {
            "within targets"
        } else {
            "TARGET MISSED"
        }
    );
    std::process::exit(if ok { 0 } else { 1 });
}

/// Print median and p99; return the median.
fn summary(what: &str, times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: median {:.3?}, p99 {:.3?}, max {:.3?} over {} runs",
        at(0.5),
        at(0.99),
        at(1.0),
        times.len()
    );
    at(0.5)
}

/// Contacts with a LinkedIn and an email identity; a year of interactions across
/// platforms and kinds; tasks in every state, as months of real use leave them.
fn seed(store: &mut Store, now: i64) -> Result<()> {
    let year = 365 * 86_400;
    store.write(|tx| {
        for c in 1..=CONTACTS {
            tx.execute(
                "INSERT INTO contact (id, display_name, created_at) VALUES (?1, ?2, ?3)",
                params![c, format!("Person {c}"), now - year],
            )?;
            tx.execute(
                "INSERT INTO identity (contact_id, platform, handle, profile_url, email) VALUES (?1, 'linkedin', ?2, ?3, NULL)",
                params![c, format!("c{c}"), format!("https://linkedin.com/in/c{c}")],
            )?;
            tx.execute(
                "INSERT INTO identity (contact_id, platform, handle, email) VALUES (?1, 'email', ?2, ?2)",
                params![c, format!("p{c}@example.com")],
            )?;
        }
        let mut interaction = tx.prepare(
            "INSERT INTO interaction (id, contact_id, platform, kind, occurred_at, subject, source_message_id, verified, logged_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 's', ?6, 'verified', ?5)",
        )?;
        let mut followup = tx.prepare(
            "INSERT INTO followup (contact_id, interaction_id, plan_key, rule, title, due_at, status, resolved_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 't', ?5, ?6, ?7, ?8, ?8)",
        )?;
        for i in 1..=INTERACTIONS {
            // A cheap, fixed pseudo-random spread.
            let r = i.wrapping_mul(2_654_435_761) & 0x7fff_ffff;
            let kind = KINDS[(r % 6) as usize];
            let platform = PLATFORMS[((r / 7) % 5) as usize];
            let contact = (kind != "noise").then_some((r / 31) % CONTACTS + 1);
            let at = now - (r % year);
            interaction.execute(params![i, contact, platform, kind, at, format!("seed-{i}")])?;
            if let (Some(contact), "message" | "mention") = (contact, kind) {
                let status = ["done", "expired", "skipped", "open"][((r / 13) % 4) as usize];
                let resolved = (status != "open").then_some(at + (r % 200_000));
                followup.execute(params![
                    contact,
                    i,
                    format!("interaction:{i}:reply"),
                    format!("{kind}.reply"),
                    at + 86_400,
                    status,
                    resolved,
                    at
                ])?;
            }
        }
        Ok(())
    })
}
