//! Keep in touch: each contact has a cadence (by tier, default 90 days). Any interaction
//! restarts it; when it lapses, "Reconnect with NAME" becomes due. The plan key carries
//! the time of the last interaction, so a new interaction starts a new cycle and an
//! unchanged one never plans the same reminder twice. The task hangs on the last
//! interaction, so any later one (either direction) closes it: see
//! [`super::closing_steps`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::due_after;
use crate::classify::bots::is_bot_account;
use crate::config::FollowupConfig;
use crate::store::{LastContact, NewFollowup, from_unix};

/// Reconnect tasks for every contact whose cadence has lapsed by `now`. Cadences in
/// days are counted on the local calendar of `tz`, like every other due time.
/// The rule name of keep-in-touch reminders.
pub const RECONNECT_RULE: &str = "keep_in_touch.reconnect";

pub fn plan_reconnects(
    contacts: &[LastContact],
    config: &FollowupConfig,
    tz: Tz,
    now: DateTime<Utc>,
) -> Vec<NewFollowup> {
    contacts
        .iter()
        // A bot recorded as a contact by an older version is nobody to reconnect with.
        .filter(|c| !is_bot_account(&c.name))
        .filter_map(|c| {
            let cadence = config.tiers.get(&c.tier).copied().unwrap_or(config.cadence);
            if cadence.is_zero() {
                return None;
            }
            let due = due_after(from_unix(c.last_interaction_at), cadence, tz);
            (due <= now).then(|| NewFollowup {
                contact_id: c.contact_id,
                interaction_id: Some(c.last_interaction_id),
                plan_key: format!("reconnect:{}:{}", c.contact_id, c.last_interaction_at),
                rule: RECONNECT_RULE.to_string(),
                title: format!("Reconnect with {}", c.name),
                note: Some(format!(
                    "It has been {} since you were last in touch.",
                    cadence
                )),
                due_at: due.timestamp(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::HumanDuration;
    use chrono::TimeZone;

    #[test]
    fn lapsed_contacts_get_one_reminder_per_cycle() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap();
        let mut config = FollowupConfig::default();
        config.tiers.insert("close".into(), HumanDuration::days(30));
        let contacts = vec![
            LastContact {
                contact_id: 1,
                name: "Old Friend".into(),
                tier: "default".into(),
                last_interaction_at: (now - chrono::Duration::days(91)).timestamp(),
                last_interaction_id: 11,
            },
            LastContact {
                contact_id: 2,
                name: "Recent".into(),
                tier: "default".into(),
                last_interaction_at: (now - chrono::Duration::days(45)).timestamp(),
                last_interaction_id: 12,
            },
            LastContact {
                contact_id: 3,
                name: "Close".into(),
                tier: "close".into(),
                last_interaction_at: (now - chrono::Duration::days(45)).timestamp(),
                last_interaction_id: 12,
            },
            // Logged as a person before bots were told apart: never reminded of.
            LastContact {
                contact_id: 4,
                name: "Copilot".into(),
                tier: "default".into(),
                last_interaction_at: (now - chrono::Duration::days(120)).timestamp(),
                last_interaction_id: 13,
            },
        ];
        let plan = plan_reconnects(&contacts, &config, chrono_tz::UTC, now);
        let titles: Vec<&str> = plan.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(
            titles,
            vec!["Reconnect with Old Friend", "Reconnect with Close"]
        );
        assert_eq!(
            plan_reconnects(&contacts, &config, chrono_tz::UTC, now)[0].plan_key,
            plan[0].plan_key
        );
    }
}
