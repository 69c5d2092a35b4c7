//! Classify: raw message bytes in, a [`Classification`] out. A pure function — no
//! database, no network — so every rule can be tested on fixture files alone.
//!
//! The rules themselves are data ([`rules`]); this module parses the message once,
//! hands the rules the fields they match on, and decides how far to trust the result
//! ([`trust`], [`dkim`]). A caller that fetches headers before bodies (IMAP) can ask
//! `RuleSet::header_candidate(&MailView::parse_headers(headers)?)` and skip the body
//! of everything else; [`classify`] does the same internally.

pub mod dkim;
mod header_block;
pub mod links;
pub mod message;
pub mod prefilter;
pub mod rules;
pub mod trust;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::TrustConfig;
pub use message::MailView;
pub use rules::RuleSet;
pub use trust::Trust;

/// What happened, as far as a notification tells.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Message,
    ConnectionRequest,
    Connection,
    Met,
    Milestone,
    Mention,
    Comment,
    Reply,
    Follow,
    Reaction,
    Event,
    /// Logged by hand: a call, an email or a meeting the user had.
    Call,
    Email,
    Meeting,
    /// Recognised on purpose and counted, never turned into tasks.
    Noise,
    /// From a platform we know, in a template no rule covers yet.
    UnknownTemplate,
    /// Not a notification at all.
    #[default]
    None,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::ConnectionRequest => "connection_request",
            Kind::Connection => "connection",
            Kind::Met => "met",
            Kind::Milestone => "milestone",
            Kind::Mention => "mention",
            Kind::Comment => "comment",
            Kind::Reply => "reply",
            Kind::Follow => "follow",
            Kind::Reaction => "reaction",
            Kind::Event => "event",
            Kind::Call => "call",
            Kind::Email => "email",
            Kind::Meeting => "meeting",
            Kind::Noise => "noise",
            Kind::UnknownTemplate => "unknown_template",
            Kind::None => "none",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }

    /// Whether a message of this kind is worth a row in the interaction log.
    pub fn is_logged(self) -> bool {
        !matches!(self, Kind::None)
    }

    /// Whether this kind is a real exchange with a person (not noise, not unknown).
    pub fn is_social(self) -> bool {
        !matches!(self, Kind::Noise | Kind::UnknownTemplate | Kind::None)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
            trust: Trust::Unverified,
            message_id: None,
            explanation: vec![why],
        }
    }
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
    let outcome = if explain {
        rules.explain(&mail)
    } else {
        rules.evaluate(&mail)
    };
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
            subject: mail.subject.clone(),
            message_id: mail.message_id.clone(),
            explanation: Vec::new(),
            ..Self::unparsable()
        }
    }
}
