//! One-click action links: `/a/{action}/{task}/{expires}/{signature}`, and signed pages
//! `/p/{page}/{value}/{expires}/{signature}` (every open task; skip the old backlog),
//! signed with an HMAC key in a 0600 file beside the database (created on first use; not
//! in the database, so a backup or a copied database cannot forge links), so a link
//! cannot be forged or stretched past its expiry. The digest writes them; the web server
//! checks them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::{Context, Result};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::WebConfig;
use crate::store::Store;

const KEY_SETTING: &str = "link_signing_key";

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

/// Where the signing key of the database at `db` lives: beside it, `NAME.db.link-key`.
/// `None` for an in-memory database, whose key stays in it.
pub fn key_path(db: &Path) -> Option<PathBuf> {
    if db.as_os_str() == ":memory:" {
        return None;
    }
    let mut name = db.file_name()?.to_os_string();
    name.push(".link-key");
    Some(db.with_file_name(name))
}

/// The key that signs links; made once, with 256 random bits. A key an older nudged
/// kept in the database moves to the key file (so its links keep working) and leaves
/// the database.
pub fn signing_key(store: &mut Store) -> Result<Vec<u8>> {
    let stored = store
        .setting(KEY_SETTING)?
        .and_then(|text| hex::decode(text).ok())
        .filter(|key| key.len() >= 32);
    let Some(path) = key_path(store.path()) else {
        if let Some(key) = stored {
            return Ok(key);
        }
        let key: [u8; 32] = rand::random();
        store.set_setting(KEY_SETTING, &hex::encode(key))?;
        return Ok(key.to_vec());
    };
    if let Some(key) = read_key_file(&path)? {
        if stored.is_some() {
            store.delete_setting(KEY_SETTING)?;
        }
        return Ok(key);
    }
    let moved = stored.is_some();
    let key = stored.unwrap_or_else(|| rand::random::<[u8; 32]>().to_vec());
    write_key_file(&path, &key)?;
    if moved {
        store.delete_setting(KEY_SETTING)?;
    }
    Ok(key)
}

/// Replace the signing key: every link made with the old one is refused from now on
/// (a running server notices the new file at its next request).
pub fn rotate_key(store: &mut Store) -> Result<PathBuf> {
    let path = key_path(store.path()).context("an in-memory database has no key file")?;
    let key: [u8; 32] = rand::random();
    write_key_file(&path, &key)?;
    store.delete_setting(KEY_SETTING)?;
    Ok(path)
}

/// The key in `path`, or `None` if there is no such file. A damaged file is an error
/// that says how to fix it, not a silent new key.
fn read_key_file(path: &Path) -> Result<Option<Vec<u8>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err)
                .with_context(|| format!("cannot read the link key {}", path.display()));
        }
    };
    match hex::decode(text.trim()) {
        Ok(key) if key.len() >= 32 => Ok(Some(key)),
        _ => anyhow::bail!(
            "the link key {} is damaged; `nudged links --rotate` makes a new one \
             (links in earlier digests then stop working)",
            path.display()
        ),
    }
}

/// Write the key to a 0600 temp file, then rename it over `path`: a reader sees the
/// old key or the new one, never half of one.
fn write_key_file(path: &Path, key: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
        file.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write the link key {}", path.display()))
}

/// The key as the web server holds it: read at start, read again when the file changes
/// (after `nudged links --rotate`), so a rotation takes effect without a restart.
pub struct LiveKey {
    path: Option<PathBuf>,
    current: Mutex<(Option<SystemTime>, Vec<u8>)>,
}

impl LiveKey {
    /// The key of `store`, made if there is none yet.
    pub fn load(store: &mut Store) -> Result<Self> {
        let key = signing_key(store)?;
        let path = key_path(store.path());
        let modified = path.as_deref().and_then(modified);
        Ok(Self {
            path,
            current: Mutex::new((modified, key)),
        })
    }

    /// The key now. A file that cannot be read keeps the last good key and logs why.
    pub fn current(&self) -> Vec<u8> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(path) = &self.path {
            let now = modified(path);
            if now != current.0 {
                match read_key_file(path) {
                    Ok(Some(key)) => *current = (now, key),
                    Ok(None) => tracing::warn!("web: the link key {} is gone", path.display()),
                    Err(err) => tracing::warn!("web: {err:#}"),
                }
            }
        }
        current.1.clone()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
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
    fn the_key_lives_in_a_private_file_and_rotation_refuses_old_links() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nudged.db");
        let mut store = Store::open(&db).unwrap();
        // A key an older nudged kept in the database moves out and keeps working.
        store
            .set_setting(KEY_SETTING, &hex::encode([9u8; 32]))
            .unwrap();
        assert_eq!(signing_key(&mut store).unwrap(), vec![9u8; 32]);
        assert_eq!(store.setting(KEY_SETTING).unwrap(), None);
        let path = key_path(&db).unwrap();
        assert_eq!(path, dir.path().join("nudged.db.link-key"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(signing_key(&mut store).unwrap(), vec![9u8; 32]);

        let live = LiveKey::load(&mut store).unwrap();
        let now = Utc::now();
        let old = sign_path(&live.current(), Action::Done, 3, now + Duration::days(1));
        let parts: Vec<&str> = old.trim_start_matches("/a/").split('/').collect();
        // Let the file's mtime move on coarse file systems.
        std::thread::sleep(std::time::Duration::from_millis(20));
        rotate_key(&mut store).unwrap();
        let new_key = signing_key(&mut store).unwrap();
        assert_ne!(new_key, vec![9u8; 32]);
        assert_eq!(live.current(), new_key);
        assert_eq!(
            verify(&live.current(), parts[0], parts[1], parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );

        std::fs::write(&path, "not hex\n").unwrap();
        let err = signing_key(&mut store).unwrap_err().to_string();
        assert!(err.contains("links --rotate"), "{err}");
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
