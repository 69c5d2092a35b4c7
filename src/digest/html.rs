//! The HTML body: the same content as the text part, laid out for a phone — one column,
//! inline CSS (mail clients drop style sheets), no images or other outside assets.
//! Written with maud, which escapes every interpolated string.

use maud::{DOCTYPE, Markup, html};

use super::render::{
    REPLY_HELP, absence_offer, clean, counts_text, day, due_words, new_counts, reply_mark,
    rest_line, safe_url, short_list_title, subject, thousands,
};
use super::{DigestData, ShownTask, context};
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

fn accent(shown: &ShownTask) -> &'static str {
    match super::rank::Group::of_rule(&shown.task.rule) {
        _ if shown.overdue => "#dc2626",
        super::rank::Group::Direct => "#d97706",
        super::rank::Group::Reconnect => "#059669",
        _ => "#2563eb",
    }
}

fn task(n: usize, shown: &ShownTask, data: &DigestData) -> Markup {
    let task = &shown.task;
    let style = format!(
        "border-left:4px solid {};background:#fafafa;padding:8px 10px;margin:0 0 10px;border-radius:4px",
        accent(shown)
    );
    html! {
        div style=(style) {
            div style="font-weight:600" { (n) ". " (clean(&task.title, 120)) }
            div style=(META) {
                "#" (task.id) " · " (due_words(shown, data))
                @if let Some(platform) = &task.platform { " · " (clean(platform, 40).replace('_', " ")) }
            }
            @if let Some(wrote) = context::wrote(&shown.context) {
                div style="font-size:15px;margin-top:4px;font-style:italic" { "“" (wrote) "”" }
            }
            div style="font-size:14px;margin-top:4px" { b { "Why: " } (context::why(task, &shown.context, data.now)) }
            div style=(META) {
                (context::last_touch(&shown.context, data.now))
                @if let Some(met) = context::met(&shown.context) { " · " (met) }
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

fn rest_and_backlog(data: &DigestData) -> Markup {
    html! {
        @if let Some(rest) = rest_line(data) {
            p style="font-size:14px;margin:12px 0 4px" { (rest) }
            p style=(META) {
                "See them all with " code { "nudged followups" }
                @if let Some(links) = &data.links {
                    " or on " a href=(links.tasks_page()) style=(LINK) { "the list of every open task" }
                }
                "."
            }
        }
        @if let Some(offer) = absence_offer(data) {
            div style="background:#fef3c7;border-radius:6px;padding:10px 12px;margin:14px 0;font-size:14px" {
                (offer)
                @if let Some(links) = &data.links {
                    " " a href=(links.skip_older(data.backlog.before)) style=(BUTTON) {
                        "Skip " (thousands(data.backlog.stale)) " old follow-ups"
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
                    @if !data.shown.is_empty() {
                        h2 style=(H2) { (short_list_title(data)) }
                        @for (n, shown) in data.shown.iter().enumerate() { (task(n + 1, shown, data)) }
                    }
                    (rest_and_backlog(data))
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
        h2 style=(H2) { "New since the last digest (" (thousands(data.new_count())) ")" }
        @if data.new_by_platform.is_empty() {
            p style=(META) { "Nothing new since the last digest." }
        }
        @for (platform, kinds) in &data.new_by_platform {
            div style="margin:0 0 4px;font-size:15px" {
                b { (clean(platform, 40).replace('_', " ")) } " " (new_counts(kinds))
            }
        }
        @if !data.noise_by_platform.is_empty() {
            p style=(META) { "Ignored as noise: " (counts_text(&data.noise_by_platform)) }
        }
    }
}

fn roi(data: &DigestData) -> Markup {
    let Some(roi) = &data.roi else {
        return html! {};
    };
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
