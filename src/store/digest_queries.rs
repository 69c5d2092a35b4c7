//! What the digest reads beyond tasks: interactions since the last digest, per-platform
//! activity for the ROI and "gone silent" blocks, the sender lease, and the results of
//! commands the owner sent by replying to a digest.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::InteractionRow;

/// One platform's figures over a window (the ROI block) and its latest sign of life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlatformActivity {
    pub platform: String,
    /// Social interactions (noise left out) in the window.
    pub interactions: i64,
    /// Distinct people behind them.
    pub people: i64,
    /// Tasks from this platform closed as done / left to expire in the window.
    pub tasks_done: i64,
    pub tasks_expired: i64,
    /// Latest social interaction within the look-back, if any.
    pub last_at: Option<i64>,
}

/// What one reply command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyResult {
    Applied,
    Failed,
    Unknown,
}

impl ReplyResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplyResult::Applied => "applied",
            ReplyResult::Failed => "failed",
            ReplyResult::Unknown => "unknown",
        }
    }

    fn parse(text: &str) -> ReplyResult {
        match text {
            "applied" => ReplyResult::Applied,
            "failed" => ReplyResult::Failed,
            _ => ReplyResult::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplyResultRow {
    pub id: i64,
    pub command: String,
    pub outcome: ReplyResult,
    pub detail: String,
    pub received_at: i64,
}

const NOT_SOCIAL: &str = "('noise', 'unknown_template', 'none')";

impl super::Store {
    /// Interactions with an id above `after`, by platform then time.
    pub fn interactions_after(&self, after: i64) -> Result<Vec<InteractionRow>> {
        let sql = format!(
            "{} WHERE i.id > ?1 ORDER BY i.platform, i.occurred_at, i.id",
            super::interactions::SELECT
        );
        let mut stmt = self.read().prepare_cached(&sql)?;
        let rows = stmt
            .query_map([after], super::interactions::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn max_interaction_id(&self) -> Result<i64> {
        Ok(self
            .read()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM interaction", [], |r| {
                r.get(0)
            })?)
    }

    /// Per platform: interactions, people and closed tasks since `window_start`, and the
    /// latest interaction since `lookback_start` (earlier than the window), so platforms
    /// that went quiet inside the look-back still show up.
    pub fn platform_activity(
        &self,
        window_start: i64,
        lookback_start: i64,
    ) -> Result<Vec<PlatformActivity>> {
        let conn = self.read();
        // Counting distinct people is the costly part, so it only runs over the window;
        // the rest of the look-back only needs each platform's latest interaction. Both
        // are range scans over the covering index (occurred_at, platform, kind, contact_id).
        let window_sql = format!(
            "SELECT platform, COUNT(*), COUNT(DISTINCT contact_id), MAX(occurred_at)
             FROM interaction
             WHERE occurred_at >= ?1 AND kind NOT IN {NOT_SOCIAL}
             GROUP BY platform ORDER BY platform"
        );
        let mut stmt = conn.prepare_cached(&window_sql)?;
        let mut rows: Vec<PlatformActivity> = stmt
            .query_map(params![window_start], |r| {
                Ok(PlatformActivity {
                    platform: r.get(0)?,
                    interactions: r.get(1)?,
                    people: r.get(2)?,
                    last_at: r.get(3)?,
                    ..PlatformActivity::default()
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let earlier_sql = format!(
            "SELECT platform, MAX(occurred_at)
             FROM interaction
             WHERE occurred_at >= ?1 AND occurred_at < ?2 AND kind NOT IN {NOT_SOCIAL}
             GROUP BY platform"
        );
        let mut earlier = conn.prepare_cached(&earlier_sql)?;
        let quiet = earlier.query_map(params![lookback_start, window_start], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
        for row in quiet {
            let (platform, last_at) = row?;
            if let Err(at) = rows.binary_search_by(|p| p.platform.as_str().cmp(&platform)) {
                rows.insert(
                    at,
                    PlatformActivity {
                        platform,
                        last_at,
                        ..PlatformActivity::default()
                    },
                );
            }
        }
        let mut tasks = conn.prepare_cached(
            "SELECT i.platform, SUM(f.status = 'done'), SUM(f.status = 'expired')
             FROM followup f JOIN interaction i ON i.id = f.interaction_id
             WHERE f.status IN ('done', 'expired') AND f.resolved_at >= ?1
             GROUP BY i.platform",
        )?;
        let closed = tasks.query_map([window_start], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in closed {
            let (platform, done, expired) = row?;
            let at = match rows.binary_search_by(|p| p.platform.as_str().cmp(&platform)) {
                Ok(at) => at,
                Err(at) => {
                    rows.insert(
                        at,
                        PlatformActivity {
                            platform,
                            ..PlatformActivity::default()
                        },
                    );
                    at
                }
            };
            rows[at].tasks_done = done;
            rows[at].tasks_expired = expired;
        }
        Ok(rows)
    }

    /// Take (or renew) the named lease until `expires_at`. False when another holder has
    /// it and it has not expired: that process is doing the work.
    pub fn acquire_lease(
        &mut self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool> {
        // Not durable on purpose: a lease lost in a power cut belonged to a dead process.
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO lease (name, holder, expires_at) VALUES (?1, ?2, ?4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE lease.holder = excluded.holder OR lease.expires_at <= ?3",
                params![name, holder, now, expires_at],
            )? == 1)
        })
    }

    pub fn release_lease(&mut self, name: &str, holder: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM lease WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )?;
            Ok(())
        })
    }

    /// Reply results no digest has reported yet, oldest first.
    pub fn unreported_reply_results(&self) -> Result<Vec<ReplyResultRow>> {
        let mut stmt = self.read().prepare_cached(
            "SELECT id, command, outcome, detail, received_at FROM digest_reply
             WHERE reported_in IS NULL ORDER BY received_at, id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ReplyResultRow {
                    id: r.get(0)?,
                    command: r.get(1)?,
                    outcome: ReplyResult::parse(&r.get::<_, String>(2)?),
                    detail: r.get(3)?,
                    received_at: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// The Message-ID (angle brackets included) of the digest among `ids`, if any is one.
pub(crate) fn find_digest_message_id(
    tx: &Transaction<'_>,
    ids: &[String],
) -> Result<Option<String>> {
    let mut stmt = tx.prepare_cached("SELECT message_id FROM digest WHERE message_id = ?1")?;
    for id in ids {
        if let Some(found) = stmt.query_row([id], |r| r.get::<_, String>(0)).optional()? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Whether commands of this reply were already applied (the message was read before).
pub(crate) fn reply_seen(tx: &Transaction<'_>, reply_message_id: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM digest_reply WHERE reply_message_id = ?1 LIMIT 1",
            [reply_message_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// One command of a reply and what it did.
pub(crate) struct NewReplyResult<'a> {
    pub reply_message_id: &'a str,
    pub position: usize,
    pub digest_message_id: &'a str,
    pub command: &'a str,
    pub outcome: ReplyResult,
    pub detail: &'a str,
}

/// Record what one command of a reply did; it shows in the next digest.
pub(crate) fn insert_reply_result(
    tx: &Transaction<'_>,
    new: &NewReplyResult<'_>,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO digest_reply (reply_message_id, position, digest_message_id, command, outcome,
                                   detail, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (reply_message_id, position) DO NOTHING",
        params![
            new.reply_message_id,
            new.position as i64,
            new.digest_message_id,
            new.command,
            new.outcome.as_str(),
            new.detail,
            now
        ],
    )?;
    Ok(())
}
