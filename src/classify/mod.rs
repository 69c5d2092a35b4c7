//! Classify: raw message bytes in, a [`Classification`] out. A pure function — no
//! database, no network — so every rule can be tested on fixture files alone.
//!
//! The rules themselves are data ([`rules`]); this module parses the message once,
//! hands the rules the fields they match on, and decides how far to trust the result
//! ([`trust`], [`dkim`]). A caller that fetches headers before bodies (IMAP) can ask
//! `RuleSet::header_candidate(&MailView::parse_headers(headers)?)` and skip the body
//! of everything else; [`classify`] does the same internally.

pub mod bots;
pub mod dkim;
mod header_block;
mod header_text;
pub mod links;
pub mod message;
pub mod prefilter;
pub mod rules;
pub mod trust;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::config::Kind;
use crate::config::TrustConfig;
pub use message::MailView;
pub use rules::RuleSet;
pub use trust::Trust;

/// The person behind a notification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub name: Option<String>,
    pub handle: Option<String>,
    pub profile_url: Option<String>,
    pub email: Option<String>,
}

/// Everything the classifier learned from one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Platform id ("linkedin", "github", …), `None` for ordinary mail.
    pub platform: Option<String>,
    pub kind: Kind,
    pub actor: Option<Actor>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub subject: String,
    pub snippet: String,
    pub link: Option<String>,
    pub template: Option<String>,
    pub rule: Option<String>,
    /// For noise: why this mail is not worth a task (the rule's `reason`, or a bot).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub trust: Trust,
    pub message_id: Option<String>,
    /// Why: one line per decision, for `classify --explain`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub explanation: Vec<String>,
}

impl Classification {
    /// What a reply to a digest is reported as: no platform, nothing logged.
    pub fn digest_reply(outcome: String) -> Self {
        Self::nothing(format!("a reply to a digest: {outcome}"))
    }

    /// No platform, nothing logged, one line of why.
    fn nothing(why: String) -> Self {
        Classification {
            platform: None,
            kind: Kind::None,
            actor: None,
            occurred_at: None,
            subject: String::new(),
            snippet: String::new(),
            link: None,
            template: None,
            rule: None,
            reason: None,
            trust: Trust::Unverified,
            message_id: None,
            explanation: vec![why],
        }
    }
}

/// The longest subject that is kept and shown; a real one is a line, a hostile folded
/// one can be megabytes.
pub const SUBJECT_CHARS: usize = 300;
/// A Message-ID longer than this is kept as its hash: still one key per message.
const MESSAGE_ID_BYTES: usize = 500;

/// `text` cut to `max_chars` characters (on a character boundary), with `…` if cut.
fn capped(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

fn bounded_message_id(id: &str) -> String {
    if id.len() <= MESSAGE_ID_BYTES {
        return id.to_string();
    }
    use sha2::Digest as _;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(id.as_bytes()))
    )
}

/// Classify one raw message. Never panics, whatever the bytes.
///
/// Ordinary mail is the bulk of an inbox, so it is judged from its headers alone: only
/// a message that some rule (or a known platform's sender domain) could claim has its
/// body decoded.
pub fn classify(raw: &[u8], rules: &RuleSet, trust: &TrustConfig) -> Classification {
    classify_with(raw, rules, trust, false)
}

/// [`classify`], with the full reasoning in `explanation`: every condition of the
/// matching rule, or for a miss the rules that came closest (`classify --explain`).
pub fn classify_explained(raw: &[u8], rules: &RuleSet, trust: &TrustConfig) -> Classification {
    classify_with(raw, rules, trust, true)
}

fn classify_with(
    raw: &[u8],
    rules: &RuleSet,
    trust: &TrustConfig,
    explain: bool,
) -> Classification {
    let Some(mut mail) = MailView::parse_headers(raw) else {
        return Classification::unparsable();
    };
    // Explaining a miss means showing the closest rules, which needs the body.
    if !explain && !rules.header_candidate(&mail) {
        return Classification {
            explanation: vec![
                "no rule matched: not a notification (decided from the headers alone)".into(),
            ],
            ..Classification::from_headers(&mail)
        };
    }
    mail.load_body(raw);
    let mut outcome = if explain {
        rules.explain(&mail)
    } else {
        rules.evaluate(&mail)
    };
    // Whatever rule matched, built-in or the user's: a bot is never a person.
    bots::demote_bot_actor(&mut outcome);
    let mut explanation = outcome.explanation;
    if let Some(why) = &mail.body_skipped {
        explanation.push(why.clone());
    }
    let trust = match &outcome.platform {
        Some(id) => {
            let (verdict, why) = trust::verdict(raw, &mail, &rules.trust_domains(id, &mail), trust);
            explanation.push(format!("trust: {} ({why})", verdict.as_str()));
            verdict
        }
        None => Trust::Unverified,
    };
    Classification {
        platform: outcome.platform,
        kind: outcome.kind,
        actor: outcome.actor,
        snippet: mail.snippet(),
        link: outcome.link,
        template: outcome.template,
        rule: outcome.rule,
        reason: outcome.reason,
        trust,
        explanation,
        ..Classification::from_headers(&mail)
    }
}

impl Classification {
    /// Bytes with no header block: nothing to say.
    fn unparsable() -> Self {
        Self::nothing("the bytes do not parse as an email message".into())
    }

    /// What the headers tell of any message, notification or not.
    fn from_headers(mail: &MailView) -> Self {
        Classification {
            occurred_at: mail.date,
            subject: capped(&mail.subject, SUBJECT_CHARS),
            message_id: mail.message_id.as_deref().map(bounded_message_id),
            explanation: Vec::new(),
            ..Self::unparsable()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_subjects_and_message_ids_are_stored_bounded() {
        let mut raw = String::from("From: Someone <someone@example.org>\r\nMessage-ID: <");
        raw.push_str(&"x".repeat(100_000));
        raw.push_str("@example.org>\r\nSubject: start");
        for _ in 0..200_000 {
            raw.push_str("\r\n word word word word word word word word word word");
        }
        raw.push_str("\r\n\r\nbody\r\n");
        assert!(raw.len() > 10_000_000);
        let rules = RuleSet::builtin();
        let got = classify(raw.as_bytes(), &rules, &TrustConfig::default());
        assert!(got.subject.starts_with("start word"), "{}", &got.subject);
        assert!(got.subject.chars().count() <= SUBJECT_CHARS + 1);
        assert!(got.subject.ends_with('…'));
        let id = got.message_id.unwrap();
        assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
        assert_eq!(capped("ünïcödé", 3), "ünï…");
        assert_eq!(capped("short", 300), "short");
    }
}
