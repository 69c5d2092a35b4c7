//! The words around a task the digest shows: what they wrote, why nudged asks now ("connected
//! 2 days ago — thank them within 48 h"), when and how you were last in touch, how you met.
//! Pure: rows in, one-line strings out; the renderers only lay them out.

use chrono::{DateTime, Utc};

use super::line::clean;
use crate::store::{FollowupRow, TaskContext, Touch};

/// What they wrote: at most this many characters of the notification's snippet or subject.
pub const WROTE_CHARS: usize = 160;

/// "today", "yesterday", "5 days ago", "3 weeks ago", "4 months ago".
pub fn ago(at: i64, now: DateTime<Utc>) -> String {
    let days = (now.timestamp() - at).div_euclid(86_400);
    match days {
        i64::MIN..=0 => "today".into(),
        1 => "yesterday".into(),
        2..=13 => format!("{days} days ago"),
        14..=59 => format!("{} weeks ago", days / 7),
        60..=729 => format!("{} months ago", days / 30),
        _ => format!("{} years ago", days / 365),
    }
}

/// A delay as people say it: "24 h", "48 h", "30 days".
pub fn span(seconds: i64) -> String {
    let hours = (seconds + 1_800).div_euclid(3_600).max(1);
    if hours <= 72 {
        format!("{hours} h")
    } else {
        format!("{} days", (hours + 12) / 24)
    }
}

fn kind_words(kind: &str) -> &'static str {
    match kind {
        "message" | "email" => "message",
        "connection_request" => "request to connect",
        "connection" => "new connection",
        "met" => "meeting in person",
        "meeting" => "meeting",
        "call" => "call",
        "milestone" => "milestone",
        "mention" => "mention",
        "comment" => "comment",
        "reply" => "reply",
        "follow" => "follow",
        "reaction" => "reaction",
        _ => "note",
    }
}

/// What they did, in the past tense.
fn cause_words(kind: &str) -> &'static str {
    match kind {
        "message" | "email" => "wrote to you",
        "connection_request" => "asked to connect",
        "connection" => "connected",
        "met" | "meeting" => "you met",
        "call" => "you spoke",
        "milestone" => "shared news",
        "mention" => "mentioned you",
        "comment" => "commented",
        "reply" => "replied",
        _ => "were in touch",
    }
}

/// What the step asks of you.
fn step_words(step: &str) -> &'static str {
    match step {
        "reply" => "reply",
        "answer" => "answer",
        "thank" => "thank them",
        "call" => "call them",
        "meet" => "meet face to face",
        "connect" => "connect",
        "congratulate" => "congratulate them",
        "respond" => "respond",
        "save" => "save their card",
        _ => "follow up",
    }
}

/// The rule behind the nudge.
pub fn why(task: &FollowupRow, context: &TaskContext, now: DateTime<Utc>) -> String {
    let (kind, step) = task
        .rule
        .split_once('.')
        .unwrap_or((task.rule.as_str(), ""));
    let Some(cause) = &context.cause else {
        return format!(
            "planned {} — due {}",
            ago(task.created_at, now),
            due_words(task, now)
        );
    };
    let delay = span(task.due_at - cause.occurred_at);
    if kind == "keep_in_touch" {
        return format!(
            "last in touch {} — you keep in touch every {delay}",
            ago(cause.occurred_at, now)
        );
    }
    format!(
        "{} {} — {} within {delay}",
        cause_words(kind),
        ago(cause.occurred_at, now),
        step_words(step)
    )
}

fn due_words(task: &FollowupRow, now: DateTime<Utc>) -> String {
    if task.due_at <= now.timestamp() {
        ago(task.due_at, now)
    } else {
        "soon".into()
    }
}

/// What they wrote, if the notification said.
pub fn wrote(context: &TaskContext) -> Option<String> {
    // A meeting's text is your own note; the "how you met" part shows it.
    let cause = context.cause.as_ref().filter(|c| c.kind != "met")?;
    let text = if cause.snippet.trim().is_empty() {
        &cause.subject
    } else {
        &cause.snippet
    };
    let text = clean(text, WROTE_CHARS);
    (!text.is_empty()).then_some(text)
}

fn touch_words(touch: &Touch, now: DateTime<Utc>) -> String {
    format!(
        "{} ({} {})",
        ago(touch.occurred_at, now),
        clean(&touch.platform, 40).replace('_', " "),
        kind_words(&touch.kind)
    )
}

/// When and how you were last in touch, apart from the task's own cause.
pub fn last_touch(context: &TaskContext, now: DateTime<Utc>) -> String {
    match &context.last_touch {
        Some(touch) => format!("last in touch {}", touch_words(touch, now)),
        None => "nothing else logged with them yet".into(),
    }
}

/// How you met: the place of the latest `met` entry and its note, else the contact's note.
pub fn met(context: &TaskContext) -> Option<String> {
    let place = context.met.as_ref().map(|m| {
        let mut text = match m.subject.split_once(" at ") {
            Some((_, place)) => format!("met at {}", clean(place, 80)),
            None => "met in person".to_string(),
        };
        if !m.snippet.trim().is_empty() {
            text.push_str(&format!(" — {}", clean(&m.snippet, 120)));
        }
        text
    });
    place.or_else(|| {
        context
            .contact_note
            .as_deref()
            .map(|n| format!("note: {}", clean(n, 120)))
    })
}

/// The whole context line: why, last touch, how you met, joined for one line of text.
pub fn line(task: &FollowupRow, context: &TaskContext, now: DateTime<Utc>) -> String {
    let mut parts = vec![why(task, context, now), last_touch(context, now)];
    parts.extend(met(context));
    parts.join(" · ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::FollowupStatus;

    /// A hand-made open task of `rule`, due at `due_at` (shared with the ranking tests).
    pub(crate) fn row(rule: &str, due_at: i64) -> FollowupRow {
        FollowupRow {
            id: 1,
            contact_id: 1,
            contact_name: "Ann Lee".into(),
            interaction_id: Some(1),
            platform: Some("linkedin".into()),
            link: None,
            plan_key: "k".into(),
            rule: rule.into(),
            title: "Thank Ann Lee".into(),
            note: None,
            due_at,
            status: FollowupStatus::Open,
            resolved_at: None,
            sequence: 0,
            created_at: due_at,
            updated_at: due_at,
            closed_by: None,
        }
    }

    const NOW: i64 = 1_795_000_000;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(NOW, 0).unwrap()
    }

    fn task(rule: &str, due_in: i64, cause_at: i64) -> (FollowupRow, TaskContext) {
        let mut task = row(rule, cause_at + due_in);
        task.created_at = cause_at;
        let context = TaskContext {
            cause: Some(Touch {
                occurred_at: cause_at,
                platform: "linkedin".into(),
                kind: rule.split('.').next().unwrap().into(),
                subject: "Ann Lee accepted your invitation".into(),
                snippet: String::new(),
            }),
            ..TaskContext::default()
        };
        (task, context)
    }

    #[test]
    fn the_rule_behind_the_nudge() {
        let (t, c) = task("connection.thank", 48 * 3600, NOW - 2 * 86_400);
        assert_eq!(
            why(&t, &c, now()),
            "connected 2 days ago — thank them within 48 h"
        );
        let (t, c) = task("connection.call", 30 * 86_400, NOW - 31 * 86_400);
        assert_eq!(
            why(&t, &c, now()),
            "connected 4 weeks ago — call them within 30 days"
        );
        let (t, c) = task("keep_in_touch.reconnect", 90 * 86_400, NOW - 91 * 86_400);
        assert_eq!(
            why(&t, &c, now()),
            "last in touch 3 months ago — you keep in touch every 90 days"
        );
        let (t, c) = task("message.reply", 24 * 3600, NOW - 3600);
        assert_eq!(why(&t, &c, now()), "wrote to you today — reply within 24 h");
    }

    #[test]
    fn what_they_wrote_last_touch_and_how_you_met() {
        let (_, mut c) = task("message.reply", 86_400, NOW);
        assert_eq!(
            wrote(&c).as_deref(),
            Some("Ann Lee accepted your invitation")
        );
        c.cause.as_mut().unwrap().snippet = "Hi Sam,\r\nlong ".repeat(40);
        let text = wrote(&c).unwrap();
        assert_eq!(text.chars().count(), WROTE_CHARS + 1, "{text}");
        assert!(!text.contains('\n'));
        assert_eq!(last_touch(&c, now()), "nothing else logged with them yet");
        c.last_touch = Some(Touch {
            occurred_at: NOW - 10 * 86_400,
            platform: "in_person".into(),
            kind: "call".into(),
            ..Touch::default()
        });
        assert_eq!(
            last_touch(&c, now()),
            "last in touch 10 days ago (in person call)"
        );
        assert_eq!(met(&c), None);
        c.contact_note = Some("runs the chamber".into());
        assert_eq!(met(&c).as_deref(), Some("note: runs the chamber"));
        c.met = Some(Touch {
            subject: "Met Ann Lee at the spring fair".into(),
            snippet: "wants an intro to Bo".into(),
            ..Touch::default()
        });
        assert_eq!(
            met(&c).as_deref(),
            Some("met at the spring fair — wants an intro to Bo")
        );
    }
}
