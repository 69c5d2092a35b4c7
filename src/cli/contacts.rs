//! `nudged contacts merge|show|tier`: people, not connection counts.

use anyhow::Result;
use clap::Subcommand;

use super::{Context, UsageError, print_json};
use crate::store::{ContactDetail, from_unix};

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Join contact FROM into contact INTO (identities, history, tasks); both names stay findable
    Merge {
        /// The contact to keep (id or name)
        into: String,
        /// The contact to fold into it (id or name)
        from: String,
    },
    /// One contact with identities, whole history and tasks
    Show {
        /// Id or name
        contact: String,
    },
    /// Put a contact in a keep-in-touch tier (from `[followups] tiers`, or "default")
    Tier {
        /// Id or name
        contact: String,
        tier: String,
    },
}

pub fn contacts(ctx: &Context, action: ContactsCommand) -> Result<()> {
    match action {
        ContactsCommand::Merge { into, from } => merge(ctx, &into, &from),
        ContactsCommand::Show { contact } => show(ctx, &contact),
        ContactsCommand::Tier { contact, tier } => tier_of(ctx, &contact, &tier),
    }
}

fn merge(ctx: &Context, into: &str, from: &str) -> Result<()> {
    let mut store = ctx.open_store()?;
    let outcome = store.merge_contacts(into, from)?;
    if ctx.json {
        return print_json(&outcome);
    }
    if outcome.already_merged {
        println!("{from} was already merged into contact {}.", outcome.into);
    } else {
        println!(
            "Merged contact {} into {}: {} identit(ies), {} interaction(s), {} task(s) moved.",
            outcome.from, outcome.into, outcome.identities, outcome.interactions, outcome.followups
        );
    }
    Ok(())
}

fn show(ctx: &Context, query: &str) -> Result<()> {
    let store = ctx.open_store()?;
    let id = store.find_contact(query)?;
    let Some(detail) = store.contact_detail(id)? else {
        return Err(UsageError(format!("contact {id} vanished")).into());
    };
    if ctx.json {
        return print_json(&detail);
    }
    print_detail(ctx, &detail);
    Ok(())
}

fn print_detail(ctx: &Context, detail: &ContactDetail) {
    let local = |at: i64| {
        from_unix(at)
            .with_timezone(&ctx.config.timezone())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let c = &detail.contact;
    println!("{} (contact {}, tier {})", c.display_name, c.id, c.tier);
    if !c.aliases.is_empty() {
        println!("  also known as: {}", c.aliases.join(", "));
    }
    if let Some(note) = &c.note {
        println!("  note: {note}");
    }
    for identity in &c.identities {
        let extra = [identity.profile_url.as_deref(), identity.email.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        println!("  {}:{} {extra}", identity.platform, identity.handle);
    }
    println!("History:");
    for row in &detail.history {
        println!(
            "  {}  {:<10} {:<18} {}",
            local(row.occurred_at),
            row.platform,
            row.kind,
            row.subject
        );
    }
    println!("Tasks:");
    for row in &detail.followups {
        println!(
            "  [{}] {}  {:<8} {}",
            row.id,
            local(row.due_at),
            row.status.as_str(),
            row.title
        );
    }
}

fn tier_of(ctx: &Context, query: &str, tier: &str) -> Result<()> {
    let tier = tier.trim();
    let tiers = &ctx.config.followups.tiers;
    if tier != "default" && !tiers.contains_key(tier) {
        let known: Vec<&str> = std::iter::once("default")
            .chain(tiers.keys().map(String::as_str))
            .collect();
        return Err(UsageError(format!(
            "no tier {tier:?}; known tiers: {} (add more under [followups] tiers)",
            known.join(", ")
        ))
        .into());
    }
    let mut store = ctx.open_store()?;
    let id = store.find_contact(query)?;
    store.set_tier(id, tier)?;
    let cadence = tiers
        .get(tier)
        .copied()
        .unwrap_or(ctx.config.followups.cadence);
    if ctx.json {
        return print_json(
            &serde_json::json!({ "contact_id": id, "tier": tier, "cadence": cadence }),
        );
    }
    println!("Contact {id} is now in tier {tier}: keep in touch every {cadence}.");
    Ok(())
}
