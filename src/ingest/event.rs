//! What follows any new interaction, inside its transaction, whether it came in by
//! mail or was logged by hand: close the tasks it shows were done, plan its sequence.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::classify::{self, Kind};
use crate::config::Config;
use crate::plan::{Direction, PlanInput, closing_steps, plan_followups, sequence};
use crate::store::Transaction;
use crate::store::{contacts, followups};

/// A logged interaction, as the closing and planning steps see it.
pub(super) struct Event<'a> {
    pub(super) interaction_id: i64,
    pub(super) contact_id: i64,
    pub(super) platform: &'a str,
    pub(super) kind: Kind,
    pub(super) direction: Direction,
    pub(super) occurred_at: DateTime<Utc>,
    pub(super) trust: classify::Trust,
}

/// What follows a new interaction, inside its transaction: close the contact's tasks
/// it shows were done, then plan its own sequence. Returns how many tasks were planned.
pub(super) fn after_interaction(
    tx: &Transaction<'_>,
    config: &Config,
    event: &Event<'_>,
    platform_name: &str,
    now: i64,
) -> Result<usize> {
    followups::close_done_by_event(
        tx,
        event.contact_id,
        closing_steps(event.kind, event.direction),
        event.occurred_at.timestamp(),
        event.kind.as_str(),
        now,
    )?;
    // The user's own messages and calls need no reply from them; only a sequence the
    // user configured for such an entry plans anything.
    if event.direction == Direction::Outgoing
        && event.kind != Kind::Met
        && sequence::configured(&config.sequences, event.kind, event.platform).is_none()
    {
        return Ok(0);
    }
    let name = contacts::display_name(tx, event.contact_id)?;
    let input = PlanInput {
        interaction_id: event.interaction_id,
        contact_id: event.contact_id,
        contact_name: &name,
        platform: event.platform,
        platform_name,
        kind: event.kind,
        occurred_at: event.occurred_at,
        trust: event.trust,
    };
    let mut planned = 0;
    for followup in plan_followups(
        &input,
        &config.sequences,
        config.timezone(),
        config.trust.allow_unverified,
    ) {
        if followups::insert(tx, &followup, now)? {
            planned += 1;
        }
    }
    Ok(planned)
}
