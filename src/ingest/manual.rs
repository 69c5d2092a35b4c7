//! Entries the user makes by hand (`nudged met`, `nudged log`, a "met …" reply to a
//! digest): find or create the person, log the interaction, close and plan as for mail.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::event::{Event, after_interaction};
use crate::classify::{self, Kind};
use crate::config::Config;
use crate::plan::Direction;
use crate::store::Transaction;
use crate::store::{NewIdentity, Recorded, Store, interactions, people};

/// A manual entry (`nudged met`, `nudged log`): the person, what happened, when.
#[derive(Debug, Clone)]
pub struct ManualEntry {
    pub who: NewIdentity,
    /// The contact, when the user named one by id; else `who` finds or creates it.
    pub contact_id: Option<i64>,
    pub kind: Kind,
    pub subject: String,
    pub note: Option<String>,
}

/// Log a manual entry: find the person (by profile URL or email, else the one contact
/// of that name, else a new one), log it, close what it settles and plan its
/// sequence. Returns the interaction and how many tasks were planned.
pub fn log_manual(
    store: &mut Store,
    config: &Config,
    entry: &ManualEntry,
    now: DateTime<Utc>,
) -> Result<(Recorded, usize)> {
    store.write(|tx| log_manual_in(tx, config, entry, now))
}

/// [`log_manual`] inside a caller's transaction (a reply to a digest is applied with
/// its source's cursor).
pub(crate) fn log_manual_in(
    tx: &Transaction<'_>,
    config: &Config,
    entry: &ManualEntry,
    now: DateTime<Utc>,
) -> Result<(Recorded, usize)> {
    let (contact_id, identity_id) = match entry.contact_id {
        Some(id) => (id, None),
        None => match people::resolve_manual(tx, &entry.who, now.timestamp())? {
            Some((contact, identity)) => (contact, Some(identity)),
            None => anyhow::bail!("a manual entry needs the person's name"),
        },
    };
    let platform = entry.who.platform.as_str();
    let interaction_id = interactions::insert_manual(
        tx,
        (contact_id, identity_id),
        platform,
        entry.kind,
        (&entry.subject, entry.note.as_deref().unwrap_or_default()),
        now.timestamp(),
    )?;
    let event = Event {
        interaction_id,
        contact_id,
        platform,
        kind: entry.kind,
        direction: Direction::Outgoing,
        occurred_at: now,
        trust: classify::Trust::Verified,
    };
    let planned = after_interaction(tx, config, &event, platform, now.timestamp())?;
    Ok((
        Recorded {
            interaction_id: event.interaction_id,
            contact_id: Some(contact_id),
            is_new: true,
        },
        planned,
    ))
}
