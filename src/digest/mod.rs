//! The daily digest: gather what is due and what is new, render it, put it in the
//! outbox, deliver it. One slot a day; see [`schedule`].

pub mod outbox;
pub mod render;
pub mod schedule;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::store::{FollowupRow, InteractionRow, Store, to_unix};

/// Everything a digest shows, gathered from the store at one instant.
#[derive(Debug, Clone)]
pub struct DigestData {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    /// Due before the start of today (local).
    pub overdue: Vec<FollowupRow>,
    pub due_today: Vec<FollowupRow>,
    /// Due within the next seven days after today.
    pub this_week: Vec<FollowupRow>,
    /// Interactions logged since the previous digest, by platform (noise counted apart).
    pub new_by_platform: BTreeMap<String, Vec<InteractionRow>>,
    pub noise_by_platform: BTreeMap<String, usize>,
}

impl DigestData {
    pub fn gather(store: &Store, now: DateTime<Utc>, tz: Tz) -> Result<Self> {
        let local_today = now.with_timezone(&tz).date_naive();
        let start_of_today = schedule::slot_on(local_today, chrono::NaiveTime::MIN, tz);
        let start_of_tomorrow = start_of_today + Duration::days(1);
        let week_end = start_of_tomorrow + Duration::days(7);
        let (mut overdue, mut due_today, mut this_week) = (Vec::new(), Vec::new(), Vec::new());
        for task in store.pending_followups(Some(to_unix(week_end)))? {
            if task.due_at < to_unix(start_of_today) {
                overdue.push(task);
            } else if task.due_at < to_unix(start_of_tomorrow) {
                due_today.push(task);
            } else {
                this_week.push(task);
            }
        }
        let since = store.last_digest_created_at()?.unwrap_or(0);
        let mut new_by_platform: BTreeMap<String, Vec<InteractionRow>> = BTreeMap::new();
        let mut noise_by_platform: BTreeMap<String, usize> = BTreeMap::new();
        for row in store.interactions_logged_since(since)? {
            if row.kind == "noise" {
                *noise_by_platform.entry(row.platform.clone()).or_default() += 1;
            } else {
                new_by_platform
                    .entry(row.platform.clone())
                    .or_default()
                    .push(row);
            }
        }
        Ok(Self {
            now,
            tz,
            overdue,
            due_today,
            this_week,
            new_by_platform,
            noise_by_platform,
        })
    }

    pub fn due_count(&self) -> usize {
        self.overdue.len() + self.due_today.len()
    }

    pub fn new_count(&self) -> usize {
        self.new_by_platform.values().map(Vec::len).sum()
    }

    /// Nothing worth a morning email.
    pub fn is_empty(&self) -> bool {
        self.due_count() == 0 && self.new_count() == 0 && self.this_week.is_empty()
    }

    /// Tasks the calendar attachment carries: everything pending up to a week ahead.
    pub fn calendar_tasks(&self) -> impl Iterator<Item = &FollowupRow> {
        self.overdue
            .iter()
            .chain(&self.due_today)
            .chain(&self.this_week)
    }
}
