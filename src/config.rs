//! The typed configuration: one TOML file, read once at start. Every key is known
//! (unknown keys are errors), every error names the key and its line:column, and paths
//! are resolved here so the rest of the program only sees absolute ones.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::classify::rules::{PlatformSpec, RuleSpec};
use crate::duration::HumanDuration;

/// Where the config is looked for when `--config` is not given.
pub const CONFIG_ENV: &str = "NUDGED_CONFIG";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    pub digest: Option<DigestConfig>,
    pub smtp: Option<SmtpConfig>,
    pub web: Option<WebConfig>,
    #[serde(default)]
    pub followups: FollowupConfig,
    #[serde(default)]
    pub trust: TrustConfig,
    /// Extra classifier rules; a rule with a built-in rule's name replaces it.
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
    /// Follow-up sequences that replace the built-in ones for a kind (and platform).
    #[serde(default, rename = "sequence")]
    pub sequences: Vec<crate::plan::SequenceSpec>,
    /// Extra platforms (sender domains, template header); one with a built-in id
    /// replaces it.
    #[serde(default, rename = "platform")]
    pub platforms: Vec<PlatformSpec>,
    /// Task lists nudged keeps in step with its follow-ups, both ways (CalDAV or vdir).
    #[serde(default, rename = "calendar")]
    pub calendars: Vec<CalendarConfig>,
    /// Address books read into the contacts (CardDAV or vdir).
    #[serde(default, rename = "contacts")]
    pub contacts: Vec<ContactsConfig>,
    /// Where the file was read from; relative paths were resolved against its folder.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: Option<PathBuf>,
}

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
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub refresh_token_file: Option<PathBuf>,
    pub access_token_file: Option<PathBuf>,
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
}

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

/// How follow-ups are planned and when they give up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowupConfig {
    /// The time zone due times are computed in when no `[digest]` is configured.
    pub timezone: Option<TimeZone>,
    /// An open task this long past due expires instead of piling up.
    #[serde(default = "default_expire_after")]
    pub expire_after: HumanDuration,
    /// Keep-in-touch cadence for contacts whose tier has none of its own.
    #[serde(default = "default_cadence")]
    pub cadence: HumanDuration,
    /// Cadence per tier, e.g. `close = "30d"`.
    #[serde(default)]
    pub tiers: BTreeMap<String, HumanDuration>,
    /// At most this many new "Reconnect" reminders a day, freshest lapses first, so an
    /// import of years of old connections becomes a daily trickle, not a wall of tasks.
    #[serde(default = "default_reconnects_per_day")]
    pub reconnects_per_day: u32,
}

impl Default for FollowupConfig {
    fn default() -> Self {
        Self {
            timezone: None,
            expire_after: default_expire_after(),
            cadence: default_cadence(),
            tiers: BTreeMap::new(),
            reconnects_per_day: default_reconnects_per_day(),
        }
    }
}

fn default_reconnects_per_day() -> u32 {
    3
}

fn default_expire_after() -> HumanDuration {
    HumanDuration::days(30)
}

fn default_cadence() -> HumanDuration {
    HumanDuration::days(90)
}

/// Which notifications are believed to come from the platform they claim.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Receiving servers (authserv-id of `Authentication-Results`) whose DKIM verdict
    /// nudged believes, e.g. "mx.fastmail.com". Only the topmost such header counts.
    #[serde(default)]
    pub authserv_ids: Vec<String>,
    /// Plan follow-ups for notifications that could not be verified.
    #[serde(default)]
    pub allow_unverified: bool,
    /// DKIM public keys to verify signatures with locally, by DNS name:
    /// `"selector._domainkey.linkedin.com" = "v=DKIM1; k=rsa; p=MIIB…"`. The classifier
    /// never queries DNS itself; signatures without a key here fall back to
    /// `authserv_ids`.
    #[serde(default)]
    pub dkim_keys: BTreeMap<String, String>,
}

/// "07:30" in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(pub chrono::NaiveTime);

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(LocalTime)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "bad time {text:?}: write it as HH:MM, e.g. \"07:30\""
                ))
            })
    }
}

/// An IANA time zone name like "Europe/Berlin".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim().parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {text:?}: use an IANA name such as \"Europe/Berlin\" or \"America/New_York\""
            ))
        })
    }
}

/// A configuration problem, with where it is when we know.
#[derive(Debug)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line_col: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line_col) {
            (Some(file), Some((line, col))) => {
                write!(f, "{}:{line}:{col}: {}", file.display(), self.message)
            }
            (Some(file), None) => write!(f, "{}: {}", file.display(), self.message),
            (None, Some((line, col))) => write!(f, "line {line}, column {col}: {}", self.message),
            (None, None) => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn at(file: Option<&Path>, text: &str, span: Option<Range<usize>>, message: String) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            line_col: span.map(|span| line_col(text, span.start)),
            message,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

impl Config {
    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            file: Some(path.to_path_buf()),
            line_col: None,
            message: format!("cannot read the config file: {err}"),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, Some(path), &base)
    }

    /// Parse config text; relative paths are resolved against `base`.
    pub fn parse(text: &str, file: Option<&Path>, base: &Path) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|err| {
            ConfigError::at(file, text, err.span(), err.message().trim().to_string())
        })?;
        config.path = file.map(Path::to_path_buf);
        config.validate(text, file)?;
        config.resolve_paths(base);
        Ok(config)
    }

    /// Built-in defaults only: what `classify` uses when there is no config file.
    pub fn empty() -> Self {
        Self::parse("", None, Path::new("."))
            .unwrap_or_else(|err| unreachable!("empty config is valid: {err}"))
    }

    /// The time zone follow-ups are planned in.
    pub fn timezone(&self) -> chrono_tz::Tz {
        self.digest
            .as_ref()
            .map(|d| d.timezone.0)
            .or(self.followups.timezone.map(|t| t.0))
            .unwrap_or(chrono_tz::UTC)
    }

    fn validate(&self, text: &str, file: Option<&Path>) -> Result<(), ConfigError> {
        // Semantic errors are located by searching the text for the offending table,
        // since serde has already thrown the spans away.
        let fail = |needle: &str, message: String| {
            let span = text.find(needle).map(|at| at..at + needle.len());
            Err(ConfigError::at(file, text, span, message))
        };
        let mut names = std::collections::BTreeSet::new();
        for source in &self.sources {
            let locate = format!("\"{}\"", source.name);
            if source.name.trim().is_empty() {
                return fail("[[source]]", "source.name must not be empty".into());
            }
            if !names.insert(source.name.as_str()) {
                return fail(
                    &locate,
                    format!(
                        "two sources are named {:?}; names must be unique",
                        source.name
                    ),
                );
            }
            match source.kind {
                SourceKind::Maildir => {
                    if source.path.is_none() {
                        return fail(
                            &locate,
                            format!(
                                "source {:?}: kind = \"maildir\" needs path = \"…/Maildir\"",
                                source.name
                            ),
                        );
                    }
                    for (key, set) in [
                        ("host", source.host.is_some()),
                        ("username", source.username.is_some()),
                    ] {
                        if set {
                            return fail(
                                &locate,
                                format!(
                                    "source {:?}: {key} does not apply to kind = \"maildir\"",
                                    source.name
                                ),
                            );
                        }
                    }
                }
                SourceKind::Imap => {
                    let Some(host) = &source.host else {
                        return fail(
                            &locate,
                            format!("source {:?}: kind = \"imap\" needs host", source.name),
                        );
                    };
                    if source.username.is_none() {
                        return fail(
                            &locate,
                            format!("source {:?}: kind = \"imap\" needs username", source.name),
                        );
                    }
                    if source.password_command.is_none()
                        && source.password_file.is_none()
                        && source.oauth2.is_none()
                    {
                        return fail(
                            &locate,
                            format!(
                                "source {:?}: set password_file (e.g. a systemd credential), password_command or an [source.oauth2] table; a password is never written in the config",
                                source.name
                            ),
                        );
                    }
                    if let Some(oauth) = &source.oauth2
                        && let Err(message) = validate_oauth2(oauth)
                    {
                        return fail(
                            &locate,
                            format!("source {:?}: oauth2: {message}", source.name),
                        );
                    }
                    if source.tls == TlsMode::None && !is_loopback(host) {
                        return fail(
                            &locate,
                            format!(
                                "source {:?}: tls = \"none\" is only allowed for a loopback host, not {host:?}; use \"implicit\" or \"starttls\"",
                                source.name
                            ),
                        );
                    }
                }
            }
            if [
                source.password_command.is_some(),
                source.password_file.is_some(),
                source.oauth2.is_some(),
            ]
            .iter()
            .filter(|set| **set)
            .count()
                > 1
            {
                return fail(
                    &locate,
                    format!(
                        "source {:?}: set one of password_command, password_file or oauth2",
                        source.name
                    ),
                );
            }
        }
        if let Some(digest) = &self.digest {
            if digest.transport == TransportKind::File && digest.file_dir.is_none() {
                return fail(
                    "[digest]",
                    "digest.transport = \"file\" needs digest.file_dir".into(),
                );
            }
            if digest.transport == TransportKind::Smtp && self.smtp.is_none() {
                return fail(
                    "[digest]",
                    "digest.transport = \"smtp\" needs an [smtp] section".into(),
                );
            }
            if !digest.to.contains('@') {
                return fail(
                    "[digest]",
                    format!("digest.to = {:?} is not an email address", digest.to),
                );
            }
        }
        if let Some(web) = &self.web {
            if web.listen.parse::<std::net::SocketAddr>().is_err() {
                return fail(
                    "[web]",
                    format!(
                        "web.listen = {:?} is not an address like \"127.0.0.1:8737\"",
                        web.listen
                    ),
                );
            }
            if let Some(url) = &web.public_url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return fail(
                    "[web]",
                    format!("web.public_url = {url:?} must start with https:// or http://"),
                );
            }
        }
        if let Some(smtp) = &self.smtp {
            let has_secret = smtp.password_command.is_some() || smtp.password_file.is_some();
            if smtp.username.is_some() && !has_secret {
                return fail(
                    "[smtp]",
                    "smtp.username needs password_file (e.g. a systemd credential) or password_command".into(),
                );
            }
            if has_secret && smtp.username.is_none() {
                return fail(
                    "[smtp]",
                    "smtp: a password is set but smtp.username is not".into(),
                );
            }
            if smtp.password_command.is_some() && smtp.password_file.is_some() {
                return fail(
                    "[smtp]",
                    "smtp: set password_command or password_file, not both".into(),
                );
            }
        }
        if let Some(smtp) = &self.smtp
            && smtp.tls == TlsMode::None
            && !is_loopback(&smtp.host)
        {
            return fail(
                "[smtp]",
                format!(
                    "smtp.tls = \"none\" is only allowed for a loopback host, not {:?}",
                    smtp.host
                ),
            );
        }
        crate::classify::rules::validate_user_rules(&self.rules)
            .or_else(|(name, message)| fail(&format!("\"{name}\""), message))?;
        crate::plan::sequence::validate(&self.sequences)
            .map_err(|(span, message)| ConfigError::at(file, text, Some(span), message))?;
        crate::classify::rules::validate_user_platforms(&self.platforms)
            .or_else(|(id, message)| fail(&format!("\"{id}\""), message))?;
        validate_dav(&self.calendars, &self.contacts)
            .or_else(|(needle, message)| fail(&needle, message))?;
        Ok(())
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fix = |path: &mut PathBuf| *path = resolve_path(base, path);
        if let Some(path) = &mut self.store.path {
            fix(path);
        }
        for source in &mut self.sources {
            for path in [
                &mut source.path,
                &mut source.ca_file,
                &mut source.password_file,
            ]
            .into_iter()
            .flatten()
            {
                fix(path);
            }
            if let Some(oauth) = &mut source.oauth2 {
                for path in [
                    &mut oauth.client_secret_file,
                    &mut oauth.refresh_token_file,
                    &mut oauth.access_token_file,
                ]
                .into_iter()
                .flatten()
                {
                    fix(path);
                }
            }
        }
        if let Some(dir) = self.digest.as_mut().and_then(|d| d.file_dir.as_mut()) {
            fix(dir);
        }
        let dav_paths = self
            .calendars
            .iter_mut()
            .flat_map(|c| [&mut c.path, &mut c.ca_file, &mut c.password_file])
            .chain(
                self.contacts
                    .iter_mut()
                    .flat_map(|c| [&mut c.path, &mut c.ca_file, &mut c.password_file]),
            );
        for path in dav_paths.flatten() {
            fix(path);
        }
        if let Some(smtp) = &mut self.smtp {
            for path in [&mut smtp.ca_file, &mut smtp.password_file]
                .into_iter()
                .flatten()
            {
                fix(path);
            }
        }
    }

    /// The database file: the configured one, else under the state directory systemd
    /// gives us, else the XDG state directory.
    pub fn store_path(&self) -> PathBuf {
        if let Some(path) = &self.store.path {
            return path.clone();
        }
        if let Some(dir) = std::env::var_os("STATE_DIRECTORY") {
            // systemd may pass several colon-separated directories; the first is ours.
            let first = dir
                .to_string_lossy()
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string();
            return PathBuf::from(first).join("nudged.db");
        }
        let state = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| home_dir().map(|h| h.join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."));
        state.join("nudged").join("nudged.db")
    }
}

/// The config file to use when `--config` is absent.
pub fn default_config_path() -> PathBuf {
    if let Some(path) = std::env::var_os(CONFIG_ENV) {
        return PathBuf::from(path);
    }
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home_dir().map(|h| h.join(".config")))
        .map(|dir| dir.join("nudged/config.toml"));
    match user {
        Some(path) if path.exists() => path,
        _ => PathBuf::from("/etc/nudged/config.toml"),
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `~/x` against the home directory, relative paths against the config's folder.
pub fn resolve_path(base: &Path, path: &Path) -> PathBuf {
    if let Ok(rest) = path.strip_prefix("~")
        && let Some(home) = home_dir()
    {
        return home.join(rest);
    }
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Either a static access token file, or everything a refresh needs; the token endpoint
/// is HTTPS except on loopback (a local test endpoint or token helper).
fn validate_oauth2(oauth: &OAuth2Config) -> Result<(), String> {
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
    if oauth.client_id.is_none() || oauth.refresh_token_file.is_none() {
        return Err("a refresh needs client_id and refresh_token_file".into());
    }
    if oauth.client_secret.is_some() && oauth.client_secret_file.is_some() {
        return Err("set client_secret or client_secret_file, not both".into());
    }
    let plain_ok = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split(['/', ':']).next())
        .is_some_and(is_loopback);
    if !url.starts_with("https://") && !plain_ok {
        return Err(format!(
            "token_url {url:?} must be https:// (plain http only on a loopback host)"
        ));
    }
    Ok(())
}

pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(
            text,
            Some(Path::new("/etc/nudged/config.toml")),
            Path::new("/etc/nudged"),
        )
    }

    #[test]
    fn unknown_key_names_key_and_position() {
        let err = parse("[store]\npath = \"x.db\"\ncolour = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("colour"), "{text}");
        assert_eq!(err.line_col, Some((3, 1)), "{text}");
    }

    #[test]
    fn bad_duration_points_at_the_value() {
        let err = parse("[followups]\nexpire_after = \"3 fortnights\"\n").unwrap_err();
        assert_eq!(err.line_col.map(|lc| lc.0), Some(2), "{err}");
        assert!(err.to_string().contains("3 fortnights"), "{err}");
    }

    #[test]
    fn relative_and_home_paths_resolve() {
        // SAFETY-free: tests in this module do not read HOME concurrently with a write.
        let config = parse("[store]\npath = \"state/n.db\"\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"~/Mail\"\n").unwrap();
        assert_eq!(config.store_path(), PathBuf::from("/etc/nudged/state/n.db"));
        let home = home_dir().unwrap();
        assert_eq!(
            config.sources[0].path.as_deref(),
            Some(home.join("Mail").as_path())
        );
    }

    #[test]
    fn imap_without_secret_is_refused() {
        let err = parse("[[source]]\nname = \"p\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"me\"\n").unwrap_err();
        assert!(err.to_string().contains("password_file"), "{err}");
        assert_eq!(err.line_col.map(|lc| lc.0), Some(2));
    }

    #[test]
    fn plaintext_only_on_loopback() {
        let text = "[[source]]\nname = \"p\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"me\"\npassword_file = \"pw\"\ntls = \"none\"\n";
        assert!(parse(text).unwrap_err().to_string().contains("loopback"));
        assert!(parse(&text.replace("imap.example.com", "127.0.0.1")).is_ok());
    }

    #[test]
    fn oauth2_needs_a_token_source() {
        let base = "[[source]]\nname = \"p\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"me\"\n";
        let ok = format!(
            "{base}[source.oauth2]\ntoken_url = \"https://oauth2.example.com/token\"\nclient_id = \"c\"\nrefresh_token_file = \"rt\"\n"
        );
        let config = parse(&ok).unwrap();
        let oauth = config.sources[0].oauth2.as_ref().unwrap();
        assert_eq!(
            oauth.refresh_token_file.as_deref(),
            Some(Path::new("/etc/nudged/rt"))
        );
        let err = parse(&format!("{base}[source.oauth2]\nclient_id = \"c\"\n")).unwrap_err();
        assert!(err.to_string().contains("token_url"), "{err}");
        let err = parse(&ok.replace("https://oauth2.example.com", "http://oauth2.example.com"))
            .unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        assert!(parse(&ok.replace("https://oauth2.example.com", "http://127.0.0.1:9")).is_ok());
    }

    #[test]
    fn bad_time_zone_and_time() {
        let err =
            parse("[digest]\nto = \"me@example.com\"\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
        let err = parse("[digest]\nto = \"me@example.com\"\nat = \"7.30\"\n").unwrap_err();
        assert!(err.to_string().contains("HH:MM"), "{err}");
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\nçd", 5), (2, 2));
        assert_eq!(line_col("", 10), (1, 1));
    }
}

/// Where a `[[calendar]]` or `[[contacts]]` table keeps its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DavKind {
    /// CalDAV / CardDAV over HTTP(S).
    Caldav,
    Carddav,
    /// A folder in vdirsyncer's layout: one file per item.
    Vdir,
}

/// What a calendar and an address book share: where, and how to log in.
#[derive(Debug, Clone)]
pub struct DavEndpoint {
    pub name: String,
    pub kind: DavKind,
    /// Server root, principal or collection (kind = "caldav" / "carddav").
    pub url: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    /// An extra trust anchor (PEM), for a self-signed server.
    pub ca_file: Option<PathBuf>,
    /// The folder (kind = "vdir").
    pub path: Option<PathBuf>,
    /// How long one request may take.
    pub timeout: Option<HumanDuration>,
}

impl DavEndpoint {
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .map(|t| t.to_chrono().to_std().unwrap_or_default())
            .filter(|t| !t.is_zero())
            .unwrap_or(std::time::Duration::from_secs(30))
    }
}

/// `[[calendar]]`: a task list that mirrors the open follow-ups.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarConfig {
    pub name: String,
    pub kind: DavKind,
    /// Server root, principal or collection (kind = "caldav" / "carddav").
    pub url: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    /// An extra trust anchor (PEM), for a self-signed server.
    pub ca_file: Option<PathBuf>,
    /// The folder (kind = "vdir").
    pub path: Option<PathBuf>,
    /// How long one request may take.
    pub timeout: Option<HumanDuration>,
    /// The collection's display name (CalDAV; created if missing) or `displayname` (vdir).
    pub collection: Option<String>,
    /// The vdir's `color` file, e.g. "#3a87ad".
    pub color: Option<String>,
    /// How often the daemon syncs both ways.
    pub interval: Option<HumanDuration>,
}

impl CalendarConfig {
    pub fn endpoint(&self) -> DavEndpoint {
        DavEndpoint {
            name: self.name.clone(),
            kind: self.kind,
            url: self.url.clone(),
            username: self.username.clone(),
            password_file: self.password_file.clone(),
            password_command: self.password_command.clone(),
            ca_file: self.ca_file.clone(),
            path: self.path.clone(),
            timeout: self.timeout,
        }
    }
    pub fn collection(&self) -> &str {
        self.collection.as_deref().unwrap_or("nudged")
    }

    pub fn interval(&self) -> std::time::Duration {
        interval_or(self.interval, 5 * 60)
    }
}

/// `[[contacts]]`: an address book read into the contacts at start and daily.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactsConfig {
    pub name: String,
    pub kind: DavKind,
    /// Server root, principal or collection (kind = "caldav" / "carddav").
    pub url: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_command: Option<String>,
    /// An extra trust anchor (PEM), for a self-signed server.
    pub ca_file: Option<PathBuf>,
    /// The folder (kind = "vdir").
    pub path: Option<PathBuf>,
    /// How long one request may take.
    pub timeout: Option<HumanDuration>,
    /// The address book's display name; the first one found when not set.
    pub addressbook: Option<String>,
    pub interval: Option<HumanDuration>,
}

impl ContactsConfig {
    pub fn endpoint(&self) -> DavEndpoint {
        DavEndpoint {
            name: self.name.clone(),
            kind: self.kind,
            url: self.url.clone(),
            username: self.username.clone(),
            password_file: self.password_file.clone(),
            password_command: self.password_command.clone(),
            ca_file: self.ca_file.clone(),
            path: self.path.clone(),
            timeout: self.timeout,
        }
    }
    pub fn interval(&self) -> std::time::Duration {
        interval_or(self.interval, 24 * 3600)
    }
}

fn interval_or(interval: Option<HumanDuration>, default_secs: u64) -> std::time::Duration {
    interval
        .and_then(|i| i.to_chrono().to_std().ok())
        .filter(|i| !i.is_zero())
        .unwrap_or(std::time::Duration::from_secs(default_secs))
}

/// `[[calendar]]` and `[[contacts]]`: names unique, each kind with the keys it needs.
/// Errors are (text to locate, message).
fn validate_dav(
    calendars: &[CalendarConfig],
    contacts: &[ContactsConfig],
) -> Result<(), (String, String)> {
    let tables = calendars
        .iter()
        .map(|c| ("calendar", DavKind::Caldav, c.endpoint()))
        .chain(
            contacts
                .iter()
                .map(|c| ("contacts", DavKind::Carddav, c.endpoint())),
        );
    let mut names = std::collections::BTreeSet::new();
    for (table, remote, dav) in tables {
        let locate = format!("\"{}\"", dav.name);
        let err =
            |message: String| Err((locate.clone(), format!("{table} {:?}: {message}", dav.name)));
        if dav.name.trim().is_empty() {
            return Err((
                format!("[[{table}]]"),
                format!("{table}.name must not be empty"),
            ));
        }
        if !names.insert((table, dav.name.clone())) {
            return err("two tables have this name; names must be unique".into());
        }
        if dav.kind != remote && dav.kind != DavKind::Vdir {
            return err(format!(
                "kind must be \"{}\" or \"vdir\"",
                if remote == DavKind::Caldav {
                    "caldav"
                } else {
                    "carddav"
                }
            ));
        }
        if dav.kind == DavKind::Vdir {
            if dav.path.is_none() {
                return err("kind = \"vdir\" needs path = \"…/folder\"".into());
            }
            if dav.url.is_some() {
                return err(
                    "kind = \"vdir\" reads a folder; remove url or use the DAV kind".into(),
                );
            }
            continue;
        }
        match dav.url.as_deref() {
            None => {
                return err(
                    "needs url = \"https://…\" (the server, a principal or a collection)".into(),
                );
            }
            Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
                return err(format!(
                    "url {url:?} must start with https:// (or http:// for loopback)"
                ));
            }
            Some(url) if url.starts_with("http://") && !is_loopback(url_host(url)) => {
                return err(format!(
                    "url {url:?}: plain http is only allowed for a loopback host; use https://"
                ));
            }
            Some(url) if url_authority(url).contains('@') => {
                return err(
                    "url must not hold a login; set username and password_file instead".into(),
                );
            }
            Some(_) => {}
        }
        if dav.password_command.is_some() && dav.password_file.is_some() {
            return err("set password_command or password_file, not both".into());
        }
        if dav.username.is_some() != (dav.password_command.is_some() || dav.password_file.is_some())
        {
            return err("set username together with password_file or password_command".into());
        }
    }
    Ok(())
}

/// The authority (`user@host:port`) of an http(s) URL.
fn url_authority(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// The host of an http(s) URL, without port or brackets.
fn url_host(url: &str) -> &str {
    let authority = url_authority(url);
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}
