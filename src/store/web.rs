//! What the web server asks of the database: when a task last changed (the feed's
//! Last-Modified), and one-click actions that act at most once per link.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::followups::{self, FollowupStatus};
use super::{FollowupRow, Store};

/// What a one-click link does to its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskChange {
    Close(FollowupStatus),
    SnoozeUntil(i64),
}

/// What became of a link's action.
#[derive(Debug, Clone)]
pub enum LinkOutcome {
    /// It acted now.
    Applied(FollowupRow),
    /// This very link acted before; nothing changed this time.
    AlreadyUsed(FollowupRow),
    /// The task was closed some other way; nothing changed.
    AlreadyClosed(FollowupRow),
    NoSuchTask,
}

impl Store {
    /// SQLite's count of commits by other connections (other processes included) as
    /// this connection sees it: O(1), read from the WAL index, so a cache can ask often.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .read()
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// The newest change to any task, as unix seconds (0 with no tasks).
    pub fn last_followup_change(&self) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT COALESCE(MAX(updated_at), 0) FROM followup",
            [],
            |r| r.get(0),
        )?)
    }

    /// Apply a signed link's change once. `signature` names the link; a link that has
    /// acted before, or a task closed in the meantime, changes nothing. One
    /// transaction, so two racing POSTs cannot both act.
    pub fn apply_link_action(
        &mut self,
        signature: &str,
        task: i64,
        change: TaskChange,
        now: i64,
    ) -> Result<LinkOutcome> {
        let applied = self.write(|tx| {
            let used: Option<i64> = tx
                .query_row(
                    "SELECT followup_id FROM action_link_used WHERE signature = ?1",
                    [signature],
                    |r| r.get(0),
                )
                .optional()?;
            if used.is_some() {
                return Ok(Some(false));
            }
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM followup WHERE id = ?1", [task], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_none() || !followups::current_status(tx, task)?.is_pending() {
                return Ok(None);
            }
            let action = match change {
                TaskChange::Close(status) => {
                    followups::resolve_in(tx, task, status, now)?;
                    status.as_str()
                }
                TaskChange::SnoozeUntil(until) => {
                    followups::snooze_in(tx, task, until, now)?;
                    "snoozed"
                }
            };
            tx.execute(
                "INSERT INTO action_link_used (signature, followup_id, action, used_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![signature, task, action, now],
            )?;
            Ok(Some(true))
        })?;
        let Some(row) = self.followup(task)? else {
            return Ok(LinkOutcome::NoSuchTask);
        };
        Ok(match applied {
            Some(true) => LinkOutcome::Applied(row),
            Some(false) => LinkOutcome::AlreadyUsed(row),
            None => LinkOutcome::AlreadyClosed(row),
        })
    }
}
