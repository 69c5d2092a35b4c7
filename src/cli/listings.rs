//! `nudged interactions`, `nudged followups`, `nudged contacts`.

use anyhow::Result;

use super::{Context, print_json};
use crate::store::from_unix;

fn local(ctx: &Context, at: i64) -> String {
    from_unix(at)
        .with_timezone(&ctx.config.timezone())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

pub fn interactions(ctx: &Context, all: bool, limit: usize) -> Result<()> {
    let store = ctx.open_store()?;
    let rows = store.interactions(all, limit)?;
    if ctx.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("No interactions logged yet. `nudged run --once` reads your sources.");
    }
    for row in rows {
        println!(
            "{:>5}  {}  {:<10} {:<18} {:<24} {}{}",
            row.id,
            local(ctx, row.occurred_at),
            row.platform,
            row.kind,
            row.contact_name.as_deref().unwrap_or("-"),
            row.subject,
            if row.verified == "verified" {
                ""
            } else {
                "  (unverified)"
            },
        );
    }
    Ok(())
}

pub fn followups(ctx: &Context, due: bool, all: bool) -> Result<()> {
    let store = ctx.open_store()?;
    let now = ctx.clock.now().timestamp();
    let rows = if all {
        store.all_followups()?
    } else {
        store.pending_followups(due.then_some(now))?
    };
    if ctx.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!(
            "{}",
            if due {
                "Nothing is due."
            } else {
                "No open follow-ups."
            }
        );
    }
    for row in rows {
        let overdue = row.status.is_pending() && row.due_at < now;
        println!(
            "{:>5}  {}  {:<8} {}{}",
            row.id,
            local(ctx, row.due_at),
            row.status.as_str(),
            row.title,
            if overdue { "  (overdue)" } else { "" }
        );
    }
    Ok(())
}

pub fn contacts(ctx: &Context) -> Result<()> {
    let store = ctx.open_store()?;
    let rows = store.contacts()?;
    if ctx.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("No contacts yet.");
    }
    for row in rows {
        let identities: Vec<String> = row
            .identities
            .iter()
            .map(|i| format!("{}:{}", i.platform, i.handle))
            .collect();
        let last = row
            .last_interaction_at
            .map(|at| local(ctx, at))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:>5}  {:<24} last {}  {} interaction(s)  {}",
            row.id,
            row.display_name,
            last,
            row.interactions,
            identities.join(" ")
        );
    }
    Ok(())
}
