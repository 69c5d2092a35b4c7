//! The typed configuration: one TOML file, read once at start. Every key is known
//! (unknown keys are errors), every error names the key and its line:column, and paths
//! are resolved here so the rest of the program only sees absolute ones.
//!
//! Config is plain data at the bottom of the house: it imports nothing above it. The
//! classifier and the planner import their spec types (rules, platforms, sequences,
//! trust) from here, since they are the code that uses this data. Each file holds one
//! topic's types with the validation that checks them.

mod calendar;
mod digest;
pub mod duration;
mod error;
mod followups;
mod kind;
mod rules;
mod sequence;
mod source;
mod time;
mod trust;
mod web;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use calendar::{
    CalendarConfig, ContactsConfig, DavEndpoint, DavKind, SyncMode, url_authority, url_host,
};
pub use digest::{
    CalendarStyle, DigestConfig, MAX_ITEMS_LIMIT, RoiEvery, SmtpConfig, TransportKind,
};
pub use error::{ConfigError, Invalid, Place, Seg, line_col, span_of};
pub use followups::FollowupConfig;
pub use kind::Kind;
pub use rules::{ActorSource, PlatformSpec, RuleSpec, compile_pattern};
pub use sequence::{SequenceSpec, SequenceWhen, StepSpec};
pub use source::{OAuth2Config, SourceConfig, SourceKind, TlsMode};
pub use time::{LocalTime, TimeZone};
pub use trust::TrustConfig;
pub use web::{FeedEvents, WebConfig};

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
    pub sequences: Vec<SequenceSpec>,
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
        config
            .validate()
            .map_err(|invalid| invalid.into_error(text, file))?;
        config.resolve_paths(base);
        config.default_oauth2_token_files();
        Ok(config)
    }

    /// A refresh token without a configured file lives next to the database, where
    /// `nudged auth login` writes it and the daemon rewrites it when the provider rotates it.
    fn default_oauth2_token_files(&mut self) {
        let dir = self
            .store_path()
            .parent()
            .map_or_else(|| PathBuf::from("oauth2"), |dir| dir.join("oauth2"));
        for source in &mut self.sources {
            if let Some(oauth) = &mut source.oauth2
                && oauth.access_token_file.is_none()
                && oauth.refresh_token_file.is_none()
            {
                oauth.refresh_token_file = Some(dir.join(format!("{}.refresh-token", source.name)));
            }
        }
        let Some(smtp) = &mut self.smtp else { return };
        if let Some(name) = &smtp.oauth2_source {
            // The same table, so the same refresh token file: one sign-in, and one
            // cached access token for IMAP and SMTP.
            smtp.oauth2 = (self.sources.iter())
                .find(|s| &s.name == name)
                .and_then(|s| s.oauth2.clone());
        } else if let Some(oauth) = &mut smtp.oauth2
            && oauth.access_token_file.is_none()
            && oauth.refresh_token_file.is_none()
        {
            oauth.refresh_token_file = Some(dir.join("smtp.refresh-token"));
        }
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

    /// Every check serde cannot make, each beside the type it checks; the first
    /// problem found, located by its path in the document.
    fn validate(&self) -> Result<(), Invalid> {
        source::validate_sources(&self.sources)?;
        if let Some(digest) = &self.digest {
            digest::validate_digest(digest, self.smtp.as_ref())?;
        }
        if let Some(web) = &self.web {
            web::validate_web(web)?;
        }
        if let Some(smtp) = &self.smtp {
            digest::validate_smtp(smtp, &self.sources)?;
        }
        rules::validate_rules(&self.rules).map_err(|(i, message)| {
            Invalid::at(
                &[Seg::Key("rule"), Seg::Index(i), Seg::Key("name")],
                message,
            )
        })?;
        sequence::validate_sequences(&self.sequences)
            .map_err(|(span, message)| Invalid::spanned(span, message))?;
        rules::validate_platforms(&self.platforms).map_err(|(i, message)| {
            Invalid::at(
                &[Seg::Key("platform"), Seg::Index(i), Seg::Key("id")],
                message,
            )
        })?;
        calendar::validate_dav(&self.calendars, &self.contacts)?;
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
            .flat_map(|c| {
                [
                    &mut c.path,
                    &mut c.events_path,
                    &mut c.ca_file,
                    &mut c.password_file,
                ]
            })
            .chain(
                self.contacts
                    .iter_mut()
                    .flat_map(|c| [&mut c.path, &mut c.ca_file, &mut c.password_file]),
            );
        for path in dav_paths.flatten() {
            fix(path);
        }
        if let Some(smtp) = &mut self.smtp {
            let oauth = smtp.oauth2.as_mut().into_iter().flat_map(|o| {
                [
                    &mut o.client_secret_file,
                    &mut o.refresh_token_file,
                    &mut o.access_token_file,
                ]
            });
            for path in [&mut smtp.ca_file, &mut smtp.password_file]
                .into_iter()
                .chain(oauth)
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
    fn oauth2_inline_client_secret_is_refused_at_its_line() {
        let text = "[store]\npath = \"/var/lib/nudged/nudged.db\"\n[[source]]\nname = \"p\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"me\"\n[source.oauth2]\ntoken_url = \"https://oauth2.example.com/token\"\nclient_id = \"c\"\nclient_secret = \"hunter2\"\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line_col, Some((11, 17)), "{err}");
        let message = err.to_string();
        assert!(message.contains("client_secret_file"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        // Without it the refresh token defaults to the state directory.
        let config = parse(&text.replace("client_secret = \"hunter2\"\n", "")).unwrap();
        assert_eq!(
            config.sources[0]
                .oauth2
                .as_ref()
                .unwrap()
                .refresh_token_file
                .as_deref(),
            Some(Path::new("/var/lib/nudged/oauth2/p.refresh-token"))
        );
    }

    #[test]
    fn bad_time_zone_and_time() {
        let err =
            parse("[digest]\nto = \"me@example.com\"\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
        let err = parse("[digest]\nto = \"me@example.com\"\nat = \"7.30\"\n").unwrap_err();
        assert!(err.to_string().contains("HH:MM"), "{err}");
    }
}
