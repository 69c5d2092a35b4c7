//! The HTML body: the same content as the text part, laid out for a phone — one column,
//! inline CSS (mail clients drop style sheets), no images or other outside assets.
//! Written with maud, which escapes every interpolated string.

use maud::{DOCTYPE, Markup, html};

use super::DigestData;
use super::render::{
    MAX_NEW_SHOWN, MAX_TASKS_SHOWN, REPLY_HELP, clean, day, reply_mark, safe_url, subject,
    task_sections, when, who,
};
use crate::store::FollowupRow;
use crate::web::links::Action;

const BODY: &str = "margin:0;padding:0;background:#f4f4f5;color:#18181b;\
    font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.45";
const CARD: &str = "max-width:600px;margin:0 auto;background:#ffffff;padding:16px 16px 24px";
const H1: &str = "font-size:20px;line-height:1.3;margin:4px 0 16px";
const H2: &str = "font-size:13px;letter-spacing:.06em;text-transform:uppercase;color:#52525b;\
    margin:24px 0 8px;border-bottom:1px solid #e4e4e7;padding-bottom:4px";
const META: &str = "font-size:13px;color:#71717a";
const LINK: &str = "color:#1d4ed8;word-break:break-all";
const BUTTON: &str = "display:inline-block;margin:6px 4px 0 0;padding:6px 9px;border-radius:6px;\
    background:#eef2ff;color:#1e3a8a;text-decoration:none;font-size:14px";

/// Button text short enough for four buttons on one phone-width row.
fn short_label(action: Action) -> &'static str {
    match action {
        Action::Done => "Done",
        Action::SnoozeDay => "Snooze 1d",
        Action::SnoozeWeek => "Snooze 1w",
        Action::Skip => "Skip",
    }
}

fn accent(section: &str) -> &'static str {
    match section {
        "Overdue" => "#dc2626",
        "Due today" => "#d97706",
        "People to reconnect with" => "#059669",
        _ => "#2563eb",
    }
}

fn task(task: &FollowupRow, color: &str, data: &DigestData) -> Markup {
    let style = format!(
        "border-left:4px solid {color};background:#fafafa;padding:8px 10px;margin:0 0 10px;border-radius:4px"
    );
    html! {
        div style=(style) {
            div style="font-weight:600" { (clean(&task.title, 120)) }
            div style=(META) {
                "#" (task.id) " · due " (when(task.due_at, data))
                @if let Some(platform) = &task.platform { " · " (clean(platform, 40)) }
            }
            @if let Some(note) = &task.note { div style="font-size:14px;margin-top:2px" { (clean(note, 200)) } }
            @if let Some(link) = task.link.as_deref().and_then(safe_url) {
                div style="font-size:14px;margin-top:2px" { a href=(link) style=(LINK) { "Open" } }
            }
            @if let Some(links) = &data.links {
                div {
                    @for (action, url) in links.task_links(task.id) {
                        a href=(url) style=(BUTTON) { (short_label(action)) }
                    }
                }
            }
        }
    }
}

/// The complete HTML document.
pub fn html(data: &DigestData) -> String {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (subject(data)) }
            }
            body style=(BODY) {
                div style=(CARD) {
                    h1 style=(H1) { (subject(data)) }
                    @if !data.reply_results.is_empty() {
                        h2 style=(H2) { "Your replies" }
                        @for result in &data.reply_results {
                            div style="font-size:14px;margin:0 0 4px" {
                                (reply_mark(result.outcome)) " "
                                code { (clean(&result.command, 120)) }
                                " — " (clean(&result.detail, 200))
                            }
                        }
                    }
                    @for (title, tasks) in task_sections(data) {
                        @if !tasks.is_empty() {
                            h2 style=(H2) { (title) " (" (tasks.len()) ")" }
                            @for t in tasks.iter().take(MAX_TASKS_SHOWN) { (task(t, accent(title), data)) }
                            @if tasks.len() > MAX_TASKS_SHOWN {
                                p style=(META) { "… and " (tasks.len() - MAX_TASKS_SHOWN) " more: nudged followups lists them all" }
                            }
                        }
                    }
                    (new_interactions(data))
                    (roi(data))
                    p style="font-size:13px;color:#52525b;margin-top:28px;border-top:1px solid #e4e4e7;padding-top:10px" {
                        (REPLY_HELP)
                    }
                }
            }
        }
    };
    markup.into_string()
}

fn new_interactions(data: &DigestData) -> Markup {
    html! {
        h2 style=(H2) { "New since the last digest (" (data.new_count()) ")" }
        @if data.new_by_platform.is_empty() {
            p style=(META) { "Nothing new since the last digest." }
        }
        @for (platform, rows) in &data.new_by_platform {
            div style="font-weight:600;margin:10px 0 4px" { (clean(platform, 40)) " (" (rows.len()) ")" }
            @for row in rows.iter().take(MAX_NEW_SHOWN) {
                div style="margin:0 0 6px;font-size:15px" {
                    b { (who(row)) } " "
                    span style=(META) { (row.kind.replace('_', " ")) }
                    " — " (clean(&row.subject, 160))
                    @if let Some(link) = row.link.as_deref().and_then(safe_url) {
                        " " a href=(link) style=(LINK) { "Open" }
                    }
                }
            }
            @if rows.len() > MAX_NEW_SHOWN {
                div style=(META) { "… and " (rows.len() - MAX_NEW_SHOWN) " more" }
            }
        }
        @if !data.noise_by_platform.is_empty() {
            p style=(META) {
                "Ignored as noise: "
                @for (i, (platform, n)) in data.noise_by_platform.iter().enumerate() {
                    @if i > 0 { ", " }
                    (clean(platform, 40)) " " (n)
                }
            }
        }
    }
}

fn roi(data: &DigestData) -> Markup {
    let roi = &data.roi;
    let cell = "padding:4px 6px;border-bottom:1px solid #f4f4f5;text-align:right";
    html! {
        @if !roi.platforms.is_empty() || !roi.silent.is_empty() {
            h2 style=(H2) { "Last " (roi.window_days) " days by platform" }
            @if !roi.platforms.is_empty() {
                table style="width:100%;border-collapse:collapse;font-size:14px" {
                    tr style="color:#71717a" {
                        th style="text-align:left;padding:4px 6px" { "Platform" }
                        th style=(cell) { "Interactions" }
                        th style=(cell) { "People" }
                        th style=(cell) { "Done" }
                        th style=(cell) { "Expired" }
                    }
                    @for p in &roi.platforms {
                        tr {
                            td style="text-align:left;padding:4px 6px;border-bottom:1px solid #f4f4f5" { (clean(&p.platform, 40)) }
                            td style=(cell) { (p.interactions) }
                            td style=(cell) { (p.people) }
                            td style=(cell) { (p.tasks_done) }
                            td style=(cell) { (p.tasks_expired) }
                        }
                    }
                }
            }
            @if !roi.silent.is_empty() {
                p style="font-size:14px" {
                    "Gone silent: "
                    @for (i, (platform, last)) in roi.silent.iter().enumerate() {
                        @if i > 0 { ", " }
                        (clean(platform, 40)) " (last " (day(*last, data)) ")"
                    }
                }
            }
        }
    }
}
