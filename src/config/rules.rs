//! Classifier rules and platforms as written in TOML (`[[rule]]`, `[[platform]]`), the
//! same format as the built-in `classify/rules/builtin.toml`, and what makes one valid:
//! a name, a condition, patterns that compile within the size bound.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::Kind;

/// Bound on one compiled pattern, so a user's rule cannot eat memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// How every rule and platform pattern is built: case-insensitive, bounded in size. The
/// classifier builds its automata with this too, so what passes here also runs there.
pub fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|err| format!("bad pattern {pattern:?}: {err}"))
}

/// Where the actor's name comes from when no pattern names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorSource {
    /// The From display name, unless it is the platform's own name.
    #[default]
    FromName,
    /// The Reply-To name and address (blog comment mails reply to the commenter).
    ReplyTo,
    /// Only named groups in patterns; never a header.
    Patterns,
}

/// One rule as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique name, e.g. "linkedin.invitation". Reusing a built-in name overrides it.
    pub name: String,
    /// Platform id, e.g. "linkedin". A new id adds a platform; `"*"` is the platform
    /// whose domain the sender is in (the rule fails for any other sender).
    pub platform: String,
    pub kind: Kind,
    /// Higher is tried first (default 0); noise rules use it to win over broad ones.
    #[serde(default)]
    pub priority: i32,
    /// Sender addresses ("invitations@linkedin.com"), domains ("@linkedin.com", which
    /// also covers subdomains) or local parts at any domain ("wordpress@", for
    /// self-hosted software). Any one must match the parsed address.
    #[serde(default)]
    pub from: Vec<String>,
    /// Pattern on the From display name, with the named groups below.
    pub from_name: Option<String>,
    /// Header name → pattern; every one must match a value of that header. Named groups
    /// `actor`, `handle` and `email` name the person.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Header name → pattern; the rule fails if any value of that header matches
    /// (use "." for "header absent").
    #[serde(default)]
    pub not_headers: BTreeMap<String, String>,
    /// Pattern on the decoded subject, with the named groups.
    pub subject: Option<String>,
    /// Pattern on the template id: the template header, or for mail whose headers
    /// were stripped, the id the platform's links carry (`[[platform]] template_link`).
    pub template: Option<String>,
    /// Pattern on the plain-text body (HTML-only mail is converted first).
    pub body: Option<String>,
    /// Pattern on the plain-text body read only for its named groups; not a condition,
    /// so a changed wording loses a detail, not the whole notification.
    pub capture: Option<String>,
    /// Pattern for the link to act on, searched in text then HTML; group `link` or the
    /// whole match.
    pub link: Option<String>,
    /// Pattern for the actor's profile URL; group `url` or the whole match, `handle`.
    pub profile: Option<String>,
    /// Hosts (and their subdomains) a `link` or `profile` URL must be on.
    #[serde(default)]
    pub link_host: Vec<String>,
    /// Profile URL built from the handle when the mail shows none: `"https://github.com/{handle}"`.
    pub profile_url: Option<String>,
    /// Header whose value is the template id (default: the platform's).
    pub template_header: Option<String>,
    /// Header whose value is the actor's handle (e.g. "X-GitHub-Sender").
    pub handle_header: Option<String>,
    /// Where the actor's name comes from when no pattern names it.
    #[serde(default)]
    pub actor_from: ActorSource,
    /// Why mail this rule matches is what it is ("password reset or sign-in alert"):
    /// `classify --explain` says it for a noise verdict, so a person can judge the rule.
    pub reason: Option<String>,
}

/// A platform: which sender domains are its own (so a message from one that no rule
/// understands becomes "unknown template" instead of vanishing, and so DKIM can be
/// checked against them) and where its template id is found.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    /// Header whose value is the template id, read for unknown templates too.
    pub template_header: Option<String>,
    /// Patterns with a `template` group that find the template id in links on the
    /// platform's own domains, for mail whose headers were stripped by forwarding.
    #[serde(default)]
    pub template_link: Vec<String>,
    /// Self-hosted software (Mastodon, WordPress): the sender's own domain is the
    /// platform's for trust, since there is no one domain to pin.
    #[serde(default)]
    pub any_domain: bool,
}

impl RuleSpec {
    /// Every pattern the rule states, header patterns included.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        let single = [
            &self.subject,
            &self.template,
            &self.body,
            &self.capture,
            &self.from_name,
            &self.link,
            &self.profile,
        ];
        single
            .into_iter()
            .flatten()
            .chain(self.headers.values())
            .chain(self.not_headers.values())
            .map(String::as_str)
    }

    /// A name, a platform, at least one condition, and patterns that compile. The
    /// message names the rule.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a rule needs a name".into());
        }
        let in_rule = |e: String| format!("rule {:?}: {e}", self.name);
        if self.platform.trim().is_empty() {
            return Err(in_rule("platform must not be empty".into()));
        }
        let has_condition = !self.from.is_empty()
            || !self.headers.is_empty()
            || self.subject.is_some()
            || self.from_name.is_some()
            || self.template.is_some()
            || self.body.is_some();
        if !has_condition {
            return Err(in_rule(
                "states no condition (from, headers, subject, from_name, template or body), so it would match every message".into(),
            ));
        }
        for pattern in self.patterns() {
            drop(compile_pattern(pattern).map_err(in_rule)?);
        }
        Ok(())
    }
}

impl PlatformSpec {
    /// Its link patterns compile; the message names the platform.
    pub fn validate(&self) -> Result<(), String> {
        for pattern in &self.template_link {
            drop(compile_pattern(pattern).map_err(|e| format!("platform {:?}: {e}", self.id))?);
        }
        Ok(())
    }
}

/// The user's rules: each valid, names unique. On error, the index of the rule at fault.
pub(super) fn validate_rules(rules: &[RuleSpec]) -> Result<(), (usize, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for (index, rule) in rules.iter().enumerate() {
        if !seen.insert(rule.name.as_str()) {
            return Err((index, format!("two rules are named {:?}", rule.name)));
        }
        rule.validate().map_err(|e| (index, e))?;
    }
    Ok(())
}

/// The user's platforms, like [`validate_rules`].
pub(super) fn validate_platforms(platforms: &[PlatformSpec]) -> Result<(), (usize, String)> {
    for (index, platform) in platforms.iter().enumerate() {
        platform.validate().map_err(|e| (index, e))?;
    }
    Ok(())
}
