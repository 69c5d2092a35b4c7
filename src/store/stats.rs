//! Raw per-platform figures for one time window; `crate::digest::stats` turns them into the
//! ROI report. Each query is a range scan on a covering index over time, so the cost
//! follows the window, not the size of the whole log. (`+f.status` keeps SQLite from
//! preferring the status index, which would walk every task ever closed.)

use std::collections::{BTreeMap, HashSet};

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
    /// Mail from the platform that no rule understood: a template change shows here.
    pub unknown_templates: i64,
    pub people: i64,
    pub tasks_done: i64,
    pub tasks_skipped: i64,
    pub tasks_expired: i64,
    /// Seconds from a message (request, mention…) to the task answering it being done.
    pub response_secs: Vec<i64>,
}

/// The windows' figures, filled in as rows stream by.
struct Windows {
    sinces: Vec<i64>,
    /// Per window: platform figures, and the people seen on each platform.
    figures: Vec<BTreeMap<String, (PlatformWindow, HashSet<i64>)>>,
}

impl Windows {
    /// Add to every window that starts at or before `at`.
    fn each(
        &mut self,
        at: i64,
        platform: &str,
        mut add: impl FnMut(&mut PlatformWindow, &mut HashSet<i64>),
    ) {
        for (since, map) in self.sinces.iter().zip(&mut self.figures) {
            if at < *since {
                continue;
            }
            // Look up by &str first: no allocation per row for a known platform.
            if !map.contains_key(platform) {
                map.insert(
                    platform.to_string(),
                    (
                        PlatformWindow {
                            platform: platform.to_string(),
                            ..PlatformWindow::default()
                        },
                        HashSet::new(),
                    ),
                );
            }
            if let Some((window, people)) = map.get_mut(platform) {
                add(window, people);
            }
        }
    }
}

impl super::Store {
    /// Per-platform figures for each window `[since, until)`: interactions that
    /// occurred in it, and tasks closed in it. One pass over the widest window feeds
    /// them all. Each window's platforms are sorted by name.
    pub fn platform_windows(&self, sinces: &[i64], until: i64) -> Result<Vec<Vec<PlatformWindow>>> {
        let conn = self.read();
        let widest = sinces.iter().copied().min().unwrap_or(until);
        let mut windows = Windows {
            sinces: sinces.to_vec(),
            figures: vec![BTreeMap::new(); sinces.len()],
        };
        let mut stmt = conn.prepare_cached(
            "SELECT occurred_at, platform, kind = 'noise', kind = 'unknown_template', contact_id
             FROM interaction WHERE occurred_at >= ?1 AND occurred_at < ?2",
        )?;
        let mut rows = stmt.query([widest, until])?;
        while let Some(row) = rows.next()? {
            let at: i64 = row.get(0)?;
            let noise: bool = row.get(2)?;
            let unknown: bool = row.get(3)?;
            let contact: Option<i64> = row.get(4)?;
            let platform = row.get_ref(1)?.as_str().unwrap_or("?");
            windows.each(at, platform, |w, people| {
                if noise {
                    w.noise += 1;
                } else if unknown {
                    w.unknown_templates += 1;
                } else {
                    w.interactions += 1;
                }
                if let Some(contact) = contact {
                    people.insert(contact);
                }
            });
        }
        let mut stmt = conn.prepare_cached(
            "SELECT f.resolved_at, CASE WHEN f.rule LIKE 'keep\\_in\\_touch.%' ESCAPE '\\' OR i.platform IS NULL
                         THEN ?3 ELSE i.platform END,
                    f.status,
                    CASE WHEN +f.status = 'done'
                          AND substr(f.rule, instr(f.rule, '.') + 1) IN ('reply', 'respond', 'answer')
                         THEN MAX(f.resolved_at - i.occurred_at, 0) END
             FROM followup f LEFT JOIN interaction i ON i.id = f.interaction_id
             WHERE f.resolved_at >= ?1 AND f.resolved_at < ?2
               AND +f.status IN ('done', 'skipped', 'expired')",
        )?;
        let mut rows = stmt.query(rusqlite::params![widest, until, KEEP_IN_TOUCH])?;
        while let Some(row) = rows.next()? {
            let at: i64 = row.get(0)?;
            let response: Option<i64> = row.get(3)?;
            let status = row.get_ref(2)?.as_str().unwrap_or_default().to_string();
            let platform = row.get_ref(1)?.as_str().unwrap_or("?");
            windows.each(at, platform, |w, _| {
                match status.as_str() {
                    "done" => w.tasks_done += 1,
                    "skipped" => w.tasks_skipped += 1,
                    _ => w.tasks_expired += 1,
                }
                w.response_secs.extend(response);
            });
        }
        Ok(windows
            .figures
            .into_iter()
            .map(|map| {
                map.into_values()
                    .map(|(mut window, people)| {
                        window.people = people.len() as i64;
                        window
                    })
                    .collect()
            })
            .collect())
    }
}
