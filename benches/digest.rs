//! How long a digest takes to gather and render for a large network: 10,000 contacts,
//! 200,000 interactions over a year, 5,000 open follow-ups (and as many closed ones for
//! the ROI block). Target: gather + render under 10 ms. Not a timed test; run with
//! `cargo bench --bench digest` and read the figures.

use std::time::{Duration, Instant};

use anyhow::Result;
use chrono::{DateTime, Utc};
use nudged::config::Config;
use nudged::digest::outbox::{compose, new_message_id, prepare};
use nudged::digest::{html, render, roi};
use nudged::store::Store;
use rusqlite::params;

const CONTACTS: i64 = 10_000;
const INTERACTIONS: i64 = 200_000;
const OPEN_TASKS: i64 = 5_000;
const CLOSED_TASKS: i64 = 5_000;
const PLATFORMS: [&str; 8] = [
    "linkedin",
    "github",
    "mastodon",
    "facebook",
    "x",
    "reddit",
    "meetup",
    "instagram",
];
const KINDS: [&str; 8] = [
    "message",
    "comment",
    "mention",
    "reaction",
    "follow",
    "connection",
    "milestone",
    "noise",
];

/// A small deterministic generator, so every run measures the same data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: i64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as i64
    }
}

fn populate(store: &mut Store, now: i64) -> Result<()> {
    let mut rng = Lcg(42);
    store.write(|tx| {
        let mut contact = tx.prepare("INSERT INTO contact (id, display_name, created_at) VALUES (?1, ?2, ?3)")?;
        for id in 1..=CONTACTS {
            contact.execute(params![id, format!("Person {id} Example"), now - 400 * 86_400])?;
        }
        let mut interaction = tx.prepare(
            "INSERT INTO interaction (id, contact_id, platform, kind, occurred_at, subject, link,
                                      source_message_id, verified, logged_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'verified', ?5)",
        )?;
        for id in 1..=INTERACTIONS {
            // Oldest first, so ids grow with time like a real log; the last ~300 are new.
            let occurred = now - 365 * 86_400 + id * (365 * 86_400) / INTERACTIONS - rng.next(3600);
            let kind = KINDS[rng.next(KINDS.len() as i64) as usize];
            interaction.execute(params![
                id,
                1 + rng.next(CONTACTS),
                PLATFORMS[rng.next(PLATFORMS.len() as i64) as usize],
                kind,
                occurred,
                format!("Notification {id} about a {kind}"),
                format!("https://example.com/n/{id}"),
                format!("<bench-{id}@example.com>"),
            ])?;
        }
        let mut followup = tx.prepare(
            "INSERT INTO followup (contact_id, interaction_id, plan_key, rule, title, due_at, status,
                                   resolved_at, created_at, updated_at, platform)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9,
                     (SELECT platform FROM interaction WHERE id = ?2))",
        )?;
        for n in 0..OPEN_TASKS + CLOSED_TASKS {
            let contact = 1 + rng.next(CONTACTS);
            let open = n < OPEN_TASKS;
            let due = now - 30 * 86_400 + rng.next(90 * 86_400);
            let (status, resolved) = match (open, n % 2) {
                (true, _) => ("open", None),
                (false, 0) => ("done", Some(now - rng.next(60 * 86_400))),
                (false, _) => ("expired", Some(now - rng.next(60 * 86_400))),
            };
            let rule = if n % 10 == 0 { "keep_in_touch.reconnect" } else { "message.reply" };
            followup.execute(params![
                contact,
                INTERACTIONS - rng.next(INTERACTIONS),
                format!("bench:{n}"),
                rule,
                format!("Reply to Person {contact} Example"),
                due,
                status,
                resolved,
                now - 40 * 86_400,
            ])?;
        }
        // The previous digest reported all but the newest 300 interactions.
        tx.execute(
            "INSERT INTO digest (slot, message_id, status, body, created_at, through_interaction)
             VALUES (?1, '<digest-prev@example.com>', 'sent', x'', ?1, ?2)",
            params![now - 86_400, INTERACTIONS - 300],
        )?;
        Ok(())
    })?;
    store.read().execute_batch("ANALYZE")?;
    Ok(())
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(samples[0]),
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() - 1])
    )
}

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config::parse(
        "[digest]\nto = \"me@example.com\"\ntimezone = \"Europe/Berlin\"\ncalendar = \"both\"\n\
         transport = \"file\"\nfile_dir = \"/tmp\"\n[web]\npublic_url = \"https://nudged.example.com\"\n",
        None,
        std::path::Path::new("/"),
    )?;
    let digest = config
        .digest
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no digest"))?;
    let now: DateTime<Utc> = "2026-11-24T06:31:00Z".parse()?;
    let mut store = Store::open(&dir.path().join("bench.db"))?;
    let started = Instant::now();
    populate(&mut store, now.timestamp())?;
    println!(
        "populated {CONTACTS} contacts, {INTERACTIONS} interactions, {OPEN_TASKS} open + {CLOSED_TASKS} closed follow-ups in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let key = nudged::digest::link_key_on(&mut store, &config)?;
    let (mut gather, mut render_both, mut total, mut with_mime) = (vec![], vec![], vec![], vec![]);
    let mut size = (0, 0, 0);
    for _ in 0..30 {
        let t0 = Instant::now();
        let data = prepare(&store, &config, now, key.as_deref())?;
        let t1 = Instant::now();
        let text = render::text(&data);
        let page = html::html(&data);
        let t2 = Instant::now();
        let message = compose(&digest, &data, &new_message_id(now, &digest))?;
        let t3 = Instant::now();
        gather.push(t1 - t0);
        render_both.push(t2 - t1);
        total.push(t2 - t0);
        with_mime.push(t3 - t0);
        size = (text.len(), page.len(), message.len());
    }
    // Where gathering spends its time: the ROI block and the ranking rows alone.
    let (mut roi_only, mut sketches) = (vec![], vec![]);
    for _ in 0..30 {
        let t0 = Instant::now();
        std::hint::black_box(roi::platform_summary(&store, now)?);
        let t1 = Instant::now();
        std::hint::black_box(store.pending_sketches(now.timestamp() + 8 * 86_400)?);
        sketches.push(t1.elapsed());
        roi_only.push(t1 - t0);
    }
    println!("  of which the ROI block:      {}", stats(roi_only));
    println!("  of which the ranking rows:   {}", stats(sketches));
    println!("gather (store queries, links): {}", stats(gather));
    println!("render (text + HTML):          {}", stats(render_both));
    println!("gather + render:               {}", stats(total));
    println!("… + compose (.ics, MIME):      {}", stats(with_mime));
    println!(
        "text {} bytes, HTML {} bytes, whole message {} bytes",
        size.0, size.1, size.2
    );
    Ok(())
}
