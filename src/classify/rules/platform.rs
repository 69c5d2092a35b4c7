//! A platform with its link patterns compiled, and the URL reading it shares with the
//! extractor: which URLs a message carries and whose host they are really on.

use std::sync::OnceLock;

use regex::Regex;

use super::pattern::{Check, Pattern};
use super::{MailView, PlatformSpec, domain_within};

/// A platform with its link patterns compiled.
#[derive(Debug)]
pub(super) struct CompiledPlatform {
    pub spec: PlatformSpec,
    pub(super) template_link: Vec<Pattern>,
}

impl CompiledPlatform {
    /// A user's platform is checked in full now (see [`Check`]); a built-in one is trusted.
    pub fn new(spec: PlatformSpec, check: Check) -> Result<Self, String> {
        if check == Check::Now {
            spec.validate()?;
        }
        let template_link = spec.template_link.iter().map(|p| Pattern::new(p)).collect();
        Ok(Self {
            spec,
            template_link,
        })
    }

    /// The template id: the header when present, else what the platform's own links say.
    pub fn template(&self, mail: &MailView, header: Option<&str>) -> Option<String> {
        header
            .or(self.spec.template_header.as_deref())
            .and_then(|h| mail.header(h))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .or_else(|| self.template_from_links(mail))
    }

    /// The template id carried in a link on one of the platform's domains (LinkedIn's
    /// `trk=eml-<template>-…`), which survives forwarding when headers do not.
    pub fn template_from_links(&self, mail: &MailView) -> Option<String> {
        if self.template_link.is_empty() {
            return None;
        }
        urls(mail)
            .filter(|url| {
                url_host(url)
                    .is_some_and(|host| self.spec.domains.iter().any(|d| domain_within(&host, d)))
            })
            .find_map(|url| {
                self.template_link.iter().find_map(|pattern| {
                    pattern
                        .captures(&url)
                        .and_then(|c| c.name("template"))
                        .map(|m| m.as_str().to_string())
                })
            })
    }
}

fn url_pattern() -> &'static Regex {
    static URL: OnceLock<Regex> = OnceLock::new();
    URL.get_or_init(|| {
        Regex::new(r#"(?i)https?://[^\s"'<>]+"#).unwrap_or_else(|e| unreachable!("{e}"))
    })
}

/// Every URL in the text part, then in the HTML (entities in hrefs unescaped).
fn urls(mail: &MailView) -> impl Iterator<Item = String> + '_ {
    let text = url_pattern()
        .find_iter(&mail.text)
        .map(|m| m.as_str().to_string());
    let html = url_pattern()
        .find_iter(&mail.html)
        .map(|m| unescape_html(m.as_str()));
    text.chain(html)
}

pub(super) fn unescape_html(url: &str) -> String {
    url.replace("&amp;", "&")
}

/// The host of a URL, lower case: what follows the scheme, after any `user@` part
/// (which is how `https://www.linkedin.com@evil.example/` tricks a reader), before
/// the port or path.
pub fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?.trim_end_matches('.');
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}
