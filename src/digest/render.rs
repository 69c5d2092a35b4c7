//! Render a digest as a person reads it: a subject that says what is inside and a plain
//! text body — replies acted on, due tasks, people to reconnect with, what is new by
//! platform, the ROI block. Long lists are cut: the digest is read on a phone.
//! Every outside string goes through [`clean`] so a name cannot add lines of its own.

use std::fmt::Write as _;

use chrono::DateTime;

use super::DigestData;
use crate::store::{FollowupRow, InteractionRow, ReplyResult, from_unix};

/// At most this many tasks per section and new items per platform are listed.
pub const MAX_TASKS_SHOWN: usize = 25;
pub const MAX_NEW_SHOWN: usize = 15;

/// What the owner can reply with; shown at the end of both bodies.
pub const REPLY_HELP: &str = "Reply to this email to act: \"done 3\", \"snooze 3 1w\", \"skip 3\", \
     \"met Ann Lee at the spring fair\", \"log call Bob\" — one command per line.";

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

/// One line of outside text: control characters (CR, LF, tabs, escapes) become spaces,
/// runs of spaces collapse, and it is cut at `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    let mut space = false;
    for ch in text.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if ch == ' ' {
            if space || out.is_empty() {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if count == max {
            out.push('…');
            return out;
        }
        out.push(ch);
        count += 1;
    }
    out.trim_end().to_string()
}

/// A link from a notification, only if it is plain http(s): a `javascript:` or `data:`
/// URL from a hostile mail never becomes something to tap.
pub fn safe_url(link: &str) -> Option<String> {
    let link = clean(link, 2000);
    let lower = link.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(link)
}

pub fn when(at: i64, data: &DigestData) -> String {
    let local: DateTime<chrono_tz::Tz> = from_unix(at).with_timezone(&data.tz);
    local.format("%a %-d %b %H:%M").to_string()
}

pub fn day(at: i64, data: &DigestData) -> String {
    from_unix(at)
        .with_timezone(&data.tz)
        .format("%-d %b")
        .to_string()
}

/// Who an interaction was with.
pub fn who(row: &InteractionRow) -> String {
    clean(row.contact_name.as_deref().unwrap_or("someone"), 80)
}

/// The task sections, in reading order.
pub fn task_sections(data: &DigestData) -> [(&'static str, &Vec<FollowupRow>); 4] {
    [
        ("Overdue", &data.overdue),
        ("Due today", &data.due_today),
        ("People to reconnect with", &data.reconnect),
        ("Coming this week", &data.this_week),
    ]
}

pub fn reply_mark(outcome: ReplyResult) -> &'static str {
    match outcome {
        ReplyResult::Applied => "✓",
        ReplyResult::Failed => "✗",
        ReplyResult::Unknown => "?",
    }
}

fn task_line(out: &mut String, task: &FollowupRow, data: &DigestData) {
    let _ = writeln!(
        out,
        "  [{}] {}  (due {})",
        task.id,
        clean(&task.title, 120),
        when(task.due_at, data)
    );
    if let Some(note) = &task.note {
        let _ = writeln!(out, "       {}", clean(note, 200));
    }
    if let Some(link) = task.link.as_deref().and_then(safe_url) {
        let _ = writeln!(out, "       {link}");
    }
    if let Some(links) = &data.links {
        for (action, url) in links.task_links(task.id) {
            let _ = writeln!(out, "       {:<14} {url}", format!("{}:", action.label()));
        }
    }
}

/// The plain-text body.
pub fn text(data: &DigestData) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Good morning. {}\n", subject(data));
    if !data.reply_results.is_empty() {
        let _ = writeln!(out, "Your replies");
        for result in &data.reply_results {
            let _ = writeln!(
                out,
                "  {} \"{}\" — {}",
                reply_mark(result.outcome),
                clean(&result.command, 120),
                clean(&result.detail, 200)
            );
        }
        out.push('\n');
    }
    for (title, tasks) in task_sections(data) {
        if tasks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title} ({})", tasks.len());
        for task in tasks.iter().take(MAX_TASKS_SHOWN) {
            task_line(&mut out, task, data);
        }
        if tasks.len() > MAX_TASKS_SHOWN {
            let _ = writeln!(
                out,
                "  … and {} more: `nudged followups` lists them all",
                tasks.len() - MAX_TASKS_SHOWN
            );
        }
        out.push('\n');
    }
    new_interactions(&mut out, data);
    roi_block(&mut out, data);
    let _ = writeln!(out, "\n{REPLY_HELP}");
    out
}

fn new_interactions(out: &mut String, data: &DigestData) {
    if data.new_by_platform.is_empty() {
        let _ = writeln!(out, "Nothing new since the last digest.");
    } else {
        let _ = writeln!(out, "New since the last digest");
        for (platform, rows) in &data.new_by_platform {
            let _ = writeln!(out, "  {} ({})", clean(platform, 40), rows.len());
            for row in rows.iter().take(MAX_NEW_SHOWN) {
                let _ = writeln!(
                    out,
                    "    - {}: {} — {}",
                    who(row),
                    row.kind.replace('_', " "),
                    clean(&row.subject, 160)
                );
                if let Some(link) = row.link.as_deref().and_then(safe_url) {
                    let _ = writeln!(out, "      {link}");
                }
            }
            if rows.len() > MAX_NEW_SHOWN {
                let _ = writeln!(out, "    … and {} more", rows.len() - MAX_NEW_SHOWN);
            }
        }
    }
    if !data.noise_by_platform.is_empty() {
        let noise: Vec<String> = data
            .noise_by_platform
            .iter()
            .map(|(platform, n)| format!("{} {n}", clean(platform, 40)))
            .collect();
        let _ = writeln!(out, "Ignored as noise: {}", noise.join(", "));
    }
}

fn roi_block(out: &mut String, data: &DigestData) {
    let roi = &data.roi;
    if roi.platforms.is_empty() && roi.silent.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nLast {} days by platform", roi.window_days);
    for p in &roi.platforms {
        let _ = writeln!(
            out,
            "  {:<12} {} interactions · {} people · {} done · {} expired",
            clean(&p.platform, 40),
            p.interactions,
            p.people,
            p.tasks_done,
            p.tasks_expired
        );
    }
    if !roi.silent.is_empty() {
        let silent: Vec<String> = roi
            .silent
            .iter()
            .map(|(platform, last)| format!("{} (last {})", clean(platform, 40), day(*last, data)))
            .collect();
        let _ = writeln!(out, "Gone silent: {}", silent.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_one_line() {
        assert_eq!(
            clean("Ann\r\nBcc: x@evil\t Lee ", 100),
            "Ann Bcc: x@evil Lee"
        );
        assert_eq!(clean("ééééé", 3), "ééé…");
        assert_eq!(clean("", 3), "");
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(
            safe_url("HTTPS://x.example/a").as_deref(),
            Some("HTTPS://x.example/a")
        );
    }
}
