//! `nudged digest --preview | --send-now` and `nudged ics [--out FILE]`.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::{Context, UsageError, print_json};
use crate::calendar::write_calendar;
use crate::config::CalendarStyle;
use crate::digest::outbox::{DigestOutcome, run_digest};
use crate::digest::{DigestData, render};

pub fn digest(ctx: &Context, preview: bool, send_now: bool) -> Result<()> {
    let Some(config) = &ctx.config.digest else {
        return Err(UsageError(
            "no [digest] section in the config; add one with at least `to = \"you@example.com\"`"
                .into(),
        )
        .into());
    };
    let mut store = ctx.open_store()?;
    let now = ctx.clock.now();
    if preview {
        let data = DigestData::gather(&store, now, config.timezone.0)?;
        if ctx.json {
            return print_json(&serde_json::json!({
                "subject": render::subject(&data),
                "text": render::text(&data),
            }));
        }
        println!("Subject: {}\n", render::subject(&data));
        print!("{}", render::text(&data));
        return Ok(());
    }
    debug_assert!(send_now);
    match run_digest(&mut store, &ctx.config, now, true)? {
        DigestOutcome::Sent {
            subject, location, ..
        } => println!("Sent \"{subject}\" → {location}"),
        other => println!("{other:?}"),
    }
    Ok(())
}

pub fn ics(ctx: &Context, out: Option<&Path>) -> Result<()> {
    let store = ctx.open_store()?;
    let tasks = store.pending_followups(None)?;
    let style = match ctx.config.digest.as_ref().map(|d| d.calendar) {
        Some(CalendarStyle::None) | None => CalendarStyle::Vevent,
        Some(style) => style,
    };
    let text = write_calendar(&tasks, ctx.config.timezone(), ctx.clock.now(), style);
    match out {
        Some(path) => {
            std::fs::write(path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            if ctx.json {
                print_json(&serde_json::json!({ "file": path, "tasks": tasks.len() }))?;
            } else {
                eprintln!("Wrote {} follow-up(s) to {}", tasks.len(), path.display());
            }
        }
        None => print!("{text}"),
    }
    Ok(())
}
