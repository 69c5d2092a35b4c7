//! Follow-up tasks. Every planned task has a `plan_key` saying which plan step produced
//! it; the key is unique, so planning the same interaction twice adds nothing.

use anyhow::{Result, bail};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::interactions::unix_as_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FollowupStatus {
    Open,
    Done,
    Snoozed,
    Skipped,
    Expired,
}

impl FollowupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FollowupStatus::Open => "open",
            FollowupStatus::Done => "done",
            FollowupStatus::Snoozed => "snoozed",
            FollowupStatus::Skipped => "skipped",
            FollowupStatus::Expired => "expired",
        }
    }

    fn parse(text: &str) -> FollowupStatus {
        match text {
            "done" => FollowupStatus::Done,
            "snoozed" => FollowupStatus::Snoozed,
            "skipped" => FollowupStatus::Skipped,
            "expired" => FollowupStatus::Expired,
            _ => FollowupStatus::Open,
        }
    }

    /// Still waiting for the user.
    pub fn is_pending(self) -> bool {
        matches!(self, FollowupStatus::Open | FollowupStatus::Snoozed)
    }
}

#[derive(Debug, Clone)]
pub struct NewFollowup {
    pub contact_id: i64,
    pub interaction_id: Option<i64>,
    pub plan_key: String,
    pub rule: String,
    pub title: String,
    pub note: Option<String>,
    pub due_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowupRow {
    pub id: i64,
    pub contact_id: i64,
    pub contact_name: String,
    pub interaction_id: Option<i64>,
    pub platform: Option<String>,
    pub link: Option<String>,
    pub plan_key: String,
    pub rule: String,
    pub title: String,
    pub note: Option<String>,
    #[serde(with = "unix_as_rfc3339")]
    pub due_at: i64,
    pub status: FollowupStatus,
    #[serde(with = "super::interactions::opt_unix_as_rfc3339")]
    pub resolved_at: Option<i64>,
    pub sequence: i64,
    #[serde(with = "unix_as_rfc3339")]
    pub created_at: i64,
    #[serde(with = "unix_as_rfc3339")]
    pub updated_at: i64,
    /// The event that closed the task by itself ("sent", "accepted", "meeting", …);
    /// `None` while open or when the user closed it.
    pub closed_by: Option<String>,
}

/// Add a task unless its plan step already produced one. True when added.
pub(crate) fn insert(tx: &Transaction<'_>, new: &NewFollowup, now: i64) -> Result<bool> {
    let added = tx.execute(
        "INSERT INTO followup (contact_id, interaction_id, plan_key, rule, title, note, due_at,
                               created_at, updated_at, platform)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8,
                 (SELECT i.platform FROM interaction i WHERE i.id = ?2))
         ON CONFLICT (plan_key) DO NOTHING",
        params![
            new.contact_id,
            new.interaction_id,
            new.plan_key,
            new.rule,
            new.title,
            new.note,
            new.due_at,
            now
        ],
    )?;
    Ok(added == 1)
}

pub(crate) const SELECT: &str = "SELECT f.id, f.contact_id, c.display_name, f.interaction_id, i.platform, i.link, f.plan_key,
        f.rule, f.title, f.note, f.due_at, f.status, f.resolved_at, f.sequence, f.created_at, f.updated_at, f.closed_by
     FROM followup f JOIN contact c ON c.id = f.contact_id
     LEFT JOIN interaction i ON i.id = f.interaction_id";

pub(crate) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FollowupRow> {
    Ok(FollowupRow {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        contact_name: r.get(2)?,
        interaction_id: r.get(3)?,
        platform: r.get(4)?,
        link: r.get(5)?,
        plan_key: r.get(6)?,
        rule: r.get(7)?,
        title: r.get(8)?,
        note: r.get(9)?,
        due_at: r.get(10)?,
        status: FollowupStatus::parse(&r.get::<_, String>(11)?),
        resolved_at: r.get(12)?,
        sequence: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
        closed_by: r.get(16)?,
    })
}

impl super::Store {
    pub fn insert_followup(&mut self, new: &NewFollowup, now: i64) -> Result<bool> {
        self.write(|tx| insert(tx, new, now))
    }

    /// Open and snoozed tasks, soonest first; only those due by `due_by` when given.
    pub fn pending_followups(&self, due_by: Option<i64>) -> Result<Vec<FollowupRow>> {
        let sql = format!(
            "{SELECT} WHERE f.status IN ('open', 'snoozed') AND (?1 IS NULL OR f.due_at <= ?1)
             ORDER BY f.due_at, f.id"
        );
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([due_by], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// How many open or snoozed tasks are due by `due_by`: the `followup_status_due`
    /// index alone answers it, so the daemon's status line each minute reads no task or
    /// interaction rows (with memory-mapped reads those would count as its memory).
    pub fn count_pending_followups(&self, due_by: i64) -> Result<usize> {
        let count: i64 = self.read().query_row(
            "SELECT count(*) FROM followup
             WHERE status IN ('open', 'snoozed') AND due_at <= ?1",
            [due_by],
            |r| r.get(0),
        )?;
        Ok(count as usize)
    }

    /// Every task, newest due first (for `followups --all`).
    pub fn all_followups(&self) -> Result<Vec<FollowupRow>> {
        let sql = format!("{SELECT} ORDER BY f.due_at, f.id");
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Every task for one contact, newest due first.
    pub fn followups_of(&self, contact_id: i64) -> Result<Vec<FollowupRow>> {
        let sql = format!("{SELECT} WHERE f.contact_id = ?1 ORDER BY f.due_at DESC, f.id DESC");
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([contact_id], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn followup(&self, id: i64) -> Result<Option<FollowupRow>> {
        let sql = format!("{SELECT} WHERE f.id = ?1");
        Ok(self.read().query_row(&sql, [id], from_row).optional()?)
    }

    /// Close a task as done or skipped. Closing a closed task again changes nothing,
    /// so a repeated click or command is harmless.
    pub fn resolve_followup(
        &mut self,
        id: i64,
        status: FollowupStatus,
        now: i64,
    ) -> Result<FollowupRow> {
        if status.is_pending() {
            bail!(
                "resolve_followup needs a closing status, not {}",
                status.as_str()
            );
        }
        self.write(|tx| resolve_in(tx, id, status, now))?;
        self.followup(id)?
            .ok_or_else(|| anyhow::anyhow!("task {id} vanished"))
    }

    /// Move a pending task's due time to `until`.
    pub fn snooze_followup(&mut self, id: i64, until: i64, now: i64) -> Result<FollowupRow> {
        self.write(|tx| snooze_in(tx, id, until, now))?;
        self.followup(id)?
            .ok_or_else(|| anyhow::anyhow!("task {id} vanished"))
    }

    /// Expire tasks more than `grace_secs` past due. Returns how many expired.
    pub fn expire_followups(&mut self, now: i64, grace_secs: i64) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE followup SET status = 'expired', resolved_at = ?1, updated_at = ?1, sequence = sequence + 1
                 WHERE status IN ('open', 'snoozed') AND due_at < ?1 - ?2",
                params![now, grace_secs],
            )?)
        })
    }

    /// What a calendar feed may show: tasks due between `due_from` and `due_to` that
    /// are pending, or closed at or after `closed_since` (so task apps tick them off),
    /// soonest due first. The caller ranks and caps them.
    pub fn feed_followups(
        &self,
        closed_since: i64,
        due_from: i64,
        due_to: i64,
    ) -> Result<Vec<FollowupRow>> {
        let sql = format!(
            "{SELECT} WHERE f.due_at BETWEEN ?2 AND ?3
               AND (f.status IN ('open', 'snoozed') OR f.resolved_at >= ?1)
             ORDER BY f.due_at, f.id"
        );
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([closed_since, due_from, due_to], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn count_followups(&self) -> Result<i64> {
        Ok(self
            .read()
            .query_row("SELECT COUNT(*) FROM followup", [], |r| r.get(0))?)
    }
}

/// [`super::Store::resolve_followup`] inside a caller's transaction (a digest reply is
/// applied together with the source cursor). Returns the status the task had before.
pub(crate) fn resolve_in(
    tx: &Transaction<'_>,
    id: i64,
    status: FollowupStatus,
    now: i64,
) -> Result<FollowupStatus> {
    let current = current_status(tx, id)?;
    if current.is_pending() {
        tx.execute(
            "UPDATE followup SET status = ?2, resolved_at = ?3, updated_at = ?3, sequence = sequence + 1
             WHERE id = ?1",
            params![id, status.as_str(), now],
        )?;
    }
    Ok(current)
}

/// [`super::Store::snooze_followup`] inside a caller's transaction.
pub(crate) fn snooze_in(tx: &Transaction<'_>, id: i64, until: i64, now: i64) -> Result<()> {
    let current = current_status(tx, id)?;
    if !current.is_pending() {
        bail!(
            "task {id} is already {}; only open tasks can be snoozed",
            current.as_str()
        );
    }
    tx.execute(
        "UPDATE followup SET status = 'snoozed', due_at = ?2, updated_at = ?3, sequence = sequence + 1
         WHERE id = ?1",
        params![id, until, now],
    )?;
    Ok(())
}

/// Close a contact's pending tasks that a later event shows were done: those whose
/// step is one of `steps` and whose cause happened no later than `event_at` (a reply
/// sent on Monday does not answer a message that arrives on Tuesday). Returns how many.
pub(crate) fn close_done_by_event(
    tx: &Transaction<'_>,
    contact_id: i64,
    steps: &[&str],
    event_at: i64,
    closed_by: &str,
    now: i64,
) -> Result<usize> {
    if steps.is_empty() {
        return Ok(0);
    }
    // The rule is "kind.step"; steps are plain words (checked when configured).
    let placeholders: Vec<String> = (0..steps.len()).map(|i| format!("?{}", i + 5)).collect();
    let sql = format!(
        "UPDATE followup SET status = 'done', resolved_at = ?3, updated_at = ?3,
                sequence = sequence + 1, closed_by = ?4
         WHERE contact_id = ?1 AND status IN ('open', 'snoozed')
           AND substr(rule, instr(rule, '.') + 1) IN ({})
           AND COALESCE((SELECT occurred_at FROM interaction i WHERE i.id = followup.interaction_id),
                        created_at) <= ?2",
        placeholders.join(", ")
    );
    let mut values: Vec<rusqlite::types::Value> = vec![
        contact_id.into(),
        event_at.into(),
        now.into(),
        closed_by.to_string().into(),
    ];
    values.extend(
        steps
            .iter()
            .map(|s| rusqlite::types::Value::from(s.to_string())),
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(values))?)
}

/// How many tasks of `rule` were created at or after `since`.
pub(crate) fn count_created_since(tx: &Transaction<'_>, rule: &str, since: i64) -> Result<usize> {
    let n: i64 = tx.query_row(
        "SELECT COUNT(*) FROM followup WHERE rule = ?1 AND created_at >= ?2",
        params![rule, since],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// A task's title, for messages about it.
pub(crate) fn title_in(tx: &Transaction<'_>, id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row("SELECT title FROM followup WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(crate) fn current_status(tx: &Transaction<'_>, id: i64) -> Result<FollowupStatus> {
    let status: Option<String> = tx
        .query_row("SELECT status FROM followup WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match status {
        Some(status) => Ok(FollowupStatus::parse(&status)),
        None => bail!("there is no task {id}; `nudged followups` lists them"),
    }
}
