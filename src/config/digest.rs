//! `[digest]` and `[smtp]`: when the morning digest goes out, to whom, and how it is
//! delivered; checked by [`validate_digest`] and [`validate_smtp`].

use std::path::PathBuf;

use serde::Deserialize;

use super::TlsMode;
use super::error::{Invalid, Seg};
use super::is_loopback;
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

/// A user name goes with exactly one secret; plain text only to a loopback host.
pub(super) fn validate_smtp(smtp: &SmtpConfig) -> Result<(), Invalid> {
    let at = |key: &'static str| [Seg::Key("smtp"), Seg::Key(key)];
    let has_secret = smtp.password_command.is_some() || smtp.password_file.is_some();
    if smtp.username.is_some() && !has_secret {
        return Err(Invalid::at(
            &at("username"),
            "smtp.username needs password_file (e.g. a systemd credential) or password_command",
        ));
    }
    if has_secret && smtp.username.is_none() {
        let key = if smtp.password_command.is_some() {
            "password_command"
        } else {
            "password_file"
        };
        return Err(Invalid::at(
            &at(key),
            "smtp: a password is set but smtp.username is not",
        ));
    }
    if smtp.password_command.is_some() && smtp.password_file.is_some() {
        return Err(Invalid::at(
            &at("password_file"),
            "smtp: set password_command or password_file, not both",
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
