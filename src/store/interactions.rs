//! The interaction log: one row per notification or manual entry. Logging is idempotent
//! on the message's Message-ID, so re-reading a folder never logs anything twice.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::contacts::{NewIdentity, resolve};
use crate::classify::{Kind, Trust};

#[derive(Debug, Clone)]
pub struct NewInteraction {
    pub platform: String,
    pub kind: Kind,
    pub occurred_at: i64,
    pub subject: String,
    pub snippet: String,
    pub link: Option<String>,
    pub template: Option<String>,
    pub rule: Option<String>,
    pub source_message_id: Option<String>,
    pub trust: Trust,
    pub actor: Option<NewIdentity>,
}

/// The outcome of logging one interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub interaction_id: i64,
    pub contact_id: Option<i64>,
    /// False when this Message-ID was already logged (nothing changed).
    pub is_new: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InteractionRow {
    pub id: i64,
    pub contact_id: Option<i64>,
    pub contact_name: Option<String>,
    pub platform: String,
    pub kind: String,
    #[serde(with = "unix_as_rfc3339")]
    pub occurred_at: i64,
    pub subject: String,
    pub snippet: String,
    pub link: Option<String>,
    pub template: Option<String>,
    pub rule: Option<String>,
    pub source_message_id: Option<String>,
    pub verified: String,
    #[serde(with = "unix_as_rfc3339")]
    pub logged_at: i64,
}

/// Log an interaction (and its person) unless its Message-ID is already known.
pub(crate) fn record(tx: &Transaction<'_>, new: &NewInteraction, now: i64) -> Result<Recorded> {
    if let Some(id) = &new.source_message_id {
        let existing: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT id, contact_id FROM interaction WHERE source_message_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((interaction_id, contact_id)) = existing {
            return Ok(Recorded {
                interaction_id,
                contact_id,
                is_new: false,
            });
        }
    }
    let who = match (&new.actor, new.kind.is_social()) {
        (Some(actor), true) => resolve(tx, actor, now)?,
        _ => None,
    };
    tx.execute(
        "INSERT INTO interaction (contact_id, identity_id, platform, kind, occurred_at, subject, snippet,
                                  link, template, rule, source_message_id, verified, logged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            who.map(|w| w.0),
            who.map(|w| w.1),
            new.platform,
            new.kind.as_str(),
            new.occurred_at,
            new.subject,
            new.snippet,
            new.link,
            new.template,
            new.rule,
            new.source_message_id,
            new.trust.as_str(),
            now,
        ],
    )?;
    Ok(Recorded {
        interaction_id: tx.last_insert_rowid(),
        contact_id: who.map(|w| w.0),
        is_new: true,
    })
}

pub(super) const SELECT: &str =
    "SELECT i.id, i.contact_id, c.display_name, i.platform, i.kind, i.occurred_at, i.subject,
        i.snippet, i.link, i.template, i.rule, i.source_message_id, i.verified, i.logged_at
     FROM interaction i LEFT JOIN contact c ON c.id = i.contact_id";

/// A manual entry (`nudged met`, a reply to a digest): logged as verified, now.
pub(crate) fn insert_manual(
    tx: &Transaction<'_>,
    (contact_id, identity_id): (i64, Option<i64>),
    platform: &str,
    kind: Kind,
    (subject, note): (&str, &str),
    now: i64,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO interaction (contact_id, identity_id, platform, kind, occurred_at, subject, snippet,
                                  verified, logged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'verified', ?5)",
        params![contact_id, identity_id, platform, kind.as_str(), now, subject, note],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The user's own message to a known contact, once per (message, recipient): `key`
/// names that pair. Returns whether it was new.
pub(crate) fn insert_sent(
    tx: &Transaction<'_>,
    (contact_id, identity_id): (i64, i64),
    sent_at: i64,
    key: &str,
    now: i64,
) -> Result<bool> {
    let added = tx.execute(
        "INSERT INTO interaction (contact_id, identity_id, platform, kind, occurred_at, subject,
                                  source_message_id, verified, logged_at)
         VALUES (?1, ?2, 'email', 'email', ?3, 'You wrote to them', ?4, 'verified', ?5)
         ON CONFLICT (source_message_id) DO NOTHING",
        params![contact_id, identity_id, sent_at, key, now],
    )?;
    Ok(added > 0)
}

pub(super) fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InteractionRow> {
    Ok(InteractionRow {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        contact_name: r.get(2)?,
        platform: r.get(3)?,
        kind: r.get(4)?,
        occurred_at: r.get(5)?,
        subject: r.get(6)?,
        snippet: r.get(7)?,
        link: r.get(8)?,
        template: r.get(9)?,
        rule: r.get(10)?,
        source_message_id: r.get(11)?,
        verified: r.get(12)?,
        logged_at: r.get(13)?,
    })
}

impl super::Store {
    /// Log one interaction in its own transaction.
    pub fn record_interaction(&mut self, new: &NewInteraction, now: i64) -> Result<Recorded> {
        self.write(|tx| record(tx, new, now))
    }

    /// Newest first. Noise is left out unless asked for.
    pub fn interactions(&self, include_noise: bool, limit: usize) -> Result<Vec<InteractionRow>> {
        let sql = format!(
            "{SELECT} WHERE (?1 OR i.kind NOT IN ('noise', 'unknown_template'))
             ORDER BY i.occurred_at DESC, i.id DESC LIMIT ?2"
        );
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map(params![include_noise, limit as i64], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Interactions logged at or after `since` (for "new since the last digest").
    pub fn interactions_logged_since(&self, since: i64) -> Result<Vec<InteractionRow>> {
        let sql =
            format!("{SELECT} WHERE i.logged_at >= ?1 ORDER BY i.platform, i.occurred_at, i.id");
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([since], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// One person's whole history, newest first, noise included (it is theirs too).
    pub fn interactions_of(&self, contact_id: i64) -> Result<Vec<InteractionRow>> {
        let sql =
            format!("{SELECT} WHERE i.contact_id = ?1 ORDER BY i.occurred_at DESC, i.id DESC");
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([contact_id], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    pub fn interaction(&self, id: i64) -> Result<Option<InteractionRow>> {
        let sql = format!("{SELECT} WHERE i.id = ?1");
        Ok(self.read().query_row(&sql, [id], from_row).optional()?)
    }

    pub fn count_interactions(&self) -> Result<i64> {
        Ok(self
            .read()
            .query_row("SELECT COUNT(*) FROM interaction", [], |r| r.get(0))?)
    }
}

/// Times are stored as unix seconds and shown to people and scripts as RFC 3339.
pub mod unix_as_rfc3339 {
    pub fn serialize<S: serde::Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::store::from_unix(*secs).to_rfc3339())
    }
}

pub mod opt_unix_as_rfc3339 {
    pub fn serialize<S: serde::Serializer>(secs: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match secs {
            Some(secs) => s.serialize_str(&crate::store::from_unix(*secs).to_rfc3339()),
            None => s.serialize_none(),
        }
    }
}
