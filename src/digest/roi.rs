//! The per-platform ROI block: what each network gave back over the last 30 days, and
//! which ones went quiet. Kept to one function, [`platform_summary`], so the fuller
//! `nudged stats` figures can replace it without touching the renderers.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use crate::store::{PlatformActivity, Store};

/// The window the figures cover.
pub const WINDOW_DAYS: i64 = 30;
/// A platform with interactions this far back, but none in the window, has gone silent.
pub const LOOKBACK_DAYS: i64 = 90;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoiSummary {
    pub window_days: i64,
    /// Platforms with something in the window, by platform id.
    pub platforms: Vec<PlatformActivity>,
    /// Platforms active in the look-back but silent in the window, with their last
    /// interaction (unix seconds).
    pub silent: Vec<(String, i64)>,
}

pub fn platform_summary(store: &Store, now: DateTime<Utc>) -> Result<RoiSummary> {
    let window_start = (now - Duration::days(WINDOW_DAYS)).timestamp();
    let lookback_start = (now - Duration::days(LOOKBACK_DAYS)).timestamp();
    let mut summary = RoiSummary {
        window_days: WINDOW_DAYS,
        ..RoiSummary::default()
    };
    for row in store.platform_activity(window_start, lookback_start)? {
        let active = row.interactions > 0 || row.tasks_done > 0 || row.tasks_expired > 0;
        if row.interactions == 0
            && let Some(last) = row.last_at
        {
            summary.silent.push((row.platform.clone(), last));
        }
        if active {
            summary.platforms.push(row);
        }
    }
    Ok(summary)
}
