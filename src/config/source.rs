//! `[[source]]`: the mail accounts and local folders nudged reads, and what each kind
//! needs. One struct for both kinds (the error for a key of the other kind names it,
//! which serde's tagged enums cannot), checked by [`validate_sources`].

use std::path::PathBuf;

use serde::Deserialize;

use super::error::{Invalid, Seg};
use super::is_loopback;
use crate::config::duration::HumanDuration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Imap,
    Maildir,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    #[default]
    Implicit,
    Starttls,
    None,
}

/// One mail account or local folder. Fields apply to one kind or the other; `validate`
/// says which are missing or do not belong.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub name: String,
    pub kind: SourceKind,
    // imap
    pub host: Option<String>,
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password_command: Option<String>,
    pub password_file: Option<PathBuf>,
    pub folders: Option<Vec<String>>,
    pub sent_folder: Option<String>,
    pub backfill_days: Option<u32>,
    /// XOAUTH2 instead of a password.
    pub oauth2: Option<OAuth2Config>,
    /// `false` polls every `poll_interval` even when the server offers IDLE.
    pub idle: Option<bool>,
    /// Leave and re-issue IDLE after this long without a word from the server.
    pub idle_timeout: Option<HumanDuration>,
    /// Outside IDLE, a server silent this long is taken for a dead connection.
    pub read_timeout: Option<HumanDuration>,
    /// How often to look for new mail on servers without IDLE.
    pub poll_interval: Option<HumanDuration>,
    // maildir
    pub path: Option<PathBuf>,
}

/// XOAUTH2 log-in: an access token fetched with a refresh token from the provider's
/// token endpoint on every connect, or read from `access_token_file` (kept fresh by
/// another program).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    /// Only read to refuse it, at its line: a secret is never written in the config.
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub client_secret_command: Option<String>,
    /// Where the refresh token is kept; default `oauth2/SOURCE.refresh-token` next to the
    /// database (set after parsing), written by `nudged auth login`.
    pub refresh_token_file: Option<PathBuf>,
    pub access_token_file: Option<PathBuf>,
    /// `nudged auth login` with the device authorization grant (RFC 8628), e.g. Microsoft.
    pub device_auth_url: Option<String>,
    /// `nudged auth login` in a browser with a loopback redirect and PKCE, e.g. Google.
    pub auth_url: Option<String>,
    /// Scopes asked for at `nudged auth login`.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl SourceConfig {
    /// IMAP timing, with the defaults documented in config.sample.toml.
    pub fn idle_timeout(&self) -> std::time::Duration {
        to_std(self.idle_timeout, 10 * 60)
    }

    pub fn read_timeout(&self) -> std::time::Duration {
        to_std(self.read_timeout, 60)
    }

    pub fn poll_interval(&self) -> std::time::Duration {
        to_std(self.poll_interval, 5 * 60)
    }
}

fn to_std(value: Option<HumanDuration>, default_secs: u64) -> std::time::Duration {
    value
        .and_then(|d| d.to_chrono().to_std().ok())
        .filter(|d| !d.is_zero())
        .unwrap_or(std::time::Duration::from_secs(default_secs))
}

/// `source[index].key` in the document.
fn at(index: usize, key: &'static str) -> [Seg<'static>; 3] {
    [Seg::Key("source"), Seg::Index(index), Seg::Key(key)]
}

/// Names unique and not empty; each source complete for its kind.
pub(super) fn validate_sources(sources: &[SourceConfig]) -> Result<(), Invalid> {
    let mut names = std::collections::BTreeSet::new();
    for (index, source) in sources.iter().enumerate() {
        if source.name.trim().is_empty() {
            return Err(Invalid::at(
                &at(index, "name"),
                "source.name must not be empty",
            ));
        }
        if !names.insert(source.name.as_str()) {
            return Err(Invalid::at(
                &at(index, "name"),
                format!(
                    "two sources are named {:?}; names must be unique",
                    source.name
                ),
            ));
        }
        source.validate(index)?;
    }
    Ok(())
}

impl SourceConfig {
    /// Errors point at the key at fault, or at the source's name when a key is missing.
    fn validate(&self, index: usize) -> Result<(), Invalid> {
        let name = &self.name;
        let missing = |message: String| Invalid::at(&at(index, "name"), message);
        match self.kind {
            SourceKind::Maildir => {
                if self.path.is_none() {
                    return Err(missing(format!(
                        "source {name:?}: kind = \"maildir\" needs path = \"…/Maildir\""
                    )));
                }
                for (key, set) in [
                    ("host", self.host.is_some()),
                    ("username", self.username.is_some()),
                ] {
                    if set {
                        return Err(Invalid::at(
                            &at(index, key),
                            format!("source {name:?}: {key} does not apply to kind = \"maildir\""),
                        ));
                    }
                }
            }
            SourceKind::Imap => {
                let Some(host) = &self.host else {
                    return Err(missing(format!(
                        "source {name:?}: kind = \"imap\" needs host"
                    )));
                };
                if self.username.is_none() {
                    return Err(missing(format!(
                        "source {name:?}: kind = \"imap\" needs username"
                    )));
                }
                if self.password_command.is_none()
                    && self.password_file.is_none()
                    && self.oauth2.is_none()
                {
                    return Err(missing(format!(
                        "source {name:?}: set password_file (e.g. a systemd credential), password_command or an [source.oauth2] table; a password is never written in the config"
                    )));
                }
                if let Some(oauth) = &self.oauth2
                    && oauth.client_secret.is_some()
                {
                    // Refused where it stands, so the user knows which line to move.
                    return Err(Invalid::at(
                        &[
                            Seg::Key("source"),
                            Seg::Index(index),
                            Seg::Key("oauth2"),
                            Seg::Key("client_secret"),
                        ],
                        format!(
                            "source {name:?}: oauth2.client_secret must not be written in the config; \
                             put it in a file readable only by nudged and set client_secret_file \
                             (e.g. a systemd credential), or set client_secret_command"
                        ),
                    ));
                }
                if let Some(oauth) = &self.oauth2
                    && let Err(message) = validate_oauth2(oauth)
                {
                    return Err(Invalid::at(
                        &at(index, "oauth2"),
                        format!("source {name:?}: oauth2: {message}"),
                    ));
                }
                if self.tls == TlsMode::None && !is_loopback(host) {
                    return Err(Invalid::at(
                        &at(index, "tls"),
                        format!(
                            "source {name:?}: tls = \"none\" is only allowed for a loopback host, not {host:?}; use \"implicit\" or \"starttls\""
                        ),
                    ));
                }
            }
        }
        let secrets = [
            ("password_command", self.password_command.is_some()),
            ("password_file", self.password_file.is_some()),
            ("oauth2", self.oauth2.is_some()),
        ];
        if secrets.iter().filter(|(_, set)| *set).count() > 1 {
            let second = secrets
                .iter()
                .filter(|(_, set)| *set)
                .nth(1)
                .map_or("name", |(key, _)| *key);
            return Err(Invalid::at(
                &at(index, second),
                format!("source {name:?}: set one of password_command, password_file or oauth2"),
            ));
        }
        Ok(())
    }
}

/// Either a static access token file, or everything a refresh needs; the token endpoint
/// is HTTPS except on loopback (a local test endpoint or token helper).
pub(super) fn validate_oauth2(oauth: &OAuth2Config) -> Result<(), String> {
    if oauth.access_token_file.is_some() {
        if oauth.refresh_token_file.is_some() {
            return Err("set access_token_file or refresh_token_file, not both".into());
        }
        return Ok(());
    }
    let Some(url) = &oauth.token_url else {
        return Err(
            "set token_url, client_id and refresh_token_file (or access_token_file)".into(),
        );
    };
    if oauth.client_id.is_none() {
        return Err("a refresh needs client_id".into());
    }
    if oauth.client_secret_file.is_some() && oauth.client_secret_command.is_some() {
        return Err("set client_secret_file or client_secret_command, not both".into());
    }
    for (key, url) in [
        ("token_url", Some(url)),
        ("device_auth_url", oauth.device_auth_url.as_ref()),
        ("auth_url", oauth.auth_url.as_ref()),
    ] {
        if let Some(url) = url {
            check_endpoint(key, url)?;
        }
    }
    Ok(())
}

/// An OAuth endpoint is HTTPS, except on loopback (a local test server or token helper).
fn check_endpoint(key: &str, url: &str) -> Result<(), String> {
    let plain_ok = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .is_some_and(is_loopback);
    if !url.starts_with("https://") && !plain_ok {
        return Err(format!(
            "{key} {url:?} must be https:// (plain http only on a loopback host)"
        ));
    }
    Ok(())
}
