//! One-click action links: `/a/{action}/{task}/{expires}/{signature}`, and signed pages
//! `/p/{page}/{value}/{expires}/{signature}` (every open task; skip the old backlog),
//! signed with an HMAC key in a 0600 file beside the database (created on first use; not
//! in the database, so a backup or a copied database cannot forge links), so a link
//! cannot be forged or stretched past its expiry. The digest writes them; the web server
//! checks them.

mod key;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebConfig;

pub use key::{LiveKey, key_path, load_key, rotate_key, signing_key};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Done,
    SnoozeDay,
    SnoozeWeek,
    Skip,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Done,
        Action::SnoozeDay,
        Action::SnoozeWeek,
        Action::Skip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Done => "done",
            Action::SnoozeDay => "snooze-1d",
            Action::SnoozeWeek => "snooze-1w",
            Action::Skip => "skip",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// What a person reads on the button.
    pub fn label(self) -> &'static str {
        match self {
            Action::Done => "Done",
            Action::SnoozeDay => "Snooze 1 day",
            Action::SnoozeWeek => "Snooze 1 week",
            Action::Skip => "Skip",
        }
    }
}

fn signature(key: &[u8], action: Action, task: i64, expires: i64) -> Vec<u8> {
    // A key of any length is accepted by HMAC, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{}|{task}|{expires}", action.as_str()).as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The path (without the public base URL) of a signed link.
pub fn sign_path(key: &[u8], action: Action, task: i64, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    let sig = URL_SAFE_NO_PAD.encode(signature(key, action, task, expires));
    format!("/a/{}/{task}/{expires}/{sig}", action.as_str())
}

/// The full link for the digest: `public_url` (e.g. `WebConfig::base_url`) plus the
/// signed path.
pub fn action_url(
    public_url: &str,
    key: &[u8],
    action: Action,
    task: i64,
    expires: DateTime<Utc>,
) -> String {
    format!(
        "{}{}",
        public_url.trim_end_matches('/'),
        sign_path(key, action, task, expires)
    )
}

/// Every action link for one task, as the digest shows them: built from
/// `web.public_url`, valid for `web.link_expiry` from `now`.
pub fn task_links(
    web: &WebConfig,
    key: &[u8],
    task: i64,
    now: DateTime<Utc>,
) -> Vec<(Action, String)> {
    let expires = now + web.link_expiry.to_chrono();
    let base = web.base_url();
    Action::ALL
        .into_iter()
        .map(|action| (action, action_url(&base, key, action, task, expires)))
        .collect()
}

/// A signed page: what it shows or does, and what its number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Every open task with its buttons (the number is unused, 0).
    Tasks,
    /// Skip every pending task due before the number (unix seconds), fixed when the
    /// digest was written so a later click skips no newer task.
    SkipOlder,
}

impl Page {
    pub fn as_str(self) -> &'static str {
        match self {
            Page::Tasks => "tasks",
            Page::SkipOlder => "skip-older",
        }
    }

    pub fn parse(text: &str) -> Option<Page> {
        [Page::Tasks, Page::SkipOlder]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

fn page_mac(key: &[u8], page: Page, value: i64, expires: i64) -> Hmac<Sha256> {
    // A key of any length is accepted by HMAC, so this cannot fail. The "page:" prefix
    // keeps these signatures apart from action links' ("done|7|…").
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("page:{}|{value}|{expires}", page.as_str()).as_bytes());
    mac
}

/// The path of a signed page.
pub fn sign_page_path(key: &[u8], page: Page, value: i64, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    let sig = URL_SAFE_NO_PAD.encode(page_mac(key, page, value, expires).finalize().into_bytes());
    format!("/p/{}/{value}/{expires}/{sig}", page.as_str())
}

/// Check a signed page link's parts; the signature is compared in constant time.
pub fn verify_page(
    key: &[u8],
    page: &str,
    value: &str,
    expires: &str,
    sig: &str,
    now: DateTime<Utc>,
) -> Result<(Page, i64), LinkError> {
    let page = Page::parse(page).ok_or(LinkError::Malformed)?;
    let value: i64 = value.parse().map_err(|_| LinkError::Malformed)?;
    let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
    let given = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| LinkError::Malformed)?;
    page_mac(key, page, value, expires)
        .verify_slice(&given)
        .map_err(|_| LinkError::BadSignature)?;
    if now.timestamp() > expires {
        return Err(LinkError::Expired);
    }
    Ok((page, value))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkError {
    Malformed,
    BadSignature,
    Expired,
}

/// Check a link's parts; the signature is compared in constant time.
pub fn verify(
    key: &[u8],
    action: &str,
    task: &str,
    expires: &str,
    sig: &str,
    now: DateTime<Utc>,
) -> Result<(Action, i64), LinkError> {
    let action = Action::parse(action).ok_or(LinkError::Malformed)?;
    let task: i64 = task.parse().map_err(|_| LinkError::Malformed)?;
    let expires: i64 = expires.parse().map_err(|_| LinkError::Malformed)?;
    let given = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| LinkError::Malformed)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| LinkError::Malformed)?;
    mac.update(format!("{}|{task}|{expires}", action.as_str()).as_bytes());
    mac.verify_slice(&given)
        .map_err(|_| LinkError::BadSignature)?;
    if now.timestamp() > expires {
        return Err(LinkError::Expired);
    }
    Ok((action, task))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn task_links_use_the_public_url_and_expiry() {
        let config = crate::config::Config::parse(
            "[web]\npublic_url = \"https://n.example/\"\nlink_expiry = \"2d\"\n",
            None,
            std::path::Path::new("."),
        )
        .unwrap();
        let web = config.web.unwrap();
        let now = Utc::now();
        let links = task_links(&web, &[1u8; 32], 7, now);
        assert_eq!(links.len(), 4);
        let (action, url) = &links[1];
        assert_eq!(*action, Action::SnoozeDay);
        let expires = (now + Duration::days(2)).timestamp();
        assert!(
            url.starts_with(&format!("https://n.example/a/snooze-1d/7/{expires}/")),
            "{url}"
        );
    }

    #[test]
    fn page_links_verify_and_are_not_action_links() {
        let key = [7u8; 32];
        let now = Utc::now();
        let path = sign_page_path(
            &key,
            Page::SkipOlder,
            1_700_000_000,
            now + Duration::days(14),
        );
        let parts: Vec<&str> = path.trim_start_matches("/p/").split('/').collect();
        assert_eq!(
            verify_page(&key, parts[0], parts[1], parts[2], parts[3], now),
            Ok((Page::SkipOlder, 1_700_000_000))
        );
        assert_eq!(
            verify_page(&key, parts[0], "1800000000", parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify_page(&key, "tasks", parts[1], parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(&key, "skip", parts[1], parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify_page(
                &key,
                parts[0],
                parts[1],
                parts[2],
                parts[3],
                now + Duration::days(15)
            ),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn signed_links_verify_and_tampering_fails() {
        let key = [7u8; 32];
        let now = Utc::now();
        let path = sign_path(&key, Action::Done, 42, now + Duration::days(14));
        let parts: Vec<&str> = path.trim_start_matches("/a/").split('/').collect();
        assert_eq!(
            verify(&key, parts[0], parts[1], parts[2], parts[3], now),
            Ok((Action::Done, 42))
        );
        assert_eq!(
            verify(&key, "skip", parts[1], parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(&key, parts[0], "43", parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            verify(
                &key,
                parts[0],
                parts[1],
                parts[2],
                parts[3],
                now + Duration::days(15)
            ),
            Err(LinkError::Expired)
        );
        assert_eq!(
            verify(&[8u8; 32], parts[0], parts[1], parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );
    }
}
