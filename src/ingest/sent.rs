//! The user's own mail, read from a Sent folder: who they were in touch with and the
//! reply tasks it answers. Only the recipients and the time are kept.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::classify::Kind;
use crate::plan::{Direction, closing_steps};
use crate::store::Transaction;
use crate::store::{contacts, followups, interactions};

/// A message the user sent, as seen in a Sent folder: enough to tell who they were in
/// touch with and when. Nothing else of it is kept.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub message_id: Option<String>,
    /// Recipient addresses (To and Cc), any case.
    pub recipients: Vec<String>,
    pub sent_at: DateTime<Utc>,
}

/// Log the user's own message to every known contact among its recipients, and close
/// the "reply"/"respond" tasks it answers (those whose cause came before it was sent). Returns
/// (contacts reached, tasks closed). Idempotent: a re-read Sent folder changes nothing.
pub fn record_sent(
    tx: &Transaction<'_>,
    sent: &SentMail,
    now: DateTime<Utc>,
) -> Result<(usize, usize)> {
    let (mut reached, mut closed) = (0, 0);
    for recipient in &sent.recipients {
        let email = recipient.trim().to_ascii_lowercase();
        let Some((contact_id, identity_id)) = contacts::identity_by_email(tx, &email)? else {
            continue;
        };
        let key = format!("sent:{}:{email}", sent.message_id.as_deref().unwrap_or("?"));
        let added = interactions::insert_sent(
            tx,
            (contact_id, identity_id),
            sent.sent_at.timestamp(),
            &key,
            now.timestamp(),
        )?;
        if !added {
            continue;
        }
        reached += 1;
        closed += followups::close_done_by_event(
            tx,
            contact_id,
            closing_steps(Kind::Email, Direction::Outgoing),
            sent.sent_at.timestamp(),
            "sent",
            now.timestamp(),
        )?;
    }
    Ok((reached, closed))
}
