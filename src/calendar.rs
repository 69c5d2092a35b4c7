//! Calendar output (RFC 5545): follow-ups as all-day events (for Google and friends) or
//! to-dos (for task apps). Written with the `icalendar` crate, which escapes text and
//! folds lines by octets. UIDs come from the task's plan key, so a re-sent or re-fetched
//! calendar updates the same items instead of adding copies.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use icalendar::{Calendar, Component, EventLike, Todo};

use crate::config::CalendarStyle;
use crate::store::{FollowupRow, from_unix};

/// A stable, globally unique id for a task.
pub fn task_uid(task: &FollowupRow) -> String {
    let key: String = task
        .plan_key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{key}@nudged")
}

fn description(task: &FollowupRow) -> String {
    let mut text = String::new();
    if let Some(note) = &task.note {
        text.push_str(note);
        text.push('\n');
    }
    if let Some(link) = &task.link {
        text.push_str(link);
        text.push('\n');
    }
    text.push_str(&format!(
        "nudged task {} — `nudged done {}` when finished",
        task.id, task.id
    ));
    text
}

/// The calendar for `tasks`, in the given style. `now` is the DTSTAMP.
pub fn write_calendar<'a>(
    tasks: impl IntoIterator<Item = &'a FollowupRow>,
    tz: Tz,
    now: DateTime<Utc>,
    style: CalendarStyle,
) -> String {
    let mut calendar = Calendar::new();
    calendar.name("nudged follow-ups");
    for task in tasks {
        let due = from_unix(task.due_at);
        let day = due.with_timezone(&tz).date_naive();
        if matches!(style, CalendarStyle::Vevent | CalendarStyle::Both) {
            calendar.push(
                icalendar::Event::new()
                    .uid(&task_uid(task))
                    .summary(&task.title)
                    .description(&description(task))
                    .all_day(day)
                    .timestamp(now)
                    .sequence(task.sequence.clamp(0, u32::MAX as i64) as u32)
                    .done(),
            );
        }
        if matches!(style, CalendarStyle::Vtodo | CalendarStyle::Both) {
            calendar.push(
                Todo::new()
                    .uid(&format!("todo-{}", task_uid(task)))
                    .summary(&task.title)
                    .description(&description(task))
                    .due(due)
                    .timestamp(now)
                    .sequence(task.sequence.clamp(0, u32::MAX as i64) as u32)
                    .done(),
            );
        }
    }
    calendar.done().to_string()
}
