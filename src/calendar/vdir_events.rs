//! Open tasks as events in a vdir of their own, for calendar apps that show events only
//! (khal): one `.ics` per pending task at its due time, with the feed's event UID,
//! rewritten only when its text changes and removed when the task closes. A view:
//! nothing in this folder is ever read back as a task.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Duration;
use chrono_tz::Tz;

use super::ics::{CalendarOptions, Stamp, task_uid, write_calendar_with};
use super::task_list::blocking;
use super::vdir::{VdirCollection, write_atomically};
use super::vtodo::item_name;
use crate::config::CalendarStyle;
use crate::store::FollowupRow;

/// Every event file nudged writes ends so (its UID is `…@nudged`); other files in the
/// folder are left alone.
const OURS: &str = "-nudged.ics";

/// What one pass changed in the events folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventsWritten {
    pub written: usize,
    pub removed: usize,
}

/// Bring the folder `dir` in line with the pending ones of `tasks` (file I/O on the
/// blocking pool).
pub async fn write_events(
    dir: PathBuf,
    display_name: String,
    color: Option<String>,
    tasks: Vec<FollowupRow>,
    tz: Tz,
    alarm: Option<Duration>,
) -> Result<EventsWritten> {
    blocking(move || {
        VdirCollection::open(&dir, &display_name, color.as_deref())?;
        let options = CalendarOptions {
            style: CalendarStyle::Vevent,
            timed: true,
            alarm,
            // The task's last change, not the time of writing: an unchanged task renders
            // the same bytes and its file is left untouched.
            stamp: Stamp::LastChange,
            name: display_name,
            refresh: None,
        };
        let wanted = tasks
            .iter()
            .filter(|t| t.status.is_pending())
            .map(|t| {
                let text = write_calendar_with(std::iter::once(t), tz, &options);
                (item_name(&task_uid(t)), text)
            })
            .collect();
        reconcile(&dir, &wanted)
    })
    .await
}

fn reconcile(dir: &Path, wanted: &HashMap<String, String>) -> Result<EventsWritten> {
    let mut done = EventsWritten::default();
    for (name, text) in wanted {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            write_atomically(&path, text.as_bytes())?;
            done.written += 1;
        }
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(OURS) || wanted.contains_key(&name) {
            continue;
        }
        let path = dir.join(&name);
        // Only an event nudged wrote: someone else's file of that name stays.
        let ours = std::fs::read_to_string(&path).is_ok_and(|text| {
            text.lines()
                .any(|l| l.starts_with("UID:") && l.trim_end().ends_with("@nudged"))
        });
        if ours {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            done.removed += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_events_are_written_and_only_ours_removed() {
        let dir = tempfile::tempdir().unwrap();
        let wanted: HashMap<String, String> = [
            ("a-nudged.ics".to_string(), "UID:a@nudged\r\n".to_string()),
            ("b-nudged.ics".to_string(), "UID:b@nudged\r\n".to_string()),
        ]
        .into();
        let first = reconcile(dir.path(), &wanted).unwrap();
        assert_eq!(
            first,
            EventsWritten {
                written: 2,
                removed: 0
            }
        );
        assert_eq!(
            reconcile(dir.path(), &wanted).unwrap(),
            EventsWritten::default()
        );
        std::fs::write(dir.path().join("mine-nudged.ics"), "UID:mine@example\r\n").unwrap();
        let fewer: HashMap<String, String> = wanted
            .into_iter()
            .filter(|(n, _)| n.starts_with('a'))
            .collect();
        let second = reconcile(dir.path(), &fewer).unwrap();
        assert_eq!(
            second,
            EventsWritten {
                written: 0,
                removed: 1
            }
        );
        assert!(!dir.path().join("b-nudged.ics").exists());
        assert!(dir.path().join("mine-nudged.ics").exists());
    }
}
