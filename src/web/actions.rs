//! One-click action links, `/a/{action}/{task}/{expires}/{signature}`, and signed pages,
//! `/p/{page}/{value}/{expires}/{signature}` (every open task; skip the old backlog).
//! Corporate mail scanners open every link in a mail, so GET and HEAD only show what the
//! link would do and a button; only the button's POST acts, and each link acts at most once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::links::{self, Action, LinkError, Page};
use super::pages;
use super::state::WebState;
use crate::config::duration::HumanDuration;
use crate::plan::due_after;
use crate::store::{FollowupRow, FollowupStatus, LinkOutcome, TaskChange, from_unix};

type LinkParts = (String, String, String, String);

/// The buttons each task has on the list of every open task.
const LIST_BUTTONS: [Action; 3] = [Action::Done, Action::SnoozeWeek, Action::Skip];

fn refuse(err: LinkError) -> Response {
    match err {
        LinkError::Expired => pages::refusal(
            StatusCode::GONE,
            "This link has expired",
            "Links in a digest work for a limited time. Use the links in a newer digest, \
             or `nudged done ID` / `nudged snooze ID 1d` on the command line.",
        ),
        LinkError::BadSignature => pages::refusal(
            StatusCode::FORBIDDEN,
            "This link is not valid",
            "The link was changed or was not made by this nudged. Nothing was done.",
        ),
        LinkError::Malformed => super::feed::not_found(),
    }
}

fn no_such_task() -> Response {
    pages::refusal(
        StatusCode::NOT_FOUND,
        "No such task",
        "The task this link points to does not exist (any more).",
    )
}

fn due_text(state: &WebState, task: &FollowupRow) -> String {
    from_unix(task.due_at)
        .with_timezone(&state.config.timezone())
        .format("%a %-d %b %Y, %H:%M")
        .to_string()
}

fn check(state: &WebState, parts: &LinkParts) -> Result<(Action, i64), LinkError> {
    let (action, task, expires, sig) = parts;
    links::verify(
        &state.key.current(),
        action,
        task,
        expires,
        sig,
        state.clock.now(),
    )
}

/// `GET` and `HEAD`: read only. Shows the task and a button that POSTs to this URL.
pub async fn confirm(State(state): State<WebState>, Path(parts): Path<LinkParts>) -> Response {
    let (action, task_id) = match check(&state, &parts) {
        Ok(checked) => checked,
        Err(err) => return refuse(err),
    };
    let task = match state.store.read(move |s| s.followup(task_id)).await {
        Ok(Some(task)) => task,
        Ok(None) => return no_such_task(),
        Err(err) => return server_error(err),
    };
    let (a, t, e, s) = &parts;
    let post_to = format!("/a/{a}/{t}/{e}/{s}");
    pages::confirm(action, &task, &due_text(&state, &task), &post_to)
}

/// `POST`: act once. The link's signature is recorded with the change in one
/// transaction, so a repeated POST finds it and changes nothing.
pub async fn act(State(state): State<WebState>, Path(parts): Path<LinkParts>) -> Response {
    let (action, task_id) = match check(&state, &parts) {
        Ok(checked) => checked,
        Err(err) => return refuse(err),
    };
    let now = state.clock.now();
    let tz = state.config.timezone();
    let change = match action {
        Action::Done => TaskChange::Close(FollowupStatus::Done),
        Action::Skip => TaskChange::Close(FollowupStatus::Skipped),
        Action::SnoozeDay => {
            TaskChange::SnoozeUntil(due_after(now, HumanDuration::days(1), tz).timestamp())
        }
        Action::SnoozeWeek => {
            TaskChange::SnoozeUntil(due_after(now, HumanDuration::days(7), tz).timestamp())
        }
    };
    let signature = parts.3.clone();
    let outcome = state
        .store
        .write(move |s| s.apply_link_action(&signature, task_id, change, now.timestamp()))
        .await;
    match outcome {
        Ok(LinkOutcome::Applied(task)) => {
            state.feed.poke();
            let detail = match action {
                Action::Done => "Marked done. It is gone from your calendar.".to_string(),
                Action::Skip => "Skipped. It will not come back.".to_string(),
                Action::SnoozeDay | Action::SnoozeWeek => {
                    format!("Snoozed until {}.", due_text(&state, &task))
                }
            };
            pages::result(action.label(), &task, &due_text(&state, &task), &detail)
        }
        Ok(LinkOutcome::AlreadyUsed(task)) => pages::result(
            "Already used",
            &task,
            &due_text(&state, &task),
            "This link was used before; nothing changed this time.",
        ),
        Ok(LinkOutcome::AlreadyClosed(task)) => {
            let detail = format!(
                "This task is already {}; nothing changed.",
                task.status.as_str()
            );
            pages::result("Nothing to do", &task, &due_text(&state, &task), &detail)
        }
        Ok(LinkOutcome::NoSuchTask) => no_such_task(),
        Err(err) => server_error(err),
    }
}

fn check_page(state: &WebState, parts: &LinkParts) -> Result<(Page, i64), LinkError> {
    let (page, value, expires, sig) = parts;
    links::verify_page(
        &state.key.current(),
        page,
        value,
        expires,
        sig,
        state.clock.now(),
    )
}

fn day_text(state: &WebState, at: i64) -> String {
    from_unix(at)
        .with_timezone(&state.config.timezone())
        .format("%a %-d %b %Y")
        .to_string()
}

/// `GET` and `HEAD` of a signed page: the list of every open task, or the offer to skip
/// the old backlog with its count. Read only.
pub async fn page_view(State(state): State<WebState>, Path(parts): Path<LinkParts>) -> Response {
    let (page, value) = match check_page(&state, &parts) {
        Ok(checked) => checked,
        Err(err) => return refuse(err),
    };
    match page {
        Page::Tasks => task_list(state).await,
        Page::SkipOlder => {
            match state
                .store
                .read(move |s| s.count_pending_due_before(value))
                .await
            {
                Ok(count) => {
                    let (p, v, e, s) = &parts;
                    let post_to = format!("/p/{p}/{v}/{e}/{s}");
                    pages::confirm_skip_older(count, &day_text(&state, value), &post_to)
                }
                Err(err) => server_error(err),
            }
        }
    }
}

async fn task_list(state: WebState) -> Response {
    let tasks = match state.store.read(|s| s.pending_followups(None)).await {
        Ok(tasks) => tasks,
        Err(err) => return server_error(err),
    };
    let now = state.clock.now();
    let expires = now
        + state
            .config
            .web
            .as_ref()
            .map_or(chrono::Duration::days(14), |w| w.link_expiry.to_chrono());
    // Signing thousands of buttons is CPU work: off the async workers, with no lock held.
    let key = state.key.current();
    let listed = tokio::task::spawn_blocking(move || {
        tasks
            .into_iter()
            .map(|task| pages::ListedTask {
                due: due_text(&state, &task),
                buttons: LIST_BUTTONS
                    .into_iter()
                    .map(|a| (a, links::sign_path(&key, a, task.id, expires)))
                    .collect(),
                task,
            })
            .collect::<Vec<_>>()
    })
    .await;
    match listed {
        Ok(listed) => pages::task_list(&listed),
        Err(err) => server_error(anyhow::anyhow!("listing tasks: {err}")),
    }
}

/// `POST` of a signed page: only "skip older" acts, once per link.
pub async fn page_act(State(state): State<WebState>, Path(parts): Path<LinkParts>) -> Response {
    let (page, before) = match check_page(&state, &parts) {
        Ok(checked) => checked,
        Err(err) => return refuse(err),
    };
    if page != Page::SkipOlder {
        return super::feed::not_found();
    }
    let now = state.clock.now().timestamp();
    let signature = parts.3.clone();
    match state
        .store
        .write(move |s| s.skip_older_once(&signature, before, now))
        .await
    {
        Ok(Some(skipped)) => {
            state.feed.poke();
            pages::notice(
                "Skipped",
                &format!(
                    "{skipped} follow-ups due before {} were skipped. Newer ones stay.",
                    day_text(&state, before)
                ),
            )
        }
        Ok(None) => pages::notice(
            "Already used",
            "This link was used before; nothing changed this time.",
        ),
        Err(err) => server_error(err),
    }
}

fn server_error(err: anyhow::Error) -> Response {
    tracing::error!("web: database error: {err:#}");
    pages::refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "nudged could not reach its database. Nothing was changed; try again later.",
    )
}
