//! The two-way rules, pure: what a task list's copy of a task means for the task
//! (COMPLETED → done, CANCELLED or gone → skipped, DUE moved → snoozed to it) and what
//! the task list needs from nudged (create, update, complete, remove, or nothing).
//! nudged owns SUMMARY and DESCRIPTION; the person owns STATUS, DUE and PRIORITY.

use chrono::Duration;

use super::vtodo::{ItemState, RemoteTodo, content_hash, default_priority};
use crate::store::{FollowupRow, FollowupStatus};

/// What nudged knows of one item in one task list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub uid: String,
    pub followup_id: i64,
    /// Path inside the collection (CalDAV) or file name (vdir).
    pub href: String,
    pub etag: Option<String>,
    /// [`content_hash`] of what the list holds of nudged's fields.
    pub hash: String,
    /// STATUS and DUE as last written or read, to tell the person's changes.
    pub state: ItemState,
    pub due_at: i64,
    /// The person's PRIORITY, once they set one.
    pub priority: Option<u8>,
}

/// What the task list says about an item that changed there.
#[derive(Debug, Clone)]
pub enum Remote {
    Gone,
    Item {
        etag: Option<String>,
        todo: RemoteTodo,
    },
}

/// A change the person made, to apply to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalChange {
    Done,
    Skip,
    Snooze(i64),
}

/// What the task list needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    Nothing,
    Create,
    /// Rewrite the item (new text, or completed).
    Update,
    Delete,
}

/// The person's change to `task` seen in `remote`, and the item row afterwards (`None`:
/// forget the item). `task` is `None` when the task is closed and its item settled.
pub fn read_back(
    task: Option<&FollowupRow>,
    item: &ItemRow,
    remote: &Remote,
    alarm: Option<Duration>,
) -> (Option<LocalChange>, Option<ItemRow>) {
    let pending = task.is_some_and(|t| t.status.is_pending());
    let Remote::Item { etag, todo } = remote else {
        return (pending.then_some(LocalChange::Skip), None);
    };
    let change = if !pending {
        None
    } else if todo.state == ItemState::Completed && item.state != ItemState::Completed {
        Some(LocalChange::Done)
    } else if todo.state == ItemState::Cancelled && item.state != ItemState::Cancelled {
        Some(LocalChange::Skip)
    } else {
        todo.due_at
            .filter(|due| *due != item.due_at && task.is_some_and(|t| t.due_at != *due))
            .map(LocalChange::Snooze)
    };
    let mut next = item.clone();
    next.etag = etag.clone();
    next.state = todo.state;
    next.due_at = todo.due_at.unwrap_or(item.due_at);
    next.priority = todo.priority;
    // The list still holds nudged's fields as last written when the stored hash says so;
    // then only the person's fields moved, and the item needs no upload for them.
    if let Some(task) = task {
        let before = content_hash(task, item.state, priority(task, item), alarm);
        if before == item.hash {
            let after = change.map_or_else(|| task.clone(), |c| apply(task, c));
            next.hash = content_hash(&after, todo.state, priority(&after, &next), alarm);
        }
    }
    (change, Some(next))
}

/// `task` as it is once `change` is applied.
pub fn apply(task: &FollowupRow, change: LocalChange) -> FollowupRow {
    let mut task = task.clone();
    match change {
        LocalChange::Done => task.status = FollowupStatus::Done,
        LocalChange::Skip => task.status = FollowupStatus::Skipped,
        LocalChange::Snooze(due) => {
            task.status = FollowupStatus::Snoozed;
            task.due_at = due;
        }
    }
    task
}

/// The PRIORITY an item carries: the person's, else the rule's.
pub fn priority(task: &FollowupRow, item: &ItemRow) -> u8 {
    item.priority
        .unwrap_or_else(|| default_priority(&task.rule))
}

/// What the task list needs for `task`, given what it holds.
pub fn plan_push(task: &FollowupRow, item: Option<&ItemRow>, alarm: Option<Duration>) -> Push {
    let want = ItemState::of(task.status);
    let Some(item) = item else {
        return if want == ItemState::NeedsAction {
            Push::Create
        } else {
            Push::Nothing
        };
    };
    match want {
        // A skipped or expired task leaves the list, unless the person cancelled it there.
        ItemState::Cancelled if item.state == ItemState::Cancelled => Push::Nothing,
        ItemState::Cancelled => Push::Delete,
        ItemState::Completed if item.state == ItemState::Completed => Push::Nothing,
        ItemState::Completed => Push::Update,
        ItemState::NeedsAction => {
            let hash = content_hash(task, want, priority(task, item), alarm);
            if hash == item.hash {
                Push::Nothing
            } else {
                Push::Update
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::vtodo::item_uid;

    fn task() -> FollowupRow {
        FollowupRow {
            id: 7,
            contact_id: 1,
            contact_name: "Ines".into(),
            interaction_id: None,
            platform: Some("linkedin".into()),
            link: None,
            plan_key: "k7".into(),
            rule: "connection.thank".into(),
            title: "Thank Ines".into(),
            note: None,
            due_at: 1_900_000_000,
            status: FollowupStatus::Open,
            resolved_at: None,
            sequence: 0,
            created_at: 1,
            updated_at: 1,
            closed_by: None,
        }
    }

    fn uploaded(task: &FollowupRow) -> ItemRow {
        ItemRow {
            uid: item_uid(task),
            followup_id: task.id,
            href: "x.ics".into(),
            etag: Some("\"1\"".into()),
            hash: content_hash(task, ItemState::NeedsAction, 5, None),
            state: ItemState::NeedsAction,
            due_at: task.due_at,
            priority: None,
        }
    }

    fn seen(task: &FollowupRow, state: ItemState, due: i64, priority: Option<u8>) -> Remote {
        Remote::Item {
            etag: Some("\"2\"".into()),
            todo: RemoteTodo {
                uid: item_uid(task),
                state,
                due_at: Some(due),
                priority,
            },
        }
    }

    #[test]
    fn the_persons_changes_become_task_changes() {
        let t = task();
        let item = uploaded(&t);
        let due = t.due_at;
        let cases = [
            (
                seen(&t, ItemState::Completed, due, None),
                Some(LocalChange::Done),
            ),
            (
                seen(&t, ItemState::Cancelled, due, None),
                Some(LocalChange::Skip),
            ),
            (Remote::Gone, Some(LocalChange::Skip)),
            (
                seen(&t, ItemState::NeedsAction, due + 7 * 86400, None),
                Some(LocalChange::Snooze(due + 7 * 86400)),
            ),
            (seen(&t, ItemState::NeedsAction, due, Some(1)), None),
        ];
        for (remote, want) in cases {
            assert_eq!(
                read_back(Some(&t), &item, &remote, None).0,
                want,
                "{remote:?}"
            );
        }
    }

    #[test]
    fn only_the_persons_fields_moving_needs_no_upload() {
        let t = task();
        let item = uploaded(&t);
        let later = t.due_at + 86400;
        let (change, next) = read_back(
            Some(&t),
            &item,
            &seen(&t, ItemState::NeedsAction, later, Some(1)),
            None,
        );
        let next = next.unwrap();
        let after = apply(&t, change.unwrap());
        assert_eq!(plan_push(&after, Some(&next), None), Push::Nothing);
        let mut renamed = after.clone();
        renamed.title = "Thank Ines Lee".into();
        assert_eq!(plan_push(&renamed, Some(&next), None), Push::Update);
    }

    #[test]
    fn closing_in_nudged_completes_or_removes() {
        let t = task();
        let item = uploaded(&t);
        assert_eq!(plan_push(&t, None, None), Push::Create);
        assert_eq!(plan_push(&t, Some(&item), None), Push::Nothing);
        let done = apply(&t, LocalChange::Done);
        assert_eq!(plan_push(&done, Some(&item), None), Push::Update);
        let skipped = apply(&t, LocalChange::Skip);
        assert_eq!(plan_push(&skipped, Some(&item), None), Push::Delete);
        let mut expired = t.clone();
        expired.status = FollowupStatus::Expired;
        assert_eq!(plan_push(&expired, Some(&item), None), Push::Delete);
        assert_eq!(plan_push(&expired, None, None), Push::Nothing);
    }

    #[test]
    fn a_closed_task_ignores_the_list() {
        let done = apply(&task(), LocalChange::Done);
        let item = uploaded(&task());
        let (change, next) = read_back(Some(&done), &item, &Remote::Gone, None);
        assert_eq!(change, None);
        assert!(next.is_none());
    }
}
