//! Render a digest as a person reads it: a subject that says what is inside and a plain
//! text body with due tasks first, then what is new, grouped by platform.

use std::fmt::Write as _;

use chrono::DateTime;

use super::DigestData;
use crate::store::{FollowupRow, from_unix};

pub fn subject(data: &DigestData) -> String {
    let day = data.now.with_timezone(&data.tz).format("%a %-d %b");
    let due = data.due_count();
    let new = data.new_count();
    let due_part = match due {
        0 => "nothing due".to_string(),
        1 => "1 follow-up due".to_string(),
        n => format!("{n} follow-ups due"),
    };
    format!("{due_part}, {new} new — {day}")
}

fn when(at: i64, data: &DigestData) -> String {
    let local: DateTime<chrono_tz::Tz> = from_unix(at).with_timezone(&data.tz);
    local.format("%a %-d %b %H:%M").to_string()
}

fn task_line(out: &mut String, task: &FollowupRow, data: &DigestData) {
    let _ = writeln!(
        out,
        "  [{}] {}  (due {})",
        task.id,
        task.title,
        when(task.due_at, data)
    );
    if let Some(note) = &task.note {
        let _ = writeln!(out, "       {note}");
    }
    if let Some(link) = &task.link {
        let _ = writeln!(out, "       {link}");
    }
}

/// The plain-text body.
pub fn text(data: &DigestData) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Good morning. {}\n", subject(data));
    let sections: [(&str, &Vec<FollowupRow>); 3] = [
        ("Overdue", &data.overdue),
        ("Due today", &data.due_today),
        ("Coming this week", &data.this_week),
    ];
    for (title, tasks) in sections {
        if tasks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title} ({})", tasks.len());
        for task in tasks {
            task_line(&mut out, task, data);
        }
        out.push('\n');
    }
    if data.new_by_platform.is_empty() {
        let _ = writeln!(out, "Nothing new since the last digest.");
    } else {
        let _ = writeln!(out, "New since the last digest");
        for (platform, rows) in &data.new_by_platform {
            let _ = writeln!(out, "  {platform} ({})", rows.len());
            for row in rows {
                let who = row.contact_name.as_deref().unwrap_or("someone");
                let _ = writeln!(
                    out,
                    "    - {who}: {} — {}",
                    row.kind.replace('_', " "),
                    row.subject
                );
                if let Some(link) = &row.link {
                    let _ = writeln!(out, "      {link}");
                }
            }
        }
    }
    if !data.noise_by_platform.is_empty() {
        let noise: Vec<String> = data
            .noise_by_platform
            .iter()
            .map(|(platform, n)| format!("{platform} {n}"))
            .collect();
        let _ = writeln!(out, "\nIgnored as noise: {}", noise.join(", "));
    }
    let _ = writeln!(
        out,
        "\nMark a task done with `nudged done ID`, postpone it with `nudged snooze ID 1w`."
    );
    out
}
