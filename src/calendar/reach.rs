//! `nudged check` for `[[calendar]]` and `[[contacts]]`: log in to each server (or open
//! each folder), find the collection, and say what is wrong and how to fix it. Creates
//! nothing: a missing task list is only reported, the first `nudged run` makes it.

use std::time::Duration;

use super::sync::TaskList;
use crate::config::Config;
use crate::service::checklist::CheckItem;
use crate::store::CalendarCursor;

/// Each check's whole deadline (discovery takes a few requests).
const CHECK_DEADLINE: Duration = Duration::from_secs(60);

pub async fn check_lists(config: &Config) -> Vec<CheckItem> {
    let mut items = Vec::new();
    for calendar in &config.calendars {
        let what = format!("calendar {:?}", calendar.name);
        let reached = tokio::time::timeout(CHECK_DEADLINE, async {
            let list = TaskList::open(calendar, None, false).await?;
            let listing = list.pull(&CalendarCursor::default()).await?;
            anyhow::Ok((
                listing.cursor.collection_url.unwrap_or_default(),
                listing.changed.len(),
            ))
        })
        .await;
        items.push(match reached {
            Ok(Ok((at, n))) => CheckItem::pass(what, format!("task list {at} holds {n} item(s)")),
            Ok(Err(err)) if format!("{err:#}").contains("holds no calendar named") => {
                CheckItem::pass(
                    what,
                    format!(
                        "logged in; no task list named {:?} yet, the first run creates it",
                        calendar.collection()
                    ),
                )
            }
            Ok(Err(err)) => CheckItem::fail(what, format!("{err:#}"), dav_fix(&format!("{err:#}"))),
            Err(_) => CheckItem::fail(
                what,
                "no answer within 60 s",
                "check url and that a firewall lets nudged out",
            ),
        });
    }
    for book in &config.contacts {
        let what = format!("contacts {:?}", book.name);
        let read = tokio::time::timeout(
            CHECK_DEADLINE,
            crate::import::address_book::read_cards(book),
        )
        .await;
        items.push(match read {
            Ok(Ok(cards)) => CheckItem::pass(what, format!("{} card(s) readable", cards.len())),
            Ok(Err(err)) => CheckItem::fail(what, format!("{err:#}"), dav_fix(&format!("{err:#}"))),
            Err(_) => CheckItem::fail(
                what,
                "no answer within 60 s",
                "check url and that a firewall lets nudged out",
            ),
        });
    }
    items
}

/// What to do about a DAV failure, from the words of its error.
fn dav_fix(error: &str) -> &'static str {
    let lower = error.to_ascii_lowercase();
    if lower.contains("401") || lower.contains("refused the login") {
        "check username and the password in password_file / password_command (many servers want an app password)"
    } else if lower.contains("certificate") || lower.contains("tls") {
        "for a self-signed server set ca_file to its certificate"
    } else if lower.contains("home-set") || lower.contains("holds no") {
        "set url to the collection itself (copy it from the server's web page)"
    } else if lower.contains("folder") || lower.contains("vdir") {
        "check path and that nudged may write there"
    } else if lower.contains("connect") || lower.contains("dns") || lower.contains("resolve") {
        "check url and that the server is up"
    } else {
        "see the message; `RUST_LOG=nudged=debug nudged check` shows more"
    }
}
