//! Which follow-ups a digest shows in full: a pure ranking of light task rows by what
//! matters to a relationship — someone waiting on an answer, then a new connection's
//! steps, then mentions and comments, then reconnects — and counts for everything else.

use std::collections::BTreeMap;

use crate::store::FollowupRow;

/// A task's group, in the order the digest serves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// A message or a request: a person waits for an answer.
    Direct,
    /// The steps after connecting or meeting: thank, call, meet.
    Sequence,
    /// Mentions, comments, replies, milestones to congratulate.
    Engagement,
    /// Keep-in-touch cadences that lapsed.
    Reconnect,
}

impl Group {
    pub const ALL: [Group; 4] = [
        Group::Direct,
        Group::Sequence,
        Group::Engagement,
        Group::Reconnect,
    ];

    /// The group of a task's rule (`kind.step`, e.g. `connection.thank`).
    pub fn of_rule(rule: &str) -> Group {
        match rule.split('.').next().unwrap_or_default() {
            "message" | "connection_request" => Group::Direct,
            "connection" | "met" => Group::Sequence,
            "keep_in_touch" => Group::Reconnect,
            _ => Group::Engagement,
        }
    }

    /// How the count of the rest names the group.
    pub fn plural(self) -> &'static str {
        match self {
            Group::Direct => "messages and requests",
            Group::Sequence => "new-connection steps",
            Group::Engagement => "mentions and comments",
            Group::Reconnect => "reconnects",
        }
    }
}

/// What ranking needs to know of a task (no text: the digest reads that only for the
/// few it shows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub rule: String,
    pub due_at: i64,
    /// The keep-in-touch cadence of the person's tier, in days: a shorter one is a
    /// closer relationship, served first.
    pub cadence_days: i64,
    pub platform: Option<String>,
}

/// When a ranking happens: items due after `today_ends` wait behind everything due, and
/// items due before `stale_before` (a month overdue) behind the rest of their group,
/// since the "skip everything older" offer speaks for them.
#[derive(Debug, Clone, Copy)]
pub struct RankClock {
    pub today_ends: i64,
    pub stale_before: i64,
}

/// The tasks shown in full, best first, and counts of the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranking {
    pub shown: Vec<Candidate>,
    pub rest: RestCounts,
}

/// The tasks not shown, by group and by platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestCounts {
    pub total: usize,
    pub by_group: BTreeMap<Group, usize>,
    pub by_platform: BTreeMap<String, usize>,
}

fn sort_key(c: &Candidate, clock: RankClock) -> (bool, Group, bool, i64, i64, i64) {
    (
        c.due_at >= clock.today_ends,
        Group::of_rule(&c.rule),
        c.due_at < clock.stale_before,
        c.cadence_days,
        c.due_at,
        c.id,
    )
}

/// Rank `candidates` and keep the best `max` in full; the counts of the rest add up to
/// what `nudged followups` lists.
pub fn rank(mut candidates: Vec<Candidate>, clock: RankClock, max: usize) -> Ranking {
    let max = max.min(candidates.len());
    if max > 0 {
        // Only the best `max` need an order; the rest only need counting.
        candidates.select_nth_unstable_by_key(max - 1, |c| sort_key(c, clock));
        candidates[..max].sort_unstable_by_key(|c| sort_key(c, clock));
    }
    let rest_rows = candidates.split_off(max);
    let mut rest = RestCounts {
        total: rest_rows.len(),
        ..RestCounts::default()
    };
    for row in &rest_rows {
        *rest.by_group.entry(Group::of_rule(&row.rule)).or_default() += 1;
        let platform = row.platform.as_deref().unwrap_or("in person");
        *rest.by_platform.entry(platform.to_string()).or_default() += 1;
    }
    Ranking {
        shown: candidates,
        rest,
    }
}

/// The feed's share of `tasks`: pending ones first, most important first (group, then
/// the least overdue — a feed is for what comes next), then closed ones; at most `max`.
pub fn feed_order(mut tasks: Vec<FollowupRow>, now: i64, max: usize) -> Vec<FollowupRow> {
    tasks.sort_by_key(|t| {
        (
            !t.status.is_pending(),
            Group::of_rule(&t.rule),
            (t.due_at - now).abs(),
            t.id,
        )
    });
    tasks.truncate(max);
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;
    const NOW: i64 = 100 * DAY;
    const CLOCK: RankClock = RankClock {
        today_ends: NOW + DAY / 2,
        stale_before: NOW - 30 * DAY,
    };

    fn task(id: i64, rule: &str, due_days: i64, cadence_days: i64) -> Candidate {
        Candidate {
            id,
            rule: rule.into(),
            due_at: NOW + due_days * DAY,
            cadence_days,
            platform: Some(if id % 2 == 0 { "linkedin" } else { "github" }.into()),
        }
    }

    fn ids(ranking: &Ranking) -> Vec<i64> {
        ranking.shown.iter().map(|c| c.id).collect()
    }

    #[test]
    fn groups_come_in_relationship_order() {
        let rows = vec![
            task(1, "keep_in_touch.reconnect", -5, 90),
            task(2, "mention.respond", -5, 90),
            task(3, "connection.thank", -1, 90),
            task(4, "message.reply", 0, 90),
            task(5, "connection_request.answer", -2, 90),
            task(6, "milestone.congratulate", -3, 90),
            task(7, "met.call", -4, 90),
        ];
        assert_eq!(ids(&rank(rows, CLOCK, 10)), [5, 4, 7, 3, 2, 6, 1]);
    }

    #[test]
    fn within_a_group_closer_tiers_then_the_most_overdue() {
        let rows = vec![
            task(1, "message.reply", -1, 90),
            task(2, "message.reply", -6, 90),
            task(3, "message.reply", -2, 30),
            task(4, "message.reply", -40, 30),
        ];
        // Task 4 is a month overdue: it waits behind the fresh ones of its group.
        assert_eq!(ids(&rank(rows, CLOCK, 10)), [3, 2, 1, 4]);
    }

    #[test]
    fn what_is_due_today_beats_what_comes_later_in_the_week() {
        let rows = vec![
            task(1, "message.reply", 3, 30),
            task(2, "keep_in_touch.reconnect", 0, 90),
        ];
        assert_eq!(ids(&rank(rows, CLOCK, 10)), [2, 1]);
    }

    #[test]
    fn the_rest_is_counted_by_group_and_platform() {
        let mut rows: Vec<Candidate> = (0..30)
            .map(|n| task(n, "connection.call", -(n % 7), 90))
            .collect();
        rows.push(task(100, "message.reply", -1, 90));
        rows.push(task(101, "keep_in_touch.reconnect", -1, 90));
        let ranking = rank(rows, CLOCK, 12);
        assert_eq!(ranking.shown.len(), 12);
        assert_eq!(ranking.shown[0].id, 100);
        assert_eq!(ranking.rest.total, 20);
        assert_eq!(ranking.rest.by_group.get(&Group::Reconnect), Some(&1));
        assert_eq!(ranking.rest.by_group.get(&Group::Sequence), Some(&19));
        assert_eq!(ranking.rest.by_group.values().sum::<usize>(), 20);
        assert_eq!(ranking.rest.by_platform.values().sum::<usize>(), 20);
        // The shown ones are the most overdue call steps.
        assert!(ranking.shown[1..].iter().all(|c| c.due_at <= NOW - 4 * DAY));
    }

    #[test]
    fn the_feed_keeps_the_most_important_and_closed_ones_last() {
        let row = |id: i64, rule: &str, due_days: i64, open: bool| {
            let mut t = crate::digest::context::tests::row(rule, NOW + due_days * DAY);
            t.id = id;
            if !open {
                t.status = crate::store::FollowupStatus::Done;
            }
            t
        };
        let tasks = vec![
            row(1, "keep_in_touch.reconnect", 1, true),
            row(2, "message.reply", 20, true),
            row(3, "message.reply", -1, true),
            row(4, "connection.call", 2, false),
            row(5, "connection.call", 2, true),
        ];
        let ids: Vec<i64> = feed_order(tasks.clone(), NOW, 10)
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, [3, 2, 5, 1, 4]);
        let ids: Vec<i64> = feed_order(tasks, NOW, 2).iter().map(|t| t.id).collect();
        assert_eq!(ids, [3, 2]);
    }

    #[test]
    fn fewer_rows_than_room_and_none() {
        assert_eq!(
            rank(vec![task(1, "message.reply", 0, 90)], CLOCK, 12)
                .shown
                .len(),
            1
        );
        assert_eq!(rank(Vec::new(), CLOCK, 12), Ranking::default());
        let zero = rank(vec![task(1, "message.reply", 0, 90)], CLOCK, 0);
        assert!(zero.shown.is_empty());
        assert_eq!(zero.rest.total, 1);
    }
}
