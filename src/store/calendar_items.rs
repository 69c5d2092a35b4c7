//! What a task-list sync needs from the database and gives back: one read (the tasks
//! the list should show, its items, its sync token) before any network, one write (the
//! person's changes, the items as they now stand) after. SQL only.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

use super::followups::{FollowupRow, FollowupStatus, current_status, resolve_in};
use crate::calendar::merge::{ItemRow, LocalChange};
use crate::calendar::vtodo::ItemState;

/// A list's place and cursor on the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarCursor {
    pub collection_url: Option<String>,
    pub sync_token: Option<String>,
    pub ctag: Option<String>,
}

/// Everything one pass over one list starts from.
#[derive(Debug, Clone, Default)]
pub struct CalendarSnapshot {
    /// Pending tasks, and closed ones whose item still shows them as open.
    pub tasks: Vec<FollowupRow>,
    pub items: Vec<ItemRow>,
    pub cursor: CalendarCursor,
}

/// What one pass brings back.
#[derive(Debug, Clone, Default)]
pub struct CalendarOutcome {
    pub changes: Vec<(i64, LocalChange)>,
    pub upserts: Vec<ItemRow>,
    /// UIDs of items to forget.
    pub forget: Vec<String>,
    pub cursor: CalendarCursor,
}

/// How many task changes a pass applied, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AppliedChanges {
    pub done: usize,
    pub skipped: usize,
    pub snoozed: usize,
}

impl super::Store {
    pub fn calendar_snapshot(&self, calendar: &str) -> Result<CalendarSnapshot> {
        let sql = format!(
            "{} WHERE f.status IN ('open', 'snoozed')
                OR f.id IN (SELECT followup_id FROM calendar_item
                            WHERE calendar = ?1 AND state = 'needs-action')
             ORDER BY f.due_at, f.id",
            super::followups::SELECT
        );
        let conn = self.read();
        let tasks = conn
            .prepare(&sql)?
            .query_map([calendar], super::followups::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        let items = conn
            .prepare(
                "SELECT uid, followup_id, href, etag, hash, state, due_at, priority
                 FROM calendar_item WHERE calendar = ?1",
            )?
            .query_map([calendar], |r| {
                Ok(ItemRow {
                    uid: r.get(0)?,
                    followup_id: r.get(1)?,
                    href: r.get(2)?,
                    etag: r.get(3)?,
                    hash: r.get(4)?,
                    state: ItemState::parse(&r.get::<_, String>(5)?),
                    due_at: r.get(6)?,
                    priority: r.get::<_, Option<u8>>(7)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let cursor = conn
            .query_row(
                "SELECT collection_url, sync_token, ctag FROM calendar_state WHERE calendar = ?1",
                [calendar],
                |r| {
                    Ok(CalendarCursor {
                        collection_url: r.get(0)?,
                        sync_token: r.get(1)?,
                        ctag: r.get(2)?,
                    })
                },
            )
            .optional()?
            .unwrap_or_default();
        Ok(CalendarSnapshot {
            tasks,
            items,
            cursor,
        })
    }

    /// Record one pass in one transaction. A task the user closed meanwhile keeps its
    /// status: the next pass sends that to the list.
    pub fn record_calendar_pass(
        &mut self,
        calendar: &str,
        outcome: &CalendarOutcome,
        now: i64,
    ) -> Result<AppliedChanges> {
        self.write(|tx| {
            let mut applied = AppliedChanges::default();
            for (id, change) in &outcome.changes {
                let Ok(status) = current_status(tx, *id) else {
                    continue;
                };
                if !status.is_pending() {
                    continue;
                }
                match change {
                    LocalChange::Done => {
                        resolve_in(tx, *id, FollowupStatus::Done, now)?;
                        applied.done += 1;
                    }
                    LocalChange::Skip => {
                        resolve_in(tx, *id, FollowupStatus::Skipped, now)?;
                        applied.skipped += 1;
                    }
                    LocalChange::Snooze(until) => {
                        super::followups::snooze_in(tx, *id, *until, now)?;
                        applied.snoozed += 1;
                    }
                }
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO calendar_item (calendar, uid, followup_id, href, etag, hash, state, due_at, priority)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (calendar, uid) DO UPDATE SET
                    followup_id = excluded.followup_id, href = excluded.href, etag = excluded.etag,
                    hash = excluded.hash, state = excluded.state, due_at = excluded.due_at,
                    priority = excluded.priority",
            )?;
            for item in &outcome.upserts {
                upsert.execute(params![
                    calendar,
                    item.uid,
                    item.followup_id,
                    item.href,
                    item.etag,
                    item.hash,
                    item.state.as_str(),
                    item.due_at,
                    item.priority
                ])?;
            }
            let mut forget =
                tx.prepare_cached("DELETE FROM calendar_item WHERE calendar = ?1 AND uid = ?2")?;
            for uid in &outcome.forget {
                forget.execute(params![calendar, uid])?;
            }
            tx.execute(
                "INSERT INTO calendar_state (calendar, collection_url, sync_token, ctag, synced_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (calendar) DO UPDATE SET collection_url = excluded.collection_url,
                    sync_token = excluded.sync_token, ctag = excluded.ctag,
                    synced_at = excluded.synced_at",
                params![
                    calendar,
                    outcome.cursor.collection_url,
                    outcome.cursor.sync_token,
                    outcome.cursor.ctag,
                    now
                ],
            )?;
            Ok(applied)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::migrations::MIGRATIONS;

    #[test]
    fn a_version_7_database_upgrades_and_keeps_its_tasks_in_step() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..7] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute_batch(
                "INSERT INTO contact (id, display_name, created_at) VALUES (1, 'Ines', 1);
                 INSERT INTO followup (id, contact_id, plan_key, rule, title, due_at, created_at, updated_at)
                 VALUES (1, 1, 'k', 'connection.thank', 'Thank Ines', 100, 1, 1);",
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        let snapshot = store.calendar_snapshot("phone").unwrap();
        assert_eq!(snapshot.tasks.len(), 1);
        assert!(snapshot.items.is_empty());
        let item = ItemRow {
            uid: "todo-k@nudged".into(),
            followup_id: 1,
            href: "todo-k-nudged.ics".into(),
            etag: Some("\"1\"".into()),
            hash: "h".into(),
            state: ItemState::NeedsAction,
            due_at: 100,
            priority: Some(1),
        };
        let outcome = CalendarOutcome {
            changes: vec![(1, LocalChange::Done)],
            upserts: vec![item.clone()],
            forget: Vec::new(),
            cursor: CalendarCursor {
                sync_token: Some("t1".into()),
                ..CalendarCursor::default()
            },
        };
        let applied = store.record_calendar_pass("phone", &outcome, 200).unwrap();
        assert_eq!(applied.done, 1);
        // Done in nudged, still open in the list: the next pass sees it to complete it.
        let next = store.calendar_snapshot("phone").unwrap();
        assert_eq!(next.items, vec![item]);
        assert_eq!(next.tasks[0].status, FollowupStatus::Done);
        assert_eq!(next.cursor.sync_token.as_deref(), Some("t1"));
        // Applying the same change again (a repeated pass) changes nothing.
        assert_eq!(
            store
                .record_calendar_pass("phone", &outcome, 300)
                .unwrap()
                .done,
            0
        );
    }
}
