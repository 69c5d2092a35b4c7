//! The cheap first look: from a few header fields alone, can this message be a
//! notification at all? IMAP sources fetch those fields for every new message and the
//! full message only when the answer is yes, so a mailbox of ordinary mail costs
//! headers, not bodies. Errs on the side of yes: a rule's body condition counts as
//! "might match", and any sender domain of a known platform is a candidate.

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::MailView;
use super::rules::{RuleSet, RuleSpec, sender_matches};

const BUILTIN_RULES: &str = include_str!("builtin_rules.toml");

/// Fields every first look fetches, whatever the rules: who sent it, what it is, and
/// what the Sent folder needs (recipients, date, Message-ID).
const BASE_FIELDS: &[&str] = &[
    "FROM",
    "SENDER",
    "SUBJECT",
    "DATE",
    "MESSAGE-ID",
    "LIST-ID",
    "TO",
    "CC",
    "X-LINKEDIN-TEMPLATE",
    "X-GITHUB-REASON",
];

/// The header-only part of one rule. Parsed leniently (unknown keys ignored) so the
/// rule format can grow without this file knowing.
#[derive(Debug, Deserialize)]
struct RuleHeaders {
    #[serde(default)]
    from: Vec<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    subject: Option<String>,
    from_name: Option<String>,
    template_header: Option<String>,
    handle_header: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RulesFile {
    #[serde(default, rename = "rule")]
    rules: Vec<RuleHeaders>,
}

#[derive(Debug)]
struct HeaderRule {
    from: Vec<String>,
    headers: Vec<(String, Regex)>,
    subject: Option<Regex>,
    from_name: Option<Regex>,
}

/// The header conditions of every rule in force, compiled once per daemon.
#[derive(Debug)]
pub struct Prefilter {
    rules: Vec<HeaderRule>,
    domains: Vec<String>,
    fields: Vec<String>,
}

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|err| format!("bad pattern {pattern:?}: {err}"))
}

impl Prefilter {
    /// Built-in rules, the user's rules and the platform domains of `rules`.
    pub fn new(user_rules: &[RuleSpec], rules: &RuleSet) -> Result<Self, String> {
        let builtin: RulesFile =
            toml::from_str(BUILTIN_RULES).map_err(|e| format!("built-in rules: {e}"))?;
        let user = user_rules.iter().map(|r| RuleHeaders {
            from: r.from.clone(),
            headers: r.headers.clone(),
            subject: r.subject.clone(),
            from_name: r.from_name.clone(),
            template_header: r.template_header.clone(),
            handle_header: r.handle_header.clone(),
        });
        let mut fields: Vec<String> = BASE_FIELDS.iter().map(|f| f.to_string()).collect();
        let mut add_field = |name: &str| {
            let name = name.trim().to_ascii_uppercase();
            // Only plain header names go into the FETCH command.
            if !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !fields.contains(&name)
            {
                fields.push(name);
            }
        };
        let mut compiled = Vec::new();
        for rule in builtin.rules.into_iter().chain(user) {
            for name in rule.headers.keys() {
                add_field(name);
            }
            for name in [&rule.template_header, &rule.handle_header]
                .into_iter()
                .flatten()
            {
                add_field(name);
            }
            let opt = |p: &Option<String>| p.as_deref().map(compile).transpose();
            compiled.push(HeaderRule {
                headers: rule
                    .headers
                    .iter()
                    .map(|(n, p)| Ok((n.to_ascii_lowercase(), compile(p)?)))
                    .collect::<Result<_, String>>()?,
                subject: opt(&rule.subject)?,
                from_name: opt(&rule.from_name)?,
                from: rule.from,
            });
        }
        for platform in rules.platforms() {
            if let Some(name) = &platform.template_header {
                add_field(name);
            }
        }
        let domains = rules
            .platforms()
            .iter()
            .flat_map(|p| p.domains.iter().map(|d| format!("@{d}")))
            .collect();
        Ok(Self {
            rules: compiled,
            domains,
            fields,
        })
    }

    /// Header names for `BODY.PEEK[HEADER.FIELDS (...)]`, upper case.
    pub fn header_fields(&self) -> &[String] {
        &self.fields
    }
}

impl HeaderRule {
    fn might_match(&self, mail: &MailView) -> bool {
        let address = mail.from_address.as_deref().unwrap_or_default();
        if !self.from.is_empty() && !self.from.iter().any(|w| sender_matches(w, address)) {
            return false;
        }
        let headers_hold = self
            .headers
            .iter()
            .all(|(name, p)| mail.headers_named(name).any(|v| p.is_match(v)));
        headers_hold
            && self
                .subject
                .as_ref()
                .is_none_or(|p| p.is_match(&mail.subject))
            && self
                .from_name
                .as_ref()
                .is_none_or(|p| p.is_match(mail.from_name.as_deref().unwrap_or_default()))
    }
}

/// Whether a message with these header fields could be classified as a notification.
/// `headers` is the raw header block (what `HEADER.FIELDS` returns).
pub fn could_be_notification(headers: &[u8], prefilter: &Prefilter) -> bool {
    let Some(mail) = MailView::parse(headers) else {
        // Unparseable headers: let the full classifier decide.
        return true;
    };
    let address = mail.from_address.as_deref().unwrap_or_default();
    prefilter.domains.iter().any(|d| sender_matches(d, address))
        || prefilter.rules.iter().any(|rule| rule.might_match(&mail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefilter() -> Prefilter {
        Prefilter::new(&[], &RuleSet::builtin()).unwrap()
    }

    #[test]
    fn ordinary_mail_is_not_a_candidate() {
        let headers = b"From: Aunt May <may@example.org>\r\nSubject: Sunday lunch\r\n\r\n";
        assert!(!could_be_notification(headers, &prefilter()));
    }

    #[test]
    fn platform_senders_and_list_ids_are() {
        let p = prefilter();
        let linkedin = b"From: LinkedIn <invitations@linkedin.com>\r\nSubject: hi\r\n\r\n";
        assert!(could_be_notification(linkedin, &p));
        let mastodon = b"From: mastodon@social.example\r\nList-ID: <mention.social.example>\r\nSubject: You were mentioned by Ann\r\n\r\n";
        assert!(could_be_notification(mastodon, &p));
        // A body-only rule condition counts as "might match".
        let wordpress =
            b"From: wordpress@blog.example\r\nSubject: [My Blog] Comment: \"Hello\"\r\n\r\n";
        assert!(could_be_notification(wordpress, &p));
    }

    #[test]
    fn every_fixture_the_classifier_logs_passes_the_prefilter() {
        let rules = RuleSet::builtin();
        let p = Prefilter::new(&[], &rules).unwrap();
        let trust = crate::config::TrustConfig::default();
        let mut checked = 0;
        for dir in ["examples/demo-maildir/cur", "examples/demo-maildir/new"] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let raw = std::fs::read(entry.unwrap().path()).unwrap();
                let classification = super::super::classify(&raw, &rules, &trust);
                if classification.platform.is_some() {
                    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
                    let end =
                        end.or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2));
                    let headers = &raw[..end.unwrap_or(raw.len())];
                    assert!(
                        could_be_notification(headers, &p),
                        "{}",
                        String::from_utf8_lossy(headers)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 5);
    }

    #[test]
    fn fields_include_rule_headers() {
        let p = prefilter();
        assert!(p.header_fields().iter().any(|f| f == "X-LINKEDIN-CLASS"));
        assert!(p.header_fields().iter().all(|f| !f.contains(' ')));
    }
}
