//! `[web]`: where the calendar feed and the one-click links are served, and what the
//! links and feed events look like; checked by [`validate_web`].

use serde::Deserialize;

use super::error::{Invalid, Seg};
use crate::duration::HumanDuration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(default = "default_listen")]
    pub listen: String,
    pub public_url: Option<String>,
    /// Feed events on the due day (`all-day`) or at the due time (`timed`).
    #[serde(default)]
    pub feed_events: FeedEvents,
    /// Calendar reminder this long before a timed item; "0m" for none.
    #[serde(default = "default_alarm")]
    pub alarm: HumanDuration,
    /// How long one-click links in a digest keep working.
    #[serde(default = "default_link_expiry")]
    pub link_expiry: HumanDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedEvents {
    #[default]
    AllDay,
    Timed,
}

impl WebConfig {
    /// The base of every link: `public_url`, else the listen address over plain HTTP.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8737".to_string()
}

fn default_alarm() -> HumanDuration {
    HumanDuration {
        days: 0,
        seconds: 15 * 60,
    }
}

fn default_link_expiry() -> HumanDuration {
    HumanDuration::days(14)
}

/// `listen` is a socket address and `public_url` an http(s) URL.
pub(super) fn validate_web(web: &WebConfig) -> Result<(), Invalid> {
    let at = |key: &'static str| [Seg::Key("web"), Seg::Key(key)];
    if web.listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(Invalid::at(
            &at("listen"),
            format!(
                "web.listen = {:?} is not an address like \"127.0.0.1:8737\"",
                web.listen
            ),
        ));
    }
    if let Some(url) = &web.public_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(Invalid::at(
            &at("public_url"),
            format!("web.public_url = {url:?} must start with https:// or http://"),
        ));
    }
    Ok(())
}
