//! `nudged run [--once]`: read every source, plan, send a due digest.

use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Context, UsageError, print_json};
use crate::classify::RuleSet;
use crate::config::SourceKind;
use crate::digest::outbox::{DigestOutcome, run_digest};
use crate::pipeline::{Ingest, plan_housekeeping};
use crate::source::{SourceReport, maildir::sync_maildir};

/// How long the daemon waits between passes over local sources.
const PASS_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Serialize)]
struct PassReport {
    sources: Vec<SourceReport>,
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
    let rules =
        RuleSet::with_user_config(&ctx.config.platforms, &ctx.config.rules).map_err(UsageError)?;
    // WEB SERVER (issue 7) — stopgap until `run` is a tokio daemon: serve the feed and
    // action links from a thread of their own until the process ends. At the merge this
    // becomes a task of the daemon, calling `web::serve` with its store and shutdown.
    if !once && ctx.config.web.is_some() {
        crate::web::spawn_background(&ctx.config, ctx.clock)?;
    }
    loop {
        let report = one_pass(ctx, &rules)?;
        tracing::info!(
            logged = report.sources.iter().map(|s| s.logged).sum::<usize>(),
            digest = report.digest,
            "pass finished"
        );
        if once {
            return print_report(ctx, &report);
        }
        std::thread::sleep(PASS_INTERVAL);
    }
}

fn one_pass(ctx: &Context, rules: &RuleSet) -> Result<PassReport> {
    let mut store = ctx.open_store()?;
    let now = ctx.clock.now();
    let ingest = Ingest {
        rules,
        config: &ctx.config,
        now,
    };
    let mut sources = Vec::new();
    for source in &ctx.config.sources {
        match source.kind {
            SourceKind::Maildir => sources.push(sync_maildir(&mut store, &ingest, source)?),
            SourceKind::Imap => bail!(
                "source {:?}: IMAP sources are not available in this build yet",
                source.name
            ),
        }
    }
    let (expired, reconnects_planned) = plan_housekeeping(&mut store, &ctx.config, now)?;
    let outcome = run_digest(&mut store, &ctx.config, now, false)?;
    let digest_text = match &outcome {
        DigestOutcome::Sent { location, .. } => {
            std::fs::read(location).ok().map(|raw| extract_text(&raw))
        }
        _ => None,
    };
    let digest = outcome.describe();
    Ok(PassReport {
        sources,
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
        for error in &source.errors {
            println!("    error: {error}");
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
