//! When digests are due: one slot a day at `digest.at` in `digest.timezone`. The slot
//! for a day is a fixed instant, so "has this slot been sent?" is a simple lookup, and
//! after downtime only the latest missed slot is sent (one catch-up, never a backlog).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant of the digest on local date `day`. On a DST gap (the time does not
/// exist that day) it is the first instant after the gap; on a repeated hour, the first
/// of the two.
pub fn slot_on(day: NaiveDate, at: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_time(at);
    // Gaps are at most a few hours; step forward until the wall clock exists again.
    for _ in 0..(24 * 4) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(15),
        }
    }
    // Unreachable with real zone data; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&day.and_time(at))
}

/// The latest slot at or before `now`.
pub fn latest_slot(now: DateTime<Utc>, at: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let slot = slot_on(today, at, tz);
    if slot <= now {
        slot
    } else {
        slot_on(today.pred_opt().unwrap_or(today), at, tz)
    }
}

/// The first slot after `now` (for status lines and sleeping until then).
pub fn next_slot(now: DateTime<Utc>, at: NaiveTime, tz: Tz) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let slot = slot_on(today, at, tz);
    if slot > now {
        slot
    } else {
        slot_on(today.succ_opt().unwrap_or(today), at, tz)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn spring_forward_gap_sends_after_the_gap() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 2026-03-08 02:30 does not exist in New York.
        let slot = slot_on(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(), t(2, 30), tz);
        assert_eq!(
            slot.with_timezone(&tz).format("%H:%M %Z").to_string(),
            "03:00 EDT"
        );
    }

    #[test]
    fn fall_back_repeated_hour_sends_once() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-10-25 02:30 happens twice in Berlin; the slot is the first.
        let slot = slot_on(NaiveDate::from_ymd_opt(2026, 10, 25).unwrap(), t(2, 30), tz);
        assert_eq!(
            slot.with_timezone(&tz).format("%H:%M %Z").to_string(),
            "02:30 CEST"
        );
        let later = slot + Duration::hours(1);
        assert_eq!(latest_slot(later, t(2, 30), tz), slot);
    }

    #[test]
    fn after_three_days_off_only_the_latest_slot_is_due() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        let now = tz
            .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        let slot = latest_slot(now, t(7, 30), tz);
        assert_eq!(
            slot.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            "2026-11-25 07:30"
        );
        let early = tz
            .with_ymd_and_hms(2026, 11, 25, 6, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            latest_slot(early, t(7, 30), tz)
                .with_timezone(&tz)
                .format("%d %H:%M")
                .to_string(),
            "24 07:30"
        );
        assert_eq!(
            next_slot(early, t(7, 30), tz)
                .with_timezone(&tz)
                .format("%d %H:%M")
                .to_string(),
            "25 07:30"
        );
    }
}
