//! Raw per-platform figures for one time window; `crate::stats` turns them into the
//! ROI report. Each query is a range scan on an index over time, so the cost follows
//! the window, not the size of the whole log.

use std::collections::BTreeMap;

use anyhow::Result;

/// Keep-in-touch reminders belong to no platform; their tasks are counted under this.
pub const KEEP_IN_TOUCH: &str = "keep_in_touch";

/// What one platform produced and what came of it in a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlatformWindow {
    pub platform: String,
    /// Interactions with people (noise and unknown templates not included).
    pub interactions: i64,
    pub noise: i64,
    pub people: i64,
    pub tasks_done: i64,
    pub tasks_skipped: i64,
    pub tasks_expired: i64,
    /// Seconds from a message (request, mention…) to the task answering it being done.
    pub response_secs: Vec<i64>,
}

fn slot(map: &mut BTreeMap<String, PlatformWindow>, platform: String) -> &mut PlatformWindow {
    map.entry(platform.clone())
        .or_insert_with(|| PlatformWindow {
            platform,
            ..PlatformWindow::default()
        })
}

impl super::Store {
    /// Per-platform figures for interactions that occurred, and tasks that were
    /// closed, in `[since, until)`. Sorted by platform.
    pub fn platform_window(&self, since: i64, until: i64) -> Result<Vec<PlatformWindow>> {
        let conn = self.read();
        let mut map = BTreeMap::<String, PlatformWindow>::new();
        let mut stmt = conn.prepare_cached(
            "SELECT platform,
                    SUM(kind NOT IN ('noise', 'unknown_template')),
                    SUM(kind IN ('noise', 'unknown_template')),
                    COUNT(DISTINCT contact_id)
             FROM interaction
             WHERE occurred_at >= ?1 AND occurred_at < ?2
             GROUP BY platform",
        )?;
        let mut rows = stmt.query([since, until])?;
        while let Some(row) = rows.next()? {
            let window = slot(&mut map, row.get(0)?);
            window.interactions = row.get(1)?;
            window.noise = row.get(2)?;
            window.people = row.get(3)?;
        }
        let mut stmt = conn.prepare_cached(
            "SELECT CASE WHEN f.rule LIKE 'keep\\_in\\_touch.%' ESCAPE '\\' OR i.platform IS NULL
                         THEN ?3 ELSE i.platform END,
                    f.status, COUNT(*)
             FROM followup f LEFT JOIN interaction i ON i.id = f.interaction_id
             WHERE f.resolved_at >= ?1 AND f.resolved_at < ?2
               AND f.status IN ('done', 'skipped', 'expired')
             GROUP BY 1, 2",
        )?;
        let mut rows = stmt.query(rusqlite::params![since, until, KEEP_IN_TOUCH])?;
        while let Some(row) = rows.next()? {
            let window = slot(&mut map, row.get(0)?);
            let count: i64 = row.get(2)?;
            match row.get::<_, String>(1)?.as_str() {
                "done" => window.tasks_done = count,
                "skipped" => window.tasks_skipped = count,
                _ => window.tasks_expired = count,
            }
        }
        let mut stmt = conn.prepare_cached(
            "SELECT i.platform, MAX(f.resolved_at - i.occurred_at, 0)
             FROM followup f JOIN interaction i ON i.id = f.interaction_id
             WHERE f.resolved_at >= ?1 AND f.resolved_at < ?2 AND f.status = 'done'
               AND substr(f.rule, instr(f.rule, '.') + 1) IN ('reply', 'respond', 'answer')",
        )?;
        let mut rows = stmt.query([since, until])?;
        while let Some(row) = rows.next()? {
            slot(&mut map, row.get(0)?).response_secs.push(row.get(1)?);
        }
        Ok(map.into_values().collect())
    }
}
