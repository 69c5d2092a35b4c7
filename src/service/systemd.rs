//! Living under systemd: READY=1 once every source has finished a first sync that
//! worked, WATCHDOG=1 only while every work loop makes progress, and a
//! STATUS= line a person can read in `systemctl status`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::config::{Config, SourceKind};
use crate::service::daemon::Signals;
use crate::service::notify::Notifier;
use crate::store::Db;

/// How long a work loop may go without progress before it counts as hung: the longest
/// it legitimately waits (IDLE silence or the poll interval, plus one read timeout for
/// the sync after it), with ten seconds of slack.
pub fn stale_after(config: &Config) -> Duration {
    let maildir = Duration::from_secs(120);
    config
        .sources
        .iter()
        .map(|source| match source.kind {
            SourceKind::Maildir => maildir,
            SourceKind::Imap => {
                let wait = if source.idle == Some(false) {
                    source.poll_interval()
                } else {
                    source.idle_timeout().max(source.poll_interval())
                };
                wait + source.read_timeout() * 2 + Duration::from_secs(10)
            }
        })
        .max()
        .unwrap_or(maildir)
}

/// Talk to systemd until the daemon stops. Without `NOTIFY_SOCKET` this returns at once.
pub async fn supervise(
    signals: Signals,
    notifier: Notifier,
    store: Db,
    config: std::sync::Arc<Config>,
    now: impl Fn() -> DateTime<Utc> + Send + 'static,
) {
    if !notifier.is_active() {
        return;
    }
    let folders = signals.heartbeats.len();
    let mut first = signals.first_sync_done.clone();
    // READY=1 only once every source has synced successfully; until then systemd shows
    // why the service is still starting.
    notifier.status("starting: waiting for the first successful sync of every source");
    let _ = first.wait_for(|done| *done).await;
    notifier.ready(&status_line(&store, &config, folders, now()).await);
    let stale = stale_after(&config);
    let tick = Notifier::watchdog_interval()
        .unwrap_or(Duration::from_secs(30))
        .min(Duration::from_secs(30));
    let mut last_status = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let stalled: Vec<&str> = signals
            .heartbeats
            .iter()
            .filter(|(_, beat)| beat.borrow().elapsed() > stale)
            .map(|(name, _)| name.as_str())
            .collect();
        if stalled.is_empty() {
            notifier.watchdog();
        } else {
            tracing::warn!(
                ?stalled,
                "no progress for {}s: not feeding the watchdog",
                stale.as_secs()
            );
            notifier.status(&format!("stalled: {}", stalled.join(", ")));
        }
        if stalled.is_empty() && last_status.elapsed() >= Duration::from_secs(60) {
            notifier.status(&status_line(&store, &config, folders, now()).await);
            last_status = Instant::now();
        }
    }
}

/// "watching 3 folders · 4 follow-ups due · next digest 07:30"
async fn status_line(store: &Db, config: &Config, folders: usize, now: DateTime<Utc>) -> String {
    let due = store
        .read(move |store| store.count_pending_followups(now.timestamp()))
        .await
        .map_or_else(|_| "?".to_string(), |n| n.to_string());
    let mut line = format!(
        "watching {folders} folder{} · {due} follow-up{} due",
        if folders == 1 { "" } else { "s" },
        if due == "1" { "" } else { "s" }
    );
    if let Some(digest) = &config.digest {
        let next = crate::digest::schedule::next_slot(now, digest.at.0, digest.timezone.0);
        line.push_str(&format!(
            " · next digest {}",
            next.with_timezone(&digest.timezone.0).format("%H:%M")
        ));
    }
    line
}
