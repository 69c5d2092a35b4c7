//! The calendar subscription feed: `/feed/TOKEN.ics` (events) and
//! `/feed/TOKEN/todo.ics` (to-dos). A request never touches the database: it answers
//! from the rendering [`super::feed_cache`] keeps ready. A poll with the current ETag
//! gets a 304; a wrong token gets the same 404 as any unknown path.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;

use super::feed_cache::{FeedSnapshot, Rendered};
use super::state::WebState;
use super::token;

/// `GET /feed/{TOKEN}.ics`
pub async fn events(
    State(state): State<WebState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    match file.strip_suffix(".ics") {
        Some(token) => respond(&state, token, &headers, |s| &s.events),
        None => not_found(),
    }
}

/// `GET /feed/{TOKEN}/todo.ics`
pub async fn todos(
    State(state): State<WebState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    respond(&state, &token, &headers, |s| &s.todos)
}

fn respond(
    state: &WebState,
    token: &str,
    headers: &HeaderMap,
    pick: impl Fn(&FeedSnapshot) -> &Rendered,
) -> Response {
    let snapshot = state.feed.snapshot();
    let authorised = snapshot
        .token
        .as_ref()
        .is_some_and(|stored| token::matches(stored, token));
    if !authorised {
        // The same answer as any unknown path: no hint that a feed exists.
        return not_found();
    }
    let rendered = pick(&snapshot);
    let unchanged = is_unchanged(headers, rendered);
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        rendered.body.clone().into_response()
    };
    let out = response.headers_mut();
    if !unchanged {
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/calendar; charset=utf-8"),
        );
    }
    out.insert(header::ETAG, rendered.etag.clone());
    out.insert(header::LAST_MODIFIED, rendered.last_modified.clone());
    // Clients may keep it but must ask again each time; the ETag makes asking cheap.
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    response
}

/// RFC 9110 §13.2.2: If-None-Match decides when present; If-Modified-Since only without it.
fn is_unchanged(headers: &HeaderMap, rendered: &Rendered) -> bool {
    if let Some(wanted) = headers.get(header::IF_NONE_MATCH) {
        let Ok(wanted) = wanted.to_str() else {
            return false;
        };
        let ours = rendered.etag.as_bytes();
        return wanted
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours);
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .is_some_and(|since| since.timestamp() >= rendered.modified_secs)
}

pub fn not_found() -> Response {
    super::pages::refusal(
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing at this address.",
    )
}
