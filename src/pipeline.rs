//! The path every message takes, whatever its source: classify → log → plan, committed
//! in one transaction together with the source's cursor, so a crash anywhere leaves
//! either all of a message's effects or none of them. Classifying is pure work on the
//! bytes and happens before the transaction ([`Ingest::classify`]); only recording
//! ([`Ingest::record`]) runs inside it.

use crate::store::Transaction;
use anyhow::Result;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::classify::{self, Classification, Kind, RuleSet};
use crate::config::Config;
use crate::plan::{Direction, PlanInput, closing_steps, plan_followups, sequence};
use crate::store::{
    NewIdentity, NewInteraction, Recorded, Store, contacts, followups, interactions, people,
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

/// A message classified, waiting for its transaction.
pub struct Classified {
    raw: Vec<u8>,
    classification: Classification,
}

impl Ingest<'_> {
    /// Classify `raw` and, inside `tx`, log and plan it. The caller adds its cursor
    /// update to the same transaction before committing.
    pub fn message(&self, tx: &Transaction<'_>, raw: &[u8]) -> Result<Ingested> {
        let classified = self.classify(raw.to_vec());
        self.record(tx, classified)
    }

    /// The pure part, for before the transaction: what the classifier makes of `raw`.
    pub fn classify(&self, raw: Vec<u8>) -> Classified {
        let classification = classify::classify(&raw, self.rules, &self.config.trust);
        Classified {
            raw,
            classification,
        }
    }

    /// Inside `tx`: act on a reply to a digest, or log and plan a notification.
    pub fn record(&self, tx: &Transaction<'_>, classified: Classified) -> Result<Ingested> {
        let Classified {
            raw,
            classification,
        } = classified;
        let raw = raw.as_slice();
        // A reply to a digest is a list of commands from the owner, not a notification.
        if let Some(handled) = crate::digest::replies::handle_reply(tx, raw, self.config, self.now)?
        {
            return Ok(Ingested {
                classification: Classification::digest_reply(format!("{handled:?}")),
                recorded: None,
                planned: 0,
            });
        }
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
                platform: platform.clone(),
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
            let event = Event {
                interaction_id: recorded.interaction_id,
                contact_id,
                platform: &platform,
                kind: classification.kind,
                direction: Direction::Incoming,
                occurred_at,
                trust: classification.trust,
            };
            let platform_name = self
                .rules
                .platform(&platform)
                .map_or(platform.as_str(), |p| p.name.as_str());
            planned = after_interaction(tx, self.config, &event, platform_name, now)?;
        }
        Ok(Ingested {
            classification,
            recorded: Some(recorded),
            planned,
        })
    }
}

/// A logged interaction, as the closing and planning steps see it.
struct Event<'a> {
    interaction_id: i64,
    contact_id: i64,
    platform: &'a str,
    kind: Kind,
    direction: Direction,
    occurred_at: DateTime<Utc>,
    trust: classify::Trust,
}

/// What follows a new interaction, inside its transaction: close the contact's tasks
/// it shows were done, then plan its own sequence. Returns how many tasks were planned.
fn after_interaction(
    tx: &Transaction<'_>,
    config: &Config,
    event: &Event<'_>,
    platform_name: &str,
    now: i64,
) -> Result<usize> {
    followups::close_done_by_event(
        tx,
        event.contact_id,
        closing_steps(event.kind, event.direction),
        event.occurred_at.timestamp(),
        event.kind.as_str(),
        now,
    )?;
    // The user's own messages and calls need no reply from them; only a sequence the
    // user configured for such an entry plans anything.
    if event.direction == Direction::Outgoing
        && event.kind != Kind::Met
        && sequence::configured(&config.sequences, event.kind, event.platform).is_none()
    {
        return Ok(0);
    }
    let name = contacts::display_name(tx, event.contact_id)?;
    let input = PlanInput {
        interaction_id: event.interaction_id,
        contact_id: event.contact_id,
        contact_name: &name,
        platform: event.platform,
        platform_name,
        kind: event.kind,
        occurred_at: event.occurred_at,
        trust: event.trust,
    };
    let mut planned = 0;
    for followup in plan_followups(
        &input,
        &config.sequences,
        config.timezone(),
        config.trust.allow_unverified,
    ) {
        if followups::insert(tx, &followup, now)? {
            planned += 1;
        }
    }
    Ok(planned)
}

/// A manual entry (`nudged met`, `nudged log`): the person, what happened, when.
#[derive(Debug, Clone)]
pub struct ManualEntry {
    pub who: NewIdentity,
    /// The contact, when the user named one by id; else `who` finds or creates it.
    pub contact_id: Option<i64>,
    pub kind: Kind,
    pub subject: String,
    pub note: Option<String>,
}

/// Log a manual entry: find the person (by profile URL or email, else the one contact
/// of that name, else a new one), log it, close what it settles and plan its
/// sequence. Returns the interaction and how many tasks were planned.
pub fn log_manual(
    store: &mut Store,
    config: &Config,
    entry: &ManualEntry,
    now: DateTime<Utc>,
) -> Result<(Recorded, usize)> {
    store.write(|tx| log_manual_in(tx, config, entry, now))
}

/// [`log_manual`] inside a caller's transaction (a reply to a digest is applied with
/// its source's cursor).
pub(crate) fn log_manual_in(
    tx: &Transaction<'_>,
    config: &Config,
    entry: &ManualEntry,
    now: DateTime<Utc>,
) -> Result<(Recorded, usize)> {
    let (contact_id, identity_id) = match entry.contact_id {
        Some(id) => (id, None),
        None => match people::resolve_manual(tx, &entry.who, now.timestamp())? {
            Some((contact, identity)) => (contact, Some(identity)),
            None => anyhow::bail!("a manual entry needs the person's name"),
        },
    };
    let platform = entry.who.platform.as_str();
    let interaction_id = interactions::insert_manual(
        tx,
        (contact_id, identity_id),
        platform,
        entry.kind,
        (&entry.subject, entry.note.as_deref().unwrap_or_default()),
        now.timestamp(),
    )?;
    let event = Event {
        interaction_id,
        contact_id,
        platform,
        kind: entry.kind,
        direction: Direction::Outgoing,
        occurred_at: now,
        trust: classify::Trust::Verified,
    };
    let planned = after_interaction(tx, config, &event, platform, now.timestamp())?;
    Ok((
        Recorded {
            interaction_id: event.interaction_id,
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
    let mut lapsed = crate::plan::keep_in_touch::plan_reconnects(
        &store.last_contacts()?,
        &config.followups,
        config.timezone(),
        now,
    );
    // Freshest lapses first: those relationships are the easiest to pick up again.
    lapsed.sort_by_key(|f| std::cmp::Reverse(f.due_at));
    let start_of_day = crate::digest::schedule::slot_on(
        now.with_timezone(&config.timezone()).date_naive(),
        chrono::NaiveTime::MIN,
        config.timezone(),
    );
    let mut planned = 0;
    store.write(|tx| {
        let today = followups::count_created_since(
            tx,
            crate::plan::keep_in_touch::RECONNECT_RULE,
            start_of_day.timestamp(),
        )?;
        let mut room = (config.followups.reconnects_per_day as usize).saturating_sub(today);
        for followup in &lapsed {
            if room == 0 {
                break;
            }
            if followups::insert(tx, followup, now.timestamp())? {
                planned += 1;
                room -= 1;
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
