//! `nudged run [--once]`: read every source, plan, send a due digest.

use anyhow::Result;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{Context, UsageError, print_json};
use crate::classify::RuleSet;
use crate::digest::outbox::DigestOutcome;
use crate::service::daemon::{Daemon, cancel_on_signals};
use crate::source::SourceReport;
use crate::source::imap::Hooks;

#[derive(Debug, Serialize)]
struct PassReport {
    sources: Vec<SourceReport>,
    calendars: Vec<crate::calendar::sync::CalendarReport>,
    address_books: Vec<crate::import::address_book::AddressBookReport>,
    expired: usize,
    reconnects_planned: usize,
    digest: String,
    #[serde(skip)]
    digest_text: Option<String>,
}

pub fn run(ctx: &Context, once: bool) -> Result<()> {
    if ctx.config.sources.is_empty() {
        return Err(UsageError(
            "the config has no [[source]]; add a maildir or imap source".into(),
        )
        .into());
    }
    RuleSet::with_user_config(&ctx.config.platforms, &ctx.config.rules).map_err(UsageError)?;
    limit_malloc_arenas();
    // One thread is plenty for a few mail connections and the web side, and keeps the
    // daemon small. The database writer has a thread of its own; reads, classification
    // and feed rendering use the blocking pool, kept small too (every extra thread costs
    // a malloc arena of resident memory).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()?;
    let shutdown = CancellationToken::new();
    let daemon = Daemon::new(
        ctx.config.clone(),
        ctx.clock,
        shutdown.clone(),
        Hooks::default(),
    )?;
    if once {
        let (report, failed) = runtime.block_on(async {
            cancel_on_signals(shutdown)?;
            let (sources, failed) = daemon.run_once().await;
            let books = daemon.import_address_books().await;
            // Changes made on the phone land before planning, so the digest leaves them out.
            let calendars = daemon.sync_calendars().await;
            let mut report = finish_pass(ctx, &daemon, sources).await?;
            report.calendars = calendars;
            report.address_books = books;
            anyhow::Ok((report, failed))
        })?;
        tracing::info!(
            logged = report.sources.iter().map(|s| s.logged).sum::<usize>(),
            digest = report.digest,
            "pass finished"
        );
        print_report(ctx, &report)?;
        if failed {
            let names: Vec<&str> = report
                .sources
                .iter()
                .filter(|s| !s.errors.is_empty())
                .map(|s| s.source.as_str())
                .collect();
            anyhow::bail!(
                "source(s) {} could not be read (see above); the others were read, planned and the digest handled",
                names.join(", ")
            );
        }
        return Ok(());
    }
    let config = std::sync::Arc::new(ctx.config.clone());
    runtime.block_on(async {
        cancel_on_signals(shutdown.clone())?;
        // The feed and action links run on this runtime, on the daemon's database, and
        // stop with it (same cancellation token).
        let web = match &ctx.config.web {
            Some(_) => Some(crate::web::spawn_background(
                &config,
                daemon.db().clone(),
                ctx.clock,
                shutdown.clone(),
            )?),
            None => None,
        };
        let (signals, done) = daemon.watch();
        let mut first = signals.first_sync_done.clone();
        tokio::spawn(async move {
            if first.wait_for(|done| *done).await.is_ok() {
                tracing::info!("first sync of every source finished");
            }
        });
        let clock = ctx.clock;
        tokio::spawn(crate::service::systemd::supervise(
            signals,
            crate::service::notify::Notifier::from_env(),
            daemon.db().clone(),
            std::sync::Arc::clone(&config),
            move || clock.now(),
        ));
        let result = done.await;
        crate::service::notify::Notifier::from_env().stopping();
        if let Some(web) = web
            && web.await.is_err()
        {
            tracing::error!("web: the server task panicked");
        }
        result
    })
}

/// After the sources: expire tasks, plan reconnects, send a due digest.
async fn finish_pass(
    ctx: &Context,
    daemon: &Daemon,
    sources: Vec<SourceReport>,
) -> Result<PassReport> {
    let (expired, reconnects_planned) = daemon.housekeeping().await?;
    let outcome = daemon.digest().await?;
    let digest_text = match &outcome {
        DigestOutcome::Sent { location, .. } => tokio::fs::read(location)
            .await
            .ok()
            .map(|raw| extract_text(&raw)),
        // Not due yet: show what the next one would say, built as `digest --preview`
        // builds it (nothing stored or sent), so a first run is not a blank page.
        DigestOutcome::NotConfigured => None,
        _ => {
            let (config, now) = (std::sync::Arc::new(ctx.config.clone()), ctx.clock.now());
            let key = crate::digest::link_key(daemon.db(), &config).await?;
            let preview = daemon
                .db()
                .read(move |store| {
                    let data = crate::digest::outbox::prepare(store, &config, now, key.as_deref())?;
                    Ok(format!(
                        "Preview of the next digest — {}\n\n{}",
                        crate::digest::render::subject(&data),
                        crate::digest::render::text(&data)
                    ))
                })
                .await?;
            Some(preview)
        }
    };
    let digest = outcome.describe();
    Ok(PassReport {
        sources,
        calendars: Vec::new(),
        address_books: Vec::new(),
        expired,
        reconnects_planned,
        digest,
        digest_text,
    })
}

/// The text part of a delivered digest, for the terminal.
fn extract_text(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse(raw)
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default()
}

fn print_report(ctx: &Context, report: &PassReport) -> Result<()> {
    if ctx.json {
        return print_json(report);
    }
    for source in &report.sources {
        println!(
            "{}: {} new message(s), {} interaction(s) logged, {} follow-up(s) planned",
            source.source, source.messages, source.logged, source.planned
        );
        for (what, n) in &source.by_kind {
            println!("    {n:>3}  {what}");
        }
        if source.skipped > 0 {
            println!(
                "    {} message(s) vanished before they could be read",
                source.skipped
            );
        }
        if source.sent_contacts > 0 {
            println!(
                "    you wrote to {} contact(s); {} task(s) closed",
                source.sent_contacts, source.closed_by_sent
            );
        }
        for error in &source.errors {
            println!("    error: {error}");
        }
    }
    for b in &report.address_books {
        match &b.error {
            Some(error) => println!("contacts {}: error: {error}", b.contacts),
            None => println!(
                "contacts {}: {} card(s): {} added, {} merged, {} skipped",
                b.contacts, b.cards, b.added, b.merged, b.skipped
            ),
        }
    }
    for c in &report.calendars {
        match &c.error {
            Some(error) => println!("calendar {}: error: {error}", c.calendar),
            None => println!(
                "calendar {}: {} created, {} updated, {} removed; from the list: {} done, {} skipped, {} snoozed",
                c.calendar, c.created, c.updated, c.removed, c.done, c.skipped, c.snoozed
            ),
        }
    }
    if report.expired > 0 || report.reconnects_planned > 0 {
        println!(
            "{} task(s) expired, {} reconnect reminder(s) planned",
            report.expired, report.reconnects_planned
        );
    }
    println!("digest: {}", report.digest);
    if let Some(text) = &report.digest_text {
        println!("\n{text}");
    }
    Ok(())
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core), and
/// each arena keeps freed memory resident. The daemon's few threads (runtime, database
/// writer, a small blocking pool) allocate little, so two arenas are plenty: measured on
/// the backfill bench, this is most of the difference between 15.6 and 15 MB resident.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning; called before the threads start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
