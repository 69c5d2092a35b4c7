//! Imports: address books and network exports in, [`ImportedContact`] records out.
//! Parsing is pure (text in, records out, one file per format); storing them, and
//! telling added from merged from skipped, is the store's job.

pub mod address_book;
pub mod linkedin;
pub mod vcard;

use std::path::Path;

use anyhow::{Context, Result, bail};

pub use crate::store::{ImportReport, ImportedContact};
use crate::store::{NewIdentity, normalize_email, normalize_profile_url};

/// A file's text without a UTF-8 byte-order mark (Excel and LinkedIn add one).
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => Ok(text),
        Err(_) => bail!(
            "{} is not UTF-8 text; export it as UTF-8 and try again",
            path.display()
        ),
    }
}

/// The identity a profile URL stands for: on LinkedIn, GitHub, X or Mastodon-style
/// hosts the handle is the path's last part; any other page is a "web" identity.
pub fn identity_for_url(url: &str, name: &str) -> Option<NewIdentity> {
    let url = normalize_profile_url(url)?;
    let (_, rest) = url.split_once("://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let last = path.rsplit('/').next().filter(|s| !s.is_empty());
    let (platform, handle) = match (host, last) {
        (h, Some(slug)) if h.ends_with("linkedin.com") && path.starts_with("in/") => {
            ("linkedin", Some(slug.to_string()))
        }
        ("github.com", Some(user)) if !path.contains('/') => ("github", Some(user.to_string())),
        ("x.com" | "twitter.com", Some(user)) if !path.contains('/') => {
            ("x", Some(user.to_string()))
        }
        (_, Some(user)) if user.starts_with('@') => ("mastodon", Some(format!("{user}@{host}"))),
        _ => ("web", None),
    };
    Some(NewIdentity {
        platform: platform.to_string(),
        display_name: Some(name.to_string()),
        handle,
        profile_url: Some(url),
        email: None,
    })
}

/// An email address as an identity of its own, so mail to or from it finds the person.
pub fn identity_for_email(email: &str, name: &str) -> Option<NewIdentity> {
    let email = normalize_email(email)?;
    Some(NewIdentity {
        platform: "email".into(),
        display_name: Some(name.to_string()),
        handle: Some(email.clone()),
        profile_url: None,
        email: Some(email),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_platform_identities() {
        let li = identity_for_url("https://www.LinkedIn.com/in/ann-lee/?trk=x", "Ann").unwrap();
        assert_eq!(li.platform, "linkedin");
        assert_eq!(li.handle.as_deref(), Some("ann-lee"));
        assert_eq!(
            li.profile_url.as_deref(),
            Some("https://linkedin.com/in/ann-lee")
        );
        let gh = identity_for_url("https://github.com/annlee", "Ann").unwrap();
        assert_eq!(
            (gh.platform.as_str(), gh.handle.as_deref()),
            ("github", Some("annlee"))
        );
        let web = identity_for_url("https://ann.example.org/about", "Ann").unwrap();
        assert_eq!((web.platform.as_str(), web.handle), ("web", None));
        assert!(identity_for_url("not a url", "Ann").is_none());
    }
}
