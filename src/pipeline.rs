//! The path every message takes, whatever its source: classify → log → plan, committed
//! in one transaction together with the source's cursor, so a crash anywhere leaves
//! either all of a message's effects or none of them.

use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use sha2::{Digest, Sha256};

use crate::classify::{self, Classification, Kind, RuleSet};
use crate::config::Config;
use crate::plan::{PlanInput, plan_followups};
use crate::store::{
    NewIdentity, NewInteraction, Recorded, Store, contacts, followups, interactions,
};

/// What became of one message.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub classification: Classification,
    /// The logged interaction; `None` for ordinary mail.
    pub recorded: Option<Recorded>,
    pub planned: usize,
}

/// Everything a source needs to push messages through the pipeline.
pub struct Ingest<'a> {
    pub rules: &'a RuleSet,
    pub config: &'a Config,
    pub now: DateTime<Utc>,
}

impl Ingest<'_> {
    /// Classify `raw` and, inside `tx`, log and plan it. The caller adds its cursor
    /// update to the same transaction before committing.
    pub fn message(&self, tx: &Transaction<'_>, raw: &[u8]) -> Result<Ingested> {
        // A reply to a digest is a list of commands from the owner, not a notification.
        if let Some(handled) = crate::digest::replies::handle_reply(tx, raw, self.config, self.now)?
        {
            return Ok(Ingested {
                classification: Classification::digest_reply(format!("{handled:?}")),
                recorded: None,
                planned: 0,
            });
        }
        let classification = classify::classify(raw, self.rules, &self.config.trust);
        let Some(platform) = classification
            .platform
            .clone()
            .filter(|_| classification.kind.is_logged())
        else {
            return Ok(Ingested {
                classification,
                recorded: None,
                planned: 0,
            });
        };
        let now = self.now.timestamp();
        let occurred_at = classification.occurred_at.unwrap_or(self.now);
        let new = NewInteraction {
            platform: platform.clone(),
            kind: classification.kind,
            occurred_at: occurred_at.timestamp(),
            subject: classification.subject.clone(),
            snippet: classification.snippet.clone(),
            link: classification.link.clone(),
            template: classification.template.clone(),
            rule: classification.rule.clone(),
            // Mail without a Message-ID is still logged once: its content names it.
            source_message_id: Some(
                classification
                    .message_id
                    .clone()
                    .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw)))),
            ),
            trust: classification.trust,
            actor: classification.actor.as_ref().map(|actor| NewIdentity {
                platform,
                display_name: actor.name.clone(),
                handle: actor.handle.clone(),
                profile_url: actor.profile_url.clone(),
                email: actor.email.clone(),
            }),
        };
        let recorded = interactions::record(tx, &new, now)?;
        let mut planned = 0;
        if recorded.is_new
            && let Some(contact_id) = recorded.contact_id
        {
            let name: String = tx.query_row(
                "SELECT display_name FROM contact WHERE id = ?1",
                [contact_id],
                |r| r.get(0),
            )?;
            let input = PlanInput {
                interaction_id: recorded.interaction_id,
                contact_id,
                contact_name: &name,
                kind: classification.kind,
                occurred_at,
                trust: classification.trust,
            };
            for followup in plan_followups(
                &input,
                self.config.timezone(),
                self.config.trust.allow_unverified,
            ) {
                if followups::insert(tx, &followup, now)? {
                    planned += 1;
                }
            }
        }
        Ok(Ingested {
            classification,
            recorded: Some(recorded),
            planned,
        })
    }
}

/// A manual entry (`nudged met`, `nudged log`): find or create the person, log the
/// interaction and plan its sequence. Returns the interaction and how many tasks.
pub fn log_manual(
    store: &mut Store,
    config: &Config,
    who: &NewIdentity,
    kind: Kind,
    subject: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Recorded, usize)> {
    store.write(|tx| log_manual_in(tx, config, who, kind, subject, note, now))
}

/// [`log_manual`] inside a caller's transaction (a reply to a digest is applied with
/// its source's cursor).
pub(crate) fn log_manual_in(
    tx: &Transaction<'_>,
    config: &Config,
    who: &NewIdentity,
    kind: Kind,
    subject: &str,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Recorded, usize)> {
    let (contact_id, identity_id) = match contacts::resolve(tx, who, now.timestamp())? {
        Some(found) => found,
        None => anyhow::bail!("a manual entry needs the person's name"),
    };
    tx.execute(
        "INSERT INTO interaction (contact_id, identity_id, platform, kind, occurred_at, subject, snippet,
                                  verified, logged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'verified', ?5)",
        rusqlite::params![contact_id, identity_id, who.platform, kind.as_str(), now.timestamp(), subject, note.unwrap_or_default()],
    )?;
    let interaction_id = tx.last_insert_rowid();
    let name: String = tx.query_row(
        "SELECT display_name FROM contact WHERE id = ?1",
        [contact_id],
        |r| r.get(0),
    )?;
    let input = PlanInput {
        interaction_id,
        contact_id,
        contact_name: &name,
        kind,
        occurred_at: now,
        trust: classify::Trust::Verified,
    };
    let mut planned = 0;
    for followup in plan_followups(&input, config.timezone(), true) {
        if followups::insert(tx, &followup, now.timestamp())? {
            planned += 1;
        }
    }
    Ok((
        Recorded {
            interaction_id,
            contact_id: Some(contact_id),
            is_new: true,
        },
        planned,
    ))
}

/// After ingesting: expire stale tasks and plan keep-in-touch reminders.
pub fn plan_housekeeping(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<(usize, usize)> {
    let grace = config.followups.expire_after.to_chrono().num_seconds();
    let expired = store.expire_followups(now.timestamp(), grace)?;
    let lapsed = crate::plan::keep_in_touch::plan_reconnects(
        &store.last_contacts()?,
        &config.followups,
        now,
    );
    let mut planned = 0;
    store.write(|tx| {
        for followup in &lapsed {
            if followups::insert(tx, followup, now.timestamp())? {
                planned += 1;
            }
        }
        Ok(())
    })?;
    Ok((expired, planned))
}

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
        let found: Option<(i64, i64)> = rusqlite::OptionalExtension::optional(tx.query_row(
            "SELECT contact_id, id FROM identity WHERE email = ?1 ORDER BY id LIMIT 1",
            [&email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ))?;
        let Some((contact_id, identity_id)) = found else {
            continue;
        };
        let key = format!("sent:{}:{email}", sent.message_id.as_deref().unwrap_or("?"));
        let added = tx.execute(
            "INSERT INTO interaction (contact_id, identity_id, platform, kind, occurred_at, subject,
                                      source_message_id, verified, logged_at)
             VALUES (?1, ?2, 'email', 'email', ?3, 'You wrote to them', ?4, 'verified', ?5)
             ON CONFLICT (source_message_id) DO NOTHING",
            rusqlite::params![contact_id, identity_id, sent.sent_at.timestamp(), key, now.timestamp()],
        )?;
        if added == 0 {
            continue;
        }
        reached += 1;
        closed += tx.execute(
            "UPDATE followup SET status = 'done', resolved_at = ?3, updated_at = ?3, sequence = sequence + 1
             WHERE contact_id = ?1 AND status IN ('open', 'snoozed')
               AND COALESCE((SELECT occurred_at FROM interaction i WHERE i.id = followup.interaction_id), created_at) <= ?2
               AND (rule LIKE '%.reply' OR rule LIKE '%.respond' OR rule LIKE '%.thank' OR rule = 'keep_in_touch.reconnect')",
            rusqlite::params![contact_id, sent.sent_at.timestamp(), now.timestamp()],
        )?;
    }
    Ok((reached, closed))
}
