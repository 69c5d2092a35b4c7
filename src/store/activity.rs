//! Per-platform activity for the digest's ROI and "gone silent" blocks, read so that a
//! year of 200,000 interactions costs a few milliseconds (benches/digest.rs): the
//! window's rows come from a covering index and are counted here, each platform's latest
//! sign of life is one index probe, and closed tasks carry their platform.

use anyhow::Result;
use rusqlite::params;
use serde::Serialize;

use super::digest_queries::NOT_SOCIAL;

/// One platform's figures over a window (the ROI block) and its latest sign of life.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlatformActivity {
    pub platform: String,
    /// Social interactions (noise left out) in the window.
    pub interactions: i64,
    /// Distinct people behind them.
    pub people: i64,
    /// Tasks from this platform closed as done / left to expire in the window.
    pub tasks_done: i64,
    pub tasks_expired: i64,
    /// Latest social interaction within the look-back, if any.
    pub last_at: Option<i64>,
}

/// The row for `platform` in `rows` (sorted by platform), added when missing.
fn entry<'a>(rows: &'a mut Vec<PlatformActivity>, platform: &str) -> &'a mut PlatformActivity {
    let at = match rows.binary_search_by(|p| p.platform.as_str().cmp(platform)) {
        Ok(at) => at,
        Err(at) => {
            rows.insert(
                at,
                PlatformActivity {
                    platform: platform.to_string(),
                    ..PlatformActivity::default()
                },
            );
            at
        }
    };
    &mut rows[at]
}

impl super::Store {
    /// Per platform: interactions, people and closed tasks since `window_start`, and the
    /// latest interaction since `lookback_start`, so platforms that went quiet inside
    /// the look-back still show up. Sorted by platform.
    pub fn platform_activity(
        &self,
        window_start: i64,
        lookback_start: i64,
    ) -> Result<Vec<PlatformActivity>> {
        let conn = self.read();
        let mut rows: Vec<PlatformActivity> = Vec::new();
        // Counted here rather than by GROUP BY / COUNT(DISTINCT), whose temporary
        // B-trees cost ten times the scan. The planner's own choice was a skip-scan of
        // (platform, occurred_at) that reads every table row; the covering index reads none.
        let mut people: Vec<(String, std::collections::HashSet<i64>)> = Vec::new();
        let mut window = conn.prepare_cached(&format!(
            "SELECT platform, contact_id, occurred_at FROM interaction INDEXED BY interaction_occurred
             WHERE occurred_at >= ?1 AND kind NOT IN {NOT_SOCIAL}"
        ))?;
        let mut scan = window.query([window_start])?;
        while let Some(r) = scan.next()? {
            let platform = r.get_ref(0)?.as_str()?;
            let contact: Option<i64> = r.get(1)?;
            let occurred: i64 = r.get(2)?;
            let row = entry(&mut rows, platform);
            row.interactions += 1;
            row.last_at = Some(row.last_at.map_or(occurred, |l| l.max(occurred)));
            let at = match people.iter().position(|(p, _)| p == platform) {
                Some(at) => at,
                None => {
                    people.push((platform.to_string(), Default::default()));
                    people.len() - 1
                }
            };
            let seen = &mut people[at].1;
            if let Some(contact) = contact {
                seen.insert(contact);
            }
        }
        for (platform, seen) in &people {
            entry(&mut rows, platform).people = seen.len() as i64;
        }
        // Every platform ever seen (a skip over the index, one probe each), then each
        // one's latest social interaction before the window, newest first from the index.
        let mut earlier = conn.prepare_cached(&format!(
            "WITH RECURSIVE p(name) AS (
                 SELECT MIN(platform) FROM interaction
                 UNION ALL
                 SELECT (SELECT MIN(platform) FROM interaction WHERE platform > p.name)
                 FROM p WHERE p.name IS NOT NULL)
             SELECT name, (SELECT occurred_at FROM interaction
                           WHERE platform = p.name AND occurred_at >= ?1 AND occurred_at < ?2
                             AND kind NOT IN {NOT_SOCIAL}
                           ORDER BY occurred_at DESC LIMIT 1)
             FROM p WHERE name IS NOT NULL"
        ))?;
        let quiet = earlier.query_map(params![lookback_start, window_start], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
        for row in quiet {
            let (platform, last_at) = row?;
            if last_at.is_some()
                && rows
                    .binary_search_by(|p| p.platform.as_str().cmp(&platform))
                    .is_err()
            {
                entry(&mut rows, &platform).last_at = last_at;
            }
        }
        let mut tasks = conn.prepare_cached(
            "SELECT platform, SUM(status = 'done'), SUM(status = 'expired')
             FROM followup INDEXED BY followup_resolved_platform
             WHERE resolved_at >= ?1 AND status IN ('done', 'expired') AND platform IS NOT NULL
             GROUP BY platform",
        )?;
        let closed = tasks.query_map([window_start], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in closed {
            let (platform, done, expired) = row?;
            let row = entry(&mut rows, &platform);
            row.tasks_done = done;
            row.tasks_expired = expired;
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn counts_people_closed_tasks_and_quiet_platforms() {
        let mut store = Store::in_memory().unwrap();
        store
            .write(|tx| {
                tx.execute_batch(
                    "INSERT INTO contact (id, display_name, created_at) VALUES (1, 'A', 0), (2, 'B', 0);
                     INSERT INTO interaction (id, contact_id, platform, kind, occurred_at, logged_at) VALUES
                       (1, 1, 'github', 'mention', 1000, 0),
                       (2, 1, 'github', 'comment', 1100, 0),
                       (3, 2, 'github', 'mention', 1200, 0),
                       (4, 2, 'github', 'noise', 1300, 0),
                       (5, 1, 'linkedin', 'message', 500, 0),
                       (6, 2, 'linkedin', 'noise', 950, 0),
                       (7, 1, 'x', 'noise', 1200, 0);
                     INSERT INTO followup (contact_id, interaction_id, plan_key, rule, title, due_at,
                                           status, resolved_at, created_at, updated_at, platform) VALUES
                       (1, 5, 'a', 'message.reply', 't', 0, 'done', 1050, 0, 0, 'linkedin'),
                       (1, 5, 'b', 'message.reply', 't', 0, 'expired', 1060, 0, 0, 'linkedin'),
                       (1, 1, 'c', 'mention.respond', 't', 0, 'done', 900, 0, 0, 'github');",
                )?;
                Ok(())
            })
            .unwrap();
        let rows = store.platform_activity(1000, 100).unwrap();
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.platform.as_str(),
                    r.interactions,
                    r.people,
                    r.tasks_done,
                    r.tasks_expired,
                    r.last_at,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("github", 3, 2, 0, 0, Some(1200)),
                // Silent in the window, active in the look-back; its tasks closed inside.
                ("linkedin", 0, 0, 1, 1, Some(500)),
            ]
        );
    }
}
