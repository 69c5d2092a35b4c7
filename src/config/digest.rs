//! `[digest]` and `[smtp]`: when the morning digest goes out, to whom, and how it is
//! delivered; checked by [`validate_digest`] and [`validate_smtp`].

use std::path::PathBuf;

use serde::Deserialize;

use super::TlsMode;
use super::error::{Invalid, Seg};
use super::is_loopback;
use super::source::{OAuth2Config, SourceConfig, validate_oauth2};
use super::time::{LocalTime, TimeZone};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    Smtp,
    Sendmail,
    #[default]
    File,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalendarStyle {
    #[default]
    Vevent,
    Vtodo,
    Both,
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    pub to: String,
    #[serde(default = "default_digest_from")]
    pub from: String,
    #[serde(default = "default_digest_at")]
    pub at: LocalTime,
    #[serde(default = "default_timezone")]
    pub timezone: TimeZone,
    #[serde(default)]
    pub transport: TransportKind,
    pub file_dir: Option<PathBuf>,
    #[serde(default)]
    pub calendar: CalendarStyle,
    /// Send a digest even when nothing is due and nothing is new.
    #[serde(default)]
    pub send_when_empty: bool,
    /// For transport = "sendmail": the command the message is piped to (split on
    /// whitespace, no shell). Default: "/usr/sbin/sendmail -t -i".
    pub sendmail_command: Option<String>,
    /// Obey replies to a digest from `to` even without an Authentication-Results pass
    /// from a server in `[trust] authserv_ids`. Anyone can forge a From line.
    #[serde(default)]
    pub trust_owner_replies_unverified: bool,
    /// How many follow-ups the digest shows in full; the rest are counted.
    #[serde(default = "default_max_items")]
    pub max_items: usize,
    /// How often the per-platform ROI block appears: every digest or Mondays only.
    #[serde(default)]
    pub roi: RoiEvery,
}

/// `[digest] roi`: the ROI block in every digest, or in Monday's only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoiEvery {
    #[default]
    Daily,
    Weekly,
}

fn default_max_items() -> usize {
    12
}

/// The largest `[digest] max_items`: beyond it the digest is a wall again.
pub const MAX_ITEMS_LIMIT: usize = 25;

fn default_digest_from() -> String {
    "nudged <nudged@localhost>".to_string()
}

fn default_digest_at() -> LocalTime {
    LocalTime(chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default())
}

fn default_timezone() -> TimeZone {
    TimeZone(chrono_tz::UTC)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default)]
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password_command: Option<String>,
    pub password_file: Option<PathBuf>,
    /// XOAUTH2 with a sign-in of its own (`nudged auth login smtp`). When
    /// `oauth2_source` is set, the config loader puts that source's table here.
    pub oauth2: Option<OAuth2Config>,
    /// XOAUTH2 with the sign-in of this `[[source]]` (one `nudged auth login` for both,
    /// when the account and the OAuth client are the same).
    pub oauth2_source: Option<String>,
}

impl SmtpConfig {
    /// The name `nudged auth login` takes for this server's token: the shared source's,
    /// else "smtp".
    pub fn oauth2_login_name(&self) -> &str {
        self.oauth2_source.as_deref().unwrap_or("smtp")
    }
}

/// The transport has what it needs, and `to` is an address.
pub(super) fn validate_digest(
    digest: &DigestConfig,
    smtp: Option<&SmtpConfig>,
) -> Result<(), Invalid> {
    let at = |key: &'static str| [Seg::Key("digest"), Seg::Key(key)];
    if !(1..=MAX_ITEMS_LIMIT).contains(&digest.max_items) {
        return Err(Invalid::at(
            &at("max_items"),
            format!(
                "digest.max_items = {} must be between 1 and {MAX_ITEMS_LIMIT}",
                digest.max_items
            ),
        ));
    }
    if digest.transport == TransportKind::File && digest.file_dir.is_none() {
        return Err(Invalid::at(
            &at("transport"),
            "digest.transport = \"file\" needs digest.file_dir",
        ));
    }
    if digest.transport == TransportKind::Smtp && smtp.is_none() {
        return Err(Invalid::at(
            &at("transport"),
            "digest.transport = \"smtp\" needs an [smtp] section",
        ));
    }
    if !digest.to.contains('@') {
        return Err(Invalid::at(
            &at("to"),
            format!("digest.to = {:?} is not an email address", digest.to),
        ));
    }
    Ok(())
}

/// A user name goes with exactly one secret (a password or an OAuth sign-in); plain
/// text only to a loopback host.
pub(super) fn validate_smtp(smtp: &SmtpConfig, sources: &[SourceConfig]) -> Result<(), Invalid> {
    let at = |key: &'static str| [Seg::Key("smtp"), Seg::Key(key)];
    let secrets = [
        ("password_command", smtp.password_command.is_some()),
        ("password_file", smtp.password_file.is_some()),
        ("oauth2", smtp.oauth2.is_some()),
        ("oauth2_source", smtp.oauth2_source.is_some()),
    ];
    let mut set = secrets.iter().filter(|(_, set)| *set).map(|(key, _)| *key);
    let first = set.next();
    if smtp.username.is_some() && first.is_none() {
        return Err(Invalid::at(
            &at("username"),
            "smtp.username needs password_file (e.g. a systemd credential), password_command, oauth2_source or an [smtp.oauth2] table",
        ));
    }
    if let Some(key) = first
        && smtp.username.is_none()
    {
        return Err(Invalid::at(
            &at(key),
            "smtp: a password or OAuth sign-in is set but smtp.username is not",
        ));
    }
    if let Some(second) = set.next() {
        return Err(Invalid::at(
            &at(second),
            "smtp: set one of password_command, password_file, oauth2_source or [smtp.oauth2]",
        ));
    }
    if let Some(oauth) = &smtp.oauth2 {
        if oauth.client_secret.is_some() {
            return Err(Invalid::at(
                &[
                    Seg::Key("smtp"),
                    Seg::Key("oauth2"),
                    Seg::Key("client_secret"),
                ],
                "smtp.oauth2.client_secret must not be written in the config; put it in a file readable only by nudged and set client_secret_file, or set client_secret_command",
            ));
        }
        validate_oauth2(oauth)
            .map_err(|message| Invalid::at(&at("oauth2"), format!("smtp.oauth2: {message}")))?;
        if sources.iter().any(|s| s.name == "smtp") {
            return Err(Invalid::at(
                &at("oauth2"),
                "[smtp.oauth2] signs in as `nudged auth login smtp`, but a [[source]] is named \"smtp\"; rename that source",
            ));
        }
    }
    if let Some(name) = &smtp.oauth2_source
        && !sources
            .iter()
            .any(|s| &s.name == name && s.oauth2.is_some())
    {
        return Err(Invalid::at(
            &at("oauth2_source"),
            format!(
                "smtp.oauth2_source = {name:?} must name a [[source]] that signs in with OAuth (one with a [source.oauth2] table)"
            ),
        ));
    }
    if smtp.tls == TlsMode::None && !is_loopback(&smtp.host) {
        return Err(Invalid::at(
            &at("tls"),
            format!(
                "smtp.tls = \"none\" is only allowed for a loopback host, not {:?}",
                smtp.host
            ),
        ));
    }
    Ok(())
}
