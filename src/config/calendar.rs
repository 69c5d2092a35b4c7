//! `[[calendar]]` (task lists kept in step with the follow-ups, both ways) and
//! `[[contacts]]` (address books read into the contacts): CalDAV/CardDAV or a vdir folder,
//! and how to log in; checked by [`validate_dav`].

use std::path::PathBuf;

use serde::Deserialize;

use super::error::{Invalid, Seg};
use super::is_loopback;
use crate::config::duration::HumanDuration;

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
    /// How changes are found (CalDAV): sync-collection where offered, or always ctag
    /// and ETags, for a server whose sync tokens are broken.
    #[serde(default)]
    pub sync: SyncMode,
    /// A second vdir (kind = "vdir") where each open task's due time is also an event,
    /// for calendar apps that show events only (khal). Written, never read back.
    pub events_path: Option<PathBuf>,
}

/// `sync = "auto" | "etag"` of a CalDAV `[[calendar]]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    /// sync-collection (RFC 6578) when the server offers it, else ctag and ETags.
    #[default]
    Auto,
    /// ctag and ETags only: one PROPFIND when nothing changed, a listing and a multiget
    /// otherwise.
    Etag,
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
/// Each error is located at the table's `name`.
pub(super) fn validate_dav(
    calendars: &[CalendarConfig],
    contacts: &[ContactsConfig],
) -> Result<(), Invalid> {
    let tables = calendars
        .iter()
        .enumerate()
        .map(|(i, c)| ("calendar", i, DavKind::Caldav, c.endpoint()))
        .chain(
            contacts
                .iter()
                .enumerate()
                .map(|(i, c)| ("contacts", i, DavKind::Carddav, c.endpoint())),
        );
    for (index, calendar) in calendars.iter().enumerate() {
        validate_calendar_extras(index, calendar)?;
    }
    let mut names = std::collections::BTreeSet::new();
    for (table, index, remote, dav) in tables {
        let place = [Seg::Key(table), Seg::Index(index), Seg::Key("name")];
        let err = |message: String| {
            Err(Invalid::at(
                &place,
                format!("{table} {:?}: {message}", dav.name),
            ))
        };
        if dav.name.trim().is_empty() {
            return Err(Invalid::at(
                &place,
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

/// The keys only one kind of `[[calendar]]` has.
fn validate_calendar_extras(index: usize, calendar: &CalendarConfig) -> Result<(), Invalid> {
    let err = |key: &'static str, message: &str| {
        Err(Invalid::at(
            &[Seg::Key("calendar"), Seg::Index(index), Seg::Key(key)],
            format!("calendar {:?}: {message}", calendar.name),
        ))
    };
    if calendar.kind == DavKind::Vdir && calendar.sync != SyncMode::Auto {
        return err(
            "sync",
            "sync is for kind = \"caldav\"; a vdir is read whole on every pass",
        );
    }
    if let Some(events) = &calendar.events_path {
        if calendar.kind != DavKind::Vdir {
            return err(
                "events_path",
                "events_path is for kind = \"vdir\" (a CalDAV server's calendar apps show to-dos)",
            );
        }
        if calendar.path.as_ref() == Some(events) {
            return err(
                "events_path",
                "events_path must be a folder of its own, not the task list's path",
            );
        }
    }
    Ok(())
}

/// The authority (`user@host:port`) of an http(s) URL.
pub fn url_authority(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

/// The host of an http(s) URL, without port or brackets.
pub fn url_host(url: &str) -> &str {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, SyncMode};

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, None, Path::new("/base")).map_err(|e| e.to_string())
    }

    #[test]
    fn sync_and_events_path_belong_to_one_kind_each() {
        let caldav =
            "[[calendar]]\nname = \"a\"\nkind = \"caldav\"\nurl = \"http://127.0.0.1:5232/\"\n";
        let vdir = "[[calendar]]\nname = \"a\"\nkind = \"vdir\"\npath = \"tasks\"\n";
        let config = parse(&format!("{caldav}sync = \"etag\"\n")).unwrap();
        assert_eq!(config.calendars[0].sync, SyncMode::Etag);
        let config = parse(&format!("{vdir}events_path = \"due\"\n")).unwrap();
        assert_eq!(
            config.calendars[0].events_path.as_deref(),
            Some(Path::new("/base/due"))
        );
        let cases = [
            (
                format!("{vdir}sync = \"etag\"\n"),
                "calendar \"a\": sync is for kind = \"caldav\"",
            ),
            (
                format!("{caldav}sync = \"sometimes\"\n"),
                "unknown variant `sometimes`",
            ),
            (
                format!("{caldav}events_path = \"due\"\n"),
                "events_path is for kind = \"vdir\"",
            ),
            (
                format!("{vdir}events_path = \"tasks\"\n"),
                "a folder of its own",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text)
                .err()
                .unwrap_or_else(|| panic!("accepted: {text}"));
            assert!(err.contains(want), "{text}\n→ {err}");
            assert!(err.contains(":5:") || err.contains("line 5"), "{err}");
        }
    }
}
