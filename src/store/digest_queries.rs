//! What the digest reads: light rows of every pending task for ranking, the full rows and
//! context (what they wrote, last touch, how you met) of the few it shows, interactions
//! since the last digest, the sender lease, and the results of commands the owner sent by replying to a digest.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::FollowupRow;

/// What ranking reads of one pending task: no text, so 5,000 of them cost little.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSketch {
    pub id: i64,
    pub rule: String,
    pub due_at: i64,
    pub tier: String,
    pub platform: Option<String>,
}

/// One interaction as context: when, where, what kind, and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Touch {
    pub occurred_at: i64,
    pub platform: String,
    pub kind: String,
    pub subject: String,
    pub snippet: String,
}

/// What the digest says around one task it shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskContext {
    /// The interaction the task answers.
    pub cause: Option<Touch>,
    /// The person's latest other interaction.
    pub last_touch: Option<Touch>,
    /// Their latest `met` entry (subject "Met … at PLACE", note in the snippet).
    pub met: Option<Touch>,
    /// The note kept on the contact.
    pub contact_note: Option<String>,
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

pub(super) const NOT_SOCIAL: &str = "('noise', 'unknown_template', 'none')";

const TOUCH: &str = "SELECT occurred_at, platform, kind, subject, snippet FROM interaction";

fn touch(r: &rusqlite::Row<'_>) -> rusqlite::Result<Touch> {
    Ok(Touch {
        occurred_at: r.get(0)?,
        platform: r.get(1)?,
        kind: r.get(2)?,
        subject: r.get(3)?,
        snippet: r.get(4)?,
    })
}

impl super::Store {
    /// Every open or snoozed task due by `due_by`, as light rows for ranking.
    pub fn pending_sketches(&self, due_by: i64) -> Result<Vec<TaskSketch>> {
        let mut stmt = self.read().prepare_cached(
            "SELECT f.id, f.rule, f.due_at, c.tier, f.platform
             FROM followup f JOIN contact c ON c.id = f.contact_id
             WHERE f.status IN ('open', 'snoozed') AND f.due_at <= ?1",
        )?;
        let rows = stmt
            .query_map([due_by], |r| {
                Ok(TaskSketch {
                    id: r.get(0)?,
                    rule: r.get(1)?,
                    due_at: r.get(2)?,
                    tier: r.get(3)?,
                    platform: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The full rows of `ids`, in that order (ids that vanished are left out).
    pub fn followups_by_id(&self, ids: &[i64]) -> Result<Vec<FollowupRow>> {
        let sql = format!("{} WHERE f.id = ?1", super::followups::SELECT);
        let mut stmt = self.read().prepare_cached(&sql)?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = stmt
                .query_row([id], super::followups::from_row)
                .optional()?
            {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// What the digest says around `task`: each a lookup on the person's
    /// (contact_id, occurred_at, kind) index.
    pub fn task_context(&self, task: &FollowupRow) -> Result<TaskContext> {
        let conn = self.read();
        let cause = match task.interaction_id {
            Some(id) => conn
                .prepare_cached(&format!("{TOUCH} WHERE id = ?1"))?
                .query_row([id], touch)
                .optional()?,
            None => None,
        };
        let last_touch = conn
            .prepare_cached(&format!(
                "{TOUCH} WHERE contact_id = ?1 AND id IS NOT ?2 AND kind NOT IN {NOT_SOCIAL}
                 ORDER BY occurred_at DESC LIMIT 1"
            ))?
            .query_row(params![task.contact_id, task.interaction_id], touch)
            .optional()?;
        let met = conn
            .prepare_cached(&format!(
                "{TOUCH} WHERE contact_id = ?1 AND kind = 'met' ORDER BY occurred_at DESC LIMIT 1"
            ))?
            .query_row([task.contact_id], touch)
            .optional()?;
        let contact_note = conn
            .prepare_cached("SELECT note FROM contact WHERE id = ?1")?
            .query_row([task.contact_id], |r| r.get::<_, Option<String>>(0))
            .optional()?
            .flatten()
            .filter(|n| !n.trim().is_empty());
        Ok(TaskContext {
            cause,
            last_touch,
            met,
            contact_note,
        })
    }

    /// Skip every open or snoozed task due before `before`: coming back after an
    /// absence, one command clears the old backlog. Returns how many.
    pub fn skip_pending_due_before(&mut self, before: i64, now: i64) -> Result<usize> {
        self.write(|tx| skip_due_before(tx, before, now))
    }

    /// How many open or snoozed tasks are due before `before` (index only).
    pub fn count_pending_due_before(&self, before: i64) -> Result<usize> {
        let n: i64 = self.read().query_row(
            "SELECT COUNT(*) FROM followup WHERE status IN ('open', 'snoozed') AND due_at < ?1",
            [before],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// The signed "skip everything older" link, acting at most once: `None` when this
    /// link (named by its signature) acted before, else how many tasks it skipped.
    pub fn skip_older_once(
        &mut self,
        signature: &str,
        before: i64,
        now: i64,
    ) -> Result<Option<usize>> {
        self.write(|tx| {
            let used = tx
                .query_row(
                    "SELECT 1 FROM action_link_used WHERE signature = ?1",
                    [signature],
                    |_| Ok(()),
                )
                .optional()?;
            if used.is_some() {
                return Ok(None);
            }
            let skipped = skip_due_before(tx, before, now)?;
            tx.execute(
                "INSERT INTO action_link_used (signature, followup_id, action, used_at)
                 VALUES (?1, 0, 'skip-older', ?2)",
                params![signature, now],
            )?;
            Ok(Some(skipped))
        })
    }

    /// Interactions with an id above `after`, counted by platform and kind, each with the
    /// newest id it holds (the next digest starts after it).
    pub fn new_interaction_counts(&self, after: i64) -> Result<Vec<(String, String, usize, i64)>> {
        let mut stmt = self.read().prepare_cached(
            "SELECT platform, kind, COUNT(*), MAX(id) FROM interaction WHERE id > ?1
             GROUP BY platform, kind ORDER BY platform, kind",
        )?;
        let rows = stmt
            .query_map([after], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, i64>(2)? as usize,
                    r.get(3)?,
                ))
            })?
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

/// [`super::Store::skip_pending_due_before`] inside a caller's transaction (a reply
/// command, a signed link).
pub(crate) fn skip_due_before(tx: &Transaction<'_>, before: i64, now: i64) -> Result<usize> {
    Ok(tx.execute(
        "UPDATE followup SET status = 'skipped', resolved_at = ?2, updated_at = ?2,
                sequence = sequence + 1
         WHERE status IN ('open', 'snoozed') AND due_at < ?1",
        params![before, now],
    )?)
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
