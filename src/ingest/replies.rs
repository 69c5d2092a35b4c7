//! Replies that act: the owner answers a digest with one command per line ("done 3",
//! "snooze 2 1w", "skip 4", "skip old", "met Ann Lee at the spring fair", "log call Bob") and nudged,
//! reading the inbox, applies them. Only a reply to a digest in the outbox, from
//! `digest.to`, vouched for by a trusted server (or `trust_owner_replies_unverified`) is
//! obeyed. Quoted text is ignored; every command's result, unknown ones included, is
//! stored for the next digest. [`parse_reply`] is pure; [`handle_reply`] touches the store.

use crate::store::Transaction;
use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::classify::Kind;
use crate::classify::message::MailView;
use crate::classify::rules::domain_within;
use crate::config::Config;
use crate::config::duration::HumanDuration;
use crate::store::digest_queries::{self, NewReplyResult};
use crate::store::{FollowupStatus, NewIdentity, ReplyResult, followups};

/// A reply is a few lines; beyond this it is not a list of commands.
const MAX_COMMANDS: usize = 50;
const MAX_LINE_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Done(i64),
    Skip(i64),
    /// Skip every pending task more than [`crate::digest::STALE_DAYS`] overdue: back after an
    /// absence, the old backlog goes in one line.
    SkipOld,
    Snooze(i64, HumanDuration),
    Met {
        name: String,
        at: Option<String>,
    },
    Log {
        kind: Kind,
        name: String,
    },
    /// Not a command nudged knows; reported back, never silently dropped.
    Unknown(String),
}

/// The commands in a reply body, each with the line it came from. Stops at the quoted
/// digest ("On … wrote:", "-----Original Message-----") or a signature ("-- ").
pub fn parse_reply(body: &str) -> Vec<(String, Command)> {
    let mut commands = Vec::new();
    for raw in body.lines() {
        let line = raw.trim();
        if raw.trim_end() == "--"
            || line.starts_with("-----Original Message")
            || is_attribution(line)
        {
            break;
        }
        if line.is_empty() || line.starts_with('>') {
            continue;
        }
        let line: String = line.chars().take(MAX_LINE_CHARS).collect();
        for command in parse_line(&line) {
            commands.push((line.clone(), command));
        }
        if commands.len() >= MAX_COMMANDS {
            break;
        }
    }
    commands
}

fn is_attribution(line: &str) -> bool {
    // "On Tue, 24 Nov 2026 at 07:31, nudged <…> wrote:" in its many client spellings.
    let lower = line.to_lowercase();
    (lower.starts_with("on ") && lower.ends_with("wrote:")) || lower.ends_with("a écrit :")
}

fn parse_line(line: &str) -> Vec<Command> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(verb) = words.first().map(|w| w.to_lowercase()) else {
        return Vec::new();
    };
    let unknown = || vec![Command::Unknown(line.to_string())];
    let ids = |rest: &[&str]| -> Option<Vec<i64>> {
        let ids: Option<Vec<i64>> = rest
            .iter()
            .flat_map(|w| w.split(','))
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_start_matches('#').parse().ok())
            .collect();
        ids.filter(|ids| !ids.is_empty())
    };
    match verb.as_str() {
        "done" => ids(&words[1..])
            .map_or_else(unknown, |ids| ids.into_iter().map(Command::Done).collect()),
        "skip" if words.get(1).is_some_and(|w| w.eq_ignore_ascii_case("old")) => {
            if words.len() == 2 {
                vec![Command::SkipOld]
            } else {
                unknown()
            }
        }
        "skip" => ids(&words[1..])
            .map_or_else(unknown, |ids| ids.into_iter().map(Command::Skip).collect()),
        "snooze" => {
            let id = words
                .get(1)
                .and_then(|w| w.trim_start_matches('#').parse().ok());
            let duration = match words.get(2) {
                Some(text) => text.parse::<HumanDuration>().ok().filter(|d| !d.is_zero()),
                None => Some(HumanDuration::days(1)),
            };
            match (id, duration, words.len() <= 3) {
                (Some(id), Some(duration), true) => vec![Command::Snooze(id, duration)],
                _ => unknown(),
            }
        }
        "met" => {
            let rest = words[1..].join(" ");
            let (name, at) = match rest.split_once(" at ") {
                Some((name, at)) => (name.trim().to_string(), Some(at.trim().to_string())),
                None => (rest.trim().to_string(), None),
            };
            if name.is_empty() {
                unknown()
            } else {
                vec![Command::Met {
                    name,
                    at: at.filter(|a| !a.is_empty()),
                }]
            }
        }
        "log" => {
            let kind = match words.get(1).map(|w| w.to_lowercase()).as_deref() {
                Some("call") => Kind::Call,
                Some("email") => Kind::Email,
                Some("meeting") | Some("meet") => Kind::Meeting,
                _ => return unknown(),
            };
            let name = words[2..].join(" ");
            if name.is_empty() {
                unknown()
            } else {
                vec![Command::Log { kind, name }]
            }
        }
        _ => unknown(),
    }
}

/// `<id>` tokens of In-Reply-To and References.
fn referenced_ids(mail: &MailView) -> Vec<String> {
    let mut ids = Vec::new();
    for value in mail
        .headers_named("in-reply-to")
        .chain(mail.headers_named("references"))
    {
        let mut rest: &str = &value;
        while let Some(open) = rest.find('<') {
            let Some(len) = rest[open..].find('>') else {
                break;
            };
            ids.push(rest[open..open + len + 1].to_string());
            rest = &rest[open + len + 1..];
        }
    }
    ids
}

/// Did a trusted receiving server record a pass for the owner's domain? Only the
/// topmost header from a trusted server counts (anything below could be forged).
pub fn owner_authenticated(mail: &MailView, owner_domain: &str, authserv_ids: &[String]) -> bool {
    let Some(results) = mail.headers_named("authentication-results").find(|value| {
        let id = value
            .split(';')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or_default();
        authserv_ids.iter().any(|t| t.eq_ignore_ascii_case(id))
    }) else {
        return false;
    };
    let results = crate::classify::trust::strip_comments(&results).to_ascii_lowercase();
    results.split(';').skip(1).any(|clause| {
        let mut words = clause.split_whitespace();
        let Some((method, outcome)) = words.next().and_then(|w| w.split_once('=')) else {
            return false;
        };
        let property = match method {
            "dkim" => "header.d=",
            "spf" => "smtp.mailfrom=",
            "dmarc" => "header.from=",
            _ => return false,
        };
        outcome == "pass"
            && words.filter_map(|w| w.strip_prefix(property)).any(|value| {
                let domain = value.rsplit('@').next().unwrap_or_default();
                domain_within(domain, owner_domain)
            })
    })
}

/// What became of a message that answers a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyHandled {
    /// Commands were applied and recorded (how many).
    Applied(usize),
    /// Already applied when this message was read before.
    AlreadySeen,
    /// Not from the owner, or not vouched for: nothing was done.
    Refused(String),
}

/// If `raw` replies to a digest nudged sent, act on it inside `tx` and say what
/// happened; `None` for any other message, which then goes on to the classifier.
pub fn handle_reply(
    tx: &Transaction<'_>,
    raw: &[u8],
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Option<ReplyHandled>> {
    let Some(digest) = &config.digest else {
        return Ok(None);
    };
    // Cheap test first: nearly all mail is no reply to a digest.
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    if !raw[..head_end]
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"<digest-"))
    {
        return Ok(None);
    }
    let Some(mail) = MailView::parse(raw) else {
        return Ok(None);
    };
    let Some(digest_id) = digest_queries::find_digest_message_id(tx, &referenced_ids(&mail))?
    else {
        return Ok(None);
    };
    let owner = digest
        .to
        .rsplit_once('<')
        .map_or(digest.to.as_str(), |(_, a)| a.trim_end_matches('>'))
        .trim()
        .to_ascii_lowercase();
    let from = mail.from_address.clone().unwrap_or_default();
    if from != owner {
        tracing::warn!(from = %from, "ignored a reply to a digest that is not from digest.to");
        return Ok(Some(ReplyHandled::Refused(format!(
            "from {from}, not the owner"
        ))));
    }
    let owner_domain = owner.rsplit('@').next().unwrap_or_default();
    if !digest.trust_owner_replies_unverified
        && !owner_authenticated(&mail, owner_domain, &config.trust.authserv_ids)
    {
        tracing::warn!(
            "ignored a reply to a digest without a DKIM/SPF/DMARC pass from a server in [trust] authserv_ids"
        );
        return Ok(Some(ReplyHandled::Refused("not authenticated".into())));
    }
    let reply_id = mail
        .message_id
        .clone()
        .map(|id| format!("<{id}>"))
        .unwrap_or_else(|| {
            use sha2::{Digest, Sha256};
            format!("sha256:{}", hex::encode(Sha256::digest(raw)))
        });
    if digest_queries::reply_seen(tx, &reply_id)? {
        return Ok(Some(ReplyHandled::AlreadySeen));
    }
    let commands = parse_reply(&mail.text);
    if commands.is_empty() {
        let result = NewReplyResult {
            reply_message_id: &reply_id,
            position: 0,
            digest_message_id: &digest_id,
            command: "(empty reply)",
            outcome: ReplyResult::Unknown,
            detail: "no command found above the quoted digest",
        };
        digest_queries::insert_reply_result(tx, &result, now.timestamp())?;
        return Ok(Some(ReplyHandled::Applied(0)));
    }
    for (position, (line, command)) in commands.iter().enumerate() {
        let (outcome, detail) = apply(tx, config, command, now);
        let result = NewReplyResult {
            reply_message_id: &reply_id,
            position,
            digest_message_id: &digest_id,
            command: line,
            outcome,
            detail: &detail,
        };
        digest_queries::insert_reply_result(tx, &result, now.timestamp())?;
    }
    Ok(Some(ReplyHandled::Applied(commands.len())))
}

/// Apply one command; the result says what happened in words for the next digest.
fn apply(
    tx: &Transaction<'_>,
    config: &Config,
    command: &Command,
    now: DateTime<Utc>,
) -> (ReplyResult, String) {
    let result = match command {
        Command::Done(id) | Command::Skip(id) => {
            let status = if matches!(command, Command::Done(_)) {
                FollowupStatus::Done
            } else {
                FollowupStatus::Skipped
            };
            followups::resolve_in(tx, *id, status, now.timestamp()).and_then(|before| {
                let title = followups::title_in(tx, *id)?.unwrap_or_default();
                Ok(if before.is_pending() {
                    format!("\"{title}\" marked {}", status.as_str())
                } else {
                    format!("\"{title}\" was already {}", before.as_str())
                })
            })
        }
        Command::SkipOld => {
            let before = now - chrono::Duration::days(crate::digest::STALE_DAYS);
            digest_queries::skip_due_before(tx, before.timestamp(), now.timestamp()).map(|n| {
                format!(
                    "skipped {n} follow-up(s) more than {} days overdue",
                    crate::digest::STALE_DAYS
                )
            })
        }
        Command::Snooze(id, duration) => {
            let tz = config.timezone();
            let until = crate::plan::due_after(now, *duration, tz);
            followups::snooze_in(tx, *id, until.timestamp(), now.timestamp()).and_then(|()| {
                let title = followups::title_in(tx, *id)?.unwrap_or_default();
                Ok(format!(
                    "\"{title}\" snoozed until {}",
                    until.with_timezone(&tz).format("%a %-d %b %H:%M")
                ))
            })
        }
        Command::Met { name, at } => {
            let subject = match at {
                Some(place) => format!("Met {name} at {place}"),
                None => format!("Met {name}"),
            };
            log(tx, config, name, Kind::Met, &subject, now)
                .map(|planned| format!("{subject}: logged, {planned} follow-up(s) planned"))
        }
        Command::Log { kind, name } => {
            let subject = format!("{} with {name}", capitalised(kind.as_str()));
            log(tx, config, name, *kind, &subject, now).map(|_| format!("{subject}: logged"))
        }
        Command::Unknown(line) => {
            return (
                ReplyResult::Unknown,
                format!("not a command nudged knows: \"{line}\""),
            );
        }
    };
    match result {
        Ok(detail) => (ReplyResult::Applied, detail),
        Err(err) => (ReplyResult::Failed, format!("{err:#}")),
    }
}

fn log(
    tx: &Transaction<'_>,
    config: &Config,
    name: &str,
    kind: Kind,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let who = NewIdentity {
        platform: "in_person".to_string(),
        display_name: Some(name.to_string()),
        ..NewIdentity::default()
    };
    let entry = super::manual::ManualEntry {
        who,
        contact_id: None,
        kind,
        subject: subject.to_string(),
        note: None,
    };
    let (_, planned) = super::manual::log_manual_in(tx, config, &entry, now)?;
    Ok(planned)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
