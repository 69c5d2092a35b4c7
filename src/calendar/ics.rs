//! Calendar output (RFC 5545): follow-ups as events (for Google and friends) or to-dos
//! (for task apps), for the digest attachment, `nudged ics` and the subscription feed.
//! Written with the `icalendar` crate, which escapes text and folds lines by octets. UIDs
//! come from the task's plan key, so a re-sent or re-fetched calendar updates the same
//! items instead of adding copies.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use icalendar::{Alarm, Calendar, Component, EventLike, Todo, TodoStatus, Trigger};

use crate::config::CalendarStyle;
use crate::store::{FollowupRow, FollowupStatus, from_unix};

/// How long a timed event lasts in the calendar: long enough to be seen, short enough
/// not to block a day.
const TIMED_EVENT_LENGTH: Duration = Duration::minutes(30);

/// All-day items ring at this local hour; ringing at midnight helps nobody.
const ALL_DAY_ALARM_HOUR: i64 = 9;

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

/// Text from the outside world, made safe for a TEXT value. The crate escapes `\ , ; \n`
/// but passes a bare CR and other control characters through, which some parsers take as
/// a line break — the door for `\r\nEND:VEVENT` injection. RFC 5545 allows no control
/// characters in TEXT except HTAB, so line breaks become `\n` and the rest go.
pub fn clean_text(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .filter(|c| *c == '\n' || *c == '\t' || !c.is_control())
        .collect()
}

pub(crate) fn description(task: &FollowupRow) -> String {
    let mut text = String::new();
    if let Some(note) = &task.note {
        text.push_str(note);
        text.push('\n');
    }
    if let Some(link) = &task.link {
        // Tracking parameters off: a calendar keeps the text for months.
        text.push_str(&crate::classify::links::clean_link(link));
        text.push('\n');
    }
    text.push_str(&format!(
        "nudged task {} — `nudged done {}` when finished",
        task.id, task.id
    ));
    clean_text(&text)
}

/// Which DTSTAMP the items carry.
#[derive(Debug, Clone, Copy)]
pub enum Stamp {
    /// The time of writing: right for a one-off file such as a mail attachment.
    At(DateTime<Utc>),
    /// Each task's last change: a feed then reads the same until something changes,
    /// which keeps its ETag stable.
    LastChange,
}

/// Everything that shapes a calendar besides its tasks.
#[derive(Debug, Clone)]
pub struct CalendarOptions {
    pub style: CalendarStyle,
    /// Events at the due time (30 minutes long) instead of all-day on the due date.
    pub timed: bool,
    /// Remind this long before a timed item is due; all-day items ring at 09:00.
    pub alarm: Option<Duration>,
    pub stamp: Stamp,
    pub name: String,
    /// How often subscribers should fetch again (REFRESH-INTERVAL, X-PUBLISHED-TTL).
    pub refresh: Option<Duration>,
}

/// The calendar for `tasks`, in the given style. `now` is the DTSTAMP. Closed tasks are
/// left out.
pub fn write_calendar<'a>(
    tasks: impl IntoIterator<Item = &'a FollowupRow>,
    tz: Tz,
    now: DateTime<Utc>,
    style: CalendarStyle,
) -> String {
    let options = CalendarOptions {
        style,
        timed: false,
        alarm: None,
        stamp: Stamp::At(now),
        name: "nudged follow-ups".to_string(),
        refresh: None,
    };
    write_calendar_with(
        tasks.into_iter().filter(|t| t.status.is_pending()),
        tz,
        &options,
    )
}

/// The calendar for `tasks`. Pending tasks become events and/or to-dos; closed ones
/// become completed or cancelled to-dos (so task apps tick them off) and are left out
/// of the events (so they vanish from the calendar).
pub fn write_calendar_with<'a>(
    tasks: impl IntoIterator<Item = &'a FollowupRow>,
    tz: Tz,
    options: &CalendarOptions,
) -> String {
    let mut text = calendar_head(options);
    for task in tasks {
        text.push_str(&task_items(task, tz, options));
    }
    text.push_str(CALENDAR_TAIL);
    text
}

/// What closes a calendar written from [`calendar_head`] and [`task_items`].
pub const CALENDAR_TAIL: &str = "END:VCALENDAR\r\n";

/// A calendar's opening lines, up to its first item. With [`task_items`] and
/// [`CALENDAR_TAIL`] a writer can keep each task's text and re-render only what changed.
pub fn calendar_head(options: &CalendarOptions) -> String {
    let mut calendar = Calendar::new();
    calendar.name(&clean_text(&options.name));
    if let Some(refresh) = options.refresh {
        calendar.ttl(&refresh);
    }
    let empty = calendar.done().to_string();
    match empty.strip_suffix(CALENDAR_TAIL) {
        Some(head) => head.to_string(),
        None => empty,
    }
}

/// One task's items (an event, a to-do, both or none) as calendar text.
pub fn task_items(task: &FollowupRow, tz: Tz, options: &CalendarOptions) -> String {
    let events = matches!(options.style, CalendarStyle::Vevent | CalendarStyle::Both);
    let todos = matches!(options.style, CalendarStyle::Vtodo | CalendarStyle::Both);
    let mut text = String::new();
    // Writing into a String cannot fail; an error would only drop the item.
    if events && task.status.is_pending() {
        text.push_str(
            &event(task, tz, options)
                .try_into_string()
                .unwrap_or_default(),
        );
    }
    if todos {
        text.push_str(&todo(task, options).try_into_string().unwrap_or_default());
    }
    text
}

fn stamp(task: &FollowupRow, options: &CalendarOptions) -> DateTime<Utc> {
    match options.stamp {
        Stamp::At(at) => at,
        Stamp::LastChange => from_unix(task.updated_at),
    }
}

fn sequence(task: &FollowupRow) -> u32 {
    task.sequence.clamp(0, u32::MAX as i64) as u32
}

fn utc_text(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

fn event(task: &FollowupRow, tz: Tz, options: &CalendarOptions) -> icalendar::Event {
    let due = from_unix(task.due_at);
    let title = clean_text(&task.title);
    let mut event = icalendar::Event::new();
    event
        .uid(&task_uid(task))
        .summary(&title)
        .description(&description(task))
        .timestamp(stamp(task, options))
        .add_property("LAST-MODIFIED", utc_text(from_unix(task.updated_at)))
        .sequence(sequence(task));
    if options.timed {
        event.starts(due).ends(due + TIMED_EVENT_LENGTH);
    } else {
        // DTEND of a date is exclusive: the event covers exactly the due day.
        let day = due.with_timezone(&tz).date_naive();
        event.starts(day).ends(day.succ_opt().unwrap_or(day));
    }
    if let Some(before) = options.alarm {
        let trigger = if options.timed {
            Trigger::before_start(before)
        } else {
            Trigger::after_start(Duration::hours(ALL_DAY_ALARM_HOUR))
        };
        event.alarm(alarm(task, options, &title, trigger));
    }
    event.done()
}

/// The crate gives an alarm a random UID and a DTSTAMP of "now" unless told otherwise;
/// both would change a feed on every rendering and defeat its ETag.
fn alarm(task: &FollowupRow, options: &CalendarOptions, title: &str, trigger: Trigger) -> Alarm {
    let mut alarm = Alarm::display(title, trigger);
    alarm
        .add_property("UID", format!("alarm-{}", task_uid(task)))
        .timestamp(stamp(task, options));
    alarm.done()
}

fn todo(task: &FollowupRow, options: &CalendarOptions) -> Todo {
    let title = clean_text(&task.title);
    let mut todo = Todo::new();
    todo.uid(&format!("todo-{}", task_uid(task)))
        .summary(&title)
        .description(&description(task))
        .due(from_unix(task.due_at))
        .timestamp(stamp(task, options))
        .add_property("LAST-MODIFIED", utc_text(from_unix(task.updated_at)))
        .sequence(sequence(task));
    match task.status {
        FollowupStatus::Open | FollowupStatus::Snoozed => {
            todo.status(TodoStatus::NeedsAction);
            if let Some(before) = options.alarm {
                // A to-do has no start here, so the alarm hangs off its DUE (RELATED=END).
                todo.alarm(alarm(task, options, &title, Trigger::before_end(before)));
            }
        }
        FollowupStatus::Done => {
            todo.status(TodoStatus::Completed).percent_complete(100);
            if let Some(at) = task.resolved_at {
                todo.completed(from_unix(at));
            }
        }
        FollowupStatus::Skipped | FollowupStatus::Expired => {
            todo.status(TodoStatus::Cancelled);
        }
    }
    todo.done()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_renders_the_same_bytes_until_a_task_changes() {
        let mut store = crate::store::Store::in_memory().unwrap();
        let (contact, _) = store
            .resolve_contact(
                &crate::store::NewIdentity {
                    platform: "in_person".into(),
                    display_name: Some("Ann".into()),
                    handle: None,
                    profile_url: None,
                    email: None,
                },
                1,
            )
            .unwrap()
            .unwrap();
        let new = crate::store::NewFollowup {
            contact_id: contact,
            interaction_id: None,
            plan_key: "k".into(),
            rule: "r".into(),
            title: "Call Ann".into(),
            note: None,
            due_at: 1_900_000_000,
        };
        store.insert_followup(&new, 1).unwrap();
        let tasks = store.pending_followups(None).unwrap();
        let options = CalendarOptions {
            style: CalendarStyle::Both,
            timed: false,
            alarm: Some(Duration::minutes(15)),
            stamp: Stamp::LastChange,
            name: "n".into(),
            refresh: None,
        };
        let first = write_calendar_with(&tasks, chrono_tz::UTC, &options);
        let second = write_calendar_with(&tasks, chrono_tz::UTC, &options);
        assert_eq!(first, second);
        assert!(first.contains("UID:alarm-k@nudged"));
    }

    #[test]
    fn control_characters_cannot_break_a_line() {
        assert_eq!(
            clean_text("Eve\r\nEND:VEVENT\rBEGIN:VEVENT\u{0}\u{7f}\tx"),
            "Eve\nEND:VEVENT\nBEGIN:VEVENT\tx"
        );
    }
}
