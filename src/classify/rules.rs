//! Classifier rules are data: the built-in ones live in `builtin_rules.toml`, compiled
//! into the binary, in the same `[[rule]]` format users write in their config. A user
//! rule with a built-in rule's name replaces it, so a platform that changes its template
//! is fixed by editing config, not by waiting for a release.
//!
//! A rule matches when every condition it states holds. Rules are tried in order (user
//! rules first) and the first match wins.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::{Actor, Kind, MailView};

const BUILTIN_RULES: &str = include_str!("builtin_rules.toml");

/// One rule as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Unique name, e.g. "linkedin.invitation". Reusing a built-in name overrides it.
    pub name: String,
    /// Platform id, e.g. "linkedin". A new id adds a platform.
    pub platform: String,
    pub kind: Kind,
    /// Sender addresses ("invitations@linkedin.com") or domains ("@linkedin.com",
    /// which also covers subdomains). Any one must match.
    #[serde(default)]
    pub from: Vec<String>,
    /// Header name → pattern; every one must match a value of that header.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Pattern on the subject. Named groups `actor` and `handle` name the person.
    pub subject: Option<String>,
    /// Pattern on the plain-text body (HTML-only mail is converted first).
    pub body: Option<String>,
    /// Pattern on the From display name, with the same named groups.
    pub from_name: Option<String>,
    /// Pattern for the link to act on, searched in text and HTML; group `link` or the
    /// whole match.
    pub link: Option<String>,
    /// Pattern for the actor's profile URL; group `url` or the whole match, `handle`.
    pub profile: Option<String>,
    /// Header whose value is the template id (e.g. "X-LinkedIn-Template").
    pub template_header: Option<String>,
    /// Header whose value is the actor's handle (e.g. "X-GitHub-Sender").
    pub handle_header: Option<String>,
}

/// Which sender domains belong to a platform, so a message from one that no rule
/// understands becomes "unknown template" instead of vanishing.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSpec {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub domains: Vec<String>,
    /// Header whose value is the template id, read for unknown templates too.
    pub template_header: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default, rename = "platform")]
    platforms: Vec<PlatformSpec>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

#[derive(Debug)]
struct CompiledRule {
    spec: RuleSpec,
    headers: Vec<(String, Regex)>,
    subject: Option<Regex>,
    body: Option<Regex>,
    from_name: Option<Regex>,
    link: Option<Regex>,
    profile: Option<Regex>,
}

/// The rules in force: user rules, then built-ins, plus the platform table.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    platforms: Vec<PlatformSpec>,
}

/// What the rules made of a message.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub platform: Option<String>,
    pub kind: Kind,
    pub actor: Option<Actor>,
    pub link: Option<String>,
    pub template: Option<String>,
    pub rule: Option<String>,
    pub explanation: Vec<String>,
}

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|err| format!("bad pattern {pattern:?}: {err}"))
}

impl CompiledRule {
    fn new(spec: RuleSpec) -> Result<Self, String> {
        let opt = |p: &Option<String>| p.as_deref().map(compile).transpose();
        let in_rule = |e: String| format!("rule {:?}: {e}", spec.name);
        let headers = spec
            .headers
            .iter()
            .map(|(name, pattern)| Ok((name.to_ascii_lowercase(), compile(pattern)?)))
            .collect::<Result<Vec<_>, String>>()
            .map_err(in_rule)?;
        Ok(Self {
            headers,
            subject: opt(&spec.subject).map_err(in_rule)?,
            body: opt(&spec.body).map_err(in_rule)?,
            from_name: opt(&spec.from_name).map_err(in_rule)?,
            link: opt(&spec.link).map_err(in_rule)?,
            profile: opt(&spec.profile).map_err(in_rule)?,
            spec,
        })
    }

    /// Check every condition; the first failing one is the reason for a miss.
    /// Returns how many conditions held, for "closest rule" explanations.
    fn check(&self, mail: &MailView) -> (bool, usize, Option<String>) {
        let mut held = 0;
        if !self.spec.from.is_empty() {
            let address = mail.from_address.as_deref().unwrap_or_default();
            if !self
                .spec
                .from
                .iter()
                .any(|want| sender_matches(want, address))
            {
                return (
                    false,
                    held,
                    Some(format!(
                        "From {address:?} is not one of {:?}",
                        self.spec.from
                    )),
                );
            }
            held += 1;
        }
        for (name, pattern) in &self.headers {
            if !mail
                .headers_named(name)
                .any(|value| pattern.is_match(value))
            {
                return (
                    false,
                    held,
                    Some(format!(
                        "header {name} does not match {:?}",
                        pattern.as_str()
                    )),
                );
            }
            held += 1;
        }
        let fields = [
            (&self.subject, mail.subject.as_str(), "subject"),
            (
                &self.from_name,
                mail.from_name.as_deref().unwrap_or_default(),
                "From name",
            ),
            (&self.body, mail.text.as_str(), "body"),
        ];
        for (pattern, value, what) in fields {
            if let Some(pattern) = pattern {
                if !pattern.is_match(value) {
                    return (
                        false,
                        held,
                        Some(format!("{what} does not match {:?}", pattern.as_str())),
                    );
                }
                held += 1;
            }
        }
        (true, held, None)
    }

    fn extract(&self, mail: &MailView, platform: &PlatformSpec) -> Outcome {
        let mut actor = Actor::default();
        for (pattern, value) in [
            (&self.subject, mail.subject.as_str()),
            (&self.body, mail.text.as_str()),
            (
                &self.from_name,
                mail.from_name.as_deref().unwrap_or_default(),
            ),
        ] {
            if let Some(caps) = pattern.as_ref().and_then(|p| p.captures(value)) {
                if actor.name.is_none() {
                    actor.name = caps.name("actor").map(|m| clean_name(m.as_str()));
                }
                if actor.handle.is_none() {
                    actor.handle = caps.name("handle").map(|m| m.as_str().trim().to_string());
                }
            }
        }
        if let Some(header) = &self.spec.handle_header
            && actor.handle.is_none()
        {
            actor.handle = mail
                .header(header)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
        }
        if actor.name.is_none() {
            actor.name = mail
                .from_name
                .as_deref()
                .map(clean_name)
                .filter(|n| !is_platform_name(n, platform));
        }
        if let Some(profile) = &self.profile
            && let Some(caps) = find_in_mail(profile, mail)
        {
            actor.profile_url = caps.0;
            if actor.handle.is_none() {
                actor.handle = caps.1;
            }
        }
        let link = self
            .link
            .as_ref()
            .and_then(|p| find_in_mail(p, mail))
            .and_then(|c| c.0);
        let template_header = self
            .spec
            .template_header
            .as_ref()
            .or(platform.template_header.as_ref());
        let template = template_header
            .and_then(|h| mail.header(h))
            .map(|v| v.trim().to_string());
        let has_actor = actor != Actor::default();
        Outcome {
            platform: Some(self.spec.platform.clone()),
            kind: self.spec.kind,
            actor: has_actor.then_some(actor),
            link,
            template,
            rule: Some(self.spec.name.clone()),
            explanation: Vec::new(),
        }
    }
}

/// Search text, then HTML, for a URL pattern. Returns (url or `link`/`url` group, handle).
fn find_in_mail(pattern: &Regex, mail: &MailView) -> Option<(Option<String>, Option<String>)> {
    [mail.text.as_str(), mail.html.as_str()]
        .into_iter()
        .find_map(|haystack| {
            pattern.captures(haystack).map(|caps| {
                let url = caps
                    .name("link")
                    .or_else(|| caps.name("url"))
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().replace("&amp;", "&"));
                let handle = caps.name("handle").map(|m| m.as_str().to_string());
                (url, handle)
            })
        })
}

/// "Ann Lee via LinkedIn" → "Ann Lee"; quotes and stray whitespace removed.
fn clean_name(name: &str) -> String {
    let name = name.trim().trim_matches('"').trim();
    let name = name
        .rsplit_once(" via ")
        .map_or(name, |(before, _)| before)
        .trim();
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_platform_name(name: &str, platform: &PlatformSpec) -> bool {
    let lower = name.to_lowercase();
    lower == platform.name.to_lowercase() || lower == platform.id || lower.contains("notification")
}

/// "@linkedin.com" matches that domain and its subdomains; anything else is an exact
/// address. Matching is on the parsed address, so a display name cannot fake it.
pub fn sender_matches(want: &str, address: &str) -> bool {
    let want = want.trim().to_ascii_lowercase();
    match want.strip_prefix('@') {
        Some(domain) => address
            .rsplit_once('@')
            .is_some_and(|(_, got)| domain_within(got, domain)),
        None => address == want,
    }
}

/// `got` is `domain` or one of its subdomains.
pub fn domain_within(got: &str, domain: &str) -> bool {
    let got = got.to_ascii_lowercase();
    got == domain
        || got
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

impl RuleSet {
    /// The built-in rules alone.
    pub fn builtin() -> Self {
        Self::with_user_rules(&[]).unwrap_or_else(|err| panic!("built-in rules are broken: {err}"))
    }

    /// User rules first (replacing built-ins of the same name), then the built-ins.
    pub fn with_user_rules(user: &[RuleSpec]) -> Result<Self, String> {
        let file: RulesFile =
            toml::from_str(BUILTIN_RULES).map_err(|e| format!("built-in rules: {e}"))?;
        let mut platforms = file.platforms;
        for rule in user {
            if !platforms.iter().any(|p| p.id == rule.platform) {
                platforms.push(PlatformSpec {
                    id: rule.platform.clone(),
                    name: rule.platform.clone(),
                    domains: Vec::new(),
                    template_header: None,
                });
            }
        }
        let overridden: Vec<&str> = user.iter().map(|r| r.name.as_str()).collect();
        let rules = user
            .iter()
            .cloned()
            .chain(
                file.rules
                    .into_iter()
                    .filter(|r| !overridden.contains(&r.name.as_str())),
            )
            .map(CompiledRule::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { rules, platforms })
    }

    pub fn platform_domains(&self, id: &str) -> &[String] {
        self.platform(id).map_or(&[], |p| p.domains.as_slice())
    }

    pub fn platform(&self, id: &str) -> Option<&PlatformSpec> {
        self.platforms.iter().find(|p| p.id == id)
    }

    pub fn platforms(&self) -> &[PlatformSpec] {
        &self.platforms
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub fn evaluate(&self, mail: &MailView) -> Outcome {
        let mut near: Vec<(usize, &str, String)> = Vec::new();
        for rule in &self.rules {
            let (matched, held, reason) = rule.check(mail);
            if matched {
                let platform = self.platform(&rule.spec.platform);
                let fallback;
                let platform = match platform {
                    Some(p) => p,
                    None => {
                        fallback = PlatformSpec {
                            id: rule.spec.platform.clone(),
                            name: rule.spec.platform.clone(),
                            domains: Vec::new(),
                            template_header: None,
                        };
                        &fallback
                    }
                };
                let mut outcome = rule.extract(mail, platform);
                outcome.explanation.push(format!(
                    "matched rule {:?} ({} condition{} held) → {} {}",
                    rule.spec.name,
                    held,
                    if held == 1 { "" } else { "s" },
                    rule.spec.platform,
                    rule.spec.kind
                ));
                return outcome;
            }
            if held > 0 {
                near.push((held, &rule.spec.name, reason.unwrap_or_default()));
            }
        }
        near.sort_by_key(|b| std::cmp::Reverse(b.0));
        let mut explanation: Vec<String> = near
            .iter()
            .take(3)
            .map(|(held, name, reason)| {
                format!("closest: rule {name:?} held {held} condition(s), then {reason}")
            })
            .collect();
        // A sender domain we know, but no rule: make the miss visible.
        let domain = mail.from_domain().unwrap_or_default();
        if let Some(platform) = self
            .platforms
            .iter()
            .find(|p| p.domains.iter().any(|d| domain_within(domain, d)))
        {
            explanation.insert(
                0,
                format!("no rule matched, but {domain} belongs to {}", platform.name),
            );
            let template = platform
                .template_header
                .as_ref()
                .and_then(|h| mail.header(h))
                .map(str::to_string);
            return Outcome {
                platform: Some(platform.id.clone()),
                kind: Kind::UnknownTemplate,
                template,
                explanation,
                ..Outcome::default()
            };
        }
        explanation.insert(0, "no rule matched: not a notification".to_string());
        Outcome {
            explanation,
            ..Outcome::default()
        }
    }
}

/// Config-time check of user rules: every pattern compiles, names are unique.
/// On error returns (rule name, message) so config can point at the rule.
pub fn validate_user_rules(rules: &[RuleSpec]) -> Result<(), (String, String)> {
    let mut seen = std::collections::BTreeSet::new();
    for rule in rules {
        if !seen.insert(rule.name.as_str()) {
            return Err((
                rule.name.clone(),
                format!("two rules are named {:?}", rule.name),
            ));
        }
        CompiledRule::new(rule.clone()).map_err(|e| (rule.name.clone(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load() {
        let rules = RuleSet::builtin();
        assert!(rules.rule_count() >= 8);
        assert!(rules.platform("linkedin").is_some());
    }

    #[test]
    fn sender_matching_uses_the_address_only() {
        assert!(sender_matches("@linkedin.com", "invitations@linkedin.com"));
        assert!(sender_matches("@linkedin.com", "x@e.linkedin.com"));
        assert!(!sender_matches("@linkedin.com", "x@evillinkedin.com"));
        assert!(!sender_matches(
            "@linkedin.com",
            "x@linkedin.com.evil.example"
        ));
        assert!(!sender_matches(
            "@linkedin.com",
            "\"a@linkedin.com x\"@evil.example"
        ));
        assert!(sender_matches(
            "invitations@linkedin.com",
            "invitations@linkedin.com"
        ));
    }

    #[test]
    fn names_lose_their_via_suffix() {
        assert_eq!(clean_name(" \"Ann  Lee via LinkedIn\" "), "Ann Lee");
    }
}
