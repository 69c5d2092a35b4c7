//! The daily digest: gather what is due and what is new, render it (text and HTML),
//! put it in the outbox, deliver it. One slot a day; see [`schedule`]. Replies to a
//! digest act on it; see [`replies`].

pub mod context;
pub mod deliver;
pub mod html;
pub mod line;
pub mod outbox;
pub mod rank;
pub mod render;
pub mod roi;
pub mod schedule;
pub mod stats;

use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Datelike, Duration, Utc, Weekday};
use chrono_tz::Tz;

use crate::config::{Config, RoiEvery};
use crate::store::{Db, FollowupRow, ReplyResultRow, Store, TaskContext, to_unix};
use crate::web::links::{Action, Page, load_key, sign_page_path, sign_path, signing_key};

/// Coming back after an absence: with at least this many tasks more than a week
/// overdue, the digest offers to skip everything older than [`STALE_DAYS`].
pub const ABSENCE_THRESHOLD: usize = 20;
pub const STALE_DAYS: i64 = 30;

/// What shapes a digest besides the store: from `[digest]` and `[followups]`.
#[derive(Debug, Clone)]
pub struct DigestOptions {
    pub max_items: usize,
    pub roi: RoiEvery,
    /// Keep-in-touch cadence in days per tier, and for tiers without one.
    pub tier_days: BTreeMap<String, i64>,
    pub default_days: i64,
}

impl DigestOptions {
    pub fn from_config(config: &Config) -> Self {
        let days = |d: crate::config::duration::HumanDuration| d.to_chrono().num_days();
        Self {
            max_items: config.digest.as_ref().map_or(12, |d| d.max_items),
            roi: config.digest.as_ref().map_or(RoiEvery::Daily, |d| d.roi),
            tier_days: config
                .followups
                .tiers
                .iter()
                .map(|(tier, cadence)| (tier.clone(), days(*cadence)))
                .collect(),
            default_days: days(config.followups.cadence),
        }
    }
}

/// One task shown in full, with what the digest says around it.
#[derive(Debug, Clone)]
pub struct ShownTask {
    pub task: FollowupRow,
    pub context: TaskContext,
    /// Due before the start of today (local).
    pub overdue: bool,
}

/// The old backlog after an absence: how many tasks are more than a week overdue, and
/// how many are due before `before` (more than [`STALE_DAYS`] ago).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub week_overdue: usize,
    pub stale: usize,
    pub before: i64,
}

impl Backlog {
    /// Worth the offer to skip the old part at once.
    pub fn offer(&self) -> bool {
        self.week_overdue >= ABSENCE_THRESHOLD && self.stale > 0
    }
}

/// Everything a digest shows, gathered from the store at one instant.
#[derive(Debug, Clone)]
pub struct DigestData {
    pub now: DateTime<Utc>,
    pub tz: Tz,
    /// The best `max_items` pending tasks due within the week, best first.
    pub shown: Vec<ShownTask>,
    /// Counts of the pending tasks not shown.
    pub rest: rank::RestCounts,
    /// Pending tasks due by the end of today (overdue included).
    pub due_total: usize,
    pub backlog: Backlog,
    /// Interactions logged since the previous digest, counted by platform and kind
    /// (noise counted apart).
    pub new_by_platform: BTreeMap<String, BTreeMap<String, usize>>,
    pub noise_by_platform: BTreeMap<String, usize>,
    /// The newest interaction this digest reports; the next one starts after it.
    pub through_interaction: i64,
    /// The ROI block, when this digest carries one (`[digest] roi`).
    pub roi: Option<roi::RoiSummary>,
    /// What the owner's replies to earlier digests did.
    pub reply_results: Vec<ReplyResultRow>,
    /// One-click links, when `[web] public_url` is set.
    pub links: Option<LinkSigner>,
}

impl DigestData {
    pub fn gather(
        store: &Store,
        now: DateTime<Utc>,
        tz: Tz,
        options: &DigestOptions,
    ) -> Result<Self> {
        let local_today = now.with_timezone(&tz).date_naive();
        let start_of_today = schedule::slot_on(local_today, chrono::NaiveTime::MIN, tz);
        let start_of_tomorrow = schedule::slot_on(
            local_today.succ_opt().unwrap_or(local_today),
            chrono::NaiveTime::MIN,
            tz,
        );
        let week_end = start_of_tomorrow + Duration::days(7);
        let sketches = store.pending_sketches(to_unix(week_end))?;
        let today_ends = to_unix(start_of_tomorrow);
        let week_ago = to_unix(now - Duration::days(7));
        let stale_before = to_unix(now - Duration::days(STALE_DAYS));
        let mut backlog = Backlog {
            before: stale_before,
            ..Backlog::default()
        };
        let mut due_total = 0;
        let candidates: Vec<rank::Candidate> = sketches
            .into_iter()
            .map(|s| {
                due_total += usize::from(s.due_at < today_ends);
                backlog.week_overdue += usize::from(s.due_at < week_ago);
                backlog.stale += usize::from(s.due_at < stale_before);
                rank::Candidate {
                    cadence_days: options
                        .tier_days
                        .get(&s.tier)
                        .copied()
                        .unwrap_or(options.default_days),
                    id: s.id,
                    rule: s.rule,
                    due_at: s.due_at,
                    platform: s.platform,
                }
            })
            .collect();
        let clock = rank::RankClock {
            today_ends,
            stale_before,
        };
        let ranking = rank::rank(candidates, clock, options.max_items);
        let ids: Vec<i64> = ranking.shown.iter().map(|c| c.id).collect();
        let mut shown = Vec::with_capacity(ids.len());
        for task in store.followups_by_id(&ids)? {
            shown.push(ShownTask {
                context: store.task_context(&task)?,
                overdue: task.due_at < to_unix(start_of_today),
                task,
            });
        }
        let cutoff = store.digest_cutoff()?;
        let mut through_interaction = cutoff;
        let mut new_by_platform: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        let mut noise_by_platform: BTreeMap<String, usize> = BTreeMap::new();
        for (platform, kind, count, newest) in store.new_interaction_counts(cutoff)? {
            through_interaction = through_interaction.max(newest);
            if matches!(kind.as_str(), "noise" | "unknown_template" | "none") {
                *noise_by_platform.entry(platform).or_default() += count;
            } else {
                *new_by_platform
                    .entry(platform)
                    .or_default()
                    .entry(kind)
                    .or_default() += count;
            }
        }
        let roi_today = match options.roi {
            RoiEvery::Daily => true,
            RoiEvery::Weekly => now.with_timezone(&tz).weekday() == Weekday::Mon,
        };
        Ok(Self {
            now,
            tz,
            shown,
            rest: ranking.rest,
            due_total,
            backlog,
            new_by_platform,
            noise_by_platform,
            through_interaction,
            roi: roi_today
                .then(|| roi::platform_summary(store, now))
                .transpose()?,
            reply_results: store.unreported_reply_results()?,
            links: None,
        })
    }

    pub fn due_count(&self) -> usize {
        self.due_total
    }

    pub fn new_count(&self) -> usize {
        self.new_by_platform.values().flat_map(|k| k.values()).sum()
    }

    /// Nothing worth a morning email.
    pub fn is_empty(&self) -> bool {
        self.due_count() == 0
            && self.new_count() == 0
            && self.shown.is_empty()
            && self.reply_results.is_empty()
    }

    /// Tasks the calendar attachment carries: only those shown in full, so the
    /// attachment is the short list, not the backlog.
    pub fn calendar_tasks(&self) -> impl Iterator<Item = &FollowupRow> {
        self.shown.iter().map(|s| &s.task)
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
    /// `[web] public_url` without a trailing slash, if links are wanted at all.
    fn base_url(config: &Config) -> Option<&str> {
        config
            .web
            .as_ref()?
            .public_url
            .as_deref()
            .map(|u| u.trim().trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    /// The signer for `config`'s `[web] public_url` with `key`, or `None` without one.
    pub fn for_config(config: &Config, key: &[u8], now: DateTime<Utc>) -> Option<Self> {
        let base = Self::base_url(config)?;
        let web = config.web.as_ref()?;
        Some(Self {
            base: base.to_string(),
            key: key.to_vec(),
            expires: now + web.link_expiry.to_chrono(),
        })
    }
}

/// The key a digest for `config` signs its links with (`None` without `[web]
/// public_url`), read before the digest's write: the key file is never touched inside it.
pub async fn link_key(db: &Db, config: &Config) -> Result<Option<Vec<u8>>> {
    if LinkSigner::base_url(config).is_none() {
        return Ok(None);
    }
    load_key(db).await.map(Some)
}

/// [`link_key`] on a connection of the caller's own (CLI commands, tests).
pub fn link_key_on(store: &mut Store, config: &Config) -> Result<Option<Vec<u8>>> {
    if LinkSigner::base_url(config).is_none() {
        return Ok(None);
    }
    signing_key(store).map(Some)
}

impl LinkSigner {
    /// The signed page listing every open task with its buttons.
    pub fn tasks_page(&self) -> String {
        format!(
            "{}{}",
            self.base,
            sign_page_path(&self.key, Page::Tasks, 0, self.expires)
        )
    }

    /// The signed link that skips every pending task due before `before`.
    pub fn skip_older(&self, before: i64) -> String {
        format!(
            "{}{}",
            self.base,
            sign_page_path(&self.key, Page::SkipOlder, before, self.expires)
        )
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
        let key = link_key_on(&mut store, &config).unwrap().unwrap();
        let signer = LinkSigner::for_config(&config, &key, now).unwrap();
        assert_eq!(signer.expires, now + Duration::hours(3));
        let expires = (now + Duration::hours(3)).timestamp();
        let (_, url) = &signer.task_links(5)[0];
        assert!(
            url.starts_with(&format!("https://n.example/a/done/5/{expires}/")),
            "{url}"
        );
    }

    fn options(roi: RoiEvery) -> DigestOptions {
        DigestOptions {
            max_items: 12,
            roi,
            tier_days: BTreeMap::new(),
            default_days: 90,
        }
    }

    #[test]
    fn a_weekly_roi_block_comes_on_mondays_only() {
        let store = Store::in_memory().unwrap();
        let tz = chrono_tz::Europe::Berlin;
        let tuesday: DateTime<Utc> = "2026-11-24T06:31:00Z".parse().unwrap();
        let monday: DateTime<Utc> = "2026-11-23T06:31:00Z".parse().unwrap();
        let gather = |now, roi| DigestData::gather(&store, now, tz, &options(roi)).unwrap();
        assert!(gather(tuesday, RoiEvery::Daily).roi.is_some());
        assert!(gather(tuesday, RoiEvery::Weekly).roi.is_none());
        assert!(gather(monday, RoiEvery::Weekly).roi.is_some());
    }
}
