//! One message through the pipeline: classified on its bytes before the transaction
//! ([`Ingest::classify`]), then, inside it, a reply to a digest acted on or a
//! notification logged and its follow-ups planned ([`Ingest::record`]).

use anyhow::Result;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::event::{Event, after_interaction};
use crate::classify::{self, Classification, RuleSet};
use crate::config::Config;
use crate::plan::Direction;
use crate::store::Transaction;
use crate::store::{NewIdentity, NewInteraction, Recorded, interactions};

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
        if let Some(handled) = super::replies::handle_reply(tx, raw, self.config, self.now)? {
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
