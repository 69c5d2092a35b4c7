//! Render a digest as a person reads it in a minute: a subject that says what is inside
//! and a plain text body — replies acted on, a short ranked list of follow-ups with their
//! context, one line counting the rest, the offer to clear an old backlog, what is new by
//! platform, the ROI block. Every outside string goes through [`clean`] so a name cannot
//! add lines of its own, and every link through [`safe_url`], which strips tracking.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::DateTime;

pub use super::line::clean;
use super::{DigestData, ShownTask, context};
use crate::store::{ReplyResult, from_unix};

/// What the owner can reply with; shown at the end of both bodies.
pub const REPLY_HELP: &str = "Reply to this email to act: \"done 3\", \"snooze 3 1w\", \"skip 3\", \
     \"skip old\", \"met Ann Lee at the spring fair\", \"log call Bob\" — one command per line.";

pub fn subject(data: &DigestData) -> String {
    let day = data.now.with_timezone(&data.tz).format("%a %-d %b");
    let due = data.due_count();
    let new = data.new_count();
    let due_part = match due {
        0 => "nothing due".to_string(),
        1 => "1 follow-up due".to_string(),
        n => format!("{} follow-ups due", thousands(n)),
    };
    format!("{due_part}, {} new — {day}", thousands(new))
}

/// 4988 → "4,988": counts a person reads at a glance.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A link from a notification, only if it is plain http(s) — a `javascript:` or `data:`
/// URL from a hostile mail never becomes something to tap — and without its tracking
/// parameters.
pub fn safe_url(link: &str) -> Option<String> {
    let link = clean(link, 2000);
    let lower = link.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        .then(|| crate::classify::links::clean_link(&link))
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

/// The heading of the short list.
pub fn short_list_title(data: &DigestData) -> String {
    let total = data.shown.len() + data.rest.total;
    if data.rest.total == 0 {
        "Your follow-ups".to_string()
    } else {
        format!(
            "The {} that matter most, of {} open",
            data.shown.len(),
            thousands(total)
        )
    }
}

/// "due Tue 17 Nov 22:05 · overdue" for one shown task.
pub fn due_words(shown: &ShownTask, data: &DigestData) -> String {
    let mut text = format!("due {}", when(shown.task.due_at, data));
    if shown.overdue {
        text.push_str(" · overdue");
    }
    text
}

/// The one line that counts what is not shown, by kind and by platform.
pub fn rest_line(data: &DigestData) -> Option<String> {
    let rest = &data.rest;
    if rest.total == 0 {
        return None;
    }
    let groups: Vec<String> = rest
        .by_group
        .iter()
        .map(|(group, n)| format!("{} {}", thousands(*n), group.plural()))
        .collect();
    Some(format!(
        "And {} more: {}; by platform {}.",
        thousands(rest.total),
        groups.join(", "),
        counts_text(&rest.by_platform)
    ))
}

pub fn counts_text(by: &BTreeMap<String, usize>) -> String {
    by.iter()
        .map(|(name, n)| format!("{} {}", clean(name, 40).replace('_', " "), thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where to see every task.
pub fn see_all(data: &DigestData) -> String {
    match &data.links {
        Some(links) => format!(
            "See them all with `nudged followups`, or on {}",
            links.tasks_page()
        ),
        None => "See them all with `nudged followups`.".to_string(),
    }
}

/// Coming back after an absence: the offer to skip the old part of the backlog.
pub fn absence_offer(data: &DigestData) -> Option<String> {
    data.backlog.offer().then(|| {
        format!(
            "Back after a while? {} follow-ups are more than a week overdue, {} of them more than \
             {} days. Reply \"skip old\" to skip those {} at once.",
            thousands(data.backlog.week_overdue),
            thousands(data.backlog.stale),
            super::STALE_DAYS,
            thousands(data.backlog.stale)
        )
    })
}

/// New interactions of one platform: "12 (4 message, 8 comment)".
pub fn new_counts(kinds: &BTreeMap<String, usize>) -> String {
    let total: usize = kinds.values().sum();
    let parts: Vec<String> = kinds
        .iter()
        .map(|(kind, n)| format!("{n} {}", clean(kind, 40).replace('_', " ")))
        .collect();
    format!("{} ({})", thousands(total), parts.join(", "))
}

pub fn reply_mark(outcome: ReplyResult) -> &'static str {
    match outcome {
        ReplyResult::Applied => "✓",
        ReplyResult::Failed => "✗",
        ReplyResult::Unknown => "?",
    }
}

fn task_lines(out: &mut String, n: usize, shown: &ShownTask, data: &DigestData) {
    let task = &shown.task;
    let platform = task
        .platform
        .as_deref()
        .map(|p| format!(" · {}", clean(p, 40).replace('_', " ")))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "{n:>2}. {}{platform} · {}  [{}]",
        clean(&task.title, 120),
        due_words(shown, data),
        task.id
    );
    if let Some(wrote) = context::wrote(&shown.context) {
        let _ = writeln!(out, "    “{wrote}”");
    }
    let _ = writeln!(
        out,
        "    Why: {}",
        context::why(task, &shown.context, data.now)
    );
    let mut known = vec![context::last_touch(&shown.context, data.now)];
    known.extend(context::met(&shown.context));
    let _ = writeln!(out, "    Context: {}", known.join(" · "));
    if let Some(note) = &task.note {
        let _ = writeln!(out, "    Note: {}", clean(note, 200));
    }
    if let Some(link) = task.link.as_deref().and_then(safe_url) {
        let _ = writeln!(out, "    Open: {link}");
    }
    if let Some(links) = &data.links {
        for (action, url) in links.task_links(task.id) {
            let _ = writeln!(out, "    {:<14} {url}", format!("{}:", action.label()));
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
    if !data.shown.is_empty() {
        let _ = writeln!(out, "{}\n", short_list_title(data));
        for (n, shown) in data.shown.iter().enumerate() {
            task_lines(&mut out, n + 1, shown, data);
            out.push('\n');
        }
    }
    if let Some(rest) = rest_line(data) {
        let _ = writeln!(out, "{rest}\n{}\n", see_all(data));
    }
    if let Some(offer) = absence_offer(data) {
        let _ = writeln!(out, "{offer}");
        if let Some(links) = &data.links {
            let _ = writeln!(
                out,
                "Or skip them here: {}",
                links.skip_older(data.backlog.before)
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
        let _ = writeln!(
            out,
            "New since the last digest ({})",
            thousands(data.new_count())
        );
        for (platform, kinds) in &data.new_by_platform {
            let _ = writeln!(
                out,
                "  {}: {}",
                clean(platform, 40).replace('_', " "),
                new_counts(kinds)
            );
        }
    }
    if !data.noise_by_platform.is_empty() {
        let _ = writeln!(
            out,
            "Ignored as noise: {}",
            counts_text(&data.noise_by_platform)
        );
    }
}

fn roi_block(out: &mut String, data: &DigestData) {
    let Some(roi) = &data.roi else {
        return;
    };
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
    fn links_are_safe_and_counts_are_grouped() {
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(
            safe_url("https://www.linkedin.com/in/ann?trk=x&midToken=y").as_deref(),
            Some("https://www.linkedin.com/in/ann")
        );
        assert_eq!(thousands(4988), "4,988");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(
            safe_url("HTTPS://x.example/a").as_deref(),
            Some("HTTPS://x.example/a")
        );
    }
}
