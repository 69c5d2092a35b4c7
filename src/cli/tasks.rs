//! Acting on tasks and logging the offline world: `done`, `snooze`, `skip`, `met`, `log`.

use anyhow::Result;

use super::{Context, UsageError, print_json};
use crate::classify::Kind;
use crate::config::duration::HumanDuration;
use crate::ingest::{ManualEntry, log_manual};
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
    let entry = ManualEntry {
        who,
        contact_id: None,
        kind: Kind::Met,
        subject: subject.clone(),
        note,
    };
    let mut store = ctx.open_store()?;
    let (recorded, planned) = log_manual(&mut store, &ctx.config, &entry, ctx.clock.now())?;
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

/// What `nudged log --kind` accepts: the offline exchanges a notification never shows.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogKind {
    Call,
    Email,
    Meeting,
    Message,
}

impl LogKind {
    fn kind(self) -> Kind {
        match self {
            LogKind::Call => Kind::Call,
            LogKind::Email => Kind::Email,
            LogKind::Meeting => Kind::Meeting,
            LogKind::Message => Kind::Message,
        }
    }

    /// The channel it counts under in `nudged stats`.
    fn platform(self) -> &'static str {
        match self {
            LogKind::Call => "phone",
            LogKind::Email => "email",
            LogKind::Meeting => "in_person",
            LogKind::Message => "message",
        }
    }
}

pub fn log(
    ctx: &Context,
    name: &str,
    kind: LogKind,
    note: Option<String>,
    email: Option<String>,
) -> Result<()> {
    let name = name.trim();
    if name.is_empty() {
        return Err(UsageError("log needs the person's name or contact id".into()).into());
    }
    let mut store = ctx.open_store()?;
    // An id names a contact outright; a name may also be someone new.
    let contact_id = match name.trim_start_matches('#').parse::<i64>() {
        Ok(_) => Some(store.find_contact(name)?),
        Err(_) => None,
    };
    let name = match contact_id {
        Some(id) => store.contact_name(id)?,
        None => name.to_string(),
    };
    let entry = ManualEntry {
        who: NewIdentity {
            platform: kind.platform().to_string(),
            display_name: Some(name.to_string()),
            handle: None,
            profile_url: None,
            email,
        },
        contact_id,
        kind: kind.kind(),
        subject: match kind {
            LogKind::Call => format!("Call with {name}"),
            LogKind::Email => format!("Email with {name}"),
            LogKind::Meeting => format!("Meeting with {name}"),
            LogKind::Message => format!("Message with {name}"),
        },
        note,
    };
    let (recorded, planned) = log_manual(&mut store, &ctx.config, &entry, ctx.clock.now())?;
    if ctx.json {
        return print_json(&serde_json::json!({
            "interaction_id": recorded.interaction_id,
            "contact_id": recorded.contact_id,
            "planned": planned,
        }));
    }
    println!("{}: logged.", entry.subject);
    Ok(())
}
