//! Rules written in config: they override built-ins, add platforms, and their mistakes
//! are config errors that point at the line.

use std::path::Path;

use nudged::classify::{Kind, RuleSet, classify};
use nudged::config::Config;

fn parse(text: &str) -> Result<Config, nudged::config::ConfigError> {
    Config::parse(
        text,
        Some(Path::new("/etc/nudged/config.toml")),
        Path::new("/etc/nudged"),
    )
}

fn rules(config: &Config) -> RuleSet {
    RuleSet::with_user_config(&config.platforms, &config.rules).unwrap()
}

#[test]
fn bad_patterns_point_at_the_rule_or_platform() {
    let err = parse(
        "[trust]\nallow_unverified = false\n\n[[rule]]\nname = \"mine\"\nplatform = \"x\"\nkind = \"noise\"\nfrom = [\"@x.com\"]\nnot_headers = { \"X-Y\" = \"(unclosed\" }\n",
    )
    .unwrap_err();
    assert_eq!(err.line_col.map(|lc| lc.0), Some(5), "{err}");
    assert!(err.to_string().contains("mine"), "{err}");

    let err = parse(
        "[[platform]]\nid = \"discord\"\nname = \"Discord\"\ntemplate_link = ['(?P<template>']\n",
    )
    .unwrap_err();
    assert_eq!(err.line_col.map(|lc| lc.0), Some(2), "{err}");

    let err = parse("[[rule]]\nname = \"mine\"\nplatform = \"x\"\nkind = \"noise\"\nfrom = [\"@x.com\"]\nsubjcet = \"x\"\n")
        .unwrap_err();
    assert_eq!(err.line_col.map(|lc| lc.0), Some(6), "{err}");

    let err =
        parse("[[rule]]\nname = \"catch-all\"\nplatform = \"x\"\nkind = \"noise\"\n").unwrap_err();
    assert!(err.to_string().contains("no condition"), "{err}");
}

#[test]
fn a_user_rule_overrides_a_builtin_of_the_same_name() {
    let config = parse(
        "[[rule]]\nname = \"github.mention\"\nplatform = \"github\"\nkind = \"noise\"\nfrom = [\"notifications@github.com\"]\nheaders = { \"X-GitHub-Reason\" = \"^mention$\" }\n",
    )
    .unwrap();
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/github/mention.eml"),
    )
    .unwrap();
    let result = classify(&raw, &rules(&config), &config.trust);
    assert_eq!(result.kind, Kind::Noise);
    assert_eq!(result.rule.as_deref(), Some("github.mention"));
}

#[test]
fn a_user_platform_and_rule_add_a_network() {
    let config = parse(
        "[[platform]]\nid = \"discord\"\nname = \"Discord\"\ndomains = [\"discord.com\"]\n\n[[rule]]\nname = \"discord.dm\"\nplatform = \"discord\"\nkind = \"message\"\nfrom = [\"@discord.com\"]\nsubject = '^(?P<actor>.+?) sent you a direct message'\n",
    )
    .unwrap();
    let rules = rules(&config);
    let dm = b"From: Discord <notifications@discord.com>\r\nSubject: Lee Park sent you a direct message\r\n\r\nhi\r\n";
    let result = classify(dm, &rules, &config.trust);
    assert_eq!(result.platform.as_deref(), Some("discord"));
    assert_eq!(result.kind, Kind::Message);
    assert_eq!(
        result.actor.and_then(|a| a.name).as_deref(),
        Some("Lee Park")
    );
    // Its domain is known now, so an unfamiliar template is visible, not lost.
    let other =
        b"From: Discord <notifications@discord.com>\r\nSubject: Your weekly recap\r\n\r\nhi\r\n";
    assert_eq!(
        classify(other, &rules, &config.trust).kind,
        Kind::UnknownTemplate
    );
}

#[test]
fn template_ids_come_only_from_the_platforms_own_links() {
    let rules = RuleSet::builtin();
    let trust = nudged::config::TrustConfig::default();
    let forwarded = |host: &str| {
        format!(
            "From: Sam <sam@example.com>\r\nSubject: Fwd: Sam, please add me to your LinkedIn network\r\n\r\nFrom: Ann Lee\r\nAccept: https://{host}/comm/mynetwork/invite-accept?x=1&trk=eml-email_m2m_invite_single_01-accept-0\r\n"
        )
    };
    let real = classify(forwarded("www.linkedin.com").as_bytes(), &rules, &trust);
    assert_eq!(real.platform.as_deref(), Some("linkedin"));
    assert_eq!(real.template.as_deref(), Some("email_m2m_invite_single_01"));
    for fake in [
        "www.linkedin.com.evil.example",
        "www.linkedin.com@evil.example",
        "evil.example/www.linkedin.com",
    ] {
        let result = classify(forwarded(fake).as_bytes(), &rules, &trust);
        assert_eq!(result.platform, None, "{fake}: {:?}", result.rule);
    }
}
