//! Is a notification really from the platform it names? Anyone can write
//! `From: invitations@linkedin.com`. A message is *verified* when its From address is
//! on the platform's domain and either a DKIM signature of that domain verifies
//! locally (keys in `[trust] dkim_keys`, see [`super::dkim`]) or a receiving server
//! the user trusts (named in `[trust] authserv_ids`) recorded a DKIM pass for it in
//! the topmost `Authentication-Results` header; *failed* when either says the
//! signature is bad; *unverified* otherwise.

use serde::Serialize;

use super::MailView;
use super::dkim::LocalDkim;
pub(crate) use super::header_text::strip_comments;
use super::rules::domain_within;
use crate::config::TrustConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    Verified,
    Unverified,
    Failed,
}

impl Trust {
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Verified => "verified",
            Trust::Unverified => "unverified",
            Trust::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Trust {
        match text {
            "verified" => Trust::Verified,
            "failed" => Trust::Failed,
            _ => Trust::Unverified,
        }
    }
}

/// The verdict, and why, for a message that claims to come from a platform with these
/// domains.
pub fn verdict(
    raw: &[u8],
    mail: &MailView,
    platform_domains: &[String],
    config: &TrustConfig,
) -> (Trust, String) {
    if platform_domains.is_empty() {
        return (
            Trust::Unverified,
            "no domain to check the sender against".into(),
        );
    }
    let from_domain = mail.from_domain().unwrap_or_default();
    if !platform_domains
        .iter()
        .any(|d| domain_within(from_domain, d))
    {
        return (
            Trust::Unverified,
            format!("From domain {from_domain:?} is not the platform's"),
        );
    }
    // Without keys nothing can be checked locally; the signature (often a kilobyte,
    // folded) is then not even looked at.
    if !config.dkim_keys.is_empty()
        && mail.has_header("dkim-signature")
        && let Some(local) = super::dkim::verify(raw, platform_domains, &config.dkim_keys)
    {
        return match local {
            LocalDkim::Pass(why) => (Trust::Verified, why),
            LocalDkim::Fail(why) => (Trust::Failed, why),
        };
    }
    match authentication_results(mail, platform_domains, config) {
        Trust::Verified => (
            Trust::Verified,
            "trusted Authentication-Results: DKIM pass".into(),
        ),
        Trust::Failed => (
            Trust::Failed,
            "trusted Authentication-Results: DKIM fail".into(),
        ),
        Trust::Unverified => (
            Trust::Unverified,
            "no verified DKIM signature of the platform's domain".into(),
        ),
    }
}

/// The topmost `Authentication-Results` of a trusted server, for a message whose From
/// is already known to be on the platform's domain.
fn authentication_results(
    mail: &MailView,
    platform_domains: &[String],
    config: &TrustConfig,
) -> Trust {
    if config.authserv_ids.is_empty() {
        return Trust::Unverified;
    }
    // Only the topmost header written by a trusted server counts: anything below it
    // may have been added by the sender.
    let headers = mail
        .headers_named("authentication-results")
        .map(|v| strip_comments(&v));
    let Some(results) = headers.into_iter().find(|value| {
        let authserv = value.split(';').next().unwrap_or_default().trim();
        let authserv = authserv.split_whitespace().next().unwrap_or_default();
        config
            .authserv_ids
            .iter()
            .any(|id| id.eq_ignore_ascii_case(authserv))
    }) else {
        return Trust::Unverified;
    };
    let mut saw_fail = false;
    for clause in results.split(';').skip(1) {
        let clause = clause.trim().to_ascii_lowercase();
        let Some(result) = clause.strip_prefix("dkim=") else {
            continue;
        };
        let outcome = result.split_whitespace().next().unwrap_or_default();
        let signer = clause
            .split_whitespace()
            .find_map(|prop| prop.strip_prefix("header.d="))
            .unwrap_or_default();
        let aligned = platform_domains.iter().any(|d| domain_within(signer, d));
        match outcome {
            "pass" if aligned => return Trust::Verified,
            "fail" | "permerror" if aligned => saw_fail = true,
            _ => {}
        }
    }
    if saw_fail {
        Trust::Failed
    } else {
        Trust::Unverified
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &[(&str, &str)], from: &str) -> MailView {
        let mut raw = String::new();
        for (name, value) in headers {
            raw.push_str(&format!("{name}: {value}\r\n"));
        }
        raw.push_str(&format!("From: <{from}>\r\n\r\n"));
        MailView::parse_headers(raw.as_bytes()).unwrap()
    }

    fn config() -> TrustConfig {
        TrustConfig {
            authserv_ids: vec!["mx.example.com".into()],
            allow_unverified: false,
            dkim_keys: Default::default(),
        }
    }

    fn check(mail: &MailView, domains: &[String], config: &TrustConfig) -> Trust {
        verdict(b"", mail, domains, config).0
    }

    #[test]
    fn topmost_trusted_header_decides() {
        let domains = vec!["linkedin.com".to_string()];
        let ok = mail(
            &[(
                "authentication-results",
                "mx.example.com; dkim=pass header.d=linkedin.com; spf=pass",
            )],
            "invitations@linkedin.com",
        );
        assert_eq!(check(&ok, &domains, &config()), Trust::Verified);
        let forged_below = mail(
            &[
                ("authentication-results", "mx.example.com; dkim=none"),
                (
                    "authentication-results",
                    "mx.example.com; dkim=pass header.d=linkedin.com",
                ),
            ],
            "invitations@linkedin.com",
        );
        assert_eq!(check(&forged_below, &domains, &config()), Trust::Unverified);
        let other_server = mail(
            &[(
                "authentication-results",
                "evil.example; dkim=pass header.d=linkedin.com",
            )],
            "invitations@linkedin.com",
        );
        assert_eq!(check(&other_server, &domains, &config()), Trust::Unverified);
        let failed = mail(
            &[(
                "authentication-results",
                "mx.example.com; dkim=fail header.d=linkedin.com",
            )],
            "invitations@linkedin.com",
        );
        assert_eq!(check(&failed, &domains, &config()), Trust::Failed);
        let misaligned = mail(
            &[(
                "authentication-results",
                "mx.example.com; dkim=pass header.d=evil.example",
            )],
            "invitations@linkedin.com",
        );
        assert_eq!(check(&misaligned, &domains, &config()), Trust::Unverified);
        let commented = mail(
            &[(
                "authentication-results",
                "mx.example.com; dkim=pass (2048-bit key; unprotected) header.d=linkedin.com",
            )],
            "invitations@linkedin.com",
        );
        assert_eq!(check(&commented, &domains, &config()), Trust::Verified);
    }
}
