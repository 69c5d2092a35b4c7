//! The few HTML pages the server shows: confirm an action, say what happened, refuse a
//! bad link, list every open task with its buttons, offer to skip an old backlog. Written with `maud`, which escapes every interpolated string, so a task
//! title like `<script>` is shown, never run. One inline stylesheet, allowed by its hash
//! in the Content-Security-Policy; no script, no external asset, readable on a phone.

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use super::links::Action;
use crate::store::FollowupRow;

const STYLE: &str = "body{font:17px/1.5 system-ui,sans-serif;max-width:32em;margin:0 auto;\
padding:1em;color:#222;background:#fff}h1{font-size:1.3em}\
.task{padding:.8em;border:1px solid #ccc;border-radius:.4em;overflow-wrap:anywhere}\
.muted{color:#666;font-size:.9em}\
button{font:inherit;width:100%;padding:.8em;margin-top:1em;border:0;border-radius:.4em;\
background:#1a5fb4;color:#fff}\
ol.tasks{padding-left:1.4em}ol.tasks li{margin:0 0 .7em;overflow-wrap:anywhere}\
form.inline{display:inline}form.inline button{width:auto;padding:.25em .6em;margin:.2em .3em 0 0;font-size:.85em}\
@media (prefers-color-scheme:dark){body{color:#eee;background:#111}.muted{color:#aaa}}";

/// Only our own stylesheet may apply, nothing may load, forms post only back here, and
/// no one may frame the page (clickjacking a "done" button).
pub static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
});

fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " — nudged" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                (body)
            }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // A confirm page names a person; no cache should keep it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn task_box(task: &FollowupRow, due: &str) -> Markup {
    html! {
        div.task {
            strong { (task.title) }
            br;
            span.muted { "Due " (due) " · " (task.status.as_str()) }
        }
    }
}

/// What a GET or HEAD of an action link shows: the task and one button. Nothing acts
/// until the button is pressed, so a mail scanner that opens the link changes nothing.
pub fn confirm(action: Action, task: &FollowupRow, due: &str, post_to: &str) -> Response {
    let title = format!("{}?", action.label());
    page(
        StatusCode::OK,
        &title,
        html! {
            (task_box(task, due))
            @if task.status.is_pending() {
                form method="post" action=(post_to) {
                    button type="submit" { (action.label()) }
                }
                p.muted { "Nothing happens until you press the button." }
            } @else {
                p { "This task is already " (task.status.as_str()) "; there is nothing left to do." }
            }
        },
    )
}

/// What a POST shows afterwards.
pub fn result(headline: &str, task: &FollowupRow, due: &str, detail: &str) -> Response {
    page(
        StatusCode::OK,
        headline,
        html! {
            (task_box(task, due))
            p { (detail) }
        },
    )
}

/// One row of the task list: the task, its due text, and its button paths.
pub struct ListedTask {
    pub task: FollowupRow,
    pub due: String,
    pub buttons: Vec<(Action, String)>,
}

/// Every open task, each with done / snooze / skip buttons that POST to signed links.
pub fn task_list(tasks: &[ListedTask]) -> Response {
    let title = format!("{} open follow-ups", tasks.len());
    page(
        StatusCode::OK,
        &title,
        html! {
            p.muted { "Soonest due first. Each button acts once." }
            ol.tasks {
                @for listed in tasks {
                    li {
                        strong { (listed.task.title) }
                        br;
                        span.muted {
                            "Due " (listed.due)
                            @if let Some(platform) = &listed.task.platform { " · " (platform) }
                            " · #" (listed.task.id)
                        }
                        br;
                        @for (action, path) in &listed.buttons {
                            form.inline method="post" action=(path) {
                                button type="submit" { (action.label()) }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What a GET of the "skip everything older" link shows: the count and one button.
pub fn confirm_skip_older(count: usize, before: &str, post_to: &str) -> Response {
    page(
        StatusCode::OK,
        "Skip the old backlog?",
        html! {
            p { (count) " open follow-ups were due before " (before) "." }
            @if count > 0 {
                form method="post" action=(post_to) {
                    button type="submit" { "Skip these " (count) }
                }
                p.muted { "Nothing happens until you press the button. Newer tasks stay." }
            }
        },
    )
}

/// A plain page saying what happened.
pub fn notice(headline: &str, detail: &str) -> Response {
    page(StatusCode::OK, headline, html! { p { (detail) } })
}

/// A plain refusal: expired, tampered or unknown links, unknown tasks.
pub fn refusal(status: StatusCode, headline: &str, detail: &str) -> Response {
    page(status, headline, html! { p { (detail) } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_exactly_our_stylesheet() {
        let policy = CONTENT_SECURITY_POLICY.to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(!policy.contains("unsafe"));
    }
}
