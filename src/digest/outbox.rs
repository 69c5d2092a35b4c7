//! Exactly one digest per slot. The finished message goes into the outbox (with its
//! Message-ID fixed) before any delivery is tried; it is marked sent only after the
//! transport accepted it. A crash in between resends the same message next time.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::{DigestData, render, schedule};
use crate::calendar::write_calendar;
use crate::config::{CalendarStyle, Config, DigestConfig};
use crate::deliver;
use crate::store::Store;

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
    },
}

/// Build the complete message for `data`.
pub fn compose(digest: &DigestConfig, data: &DigestData, message_id: &str) -> Result<Vec<u8>> {
    let from: Mailbox = digest.from.parse().with_context(|| {
        format!(
            "digest.from = {:?} is not a mailbox like \"nudged <me@example.com>\"",
            digest.from
        )
    })?;
    let to: Mailbox = digest
        .to
        .parse()
        .with_context(|| format!("digest.to = {:?} is not an email address", digest.to))?;
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(render::text(data));
    let mut body = MultiPart::mixed().singlepart(text);
    if digest.calendar != CalendarStyle::None {
        let ics = write_calendar(data.calendar_tasks(), data.tz, data.now, digest.calendar);
        let content_type = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
            .context("calendar content type")?;
        body =
            body.singlepart(Attachment::new("follow-ups.ics".to_string()).body(ics, content_type));
    }
    let message = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(render::subject(data))
        .message_id(Some(message_id.to_string()))
        .date(data.now.into())
        .multipart(body)
        .context("cannot build the digest message")?;
    Ok(message.formatted())
}

fn message_id(slot: DateTime<Utc>, digest: &DigestConfig) -> String {
    let domain = digest
        .from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| !d.is_empty())
        .unwrap_or("nudged.invalid");
    format!(
        "<digest-{}.{}@{}>",
        slot.format("%Y%m%dT%H%MZ"),
        rand::random::<u32>(),
        domain
    )
}

/// Send the digest for the latest slot unless it went out already. With `force`, send
/// now even if the slot is done or there is nothing to say (`digest --send-now`).
pub fn run_digest(
    store: &mut Store,
    config: &Config,
    now: DateTime<Utc>,
    force: bool,
) -> Result<DigestOutcome> {
    let Some(digest) = &config.digest else {
        return Ok(DigestOutcome::NotConfigured);
    };
    let tz = digest.timezone.0;
    let slot = if force {
        now
    } else {
        schedule::latest_slot(now, digest.at.0, tz)
    };
    // A digest left unsent by a crash or a failed delivery goes first, unchanged.
    for pending in store.unsent_digests()? {
        deliver_row(store, config, &pending.body, pending.id, now)?;
    }
    if let Some(existing) = store.digest_for_slot(slot.timestamp())? {
        let _ = existing;
        return Ok(DigestOutcome::AlreadySent { slot });
    }
    // A slot older than the newest digest (clock moved back) is never sent.
    if !force
        && let Some(latest) = store.latest_digest()?
        && latest.slot >= slot.timestamp()
    {
        return Ok(DigestOutcome::AlreadySent { slot });
    }
    let data = DigestData::gather(store, now, tz)?;
    if data.is_empty() && !digest.send_when_empty && !force {
        return Ok(DigestOutcome::NothingToSay { slot });
    }
    let id = message_id(slot, digest);
    let body = compose(digest, &data, &id)?;
    store.enqueue_digest(slot.timestamp(), &id, &body, now.timestamp())?;
    let row = store
        .digest_for_slot(slot.timestamp())?
        .context("the digest vanished from the outbox")?;
    let location = deliver_row(store, config, &row.body, row.id, now)?;
    Ok(DigestOutcome::Sent {
        slot,
        subject: render::subject(&data),
        location,
    })
}

fn deliver_row(
    store: &mut Store,
    config: &Config,
    body: &[u8],
    id: i64,
    now: DateTime<Utc>,
) -> Result<String> {
    store.mark_digest_sending(id)?;
    match deliver::deliver(config, body) {
        Ok(location) => {
            store.mark_digest_sent(id, now.timestamp())?;
            Ok(location)
        }
        Err(err) => {
            store.mark_digest_failed(id, &format!("{err:#}"))?;
            Err(err.context("the digest is kept in the outbox and will be retried"))
        }
    }
}
