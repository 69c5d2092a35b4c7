//! `[web]`: where the calendar feed and the one-click links are served, and what the
//! links and feed events look like; checked by [`validate_web`].

use serde::Deserialize;

use super::error::{Invalid, Seg};
use crate::config::duration::HumanDuration;

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
    /// A request's head (line and headers) must arrive this soon after the server
    /// starts waiting for it; slow or silent clients are dropped.
    #[serde(default = "default_header_timeout")]
    pub header_timeout: HumanDuration,
    /// A connection on which nothing moves this long is closed; also the deadline for
    /// one request's body and answer.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: HumanDuration,
    /// Open connections at most; never more than half the file-descriptor limit.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections from one client address at most (behind a reverse proxy every
    /// client has the proxy's address: raise it there, or limit at the proxy).
    #[serde(default = "default_max_connections_per_client")]
    pub max_connections_per_client: usize,
    /// The feed holds at most this many tasks (due from 14 days ago to 60 days ahead),
    /// most important first.
    #[serde(default = "default_feed_max")]
    pub feed_max: usize,
}

fn default_feed_max() -> usize {
    200
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

fn default_header_timeout() -> HumanDuration {
    HumanDuration {
        days: 0,
        seconds: 10,
    }
}

fn default_idle_timeout() -> HumanDuration {
    HumanDuration {
        days: 0,
        seconds: 30,
    }
}

fn default_max_connections() -> usize {
    512
}

fn default_max_connections_per_client() -> usize {
    64
}

/// The web limits must leave a server that can answer: no zero timeouts or caps, and
/// links that last at least a minute. The error names the key at fault.
fn validate_web_limits(web: &WebConfig) -> Result<(), (&'static str, String)> {
    for (key, value, default) in [
        ("header_timeout", web.header_timeout, "10s"),
        ("idle_timeout", web.idle_timeout, "30s"),
    ] {
        if value.to_chrono() < chrono::Duration::seconds(1) {
            return Err((
                key,
                format!(
                    "web.{key} = \"{value}\" is too short: use at least \"1s\" (default: \"{default}\")"
                ),
            ));
        }
    }
    if web.link_expiry.to_chrono() < chrono::Duration::minutes(1) {
        return Err((
            "link_expiry",
            format!(
                "web.link_expiry = \"{}\" is too short: links must work at least \"1m\" (default: \"14d\")",
                web.link_expiry
            ),
        ));
    }
    for (key, value) in [
        ("max_connections", web.max_connections),
        ("max_connections_per_client", web.max_connections_per_client),
    ] {
        if value == 0 {
            return Err((
                key,
                format!("web.{key} = 0 would refuse every client: use 1 or more"),
            ));
        }
    }
    Ok(())
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
    if web.feed_max == 0 {
        return Err(Invalid::at(
            &at("feed_max"),
            "web.feed_max = 0 would make an empty feed; use at least 1".to_string(),
        ));
    }
    validate_web_limits(web).map_err(|(key, message)| Invalid::at(&at(key), message))
}
