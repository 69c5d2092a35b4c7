//! The daily digest: gather what is due and what is new, render it (text and HTML),
//! put it in the outbox, deliver it. One slot a day; see [`schedule`]. Replies to a
//! digest act on it; see [`replies`].

pub mod html;
pub mod outbox;
pub mod render;
pub mod replies;
pub mod roi;
pub mod schedule;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use crate::config::Config;
use crate::store::{FollowupRow, InteractionRow, ReplyResultRow, Store, to_unix};
use crate::web::links::{Action, sign_path, signing_key};

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
    /// Keep-in-touch reminders due by the end of today: people to reconnect with.
    pub reconnect: Vec<FollowupRow>,
    /// Interactions logged since the previous digest, by platform (noise counted apart).
    pub new_by_platform: BTreeMap<String, Vec<InteractionRow>>,
    pub noise_by_platform: BTreeMap<String, usize>,
    /// The newest interaction this digest reports; the next one starts after it.
    pub through_interaction: i64,
    pub roi: roi::RoiSummary,
    /// What the owner's replies to earlier digests did.
    pub reply_results: Vec<ReplyResultRow>,
    /// One-click links, when `[web] public_url` is set.
    pub links: Option<LinkSigner>,
}

impl DigestData {
    pub fn gather(store: &Store, now: DateTime<Utc>, tz: Tz) -> Result<Self> {
        let local_today = now.with_timezone(&tz).date_naive();
        let start_of_today = schedule::slot_on(local_today, chrono::NaiveTime::MIN, tz);
        let start_of_tomorrow = schedule::slot_on(
            local_today.succ_opt().unwrap_or(local_today),
            chrono::NaiveTime::MIN,
            tz,
        );
        let week_end = start_of_tomorrow + Duration::days(7);
        let (mut overdue, mut due_today, mut this_week, mut reconnect) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for task in store.pending_followups(Some(to_unix(week_end)))? {
            if task.due_at >= to_unix(start_of_tomorrow) {
                this_week.push(task);
            } else if task.rule.starts_with("keep_in_touch") {
                reconnect.push(task);
            } else if task.due_at < to_unix(start_of_today) {
                overdue.push(task);
            } else {
                due_today.push(task);
            }
        }
        let cutoff = store.digest_cutoff()?;
        let mut through_interaction = cutoff;
        let mut new_by_platform: BTreeMap<String, Vec<InteractionRow>> = BTreeMap::new();
        let mut noise_by_platform: BTreeMap<String, usize> = BTreeMap::new();
        for row in store.interactions_after(cutoff)? {
            through_interaction = through_interaction.max(row.id);
            if matches!(row.kind.as_str(), "noise" | "unknown_template" | "none") {
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
            reconnect,
            new_by_platform,
            noise_by_platform,
            through_interaction,
            roi: roi::platform_summary(store, now)?,
            reply_results: store.unreported_reply_results()?,
            links: None,
        })
    }

    pub fn due_count(&self) -> usize {
        self.overdue.len() + self.due_today.len() + self.reconnect.len()
    }

    pub fn new_count(&self) -> usize {
        self.new_by_platform.values().map(Vec::len).sum()
    }

    /// Nothing worth a morning email.
    pub fn is_empty(&self) -> bool {
        self.due_count() == 0
            && self.new_count() == 0
            && self.this_week.is_empty()
            && self.reply_results.is_empty()
    }

    /// Tasks the calendar attachment carries: everything pending up to a week ahead.
    pub fn calendar_tasks(&self) -> impl Iterator<Item = &FollowupRow> {
        self.overdue
            .iter()
            .chain(&self.due_today)
            .chain(&self.reconnect)
            .chain(&self.this_week)
    }
}

/// Signs the done / snooze / skip links of one digest.
#[derive(Clone)]
pub struct LinkSigner {
    base: String,
    key: Vec<u8>,
    expires: DateTime<Utc>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key signs links that change tasks: never in a log line.
        f.debug_struct("LinkSigner")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl LinkSigner {
    /// The signer for `config`'s `[web] public_url`, or `None` without one.
    pub fn for_config(
        store: &mut Store,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>> {
        let Some(web) = &config.web else {
            return Ok(None);
        };
        let Some(base) = web
            .public_url
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            base: base.to_string(),
            key: signing_key(store)?,
            expires: now + web.link_expiry.to_chrono(),
        }))
    }

    /// The four actions of a task, each with its label and full URL.
    pub fn task_links(&self, task: i64) -> [(Action, String); 4] {
        Action::ALL.map(|action| {
            (
                action,
                format!(
                    "{}{}",
                    self.base,
                    sign_path(&self.key, action, task, self.expires)
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_links_last_as_long_as_web_link_expiry_says() {
        let config = Config::parse(
            "[web]\npublic_url = \"https://n.example\"\nlink_expiry = \"3h\"\n",
            None,
            std::path::Path::new("."),
        )
        .unwrap();
        let mut store = Store::in_memory().unwrap();
        let now = Utc::now();
        let signer = LinkSigner::for_config(&mut store, &config, now)
            .unwrap()
            .unwrap();
        assert_eq!(signer.expires, now + Duration::hours(3));
        let expires = (now + Duration::hours(3)).timestamp();
        let (_, url) = &signer.task_links(5)[0];
        assert!(
            url.starts_with(&format!("https://n.example/a/done/5/{expires}/")),
            "{url}"
        );
    }
}
