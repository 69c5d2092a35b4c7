//! One follow-up as the VTODO a task list holds, and what a task list's copy says back:
//! nudged writes SUMMARY, DESCRIPTION, CATEGORIES, URL and the alarm; the person owns
//! STATUS, DUE and PRIORITY, which are all we read.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::{Alarm, Calendar, Component, EventLike, Todo, TodoStatus, Trigger};
use sha2::{Digest, Sha256};

use super::ics::{clean_text, description, task_uid};
use crate::store::{FollowupRow, FollowupStatus, from_unix};

/// A date-only DUE set on a phone means that day; the task comes due at this local hour.
const DATE_DUE_HOUR: u32 = 9;

/// How a task stands in a task list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemState {
    NeedsAction,
    Completed,
    Cancelled,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::NeedsAction => "needs-action",
            ItemState::Completed => "completed",
            ItemState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Self {
        match text {
            "completed" => ItemState::Completed,
            "cancelled" => ItemState::Cancelled,
            _ => ItemState::NeedsAction,
        }
    }

    /// The state a task's item should have.
    pub fn of(status: FollowupStatus) -> Self {
        match status {
            FollowupStatus::Open | FollowupStatus::Snoozed => ItemState::NeedsAction,
            FollowupStatus::Done => ItemState::Completed,
            FollowupStatus::Skipped | FollowupStatus::Expired => ItemState::Cancelled,
        }
    }
}

/// What the person can change in their copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTodo {
    pub uid: String,
    pub state: ItemState,
    pub due_at: Option<i64>,
    pub priority: Option<u8>,
}

/// The UID of a task's item: the same as the feed's to-do, so both update one item.
pub fn item_uid(task: &FollowupRow) -> String {
    format!("todo-{}", task_uid(task))
}

/// Where an item lives inside its collection: its UID in characters no server encodes
/// differently, so a listing's href always matches the name written.
pub fn item_name(uid: &str) -> String {
    let safe: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{safe}.ics")
}

/// RFC 5545 PRIORITY by what the task answers: someone waiting on a reply comes first.
pub fn default_priority(rule: &str) -> u8 {
    match rule.split('.').next().unwrap_or_default() {
        "message" | "connection_request" => 1,
        "reconnect" => 9,
        _ => 5,
    }
}

/// A digest of everything nudged writes into an item, so an unchanged task is never
/// uploaded again (DTSTAMP and SEQUENCE change on every rendering, so the text can't be
/// compared).
pub fn content_hash(
    task: &FollowupRow,
    state: ItemState,
    priority: u8,
    alarm: Option<Duration>,
) -> String {
    let mut hash = Sha256::new();
    for part in [
        item_uid(task).as_str(),
        task.title.as_str(),
        &description(task),
        task.link.as_deref().unwrap_or_default(),
        task.platform.as_deref().unwrap_or_default(),
        &task.due_at.to_string(),
        state.as_str(),
        &priority.to_string(),
        &alarm.map(|a| a.num_seconds()).unwrap_or(-1).to_string(),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(&hash.finalize()[..16])
}

/// The calendar object (one VTODO) for a task.
pub fn render_item(
    task: &FollowupRow,
    state: ItemState,
    priority: u8,
    alarm: Option<Duration>,
    now: DateTime<Utc>,
) -> String {
    let title = clean_text(&task.title);
    let uid = item_uid(task);
    let mut todo = Todo::new();
    todo.uid(&uid)
        .summary(&title)
        .description(&description(task))
        .due(from_unix(task.due_at))
        .timestamp(now)
        .add_property("LAST-MODIFIED", now.format("%Y%m%dT%H%M%SZ").to_string())
        .sequence(task.sequence.clamp(0, u32::MAX as i64) as u32)
        .priority(u32::from(priority));
    if let Some(platform) = &task.platform {
        todo.add_property("CATEGORIES", clean_text(platform));
    }
    if let Some(link) = task.link.as_deref().filter(|l| l.starts_with("http")) {
        todo.url(&clean_text(link));
    }
    match state {
        ItemState::NeedsAction => {
            todo.status(TodoStatus::NeedsAction);
            if let Some(before) = alarm {
                let mut ring = Alarm::display(&title, Trigger::before_end(before));
                ring.add_property("UID", format!("alarm-{uid}"))
                    .timestamp(now);
                todo.alarm(ring.done());
            }
        }
        ItemState::Completed => {
            todo.status(TodoStatus::Completed).percent_complete(100);
            todo.completed(task.resolved_at.map(from_unix).unwrap_or(now));
        }
        ItemState::Cancelled => {
            todo.status(TodoStatus::Cancelled);
        }
    }
    let mut calendar = Calendar::new();
    calendar.push(todo.done());
    calendar.done().to_string()
}

/// The person's side of an item, or `None` when it holds no VTODO.
pub fn parse_item(text: &str, tz: Tz) -> Option<RemoteTodo> {
    let calendar = ical::IcalParser::new(text.as_bytes()).next()?.ok()?;
    let todo = calendar.todos.into_iter().next()?;
    let get = |name: &str| {
        todo.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    };
    let uid = get("UID")?.value.clone()?;
    let status = get("STATUS")
        .and_then(|p| p.value.as_deref())
        .map(|s| s.trim().to_ascii_uppercase());
    let state = match status.as_deref() {
        Some("CANCELLED") => ItemState::Cancelled,
        Some("COMPLETED") => ItemState::Completed,
        // Some clients only set COMPLETED (or PERCENT-COMPLETE:100) when ticked.
        _ if get("COMPLETED").is_some() => ItemState::Completed,
        _ => ItemState::NeedsAction,
    };
    let due_at = get("DUE").and_then(|p| {
        let tzid = p
            .params
            .iter()
            .flatten()
            .find(|(k, _)| k.eq_ignore_ascii_case("TZID"))
            .and_then(|(_, v)| v.first())
            .and_then(|v| v.parse::<Tz>().ok());
        parse_time(p.value.as_deref()?, tzid.unwrap_or(tz))
    });
    let priority = get("PRIORITY")
        .and_then(|p| p.value.as_deref())
        .and_then(|v| v.trim().parse::<u8>().ok())
        .filter(|p| *p <= 9);
    Some(RemoteTodo {
        uid,
        state,
        due_at,
        priority,
    })
}

/// A DATE or DATE-TIME value (UTC, floating or in `tz`) as unix seconds.
fn parse_time(value: &str, tz: Tz) -> Option<i64> {
    let value = value.trim();
    if let Some(utc) = value.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(naive.and_utc().timestamp());
    }
    let naive = match NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S") {
        Ok(naive) => naive,
        Err(_) => NaiveDate::parse_from_str(value, "%Y%m%d")
            .ok()?
            .and_hms_opt(DATE_DUE_HOUR, 0, 0)?,
    };
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|at| at.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn task() -> FollowupRow {
        FollowupRow {
            id: 7,
            contact_id: 1,
            contact_name: "Ines".into(),
            interaction_id: None,
            platform: Some("linkedin".into()),
            link: Some("https://www.linkedin.com/in/ines".into()),
            plan_key: "connection:1:thank".into(),
            rule: "connection.thank".into(),
            title: "Thank Ines".into(),
            note: Some("met at the fair".into()),
            due_at: 1_900_000_000,
            status: FollowupStatus::Open,
            resolved_at: None,
            sequence: 0,
            created_at: 1,
            updated_at: 1,
            closed_by: None,
        }
    }

    #[test]
    fn a_rendered_item_reads_back_as_written() {
        let task = task();
        let text = render_item(
            &task,
            ItemState::NeedsAction,
            5,
            Some(Duration::minutes(15)),
            Utc::now(),
        );
        assert!(text.contains("CATEGORIES:linkedin"), "{text}");
        assert!(text.contains("BEGIN:VALARM"), "{text}");
        let back = parse_item(&text, chrono_tz::UTC).unwrap();
        assert_eq!(back.uid, item_uid(&task));
        assert_eq!(back.state, ItemState::NeedsAction);
        assert_eq!(back.due_at, Some(task.due_at));
        assert_eq!(back.priority, Some(5));
    }

    #[test]
    fn completion_shows_in_either_property() {
        let base = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:u\r\n";
        let only_completed =
            format!("{base}COMPLETED:20300101T000000Z\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
        let cancelled = format!("{base}STATUS:CANCELLED\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
        let date_due = format!("{base}DUE;VALUE=DATE:20300102\r\nEND:VTODO\r\nEND:VCALENDAR\r\n");
        let tz = chrono_tz::Europe::Berlin;
        assert_eq!(
            parse_item(&only_completed, tz).unwrap().state,
            ItemState::Completed
        );
        assert_eq!(
            parse_item(&cancelled, tz).unwrap().state,
            ItemState::Cancelled
        );
        let due = parse_item(&date_due, tz).unwrap().due_at.unwrap();
        assert_eq!(from_unix(due).to_rfc3339(), "2030-01-02T08:00:00+00:00");
        assert!(parse_item("not a calendar", tz).is_none());
    }

    #[test]
    fn the_hash_changes_with_what_nudged_writes_only() {
        let task = task();
        let h = content_hash(&task, ItemState::NeedsAction, 5, None);
        let mut later = task.clone();
        later.sequence = 3;
        later.updated_at = 99;
        assert_eq!(h, content_hash(&later, ItemState::NeedsAction, 5, None));
        later.title = "Thank Ines Lee".into();
        assert_ne!(h, content_hash(&later, ItemState::NeedsAction, 5, None));
        assert_ne!(h, content_hash(&task, ItemState::Completed, 5, None));
    }
}
