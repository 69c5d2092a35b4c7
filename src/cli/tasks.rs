//! Acting on tasks and logging the offline world: `done`, `snooze`, `skip`, `met`.

use anyhow::Result;

use super::{Context, UsageError, print_json};
use crate::classify::Kind;
use crate::duration::HumanDuration;
use crate::pipeline::log_manual;
use crate::plan::due_after;
use crate::store::{FollowupRow, FollowupStatus, NewIdentity};

fn report(ctx: &Context, row: &FollowupRow, verb: &str) -> Result<()> {
    if ctx.json {
        return print_json(row);
    }
    println!("[{}] {} — {verb}", row.id, row.title);
    Ok(())
}

pub fn done(ctx: &Context, id: i64) -> Result<()> {
    let mut store = ctx.open_store()?;
    let row = store.resolve_followup(id, FollowupStatus::Done, ctx.clock.now().timestamp())?;
    report(ctx, &row, row.status.as_str())
}

pub fn skip(ctx: &Context, id: i64) -> Result<()> {
    let mut store = ctx.open_store()?;
    let row = store.resolve_followup(id, FollowupStatus::Skipped, ctx.clock.now().timestamp())?;
    report(ctx, &row, row.status.as_str())
}

pub fn snooze(ctx: &Context, id: i64, duration: &str) -> Result<()> {
    let duration: HumanDuration = duration.parse().map_err(|e| UsageError(format!("{e}")))?;
    if duration.is_zero() {
        return Err(
            UsageError("snooze needs a duration longer than zero, e.g. 1d or 1w".into()).into(),
        );
    }
    let now = ctx.clock.now();
    let until = due_after(now, duration, ctx.config.timezone());
    let mut store = ctx.open_store()?;
    let row = store.snooze_followup(id, until.timestamp(), now.timestamp())?;
    let when = until
        .with_timezone(&ctx.config.timezone())
        .format("%a %-d %b %H:%M");
    report(ctx, &row, &format!("snoozed until {when}"))
}

pub fn met(
    ctx: &Context,
    name: &str,
    email: Option<String>,
    linkedin: Option<String>,
    at: Option<String>,
    note: Option<String>,
) -> Result<()> {
    let name = name.trim();
    if name.is_empty() {
        return Err(UsageError("met needs the person's name".into()).into());
    }
    let who = NewIdentity {
        platform: if linkedin.is_some() {
            "linkedin"
        } else {
            "in_person"
        }
        .to_string(),
        display_name: Some(name.to_string()),
        handle: None,
        profile_url: linkedin,
        email: email.map(|e| e.trim().to_ascii_lowercase()),
    };
    let subject = match &at {
        Some(place) => format!("Met {name} at {place}"),
        None => format!("Met {name}"),
    };
    let mut store = ctx.open_store()?;
    let (recorded, planned) = log_manual(
        &mut store,
        &ctx.config,
        &who,
        Kind::Met,
        &subject,
        note.as_deref(),
        ctx.clock.now(),
    )?;
    if ctx.json {
        return print_json(&serde_json::json!({
            "interaction_id": recorded.interaction_id,
            "contact_id": recorded.contact_id,
            "planned": planned,
        }));
    }
    println!("{subject}: logged, {planned} follow-up(s) planned. `nudged followups` lists them.");
    Ok(())
}
