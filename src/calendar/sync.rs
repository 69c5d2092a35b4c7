//! One pass over every `[[calendar]]`: read what the database knows (one call), talk to
//! the task list (no database held), record the outcome (one call). The person's changes
//! come first, then nudged's; a server that fails midway keeps what was done, and the
//! next pass catches up in both directions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::caldav::WriteResult;
use super::merge::{self, ItemRow, LocalChange, Push, Remote};
pub use super::task_list::TaskList;
use super::vdir_events::{EventsWritten, write_events};
use super::vtodo::{
    ItemState, content_hash, default_priority, item_name, item_uid, parse_item, render_item,
};
use crate::config::{CalendarConfig, Config};
use crate::store::{CalendarCursor, CalendarOutcome, CalendarSnapshot, Db, FollowupRow};

/// Called with the list's name.
pub type ListHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Test seams: run between reading the list and writing to it.
#[derive(Clone, Default)]
pub struct SyncHooks {
    pub before_push: Option<ListHook>,
}

/// What one pass did to one list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CalendarReport {
    pub calendar: String,
    pub created: usize,
    pub updated: usize,
    pub removed: usize,
    pub conflicts: usize,
    pub done: usize,
    pub skipped: usize,
    pub snoozed: usize,
    /// HTTP requests made (0 for a vdir).
    pub requests: usize,
    /// Event files written and removed in `events_path` (vdir only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsWritten>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Sync every configured list, one after the other; a failing list is reported and
/// leaves the others alone.
pub async fn sync_calendars(
    store: &Db,
    config: &Config,
    now: DateTime<Utc>,
    hooks: &SyncHooks,
) -> Vec<CalendarReport> {
    let mut reports = Vec::new();
    for calendar in &config.calendars {
        let report = match sync_one(store, config, calendar, now, hooks).await {
            Ok(report) => report,
            Err(err) => {
                tracing::warn!(calendar = calendar.name, "calendar sync failed: {err:#}");
                CalendarReport {
                    calendar: calendar.name.clone(),
                    error: Some(format!("{err:#}")),
                    ..CalendarReport::default()
                }
            }
        };
        reports.push(report);
    }
    reports
}

/// Sync every list every `interval` until shutdown (the daemon's task).
pub async fn run_periodically(
    store: Db,
    config: Arc<Config>,
    clock: crate::clock::Clock,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(interval) = config.calendars.iter().map(CalendarConfig::interval).min() else {
        return;
    };
    loop {
        for report in sync_calendars(&store, &config, clock.now(), &SyncHooks::default()).await {
            tracing::debug!(?report, "calendar synced");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// The reminder a task's item carries: the feed's rule (`[web] alarm`, 15 minutes by
/// default, "0m" for none).
pub fn alarm_of(config: &Config) -> Option<Duration> {
    let alarm = config
        .web
        .as_ref()
        .map(|w| w.alarm.to_chrono())
        .unwrap_or(Duration::minutes(15));
    (alarm > Duration::zero()).then_some(alarm)
}

async fn sync_one(
    store: &Db,
    config: &Config,
    calendar: &CalendarConfig,
    now: DateTime<Utc>,
    hooks: &SyncHooks,
) -> Result<CalendarReport> {
    let name = calendar.name.clone();
    let snapshot = store.read(move |s| s.calendar_snapshot(&name)).await?;
    let list = TaskList::open(calendar, snapshot.cursor.collection_url.as_deref(), true).await?;
    let mut pass = Pass::new(
        snapshot,
        alarm_of(config),
        config.timezone(),
        now,
        &calendar.name,
    );
    pass.pull(&list).await?;
    if let Some(hook) = &hooks.before_push {
        hook(&calendar.name);
    }
    let pushed = pass.push(&list).await;
    let events = match &calendar.events_path {
        Some(dir) => Some(
            write_events(
                dir.clone(),
                format!("{} (due)", calendar.collection()),
                calendar.color.clone(),
                pass.tasks.values().cloned().collect(),
                pass.tz,
                pass.alarm,
            )
            .await,
        ),
        None => None,
    };
    let (mut report, outcome) = pass.finish();
    report.requests = list.requests();
    let name = calendar.name.clone();
    let at = crate::store::to_unix(now);
    let applied = store
        .write(move |s| s.record_calendar_pass(&name, &outcome, at))
        .await?;
    report.done = applied.done;
    report.skipped = applied.skipped;
    report.snoozed = applied.snoozed;
    if let Err(err) = pushed {
        report.error = Some(format!("{err:#}"));
        tracing::warn!(calendar = calendar.name, "calendar upload stopped: {err:#}");
    }
    match events {
        Some(Ok(events)) => report.events = Some(events),
        Some(Err(err)) => {
            tracing::warn!(
                calendar = calendar.name,
                "calendar events not written: {err:#}"
            );
            report.error.get_or_insert(format!("events: {err:#}"));
        }
        None => {}
    }
    Ok(report)
}

/// The file name an href ends in: how items are matched whatever form the server uses.
fn name_of(href: &str) -> &str {
    href.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(href)
}

/// One pass's working state, all in memory.
struct Pass {
    tasks: BTreeMap<i64, FollowupRow>,
    items: HashMap<String, ItemRow>,
    by_name: HashMap<String, String>,
    changes: Vec<(i64, LocalChange)>,
    forget: HashSet<String>,
    touched: HashSet<String>,
    cursor: CalendarCursor,
    alarm: Option<Duration>,
    tz: Tz,
    now: DateTime<Utc>,
    report: CalendarReport,
}

impl Pass {
    fn new(
        snapshot: CalendarSnapshot,
        alarm: Option<Duration>,
        tz: Tz,
        now: DateTime<Utc>,
        name: &str,
    ) -> Self {
        let by_name = snapshot
            .items
            .iter()
            .map(|i| (name_of(&i.href).to_string(), i.uid.clone()))
            .collect();
        Self {
            tasks: snapshot.tasks.into_iter().map(|t| (t.id, t)).collect(),
            items: snapshot
                .items
                .into_iter()
                .map(|i| (i.uid.clone(), i))
                .collect(),
            by_name,
            changes: Vec::new(),
            forget: HashSet::new(),
            touched: HashSet::new(),
            cursor: snapshot.cursor,
            alarm,
            tz,
            now,
            report: CalendarReport {
                calendar: name.to_string(),
                ..CalendarReport::default()
            },
        }
    }

    /// Read the person's changes: only items whose ETag moved are fetched.
    async fn pull(&mut self, list: &TaskList) -> Result<()> {
        let listing = list.pull(&self.cursor).await?;
        let mut seen = HashSet::new();
        let mut wanted = Vec::new();
        for (href, etag) in &listing.changed {
            let name = name_of(href);
            seen.insert(name.to_string());
            let Some(item) = self.by_name.get(name).and_then(|uid| self.items.get(uid)) else {
                continue;
            };
            if item.etag.is_none() || item.etag != *etag {
                wanted.push(href.clone());
            }
        }
        let mut gone: Vec<String> = listing
            .removed
            .iter()
            .filter_map(|h| self.by_name.get(name_of(h)).cloned())
            .collect();
        if listing.complete {
            gone.extend(
                self.items
                    .values()
                    .filter(|i| !seen.contains(name_of(&i.href)))
                    .map(|i| i.uid.clone()),
            );
        }
        for uid in gone {
            self.read_back(&uid, &Remote::Gone);
        }
        for (href, etag, text) in list.fetch(&wanted).await? {
            let Some(uid) = self.by_name.get(name_of(&href)).cloned() else {
                continue;
            };
            match parse_item(&text, self.tz) {
                Some(todo) if todo.uid == uid => self.read_back(&uid, &Remote::Item { etag, todo }),
                _ => tracing::warn!(
                    href,
                    "a task-list item no longer holds its to-do; left alone"
                ),
            }
        }
        self.cursor = listing.cursor;
        Ok(())
    }

    fn read_back(&mut self, uid: &str, remote: &Remote) {
        let Some(item) = self.items.get(uid).cloned() else {
            return;
        };
        let task = self.tasks.get(&item.followup_id);
        let (change, next) = merge::read_back(task, &item, remote, self.alarm);
        if let (Some(change), Some(task)) = (change, task) {
            let after = merge::apply(task, change);
            self.tasks.insert(after.id, after);
            self.changes.push((item.followup_id, change));
        }
        match next {
            Some(next) => {
                self.items.insert(uid.to_string(), next);
                self.touched.insert(uid.to_string());
            }
            None => {
                self.items.remove(uid);
                self.by_name.remove(name_of(&item.href));
                self.forget.insert(uid.to_string());
            }
        }
    }

    /// Send nudged's side. Stops at the first failure (a server that is down fails every
    /// request); what was done is kept.
    async fn push(&mut self, list: &TaskList) -> Result<()> {
        let ids: Vec<i64> = self.tasks.keys().copied().collect();
        for id in ids {
            // Twice at most: a 412 re-reads the item, merges, and tries once more.
            for _attempt in 0..2 {
                if self.push_one(list, id).await? {
                    break;
                }
                self.report.conflicts += 1;
            }
        }
        Ok(())
    }

    /// True when settled, false after a conflict that was re-read.
    async fn push_one(&mut self, list: &TaskList, id: i64) -> Result<bool> {
        let Some(task) = self.tasks.get(&id) else {
            return Ok(true);
        };
        let uid = item_uid(task);
        // Most tasks need nothing: decide before copying anything.
        let plan = merge::plan_push(task, self.items.get(&uid), self.alarm);
        if plan == Push::Nothing {
            return Ok(true);
        }
        let task = task.clone();
        let item = self.items.get(&uid).cloned();
        let result = match (plan, &item) {
            (Push::Nothing, _) => return Ok(true),
            (Push::Create, _) => {
                let priority = default_priority(&task.rule);
                let text = render_item(
                    &task,
                    ItemState::NeedsAction,
                    priority,
                    self.alarm,
                    self.now,
                );
                let name = item_name(&uid);
                let result = list.put(&name, &text, None).await?;
                if let WriteResult::Stored { etag } = &result {
                    self.report.created += 1;
                    self.store_item(ItemRow {
                        uid: uid.clone(),
                        followup_id: id,
                        href: name.clone(),
                        etag: etag.clone(),
                        hash: content_hash(&task, ItemState::NeedsAction, priority, self.alarm),
                        state: ItemState::NeedsAction,
                        due_at: task.due_at,
                        priority: None,
                    });
                } else {
                    // Ours already, from a pass whose record was lost: adopt it.
                    self.store_item(ItemRow {
                        uid: uid.clone(),
                        followup_id: id,
                        href: name,
                        etag: None,
                        hash: String::new(),
                        state: ItemState::NeedsAction,
                        due_at: task.due_at,
                        priority: None,
                    });
                }
                result
            }
            (_, None) => return Ok(true),
            (_, Some(item)) if item.etag.is_none() => WriteResult::Conflict,
            (Push::Update, Some(item)) => {
                let state = ItemState::of(task.status);
                let priority = merge::priority(&task, item);
                let text = render_item(&task, state, priority, self.alarm, self.now);
                let result = list.put(&item.href, &text, item.etag.as_deref()).await?;
                if let WriteResult::Stored { etag } = &result {
                    self.report.updated += 1;
                    let mut next = item.clone();
                    next.etag = etag.clone();
                    next.hash = content_hash(&task, state, priority, self.alarm);
                    next.state = state;
                    next.due_at = task.due_at;
                    self.store_item(next);
                }
                result
            }
            (Push::Delete, Some(item)) => {
                let result = list.delete(&item.href, item.etag.as_deref()).await?;
                if result != WriteResult::Conflict {
                    self.report.removed += 1;
                    self.items.remove(&uid);
                    self.by_name.remove(name_of(&item.href));
                    self.forget.insert(uid.clone());
                }
                result
            }
        };
        if result != WriteResult::Conflict {
            return Ok(true);
        }
        // Someone changed the item (or we lost its ETag): read it, merge by the rules.
        let href = self
            .items
            .get(&uid)
            .map(|i| i.href.clone())
            .unwrap_or_default();
        match list.get(&href).await? {
            None => self.read_back(&uid, &Remote::Gone),
            Some((etag, text)) => match parse_item(&text, self.tz) {
                Some(todo) if todo.uid == uid => self.read_back(&uid, &Remote::Item { etag, todo }),
                _ => return Err(anyhow!("{href} holds something else than task {id}")),
            },
        }
        Ok(false)
    }

    fn store_item(&mut self, item: ItemRow) {
        self.by_name
            .insert(name_of(&item.href).to_string(), item.uid.clone());
        self.forget.remove(&item.uid);
        self.touched.insert(item.uid.clone());
        self.items.insert(item.uid.clone(), item);
    }

    fn finish(self) -> (CalendarReport, CalendarOutcome) {
        let upserts = self
            .touched
            .iter()
            .filter_map(|uid| self.items.get(uid).cloned())
            .collect();
        let outcome = CalendarOutcome {
            changes: self.changes,
            upserts,
            forget: self.forget.into_iter().collect(),
            cursor: self.cursor,
        };
        (self.report, outcome)
    }
}
