//! The calendar feed's rendering, kept ready: a background task renders both calendars
//! (events and to-dos, tasks due from 14 days ago to 60 days ahead, the `[web] feed_max`
//! most important) whenever the database changes, and requests only read the latest
//! rendering. The daemon's own commits wake it through the writer's commit counter;
//! another process (`nudged done` in a shell) is noticed by SQLite's `data_version` on a
//! connection of the feed's own, asked a few times a second.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use axum::body::Bytes;
use axum::http::HeaderValue;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

use super::token::{self, TokenHash};
use crate::calendar::{CALENDAR_TAIL, CalendarOptions, Stamp, calendar_head, task_items};
use crate::clock::Clock;
use crate::config::{CalendarStyle, Config, FeedEvents};
use crate::store::{Db, FollowupRow, Store, from_unix};

/// How often the cache asks whether another process changed the database. Well under
/// the one second in which a change must show; the question is one pragma read on an
/// idle connection, answered from SQLite's shared memory.
const OTHER_WRITERS_EVERY: Duration = Duration::from_millis(300);

/// How long finished tasks stay in the to-do feed, so task apps see them completed.
const KEEP_FINISHED_DAYS: i64 = 14;

/// The feed covers tasks due from this many days ago …
const WINDOW_PAST_DAYS: i64 = 14;
/// … to this many days ahead: a calendar for what comes next, not the whole backlog.
const WINDOW_AHEAD_DAYS: i64 = 60;

/// The due window of a feed rendered at `now`, in whole UTC days so it moves once a day
/// (and the ETag stays put in between).
fn window(now: DateTime<Utc>) -> (i64, i64) {
    let day_start = now.timestamp().div_euclid(86_400) * 86_400;
    (
        day_start - WINDOW_PAST_DAYS * 86_400,
        day_start + (WINDOW_AHEAD_DAYS + 1) * 86_400,
    )
}

/// What subscribers are told about polling (REFRESH-INTERVAL).
const REFRESH: chrono::Duration = chrono::Duration::minutes(15);

/// One rendered calendar with its validators.
pub struct Rendered {
    pub(super) body: Bytes,
    pub(super) etag: HeaderValue,
    pub(super) last_modified: HeaderValue,
    pub(super) modified_secs: i64,
}

/// Everything a feed request needs, rendered at one moment.
pub struct FeedSnapshot {
    pub(super) token: Option<TokenHash>,
    pub(super) events: Rendered,
    pub(super) todos: Rendered,
}

/// The current snapshot, and a way to ask for a fresh one now.
#[derive(Clone)]
pub struct FeedCache {
    current: watch::Receiver<Arc<FeedSnapshot>>,
    poke: Arc<Notify>,
}

impl FeedCache {
    /// Render once, then keep the rendering fresh from a background task, which is
    /// returned so the server can stop it.
    pub async fn start(
        store: Db,
        config: Arc<Config>,
        clock: Clock,
    ) -> Result<(Self, tokio::task::JoinHandle<()>)> {
        let mut commits = store.commits();
        commits.borrow_and_update();
        let watcher = Store::open_reader(store.path())?;
        let seen = data_version(&watcher)?;
        let (first, items) = load_and_render(&store, &config, clock, ItemCache::default()).await?;
        let (sender, current) = watch::channel(Arc::new(first));
        let poke = Arc::new(Notify::new());
        let fresh = Freshness {
            store,
            config,
            clock,
            sender,
            poke: poke.clone(),
            commits,
            watcher,
        };
        let task = tokio::spawn(keep_fresh(fresh, seen, items));
        Ok((Self { current, poke }, task))
    }

    /// Something changed through us: render again without waiting for the next poll.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    pub(super) fn snapshot(&self) -> Arc<FeedSnapshot> {
        self.current.borrow().clone()
    }
}

/// What the background task needs to keep the snapshot fresh.
struct Freshness {
    store: Db,
    config: Arc<Config>,
    clock: Clock,
    sender: watch::Sender<Arc<FeedSnapshot>>,
    poke: Arc<Notify>,
    /// Bumped by every commit of the daemon's writer.
    commits: watch::Receiver<u64>,
    /// The feed's own read connection, for `data_version` (which is per connection).
    watcher: Store,
}

fn data_version(watcher: &Store) -> Result<i64> {
    watcher.data_version()
}

async fn keep_fresh(mut fresh: Freshness, mut seen: i64, mut items: ItemCache) {
    let mut seen_window = window(fresh.clock.now());
    loop {
        tokio::select! {
            changed = fresh.commits.changed() => {
                if changed.is_err() {
                    return; // the writer is gone: the daemon is stopping
                }
            }
            _ = fresh.poke.notified() => {}
            _ = tokio::time::sleep(OTHER_WRITERS_EVERY) => {
                // A new day moves the window even when nothing in the database changed.
                let moved = window(fresh.clock.now()) != seen_window;
                match data_version(&fresh.watcher) {
                    Ok(version) if version == seen && !moved => continue,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!("feed: cannot check the database for changes: {err:#}");
                        continue;
                    }
                }
            }
        }
        // Marked before the read: a commit landing after it wakes the next round.
        fresh.commits.borrow_and_update();
        if let Ok(version) = data_version(&fresh.watcher) {
            seen = version;
        }
        seen_window = window(fresh.clock.now());
        match load_and_render(&fresh.store, &fresh.config, fresh.clock, items).await {
            Ok((snapshot, kept)) => {
                items = kept;
                if fresh.sender.send(Arc::new(snapshot)).is_err() {
                    return; // the server is gone
                }
            }
            Err(err) => {
                tracing::warn!("feed: cannot render the calendar: {err:#}");
                items = ItemCache::default();
            }
        }
    }
}

/// Read on a pooled read connection, render on the blocking pool, so neither the
/// writer nor the async thread waits for the other.
async fn load_and_render(
    store: &Db,
    config: &Arc<Config>,
    clock: Clock,
    mut items: ItemCache,
) -> Result<(FeedSnapshot, ItemCache)> {
    let now = clock.now();
    let since = (now - chrono::Duration::days(KEEP_FINISHED_DAYS)).timestamp();
    let (due_from, due_to) = window(now);
    let (token, tasks, last_change) = store
        .read(move |s| {
            Ok((
                token::stored_hash(s)?,
                s.feed_followups(since, due_from, due_to)?,
                s.last_followup_change()?,
            ))
        })
        .await?;
    let config = config.clone();
    let feed_max = config.web.as_ref().map_or(200, |w| w.feed_max);
    let (snapshot, items) = tokio::task::spawn_blocking(move || {
        let tasks = crate::digest::rank::feed_order(tasks, now.timestamp(), feed_max);
        let (events, todos) = items.render(&tasks, &config);
        let snapshot = FeedSnapshot {
            token,
            events: validated(events, last_change),
            todos: validated(todos, last_change),
        };
        (snapshot, items)
    })
    .await?;
    Ok((snapshot, items))
}

/// Each task's text in both feeds, kept between renderings: rendering 5,000 tasks takes
/// a good part of a second on a small machine, re-rendering the one that changed does not.
#[derive(Default)]
struct ItemCache {
    by_task: HashMap<i64, CachedItems>,
}

struct CachedItems {
    fingerprint: u64,
    events: String,
    todos: String,
}

impl ItemCache {
    fn render(&mut self, tasks: &[FollowupRow], config: &Config) -> (String, String) {
        let events_options = options(config, CalendarStyle::Vevent);
        let todos_options = options(config, CalendarStyle::Vtodo);
        let tz = config.timezone();
        let mut events = calendar_head(&events_options);
        let mut todos = calendar_head(&todos_options);
        let mut kept = HashMap::with_capacity(tasks.len());
        for task in tasks {
            let fingerprint = fingerprint(task);
            let items = match self.by_task.remove(&task.id) {
                Some(cached) if cached.fingerprint == fingerprint => cached,
                _ => CachedItems {
                    fingerprint,
                    events: task_items(task, tz, &events_options),
                    todos: task_items(task, tz, &todos_options),
                },
            };
            events.push_str(&items.events);
            todos.push_str(&items.todos);
            kept.insert(task.id, items);
        }
        events.push_str(CALENDAR_TAIL);
        todos.push_str(CALENDAR_TAIL);
        self.by_task = kept;
        (events, todos)
    }
}

/// Everything of a task that its calendar text depends on (the options are fixed for
/// the server's life).
fn fingerprint(task: &FollowupRow) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (
        task.id,
        &task.contact_name,
        &task.link,
        &task.plan_key,
        &task.title,
        &task.note,
        task.due_at,
        task.status.as_str(),
        task.resolved_at,
        task.sequence,
        task.updated_at,
    )
        .hash(&mut hasher);
    hasher.finish()
}

fn options(config: &Config, style: CalendarStyle) -> CalendarOptions {
    let web = config.web.as_ref();
    CalendarOptions {
        style,
        timed: web.is_some_and(|w| w.feed_events == FeedEvents::Timed),
        alarm: web
            .map(|w| w.alarm)
            .filter(|a| !a.is_zero())
            .map(|a| a.to_chrono()),
        stamp: Stamp::LastChange,
        name: "nudged follow-ups".to_string(),
        refresh: Some(REFRESH),
    }
}

fn validated(body: String, changed: i64) -> Rendered {
    let digest = Sha256::digest(body.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    Rendered {
        etag: HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\"")),
        last_modified: HeaderValue::from_str(&http_date(from_unix(changed)))
            .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")),
        modified_secs: changed,
        body: Bytes::from(body),
    }
}

fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewFollowup, NewIdentity, Store};

    #[test]
    fn kept_items_render_the_same_as_a_fresh_rendering() {
        let config = Config::parse(
            "[web]\nfeed_events = \"timed\"\n",
            None,
            std::path::Path::new("."),
        )
        .unwrap();
        let mut store = Store::in_memory().unwrap();
        for i in 0..3 {
            let who = NewIdentity {
                platform: "in_person".into(),
                display_name: Some(format!("Person {i}")),
                handle: None,
                profile_url: None,
                email: None,
            };
            let (contact_id, _) = store.resolve_contact(&who, 1).unwrap().unwrap();
            let new = NewFollowup {
                contact_id,
                interaction_id: None,
                plan_key: format!("k{i}"),
                rule: "r".into(),
                title: format!("Call Person {i}"),
                note: None,
                due_at: 1_900_000_000 + i,
            };
            store.insert_followup(&new, 1).unwrap();
        }
        let mut kept = ItemCache::default();
        let before = kept.render(&store.feed_followups(0, 0, i64::MAX).unwrap(), &config);
        let first = store.pending_followups(None).unwrap()[0].id;
        store.snooze_followup(first, 1_950_000_000, 2).unwrap();
        let tasks = store.feed_followups(0, 0, i64::MAX).unwrap();
        let incremental = kept.render(&tasks, &config);
        let fresh = ItemCache::default().render(&tasks, &config);
        assert_ne!(before, incremental);
        assert_eq!(incremental, fresh);
        assert!(incremental.0.contains("SEQUENCE:1"));
    }
}
