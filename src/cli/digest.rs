//! `nudged digest --preview | --send-now` and `nudged ics [--out FILE]`.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::{Context, UsageError, print_json};
use crate::calendar::write_calendar;
use crate::config::CalendarStyle;
use crate::digest::outbox::{DigestOutcome, compose, new_message_id, prepare, run_digest_on};
use crate::digest::{html, render};

pub fn digest(ctx: &Context, preview: bool, send_now: bool, raw: bool) -> Result<()> {
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
        // Built exactly as `--send-now` would build it; nothing is stored or sent.
        let key = crate::digest::link_key_on(&mut store, &ctx.config)?;
        let data = prepare(&store, &ctx.config, now, key.as_deref())?;
        let message = compose(config, &data, &new_message_id(now, config))?;
        if ctx.json {
            return print_json(&serde_json::json!({
                "subject": render::subject(&data),
                "text": render::text(&data),
                "html": html::html(&data),
                "message": String::from_utf8_lossy(&message),
            }));
        }
        if raw {
            use std::io::Write as _;
            std::io::stdout().write_all(&message)?;
        } else {
            println!("Subject: {}\n", render::subject(&data));
            print!("{}", render::text(&data));
        }
        return Ok(());
    }
    debug_assert!(send_now);
    // The transport is async (with a deadline); no transaction is open while it works.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(run_digest_on(&mut store, &ctx.config, now, true))? {
        DigestOutcome::Sent {
            subject, location, ..
        } => println!("Sent \"{subject}\" → {location}"),
        DigestOutcome::Failed { error, .. } => {
            anyhow::bail!("{error}; the digest is kept in the outbox and retried by `nudged run`")
        }
        other => println!("{}", other.describe()),
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
