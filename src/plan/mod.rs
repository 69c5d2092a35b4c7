//! Plan: turn a logged interaction into follow-up tasks. A pure function of the
//! interaction, the contact's name, the sequence table and the user's time zone; storing
//! the result (idempotently, by plan key) is the caller's job.
//!
//! Delays in whole days are added in the user's local calendar, so "call in 30 days"
//! lands at the same wall-clock time even when a DST change falls in between.

pub mod keep_in_touch;
pub mod sequence;

use chrono::{DateTime, Duration, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;

use crate::classify::bots::is_bot_account;
use crate::classify::{Kind, Trust};
use crate::config::duration::HumanDuration;
use crate::store::NewFollowup;
pub use sequence::{SequenceSpec, Step};

const fn step(name: &'static str, title: &'static str, delay: HumanDuration) -> Step<'static> {
    Step {
        name,
        title,
        note: None,
        delay,
    }
}

const REPLY: &[Step<'static>] = &[step("reply", "Reply to {name}", HumanDuration::hours(24))];
const ANSWER_REQUEST: &[Step<'static>] = &[step(
    "answer",
    "Answer {name}'s request",
    HumanDuration::hours(48),
)];
const NEW_CONNECTION: &[Step<'static>] = &[
    step("thank", "Thank {name}", HumanDuration::hours(48)),
    Step {
        note: Some("Before you call, note one thing you can offer them."),
        ..step("call", "Call {name}", HumanDuration::days(30))
    },
    step("meet", "Meet {name} face to face", HumanDuration::days(90)),
];
const MET: &[Step<'static>] = &[
    step(
        "connect",
        "Connect with {name} on LinkedIn",
        HumanDuration::hours(48),
    ),
    step("thank", "Send {name} a thank-you", HumanDuration::hours(48)),
    step("save_card", "Save {name}'s card", HumanDuration::hours(48)),
    Step {
        note: Some("Before you call, note one thing you can offer them."),
        ..step("call", "Call {name}", HumanDuration::days(30))
    },
    step("meet", "Meet {name} face to face", HumanDuration::days(90)),
];
const CONGRATULATE: &[Step<'static>] = &[step(
    "congratulate",
    "Congratulate {name}",
    HumanDuration::hours(48),
)];
const RESPOND: &[Step<'static>] = &[step(
    "respond",
    "Respond to {name}",
    HumanDuration::hours(24),
)];

/// The default sequence of DESIGN.md for a kind of interaction.
pub fn default_sequence(kind: Kind) -> &'static [Step<'static>] {
    match kind {
        Kind::Message => REPLY,
        Kind::ConnectionRequest => ANSWER_REQUEST,
        Kind::Connection => NEW_CONNECTION,
        Kind::Met => MET,
        Kind::Milestone => CONGRATULATE,
        Kind::Mention | Kind::Comment | Kind::Reply => RESPOND,
        _ => &[],
    }
}

/// What the planner needs to know about one logged interaction.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub interaction_id: i64,
    pub contact_id: i64,
    pub contact_name: &'a str,
    /// Platform id, for choosing a configured sequence.
    pub platform: &'a str,
    /// How the platform is called in titles ("LinkedIn"); `{platform}` in templates.
    pub platform_name: &'a str,
    pub kind: Kind,
    pub occurred_at: DateTime<Utc>,
    pub trust: Trust,
}

/// The tasks an interaction calls for: the user's `[[sequence]]` for its kind and
/// platform, else the built-in one. Unverified notifications plan nothing unless the
/// user allows it: a forged "LinkedIn" mail must not fill the to-do list.
/// A bot account (a contact an older version recorded for `Copilot`) gets no tasks.
pub fn plan_followups(
    input: &PlanInput<'_>,
    sequences: &[SequenceSpec],
    tz: Tz,
    allow_unverified: bool,
) -> Vec<NewFollowup> {
    let trusted = input.trust == Trust::Verified || allow_unverified;
    let manual = matches!(input.kind, Kind::Met);
    if (!trusted && !manual) || is_bot_account(input.contact_name) {
        return Vec::new();
    }
    let steps = sequence::configured(sequences, input.kind, input.platform)
        .unwrap_or_else(|| default_sequence(input.kind).to_vec());
    steps
        .iter()
        .map(|step| NewFollowup {
            contact_id: input.contact_id,
            interaction_id: Some(input.interaction_id),
            plan_key: format!("interaction:{}:{}", input.interaction_id, step.name),
            rule: format!("{}.{}", input.kind.as_str(), step.name),
            title: sequence::fill(step.title, input.contact_name, input.platform_name),
            note: step
                .note
                .map(|n| sequence::fill(n, input.contact_name, input.platform_name)),
            due_at: due_after(input.occurred_at, step.delay, tz).timestamp(),
        })
        .collect()
}

/// Who acted: the other person (a notification) or the user (a manual log entry, a
/// message in the Sent folder).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Incoming,
    Outgoing,
}

/// Which of a contact's earlier tasks (by step name) a new interaction shows were
/// done. Any real exchange restarts keep-in-touch, so it always closes a pending
/// "reconnect"; the rest follows what the user did:
///
/// | event | closes |
/// |---|---|
/// | you wrote (email, message, Sent folder) | reply, respond, thank |
/// | you called | call, reply, respond, thank |
/// | you met (`met`, `log --kind meeting`) | meet |
/// | they accepted / are now connected | answer |
pub fn closing_steps(kind: Kind, direction: Direction) -> &'static [&'static str] {
    match (direction, kind) {
        (_, k) if !k.is_social() => &[],
        (Direction::Outgoing, Kind::Email | Kind::Message | Kind::Reply | Kind::Comment) => {
            &["reply", "respond", "thank", "reconnect"]
        }
        // Calls and meetings are the user's own doing whichever way they were logged.
        (_, Kind::Call) => &["call", "reply", "respond", "thank", "reconnect"],
        (_, Kind::Met | Kind::Meeting) => &["meet", "reconnect"],
        (Direction::Incoming, Kind::Connection) => &["answer", "reconnect"],
        _ => &["reconnect"],
    }
}

/// `start + delay`, with whole days counted on the local calendar of `tz`.
pub fn due_after(start: DateTime<Utc>, delay: HumanDuration, tz: Tz) -> DateTime<Utc> {
    let local = start.with_timezone(&tz).naive_local();
    let shifted = local + Duration::days(delay.days);
    let by_days = match tz.from_local_datetime(&shifted) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        // A repeated hour: the earlier of the two instants.
        LocalResult::Ambiguous(early, _) => early.with_timezone(&Utc),
        // A skipped hour: keep the elapsed time instead.
        LocalResult::None => start + Duration::days(delay.days),
    };
    by_days + Duration::seconds(delay.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: Kind, trust: Trust) -> PlanInput<'static> {
        PlanInput {
            interaction_id: 7,
            contact_id: 3,
            contact_name: "Ann Lee",
            platform: "linkedin",
            platform_name: "LinkedIn",
            kind,
            occurred_at: Utc.with_ymd_and_hms(2026, 11, 17, 9, 0, 0).unwrap(),
            trust,
        }
    }

    #[test]
    fn new_connection_gets_thank_call_meet() {
        let plan = plan_followups(
            &input(Kind::Connection, Trust::Verified),
            &[],
            chrono_tz::UTC,
            false,
        );
        let got: Vec<(&str, i64)> = plan
            .iter()
            .map(|f| {
                (
                    f.title.as_str(),
                    f.due_at
                        - input(Kind::Connection, Trust::Verified)
                            .occurred_at
                            .timestamp(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("Thank Ann Lee", 48 * 3600),
                ("Call Ann Lee", 30 * 86400),
                ("Meet Ann Lee face to face", 90 * 86400)
            ]
        );
        assert_eq!(plan[0].plan_key, "interaction:7:thank");
    }

    #[test]
    fn unverified_plans_nothing_unless_allowed() {
        assert!(
            plan_followups(
                &input(Kind::Message, Trust::Unverified),
                &[],
                chrono_tz::UTC,
                false
            )
            .is_empty()
        );
        assert_eq!(
            plan_followups(
                &input(Kind::Message, Trust::Unverified),
                &[],
                chrono_tz::UTC,
                true
            )
            .len(),
            1
        );
        assert!(
            plan_followups(
                &input(Kind::Message, Trust::Failed),
                &[],
                chrono_tz::UTC,
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn noise_and_reactions_plan_nothing() {
        for kind in [
            Kind::Noise,
            Kind::Follow,
            Kind::Reaction,
            Kind::UnknownTemplate,
            Kind::None,
        ] {
            assert!(
                plan_followups(&input(kind, Trust::Verified), &[], chrono_tz::UTC, true).is_empty()
            );
        }
    }

    #[test]
    fn a_bot_contact_gets_no_tasks() {
        for bot in ["Copilot", "dependabot[bot]"] {
            let input = PlanInput {
                contact_name: bot,
                ..input(Kind::Mention, Trust::Verified)
            };
            assert!(plan_followups(&input, &[], chrono_tz::UTC, true).is_empty());
        }
    }

    #[test]
    fn days_keep_wall_clock_time_across_dst() {
        // 2026-10-20 09:00 in New York (EDT); 30 days later is after the November change.
        let tz: Tz = "America/New_York".parse().unwrap();
        let start = tz
            .with_ymd_and_hms(2026, 10, 20, 9, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let due = due_after(start, HumanDuration::days(30), tz).with_timezone(&tz);
        assert_eq!(due.format("%Y-%m-%d %H:%M").to_string(), "2026-11-19 09:00");
        // Hours stay elapsed hours.
        let due = due_after(start, HumanDuration::hours(48), tz);
        assert_eq!((due - start).num_hours(), 48);
    }
}
