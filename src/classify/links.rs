//! Clean links: drop the query parameters that only track a click (`trk`, `midToken`,
//! `utm_*`, Facebook's `aref` …) by per-platform rules in `rules/links.toml`, keeping
//! every other byte of the link as it was, so what the link needs to work still works.

use std::sync::LazyLock;

use serde::Deserialize;

const LINK_RULES: &str = include_str!("rules/links.toml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRules {
    #[serde(default)]
    any: ParamList,
    #[serde(default)]
    platform: Vec<PlatformLinks>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamList {
    remove: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformLinks {
    #[allow(dead_code)] // documents the table; the hosts decide
    name: String,
    hosts: Vec<String>,
    remove: Vec<String>,
}

/// The built-in rules; a unit test proves the file parses, so an empty set here only
/// ever means "strip nothing", never a failed start.
static RULES: LazyLock<LinkRules> =
    LazyLock::new(|| toml::from_str(LINK_RULES).unwrap_or_default());

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name
            .get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix)),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

fn host_within(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case(domain)
        || host
            .len()
            .checked_sub(domain.len() + 1)
            .and_then(|at| host.get(at..))
            .is_some_and(|tail| tail.starts_with('.') && tail[1..].eq_ignore_ascii_case(domain))
}

/// `link` without its tracking parameters. A link that does not parse as a URL is
/// returned unchanged (the caller decides whether to show it at all).
pub fn clean_link(link: &str) -> String {
    let Ok(mut url) = url::Url::parse(link) else {
        return link.to_string();
    };
    let Some(query) = url.query().map(str::to_string) else {
        return link.to_string();
    };
    let host = url.host_str().unwrap_or_default().to_string();
    let rules = &*RULES;
    let platform: Vec<&String> = rules
        .platform
        .iter()
        .filter(|p| p.hosts.iter().any(|d| host_within(&host, d)))
        .flat_map(|p| &p.remove)
        .collect();
    let tracking = |pair: &str| {
        // Names compare decoded: Reddit writes `$deep_link` as `%24deep_link`.
        let Some((name, _)) = url::form_urlencoded::parse(pair.as_bytes()).next() else {
            return false;
        };
        rules.any.remove.iter().any(|p| matches(p, &name))
            || platform.iter().any(|p| matches(p, &name))
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty() && !tracking(pair))
        .collect();
    if kept.len() == query.split('&').count() {
        return link.to_string();
    }
    url.set_query((!kept.is_empty()).then(|| kept.join("&")).as_deref());
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_file_parses() {
        let rules: LinkRules = toml::from_str(LINK_RULES).expect("links.toml");
        assert!(!rules.any.remove.is_empty());
        assert!(rules.platform.iter().any(|p| p.name == "linkedin"));
    }

    #[test]
    fn linkedin_keeps_what_accepting_needs() {
        let link = "https://www.linkedin.com/comm/mynetwork/invite-accept?invitationId=6932574410388871751\
                    &sharedKey=yshSPgK7&fr=false&midToken=AQHFZuWCFPKWCO4N&midSig=0vnU5DuIzNJ6cdjGNnS\
                    &trk=eml-email_m2m_invite_single_01-accept&trkEmail=eml-x-null-null\
                    &lipi=urn%3Ali%3Apage%3Aemail%3BfC5K67OSXk2PVyCfCsImzR%3D%3D";
        assert_eq!(
            clean_link(link),
            "https://www.linkedin.com/comm/mynetwork/invite-accept?invitationId=6932574410388871751\
             &sharedKey=yshSPgK7&fr=false"
        );
    }

    #[test]
    fn every_platform_and_utm() {
        assert_eq!(
            clean_link(
                "https://www.facebook.com/n/?permalink.php&aref=123&mid=5a&bcode=2.1&story_fbid=9"
            ),
            "https://www.facebook.com/n/?permalink.php&story_fbid=9"
        );
        assert_eq!(
            clean_link(
                "https://github.com/o/r/pull/4?email_source=notifications&email_token=AB#discussion_r1"
            ),
            "https://github.com/o/r/pull/4#discussion_r1"
        );
        assert_eq!(
            clean_link("https://blog.example/p?id=3&utm_source=x&UTM_medium=y&ref_src=z"),
            "https://blog.example/p?id=3"
        );
        // A parameter called `mid` means something elsewhere: only Facebook loses it.
        assert_eq!(
            clean_link("https://shop.example/?mid=4"),
            "https://shop.example/?mid=4"
        );
        assert_eq!(
            clean_link("https://evil-linkedin.com/x?trk=1"),
            "https://evil-linkedin.com/x?trk=1"
        );
        assert_eq!(
            clean_link("https://www.reddit.com/message/messages/2h8kq0m?%24deep_link=true"),
            "https://www.reddit.com/message/messages/2h8kq0m"
        );
        assert_eq!(clean_link("not a url"), "not a url");
        assert_eq!(
            clean_link("https://mastodon.example/@ann/1"),
            "https://mastodon.example/@ann/1"
        );
    }
}
