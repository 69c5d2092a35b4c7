//! Exactly one digest per slot. The finished message goes into the outbox (with its
//! Message-ID fixed) and reaches the disk before any delivery is tried; it is marked sent
//! only after the transport accepted it. A crash in between resends the same message,
//! same Message-ID. A lease in the store lets one process send at a time. A row whose
//! slot has passed unsent is replaced by the next slot's digest, which covers the gap.
//! Three steps, so no lock is held while a mail server takes its time: gather, render
//! and enqueue (one write) → deliver (no database at all) → record the outcome (a write).

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::{DigestData, DigestOptions, LinkSigner, html, render, schedule};
use crate::calendar::write_calendar;
use crate::config::{CalendarStyle, Config, DigestConfig};
use crate::digest::deliver;
use crate::store::{Db, DigestRow, Store};

const LEASE: &str = "digest-sender";
/// Longer than one delivery attempt may take ([`deliver::ATTEMPT_DEADLINE`]), so a live
/// sender never loses it; a crashed one blocks others at most this long.
const LEASE_SECONDS: i64 = 5 * 60;
const _: () = assert!(deliver::ATTEMPT_DEADLINE.as_secs() < LEASE_SECONDS as u64);
/// A missed slot is not caught up when the next slot is less than this far away.
const CATCH_UP_HOLD_HOURS: i64 = 3;

/// What a digest pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestOutcome {
    NotConfigured,
    /// This slot's digest was already sent.
    AlreadySent {
        slot: DateTime<Utc>,
    },
    /// Nothing due and nothing new (and `send_when_empty` is off).
    NothingToSay {
        slot: DateTime<Utc>,
    },
    Sent {
        slot: DateTime<Utc>,
        subject: String,
        location: String,
        message_id: String,
    },
    /// Delivery failed; the digest stays in the outbox and is retried after `retry_at`.
    Failed {
        slot: DateTime<Utc>,
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// A failed digest waits for its retry time.
    Waiting {
        slot: DateTime<Utc>,
        retry_at: DateTime<Utc>,
    },
    /// The last slot was missed and the next one is close: it will cover both.
    Held {
        next: DateTime<Utc>,
    },
    /// Another process holds the sender lease.
    Busy,
}

impl DigestOutcome {
    /// One line for the pass report.
    pub fn describe(&self) -> String {
        match self {
            DigestOutcome::NotConfigured => "no [digest] configured".into(),
            DigestOutcome::AlreadySent { slot } => {
                format!("already sent for {}", slot.to_rfc3339())
            }
            DigestOutcome::NothingToSay { .. } => "nothing due and nothing new: no digest".into(),
            DigestOutcome::Sent {
                subject, location, ..
            } => format!("sent \"{subject}\" to {location}"),
            DigestOutcome::Failed {
                error, retry_at, ..
            } => format!(
                "not delivered, kept in the outbox, retried after {}: {error}",
                retry_at.to_rfc3339()
            ),
            DigestOutcome::Waiting { retry_at, .. } => format!(
                "a digest waits in the outbox; next attempt after {}",
                retry_at.to_rfc3339()
            ),
            DigestOutcome::Held { next } => {
                format!("the next digest goes out at {}", next.to_rfc3339())
            }
            DigestOutcome::Busy => "another nudged process is sending the digest".into(),
        }
    }
}

fn mailbox(text: &str, key: &str) -> Result<Mailbox> {
    text.parse().with_context(|| {
        format!("digest.{key} = {text:?} is not a mailbox like \"nudged <me@example.com>\"")
    })
}

/// Build the complete message for `data`: multipart/mixed holding
/// multipart/alternative (text, HTML) and the calendar.
pub fn compose(digest: &DigestConfig, data: &DigestData, message_id: &str) -> Result<Vec<u8>> {
    let from = mailbox(&digest.from, "from")?;
    let to = mailbox(&digest.to, "to")?;
    let alternative = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(render::text(data)),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html::html(data)),
        );
    let mut body = MultiPart::mixed().multipart(alternative);
    if digest.calendar != CalendarStyle::None {
        let ics = write_calendar(data.calendar_tasks(), data.tz, data.now, digest.calendar);
        let content_type = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
            .context("calendar content type")?;
        body =
            body.singlepart(Attachment::new("follow-ups.ics".to_string()).body(ics, content_type));
    }
    let message = lettre::Message::builder()
        .from(from)
        // Replies go to the owner's own inbox, which nudged reads: that is how they act.
        .reply_to(to.clone())
        .to(to)
        .subject(render::subject(data))
        .message_id(Some(message_id.to_string()))
        .date(data.now.into())
        .multipart(body)
        .context("cannot build the digest message")?;
    Ok(message.formatted())
}

/// A new Message-ID for the digest of `slot`; random so two databases never collide.
pub fn new_message_id(slot: DateTime<Utc>, digest: &DigestConfig) -> String {
    let domain = digest
        .from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
        })
        .unwrap_or("nudged.invalid");
    format!(
        "<digest-{}.{:016x}@{}>",
        slot.format("%Y%m%dT%H%MZ"),
        rand::random::<u64>(),
        domain
    )
}

/// Everything needed to render the digest that would go out now (also for `--preview`),
/// its links signed with `key` (from [`super::link_key`]; `None` without links).
pub fn prepare(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
    key: Option<&[u8]>,
) -> Result<DigestData> {
    let tz = config
        .digest
        .as_ref()
        .map_or(chrono_tz::UTC, |d| d.timezone.0);
    let mut data = DigestData::gather(store, now, tz, &DigestOptions::from_config(config))?;
    data.links = key.and_then(|key| LinkSigner::for_config(config, key, now));
    Ok(data)
}

/// Send the digest for the latest slot unless it went out already. With `force`, send
/// now even if the slot is done or there is nothing to say (`digest --send-now`). The
/// database is free while the transport works.
pub async fn run_digest(
    db: &Db,
    config: &std::sync::Arc<Config>,
    now: DateTime<Utc>,
    force: bool,
) -> Result<DigestOutcome> {
    if config.digest.is_none() {
        return Ok(DigestOutcome::NotConfigured);
    }
    let holder = lease_holder();
    // The key file is read now, so the write below is SQL (and rendering) only.
    let key = super::link_key(db, config).await?;
    let begun = {
        let (config, holder) = (std::sync::Arc::clone(config), holder.clone());
        db.write(move |store| begin(store, &config, now, force, &holder, key.as_deref()))
            .await?
    };
    let delivery = match begun {
        Begun::Done(outcome) => return Ok(outcome),
        Begun::Deliver(delivery) => delivery,
    };
    let delivered = deliver::deliver(config, &delivery.row.body).await;
    db.write(move |store| Ok(record(store, delivery, delivered, now, &holder)))
        .await
}

/// [`run_digest`] on a connection of the caller's own (a CLI command, a test): the
/// same three steps; no transaction is open while the transport works.
pub async fn run_digest_on(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
    force: bool,
) -> Result<DigestOutcome> {
    if config.digest.is_none() {
        return Ok(DigestOutcome::NotConfigured);
    }
    let holder = lease_holder();
    let key = super::link_key_on(store, config)?;
    let delivery = match begin(store, config, now, force, &holder, key.as_deref())? {
        Begun::Done(outcome) => return Ok(outcome),
        Begun::Deliver(delivery) => delivery,
    };
    let delivered = deliver::deliver(config, &delivery.row.body).await;
    Ok(record(store, delivery, delivered, now, &holder))
}

fn lease_holder() -> String {
    format!("pid {} #{:08x}", std::process::id(), rand::random::<u32>())
}

/// What the first step decided: done already, or a stored message to hand over.
enum Begun {
    Done(DigestOutcome),
    Deliver(Delivery),
}

/// A digest in the outbox, marked "sending" (the attempt counted) under our lease.
struct Delivery {
    row: DigestRow,
    slot: DateTime<Utc>,
    subject: String,
}

/// Step one, SQL and rendering only: take the lease, decide, and if a digest is to go
/// out, enqueue it durably and count the attempt. Releases the lease unless it returns
/// a delivery, whose [`record`] releases it.
fn begin(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
    force: bool,
    holder: &str,
    key: Option<&[u8]>,
) -> Result<Begun> {
    let until = now.timestamp() + LEASE_SECONDS;
    if !store.acquire_lease(LEASE, holder, now.timestamp(), until)? {
        return Ok(Begun::Done(DigestOutcome::Busy));
    }
    let begun = decide(store, config, now, force, key).and_then(|begun| {
        if let Begun::Deliver(delivery) = &begun {
            store.mark_digest_sending(delivery.row.id)?;
        }
        Ok(begun)
    });
    if !matches!(begun, Ok(Begun::Deliver(_))) {
        release(store, holder);
    }
    begun
}

/// Step three: the transport's answer goes into the outbox, then the lease is let go.
/// An error writing it is logged, not returned: the message was handed over (or not)
/// either way, and a "sending" row is resent at most once after the lease expires.
fn record(
    store: &mut Store,
    delivery: Delivery,
    delivered: Result<String>,
    now: DateTime<Utc>,
    holder: &str,
) -> DigestOutcome {
    let Delivery { row, slot, subject } = delivery;
    let outcome = match delivered {
        Ok(location) => {
            if let Err(err) = store.mark_digest_sent(row.id, now.timestamp()) {
                tracing::error!("the digest went out but cannot be marked sent: {err:#}");
            }
            DigestOutcome::Sent {
                slot,
                subject,
                location,
                message_id: row.message_id.clone(),
            }
        }
        Err(err) => {
            let error = format!("{err:#}");
            let retry_at = now + retry_delay(row.attempts + 1);
            if let Err(err) = store.mark_digest_failed(row.id, &error, retry_at.timestamp()) {
                tracing::error!("cannot record the failed digest: {err:#}");
            }
            tracing::warn!(%error, retry_at = %retry_at, "digest not delivered");
            DigestOutcome::Failed {
                slot,
                error,
                retry_at,
            }
        }
    };
    release(store, holder);
    outcome
}

fn release(store: &mut Store, holder: &str) {
    // An unreleased lease only delays the next sender until it expires.
    if let Err(err) = store.release_lease(LEASE, holder) {
        tracing::warn!("cannot release the digest lease: {err:#}");
    }
}

fn decide(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
    force: bool,
    key: Option<&[u8]>,
) -> Result<Begun> {
    let digest = config.digest.as_ref().context("no [digest] section")?;
    let slot = if force {
        now
    } else {
        schedule::latest_slot(now, digest.at.0, digest.timezone.0)
    };
    let done = |outcome| Ok(Begun::Done(outcome));
    for pending in store.unsent_digests()? {
        if pending.slot < slot.timestamp() {
            // Its day has passed: the digest built below reports all it held.
            store.supersede_digest(pending.id, slot.timestamp())?;
            continue;
        }
        if let Some(retry) = pending.next_attempt_at.filter(|at| *at > now.timestamp())
            && !force
        {
            return done(DigestOutcome::Waiting {
                slot,
                retry_at: crate::store::from_unix(retry),
            });
        }
        let subject = subject_of(&pending.body);
        return Ok(Begun::Deliver(Delivery {
            row: pending,
            slot,
            subject,
        }));
    }
    if store.digest_for_slot(slot.timestamp())?.is_some() {
        return done(DigestOutcome::AlreadySent { slot });
    }
    // A slot older than the newest digest (clock moved back) is never sent.
    if !force
        && let Some(latest) = store.latest_digest()?
        && latest.slot >= slot.timestamp()
    {
        return done(DigestOutcome::AlreadySent { slot });
    }
    // Back after missing a slot, with the next one close (or a first start just before
    // it): one digest at the usual time rather than two within a few hours.
    let next = schedule::next_slot(now, digest.at.0, digest.timezone.0);
    if !force && next - now < Duration::hours(CATCH_UP_HOLD_HOURS) {
        return done(DigestOutcome::Held { next });
    }
    let data = prepare(store, config, now, key)?;
    if data.is_empty() && !digest.send_when_empty && !force {
        return done(DigestOutcome::NothingToSay { slot });
    }
    let message_id = new_message_id(slot, digest);
    let body = compose(digest, &data, &message_id)?;
    let reported: Vec<i64> = data.reply_results.iter().map(|r| r.id).collect();
    store.enqueue_digest(
        slot.timestamp(),
        &message_id,
        &body,
        now.timestamp(),
        data.through_interaction,
        &reported,
    )?;
    let row = store
        .digest_for_slot(slot.timestamp())?
        .context("the digest vanished from the outbox")?;
    Ok(Begun::Deliver(Delivery {
        row,
        slot,
        subject: render::subject(&data),
    }))
}

/// Wait before retry `attempt` (1-based): 1, 2, 4 … minutes, at most an hour. Small and
/// private so the shared backoff helper can replace it.
fn retry_delay(attempt: i64) -> Duration {
    let exponent = attempt.saturating_sub(1).clamp(0, 6) as u32;
    Duration::minutes((1i64 << exponent).min(60))
}

/// The Subject of a stored message, for reporting a resend.
fn subject_of(raw: &[u8]) -> String {
    mail_parser::MessageParser::default()
        .parse_headers(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_else(|| "digest".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay(1), Duration::minutes(1));
        assert_eq!(retry_delay(3), Duration::minutes(4));
        assert_eq!(retry_delay(50), Duration::minutes(60));
    }
}
