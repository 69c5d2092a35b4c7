//! Reading a matched message: who acted (name, handle, profile URL, email), the link to
//! act on, and the template id. URLs are only believed when their host really is the
//! expected one: `https://www.linkedin.com.evil.example/` and
//! `https://www.linkedin.com@evil.example/` are not LinkedIn.

use regex::Captures;

use super::condition::CompiledRule;
use super::platform::{CompiledPlatform, unescape_html, url_host};
use super::url_pattern::UrlPattern;
use super::{Actor, ActorSource, MailView, Outcome, PlatformSpec, domain_within};

/// A profile URL without tracking: no query, no fragment; LinkedIn's mail-only
/// `/comm/in/x` path becomes the public `/in/x`.
pub fn canonical_profile_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    if url_host(url).is_some_and(|h| domain_within(&h, "linkedin.com"))
        && let Some(at) = url.find("/comm/")
    {
        let (head, tail) = url.split_at(at);
        if let Some(tail) = tail.strip_prefix("/comm") {
            return format!("{head}{tail}");
        }
    }
    url.to_string()
}

/// Search text, then HTML, for a URL pattern whose URL is on one of `hosts` (any
/// host when empty). Returns (URL, handle).
fn find_url(
    pattern: &UrlPattern,
    mail: &MailView,
    hosts: &[String],
) -> Option<(String, Option<String>)> {
    let on_host = |url: &str| {
        hosts.is_empty()
            || url_host(url).is_some_and(|h| hosts.iter().any(|d| domain_within(&h, d)))
    };
    let search = |haystack: &str, html: bool| {
        pattern.matches(haystack).find_map(|found| {
            let url = if html {
                unescape_html(found.url)
            } else {
                found.url.to_string()
            };
            on_host(&url).then(|| (url, found.handle.map(str::to_string)))
        })
    };
    search(&mail.text, false).or_else(|| search(&mail.html, true))
}

/// "Ann Lee via LinkedIn" → "Ann Lee"; quotes and stray whitespace removed.
pub(super) fn clean_name(name: &str) -> String {
    let name = name.trim().trim_matches(['"', '\'']).trim();
    let name = name
        .rsplit_once(" via ")
        .map_or(name, |(before, _)| before)
        .trim();
    name.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Sender names that are the platform or a robot, not a person.
fn is_platform_name(name: &str, platform: &PlatformSpec) -> bool {
    let lower = name.to_lowercase();
    let platform_name = platform.name.to_lowercase();
    lower.is_empty()
        || lower == platform.id
        || lower.starts_with(&platform_name)
        || lower.contains("notification")
        || lower.contains("noreply")
        || lower.contains("no-reply")
        || lower == "anonymous"
}

/// Fill the actor from a pattern's named groups, keeping what is already known.
fn take_groups(actor: &mut Actor, caps: &Captures<'_>) {
    let group = |name: &str| {
        caps.name(name)
            .map(|m| m.as_str().trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if actor.name.is_none() {
        actor.name = group("actor").map(|n| clean_name(&n));
    }
    if actor.handle.is_none() {
        actor.handle = group("handle");
    }
    if actor.email.is_none() {
        actor.email = group("email").map(|e| e.to_ascii_lowercase());
    }
}

fn actor(rule: &CompiledRule, mail: &MailView, platform: &PlatformSpec) -> Option<Actor> {
    let mut actor = Actor::default();
    for (name, pattern) in &rule.headers {
        for value in mail.headers_named(name) {
            if let Some(caps) = pattern.captures(&value) {
                take_groups(&mut actor, &caps);
                break;
            }
        }
    }
    let fields = [
        (&rule.subject, mail.subject.as_str()),
        (
            &rule.from_name,
            mail.from_name.as_deref().unwrap_or_default(),
        ),
        (&rule.body, mail.text.as_str()),
        (&rule.capture, mail.text.as_str()),
    ];
    for (pattern, value) in fields {
        if let Some(caps) = pattern.as_ref().and_then(|p| p.captures(value)) {
            take_groups(&mut actor, &caps);
        }
    }
    if actor.handle.is_none()
        && let Some(header) = &rule.spec.handle_header
    {
        actor.handle = mail
            .header(header)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
    }
    match rule.spec.actor_from {
        ActorSource::FromName if actor.name.is_none() => {
            actor.name = mail
                .from_name
                .as_deref()
                .map(clean_name)
                .filter(|n| !is_platform_name(n, platform));
        }
        ActorSource::ReplyTo => {
            if actor.name.is_none() {
                actor.name = mail.reply_to_name.as_deref().map(clean_name);
            }
            if actor.email.is_none() {
                actor.email = mail.reply_to_address.clone();
            }
        }
        _ => {}
    }
    actor.name = actor.name.filter(|n| !is_platform_name(n, platform));
    // Some platforms (Reddit) show a person only by handle; that is their name there.
    if actor.name.is_none() {
        actor.name.clone_from(&actor.handle);
    }
    if let Some(pattern) = &rule.profile
        && let Some((url, handle)) = find_url(pattern, mail, &rule.spec.link_host)
    {
        actor.profile_url = Some(canonical_profile_url(&url));
        if actor.handle.is_none() {
            actor.handle = handle;
        }
    }
    if actor.profile_url.is_none()
        && let (Some(template), Some(handle)) = (&rule.spec.profile_url, &actor.handle)
    {
        actor.profile_url = Some(template.replace("{handle}", handle));
    }
    (actor != Actor::default()).then_some(actor)
}

/// Everything a matched rule says about the message.
pub(super) fn outcome(
    rule: &CompiledRule,
    mail: &MailView,
    platform: Option<&CompiledPlatform>,
) -> Outcome {
    let fallback;
    let platform = match platform {
        Some(p) => p,
        None => {
            fallback = CompiledPlatform {
                spec: PlatformSpec {
                    id: rule.spec.platform.clone(),
                    name: rule.spec.platform.clone(),
                    domains: Vec::new(),
                    template_header: None,
                    template_link: Vec::new(),
                    any_domain: false,
                },
                template_link: Vec::new(),
            };
            &fallback
        }
    };
    let template = platform.template(mail, rule.template_header(Some(platform)));
    // Names in digests and marketing are not contacts.
    let social = rule.spec.kind.is_social();
    let actor = if social {
        actor(rule, mail, &platform.spec)
    } else {
        None
    };
    let link = rule
        .link
        .as_ref()
        .and_then(|p| find_url(p, mail, &rule.spec.link_host))
        .map(|(url, _)| url);
    Outcome {
        platform: Some(platform.spec.id.clone()),
        kind: rule.spec.kind,
        actor,
        link,
        template,
        rule: Some(rule.spec.name.clone()),
        reason: None,
        explanation: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_resist_tricks() {
        assert_eq!(
            url_host("https://www.linkedin.com/in/x").as_deref(),
            Some("www.linkedin.com")
        );
        assert_eq!(
            url_host("https://www.linkedin.com@evil.example/in/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            url_host("https://www.linkedin.com.evil.example/").as_deref(),
            Some("www.linkedin.com.evil.example")
        );
        assert_eq!(
            url_host("https://WWW.LinkedIn.com:443?x").as_deref(),
            Some("www.linkedin.com")
        );
        assert_eq!(url_host("no scheme"), None);
    }

    #[test]
    fn profile_urls_are_canonical() {
        assert_eq!(
            canonical_profile_url("https://www.linkedin.com/comm/in/annlee?midToken=x&trk=y#z"),
            "https://www.linkedin.com/in/annlee"
        );
        assert_eq!(
            canonical_profile_url("https://www.instagram.com/lina.vargas/?utm_source=ig"),
            "https://www.instagram.com/lina.vargas/"
        );
        assert_eq!(
            canonical_profile_url("https://evil.example/comm/in/x"),
            "https://evil.example/comm/in/x"
        );
    }

    #[test]
    fn names_lose_their_via_suffix() {
        assert_eq!(clean_name(" \"Ann  Lee via LinkedIn\" "), "Ann Lee");
    }
}
