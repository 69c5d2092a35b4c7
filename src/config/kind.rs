//! The kinds of interaction a notification or a manual log entry can be. Config speaks
//! this vocabulary (a rule's `kind`, a sequence's `when.kind`), so it lives here at the
//! bottom; the classifier and planner re-export and use it.

use serde::{Deserialize, Serialize};

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
