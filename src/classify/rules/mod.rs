//! Classifier rules are data: the built-in ones live in `builtin.toml`, compiled into
//! the binary, in the same `[[platform]]` / `[[rule]]` format users write in their
//! config. A user rule with a built-in rule's name replaces it, so a platform that
//! changes its template is fixed by editing config, not by waiting for a release.
//!
//! A rule matches when every condition it states holds. Rules are tried by priority
//! (higher first; user rules before built-ins of equal priority, then file order) and
//! the first match wins. `condition` checks rules, `extract` reads the actor, link and
//! template out of a matched message; both stand on `platform` and `pattern`. The spec
//! types themselves are config data (`crate::config::rules`).

mod condition;
mod extract;
mod pattern;
mod platform;
mod senders;
mod url_pattern;

use serde::Deserialize;

use super::{Actor, Kind, MailView};
pub use crate::config::{ActorSource, PlatformSpec, RuleSpec};
use condition::{CompiledRule, Mode, Verdict};
pub use extract::canonical_profile_url;
use pattern::Check;
pub use platform::url_host;

const BUILTIN_RULES: &str = include_str!("builtin.toml");

/// The `platform` of a rule that serves every platform (account and security mail
/// reads alike everywhere): the platform is the one whose domain the sender is in.
pub const ANY_PLATFORM: &str = "*";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default, rename = "platform")]
    platforms: Vec<PlatformSpec>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

/// The rules in force: user rules and built-ins in trial order, plus the platforms.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    /// Index into `platforms` of each rule's platform, looked up once here rather than
    /// for every rule on every message.
    rule_platform: Vec<Option<usize>>,
    platforms: Vec<platform::CompiledPlatform>,
    /// Every sender a rule's `from` or a platform's domains name.
    senders: senders::SenderIndex,
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
    /// The matched rule's `reason`, or for a bot account why it is no person.
    pub reason: Option<String>,
    pub explanation: Vec<String>,
}

impl RuleSet {
    /// The built-in rules alone.
    pub fn builtin() -> Self {
        Self::with_user_rules(&[]).unwrap_or_else(|err| panic!("built-in rules are broken: {err}"))
    }

    /// User rules first (replacing built-ins of the same name), then the built-ins.
    pub fn with_user_rules(user: &[RuleSpec]) -> Result<Self, String> {
        Self::with_user_config(&[], user)
    }

    /// User platforms (replacing built-ins with the same id) and rules.
    pub fn with_user_config(
        user_platforms: &[PlatformSpec],
        user: &[RuleSpec],
    ) -> Result<Self, String> {
        let file: RulesFile =
            toml::from_str(BUILTIN_RULES).map_err(|e| format!("built-in rules: {e}"))?;
        let mut platforms: Vec<(Check, PlatformSpec)> = file
            .platforms
            .into_iter()
            .filter(|p| !user_platforms.iter().any(|u| u.id == p.id))
            .map(|p| (Check::Builtin, p))
            .collect();
        platforms.extend(user_platforms.iter().cloned().map(|p| (Check::Now, p)));
        for rule in user {
            if rule.platform != ANY_PLATFORM
                && !platforms.iter().any(|(_, p)| p.id == rule.platform)
            {
                platforms.push((
                    Check::Now,
                    PlatformSpec {
                        id: rule.platform.clone(),
                        name: rule.platform.clone(),
                        domains: Vec::new(),
                        template_header: None,
                        template_link: Vec::new(),
                        any_domain: false,
                    },
                ));
            }
        }
        let overridden: Vec<&str> = user.iter().map(|r| r.name.as_str()).collect();
        let mut specs: Vec<(Check, RuleSpec)> =
            user.iter().cloned().map(|r| (Check::Now, r)).collect();
        specs.extend(
            file.rules
                .into_iter()
                .filter(|r| !overridden.contains(&r.name.as_str()))
                .map(|r| (Check::Builtin, r)),
        );
        // Stable sort: priority, then user before built-in, then the order written.
        specs.sort_by_key(|(check, spec)| {
            (std::cmp::Reverse(spec.priority), *check == Check::Builtin)
        });
        let rules = specs
            .into_iter()
            .map(|(check, spec)| CompiledRule::new(spec, check))
            .collect::<Result<Vec<_>, _>>()?;
        let platforms = platforms
            .into_iter()
            .map(|(check, spec)| platform::CompiledPlatform::new(spec, check))
            .collect::<Result<Vec<_>, _>>()?;
        let rule_platform = rules
            .iter()
            .map(|r| platforms.iter().position(|p| p.spec.id == r.spec.platform))
            .collect();
        let mut senders = senders::SenderIndex::default();
        for (i, rule) in rules.iter().enumerate() {
            rule.spec.from.iter().for_each(|w| senders.add_sender(w, i));
        }
        for platform in &platforms {
            platform
                .spec
                .domains
                .iter()
                .for_each(|d| senders.add_domain(d));
        }
        Ok(Self {
            rules,
            rule_platform,
            platforms,
            senders,
        })
    }

    /// The domains a platform's mail is signed by, for the trust verdict; for
    /// self-hosted software, the sender's own domain.
    pub fn trust_domains(&self, id: &str, mail: &MailView) -> Vec<String> {
        match self.platform(id) {
            Some(p) if p.any_domain => mail.from_domain().map(str::to_string).into_iter().collect(),
            Some(p) => p.domains.clone(),
            None => Vec::new(),
        }
    }

    pub fn platform_domains(&self, id: &str) -> &[String] {
        self.platform(id).map_or(&[], |p| p.domains.as_slice())
    }

    pub fn platform(&self, id: &str) -> Option<&PlatformSpec> {
        self.compiled_platform(id).map(|p| &p.spec)
    }

    fn compiled_platform(&self, id: &str) -> Option<&platform::CompiledPlatform> {
        self.platforms.iter().find(|p| p.spec.id == id)
    }

    pub fn platforms(&self) -> impl Iterator<Item = &PlatformSpec> {
        self.platforms.iter().map(|p| &p.spec)
    }

    /// Every header name a rule or platform looks at (for fetching just those).
    pub fn header_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for rule in &self.rules {
            let spec = &rule.spec;
            names.extend(spec.headers.keys().cloned());
            names.extend(spec.not_headers.keys().cloned());
            names.extend(spec.template_header.iter().cloned());
            names.extend(spec.handle_header.iter().cloned());
        }
        for platform in self.platforms() {
            names.extend(platform.template_header.iter().cloned());
        }
        names.sort();
        names.dedup();
        names
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Could this message be a notification, judging from its headers alone? True when
    /// some rule's header conditions all hold (body conditions are assumed to), or the
    /// sender's domain belongs to a known platform. Callers that fetch bodies lazily
    /// (IMAP) can skip the body of everything else.
    pub fn header_candidate(&self, headers: &MailView) -> bool {
        let address = headers.from_address.as_deref().unwrap_or_default();
        if !self.senders.names(address) {
            // No rule names this sender and no platform owns its domain (most mail): only
            // rules without a sender list can match.
            return self
                .rules_with_platforms()
                .filter(|(rule, _)| rule.spec.from.is_empty())
                .any(|(rule, platform)| rule.check(headers, platform, Mode::HeadersOnly).matched);
        }
        self.known_sender(headers).is_some()
            || self
                .rules_for_sender(headers)
                .any(|(rule, platform)| rule.check(headers, platform, Mode::HeadersOnly).matched)
    }

    /// The rules in trial order, less those whose `from` condition cannot hold for this
    /// message's sender: one index look-up instead of every rule comparing the sender
    /// with its list (a notification's own platform has a few rules of some seventy).
    /// Skipping them changes nothing, not even an explanation: a rule that fails on its
    /// sender has no condition that held, so it is never among the closest.
    fn rules_for_sender(
        &self,
        mail: &MailView,
    ) -> impl Iterator<Item = (&CompiledRule, Option<&platform::CompiledPlatform>)> {
        let mut wanted: Vec<bool> = self.rules.iter().map(|r| r.spec.from.is_empty()).collect();
        let address = mail.from_address.as_deref().unwrap_or_default();
        self.senders.mark_rules(address, &mut wanted);
        self.rules_with_platforms()
            .zip(wanted)
            .filter_map(|(rule, wanted)| wanted.then_some(rule))
    }

    fn rules_with_platforms(
        &self,
    ) -> impl Iterator<Item = (&CompiledRule, Option<&platform::CompiledPlatform>)> {
        self.rules
            .iter()
            .zip(&self.rule_platform)
            .map(|(rule, index)| (rule, index.and_then(|i| self.platforms.get(i))))
    }

    /// The platform whose domain the From address is in.
    fn known_sender(&self, mail: &MailView) -> Option<&PlatformSpec> {
        self.sender_platform(mail).map(|p| &p.spec)
    }

    fn sender_platform(&self, mail: &MailView) -> Option<&platform::CompiledPlatform> {
        let domain = mail.from_domain()?;
        self.platforms
            .iter()
            .find(|p| p.spec.domains.iter().any(|d| domain_within(domain, d)))
    }

    /// The first rule that matches, and a one-line reason.
    pub fn evaluate(&self, mail: &MailView) -> Outcome {
        self.evaluate_in(mail, Mode::Full)
    }

    /// Like [`RuleSet::evaluate`], with every condition that held and, for a miss, the
    /// rules that came closest and the condition that failed them.
    pub fn explain(&self, mail: &MailView) -> Outcome {
        self.evaluate_in(mail, Mode::Explain)
    }

    fn evaluate_in(&self, mail: &MailView, mode: Mode) -> Outcome {
        let mut near: Vec<(usize, &str, Verdict)> = Vec::new();
        // Looked up once, for the rules that serve every platform.
        let mut own_platform = None;
        for (rule, platform) in self.rules_for_sender(mail) {
            let platform = if rule.spec.platform == ANY_PLATFORM {
                match *own_platform.get_or_insert_with(|| self.sender_platform(mail)) {
                    Some(own) => Some(own),
                    None => continue,
                }
            } else {
                platform
            };
            let verdict = rule.check(mail, platform, mode);
            if verdict.matched {
                let mut outcome = extract::outcome(rule, mail, platform);
                outcome.reason.clone_from(&rule.spec.reason);
                if rule.spec.kind == Kind::Noise {
                    outcome.explanation.push(format!(
                        "noise: {} (rule {:?})",
                        rule.spec.reason.as_deref().unwrap_or("the rule says so"),
                        rule.spec.name
                    ));
                }
                outcome.explanation.push(format!(
                    "matched rule {:?} → {} {}",
                    rule.spec.name,
                    outcome.platform.as_deref().unwrap_or("-"),
                    rule.spec.kind
                ));
                outcome
                    .explanation
                    .extend(verdict.held.iter().map(|h| format!("  ✓ {h}")));
                return outcome;
            }
            if !verdict.held.is_empty() {
                near.push((verdict.held.len(), &rule.spec.name, verdict));
            }
        }
        near.sort_by_key(|n| std::cmp::Reverse(n.0));
        let mut explanation = Vec::new();
        for (held, name, verdict) in near.iter().take(3) {
            explanation.push(format!("closest: rule {name:?}, {held} condition(s) held"));
            explanation.extend(verdict.held.iter().map(|h| format!("  ✓ {h}")));
            if let Some(failed) = &verdict.failed {
                explanation.push(format!("  ✗ {failed}"));
            }
        }
        // A sender domain we know, but no rule: make the miss visible.
        if let Some(platform) = self.known_sender(mail) {
            let domain = mail.from_domain().unwrap_or_default();
            explanation.insert(
                0,
                format!(
                    "no rule matched, but {domain} belongs to {}: unknown template",
                    platform.name
                ),
            );
            let template = self
                .compiled_platform(&platform.id)
                .and_then(|p| p.template(mail, None));
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

/// "@linkedin.com" matches that domain and its subdomains, "wordpress@" that local
/// part at any domain; anything else is an exact address. Matching is on the parsed
/// address, so a display name cannot fake it. Runs for every rule on every message,
/// so it does not allocate.
pub fn sender_matches(want: &str, address: &str) -> bool {
    let want = want.trim();
    if let Some(domain) = want.strip_prefix('@') {
        return address
            .rsplit_once('@')
            .is_some_and(|(_, got)| domain_within(got, domain));
    }
    if let Some(local) = want.strip_suffix('@') {
        return address
            .rsplit_once('@')
            .is_some_and(|(got, _)| got.eq_ignore_ascii_case(local));
    }
    address.eq_ignore_ascii_case(want)
}

/// `got` is `domain` or one of its subdomains, ignoring ASCII case.
pub fn domain_within(got: &str, domain: &str) -> bool {
    let got = got.trim_end_matches('.');
    let domain = domain.trim_start_matches('@');
    let Some(split) = got.len().checked_sub(domain.len()) else {
        return false;
    };
    match (got.get(..split), got.get(split..)) {
        (Some(head), Some(tail)) => {
            !domain.is_empty()
                && tail.eq_ignore_ascii_case(domain)
                && (head.is_empty() || head.ends_with('.'))
        }
        _ => false,
    }
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

    /// Built-in patterns are not compiled when the rules load (see `pattern::Check`):
    /// this is where a broken one is caught.
    #[test]
    fn every_builtin_pattern_compiles() {
        let file: RulesFile = toml::from_str(BUILTIN_RULES).unwrap();
        for rule in file.rules {
            let name = rule.name.clone();
            CompiledRule::new(rule, Check::Now).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for platform in file.platforms {
            let id = platform.id.clone();
            platform::CompiledPlatform::new(platform, Check::Now)
                .unwrap_or_else(|e| panic!("{id}: {e}"));
        }
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
    fn user_rule_overrides_and_priority_orders() {
        let user: Vec<RuleSpec> = toml::from_str::<RulesFile>(
            r#"
            [[rule]]
            name = "linkedin.invitation"
            platform = "linkedin"
            kind = "noise"
            from = ["invitations@linkedin.com"]
            "#,
        )
        .unwrap()
        .rules;
        let rules = RuleSet::with_user_rules(&user).unwrap();
        let overridden: Vec<_> = rules
            .rules
            .iter()
            .filter(|r| r.spec.name == "linkedin.invitation")
            .collect();
        assert_eq!(overridden.len(), 1);
        assert_eq!(overridden[0].spec.kind, Kind::Noise);
        let priorities: Vec<i32> = rules.rules.iter().map(|r| r.spec.priority).collect();
        assert!(priorities.windows(2).all(|w| w[0] >= w[1]));
    }
}
