//! ROI per platform: for the last 30 and 90 days, what each network brought (people,
//! interactions), what it cost (tasks done, missed) and how fast you answered. A typed
//! report, so the CLI prints it and the digest can render it the same way.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::store::{PlatformWindow, Store};

/// The windows the report covers, in days.
pub const WINDOWS: [i64; 2] = [30, 90];

#[derive(Debug, Clone, Serialize)]
pub struct RoiReport {
    pub generated_at: DateTime<Utc>,
    pub windows: Vec<RoiWindow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoiWindow {
    pub days: i64,
    pub platforms: Vec<PlatformRoi>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlatformRoi {
    pub platform: String,
    /// Interactions with people (noise not included).
    pub interactions: i64,
    /// Digests, ads, job alerts, account and security mail, bots.
    pub noise: i64,
    /// Mail from the platform in a template no rule covers: counted apart from noise, so
    /// a platform's template change stands out instead of drowning in account mail.
    pub unknown_templates: i64,
    /// Distinct people behind the interactions.
    pub people: i64,
    pub tasks_done: i64,
    /// Skipped or expired: work this platform asked for that never happened.
    pub tasks_missed: i64,
    pub tasks_expired: i64,
    /// Median seconds from a message to the task answering it being done.
    pub median_response_secs: Option<i64>,
    /// Mail arrived, but not one interaction with a person: a platform to drop.
    pub noise_only: bool,
}

impl From<PlatformWindow> for PlatformRoi {
    fn from(w: PlatformWindow) -> Self {
        PlatformRoi {
            noise_only: w.interactions == 0 && w.noise + w.unknown_templates > 0,
            median_response_secs: median(w.response_secs),
            tasks_missed: w.tasks_skipped + w.tasks_expired,
            platform: w.platform,
            interactions: w.interactions,
            noise: w.noise,
            unknown_templates: w.unknown_templates,
            people: w.people,
            tasks_done: w.tasks_done,
            tasks_expired: w.tasks_expired,
        }
    }
}

/// The middle value (the lower of the two middles for an even count, so it is always a
/// time that really happened).
pub fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    values.get((values.len() - 1) / 2).copied()
}

/// The report as of `now`.
pub fn roi_report(store: &Store, now: DateTime<Utc>) -> Result<RoiReport> {
    let until = now.timestamp() + 1;
    let sinces: Vec<i64> = WINDOWS
        .iter()
        .map(|&days| (now - Duration::days(days)).timestamp())
        .collect();
    let windows = WINDOWS
        .iter()
        .zip(store.platform_windows(&sinces, until)?)
        .map(|(&days, platforms)| RoiWindow {
            days,
            platforms: platforms.into_iter().map(PlatformRoi::from).collect(),
        })
        .collect();
    Ok(RoiReport {
        generated_at: now,
        windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
    }

    #[test]
    fn unknown_templates_alone_also_mean_nothing_came_of_it() {
        let roi = PlatformRoi::from(PlatformWindow {
            platform: "meetup".into(),
            unknown_templates: 2,
            ..PlatformWindow::default()
        });
        assert!(roi.noise_only);
        assert_eq!((roi.noise, roi.unknown_templates), (0, 2));
    }

    #[test]
    fn a_platform_of_only_noise_says_so() {
        let roi = PlatformRoi::from(PlatformWindow {
            platform: "x".into(),
            noise: 12,
            tasks_skipped: 1,
            tasks_expired: 2,
            ..PlatformWindow::default()
        });
        assert!(roi.noise_only);
        assert_eq!(roi.tasks_missed, 3);
    }
}
