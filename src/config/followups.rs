//! `[followups]`: how tasks are planned (time zone, keep-in-touch cadences by tier) and
//! when they give up. Every field has a default; serde checks the durations.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::time::TimeZone;
use crate::config::duration::HumanDuration;

/// How follow-ups are planned and when they give up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupConfig {
    /// The time zone due times are computed in when no `[digest]` is configured.
    pub timezone: Option<TimeZone>,
    /// An open task this long past due expires instead of piling up.
    #[serde(default = "default_expire_after")]
    pub expire_after: HumanDuration,
    /// Keep-in-touch cadence for contacts whose tier has none of its own.
    #[serde(default = "default_cadence")]
    pub cadence: HumanDuration,
    /// Cadence per tier, e.g. `close = "30d"`.
    #[serde(default)]
    pub tiers: BTreeMap<String, HumanDuration>,
    /// At most this many new "Reconnect" reminders a day, freshest lapses first, so an
    /// import of years of old connections becomes a daily trickle, not a wall of tasks.
    #[serde(default = "default_reconnects_per_day")]
    pub reconnects_per_day: u32,
}

impl Default for FollowupConfig {
    fn default() -> Self {
        Self {
            timezone: None,
            expire_after: default_expire_after(),
            cadence: default_cadence(),
            tiers: BTreeMap::new(),
            reconnects_per_day: default_reconnects_per_day(),
        }
    }
}

fn default_reconnects_per_day() -> u32 {
    3
}

fn default_expire_after() -> HumanDuration {
    HumanDuration::days(30)
}

fn default_cadence() -> HumanDuration {
    HumanDuration::days(90)
}
