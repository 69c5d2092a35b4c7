//! After each pass: expire tasks past their grace period and plan keep-in-touch
//! reminders for relationships that lapsed, a few a day.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::store::{Store, followups};

/// After ingesting: expire stale tasks and plan keep-in-touch reminders.
pub fn plan_housekeeping(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<(usize, usize)> {
    let grace = config.followups.expire_after.to_chrono().num_seconds();
    let expired = store.expire_followups(now.timestamp(), grace)?;
    let mut lapsed = crate::plan::keep_in_touch::plan_reconnects(
        &store.last_contacts()?,
        &config.followups,
        config.timezone(),
        now,
    );
    // Freshest lapses first: those relationships are the easiest to pick up again.
    lapsed.sort_by_key(|f| std::cmp::Reverse(f.due_at));
    let start_of_day = crate::digest::schedule::slot_on(
        now.with_timezone(&config.timezone()).date_naive(),
        chrono::NaiveTime::MIN,
        config.timezone(),
    );
    let mut planned = 0;
    store.write(|tx| {
        let today = followups::count_created_since(
            tx,
            crate::plan::keep_in_touch::RECONNECT_RULE,
            start_of_day.timestamp(),
        )?;
        let mut room = (config.followups.reconnects_per_day as usize).saturating_sub(today);
        for followup in &lapsed {
            if room == 0 {
                break;
            }
            if followups::insert(tx, followup, now.timestamp())? {
                planned += 1;
                room -= 1;
            }
        }
        Ok(())
    })?;
    Ok((expired, planned))
}
