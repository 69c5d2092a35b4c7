//! One pass over one selected folder: find the UIDs past the committed cursor, look at
//! their header fields, fetch whole messages only for notification candidates, and
//! commit results and cursor together, batch by batch. A crash between two commits
//! repeats at most one batch, and Message-ID uniqueness makes the repeat harmless.

use std::collections::HashMap;

use anyhow::{Context, Result};

use super::batch::Item;
use super::commit::Committer;
use super::connect::{Session, log_alerts};
use super::pipelined::{Bodies, FirstLook, Pipelined};
use super::{FolderRole, SyncContext};
use crate::classify::message::MAX_BODY_BYTES;
use crate::config::SourceConfig;
use crate::ingest::SentMail;
use crate::source::SourceReport;
use crate::store::MailboxState;

/// UIDs per FETCH command.
const BATCH: usize = 500;
/// Whole messages held in memory at once, at most; a batch is committed in parts above it.
const BODY_BYTES_PER_COMMIT: u64 = 4 * 1024 * 1024;

/// UIDs per UID SEARCH: bounds the size of one answer (and our memory) in big folders.
const SEARCH_WINDOW: u32 = 10_000;

/// One UID SEARCH range: `low:high`, or `low:*` for the open end.
struct Window {
    low: u32,
    high: Option<u32>,
}

/// Windows of [`SEARCH_WINDOW`] UIDs up to `top` (the last UID SELECT reported), then
/// one open-ended window for what arrived since.
fn search_windows(from_uid: u32, top: Option<u32>) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut low = from_uid;
    if let Some(top) = top {
        while low <= top {
            let high = top.min(low.saturating_add(SEARCH_WINDOW - 1));
            windows.push(Window {
                low,
                high: Some(high),
            });
            low = match high.checked_add(1) {
                Some(next) => next,
                None => return windows,
            };
        }
    }
    windows.push(Window { low, high: None });
    windows
}

/// Sync one folder up to what the server holds now. Returns early, with everything
/// up to the last batch committed, when shutdown is requested.
///
/// `selected` is the UIDVALIDITY of the folder this session has selected, if any: right
/// after IDLE reported news it is still selected and a new SELECT (costly in a big
/// Maildir) is skipped. `None` makes this pass SELECT, and records what it found.
#[allow(clippy::too_many_arguments)]
pub async fn sync_folder(
    session: &mut Session,
    ctx: &SyncContext,
    source: &SourceConfig,
    folder: &str,
    role: FolderRole,
    condstore: bool,
    selected: &mut Option<u32>,
    report: &mut SourceReport,
) -> Result<()> {
    let started = std::time::Instant::now();
    let (uidvalidity, uid_next, modseq) = match *selected {
        Some(uidvalidity) => (uidvalidity, None, None),
        None => {
            let mailbox = if condstore {
                session.select_condstore(folder).await
            } else {
                session.select(folder).await
            }
            .with_context(|| format!("cannot open folder {folder:?}"))?;
            log_alerts(session);
            let uidvalidity = mailbox
                .uid_validity
                .with_context(|| format!("the server gave no UIDVALIDITY for {folder:?}"))?;
            *selected = Some(uidvalidity);
            (uidvalidity, mailbox.uid_next, mailbox.highest_modseq)
        }
    };
    let (name, fname) = (source.name.clone(), folder.to_string());
    let known = ctx
        .store
        .read(move |store| store.mailbox_state(&name, &fname))
        .await?;
    let from_uid = match known {
        Some(state) if state.uidvalidity == uidvalidity => {
            // UIDNEXT says nothing arrived since the cursor: no search, no fetch.
            if uid_next.is_some_and(|next| next <= state.last_seen_uid + 1) {
                return Ok(());
            }
            state.last_seen_uid + 1
        }
        Some(state) => {
            tracing::warn!(
                source = source.name,
                folder,
                old = state.uidvalidity,
                new = uidvalidity,
                "UIDVALIDITY changed: the folder was recreated; reading it again (nothing is logged twice)"
            );
            1
        }
        None => 1,
    };
    // `backfill_days` bounds only a first read (no cursor, or a recreated folder). Once a
    // cursor exists every UID above it is read, however old its date: mail that waited
    // out a long outage, or an old message moved into a watched folder, is still new here.
    let incremental = known.is_some_and(|k| k.uidvalidity == uidvalidity);
    let since = (!incremental).then(|| {
        ctx.clock.now() - chrono::Duration::days(i64::from(source.backfill_days.unwrap_or(30)))
    });
    let mut cursor = MailboxState {
        uidvalidity,
        last_seen_uid: from_uid.saturating_sub(1),
        highest_modseq: modseq.or(known.and_then(|k| k.highest_modseq)),
    };
    // Each batch's commit runs on the blocking pool while the next batch is fetched.
    let mut committer = Committer::new(ctx, &source.name, folder);
    let top = uid_next.map(|next| next.saturating_sub(1));
    let mut phases = Phases {
        select: started.elapsed(),
        ..Phases::default()
    };
    let criteria = |window: &Window| {
        let range = match window.high {
            Some(high) => format!("{}:{high}", window.low),
            None => format!("{}:*", window.low),
        };
        match since {
            Some(since) => format!("UID {range} SINCE {}", since.format("%d-%b-%Y")),
            None => format!("UID {range}"),
        }
    };
    let windows = search_windows(from_uid, top);
    let mut wire = Pipelined::new(session, ctx.prefilter.header_fields());
    let searched = async {
        if let Some(first) = windows.first() {
            wire.send_search(&criteria(first)).await?;
        }
        for (index, window) in windows.iter().enumerate() {
            let search_started = std::time::Instant::now();
            let found = wire
                .search_hits()
                .await
                .with_context(|| format!("searching {folder:?} failed"))?;
            phases.search += search_started.elapsed();
            if ctx.shutdown.is_cancelled() {
                break;
            }
            // The server scans the next window while this one's messages are read.
            if let Some(next) = windows.get(index + 1) {
                wire.send_search(&criteria(next)).await?;
            }
            // `UID n:*` always matches the last message, even when its UID is below n.
            let mut uids: Vec<u32> = found
                .into_iter()
                .filter(|&uid| uid >= window.low && window.high.is_none_or(|high| uid <= high))
                .collect();
            uids.sort_unstable();
            let mut batches = Batches {
                phases: &mut phases,
                ctx,
                folder,
                role,
                committer: &mut committer,
                report: &mut *report,
            };
            batches.sync(&mut wire, &uids, &mut cursor).await?;
            if ctx.shutdown.is_cancelled() {
                break;
            }
        }
        anyhow::Ok(())
    }
    .await;
    // Read what is still owed so the session can go on; after a failure the session
    // is dropped anyway, and the first error is the one worth reporting.
    let drained = wire.finish().await;
    let searched = searched.and(drained);
    // What was fetched before a failure still lands.
    let waited = std::time::Instant::now();
    committer.finish(report).await?;
    phases.commit_wait += waited.elapsed();
    tracing::debug!(
        folder,
        select_ms = phases.select.as_millis() as u64,
        search_ms = phases.search.as_millis() as u64,
        headers_ms = phases.headers.as_millis() as u64,
        bodies_ms = phases.bodies.as_millis() as u64,
        commit_wait_ms = phases.commit_wait.as_millis() as u64,
        "sync phases"
    );
    searched?;
    if ctx.shutdown.is_cancelled() {
        return Ok(());
    }
    // Every UID below UIDNEXT existed when we searched; those outside the backfill
    // window need no look, so the cursor may pass them (and a fresh folder with nothing
    // to read gets its state now, making the next start an incremental one).
    let top = top.unwrap_or(0);
    if top > cursor.last_seen_uid || known.is_none_or(|k| k.uidvalidity != uidvalidity) {
        cursor.last_seen_uid = cursor.last_seen_uid.max(top);
        committer.submit(cursor, Vec::new(), report).await?;
        committer.finish(report).await?;
    }
    Ok(())
}

/// Where a sync pass spent its time, for the debug log.
#[derive(Default)]
struct Phases {
    /// SELECT and reading the cursor.
    select: std::time::Duration,
    search: std::time::Duration,
    headers: std::time::Duration,
    bodies: std::time::Duration,
    /// Waiting for a commit that did not finish behind the next fetch.
    commit_wait: std::time::Duration,
}

/// UIDs on their way from first look to commit, batch by batch.
struct Batches<'a> {
    phases: &'a mut Phases,
    ctx: &'a SyncContext,
    folder: &'a str,
    role: FolderRole,
    committer: &'a mut Committer,
    report: &'a mut SourceReport,
}

impl Batches<'_> {
    async fn sync(
        &mut self,
        wire: &mut Pipelined<'_>,
        uids: &[u32],
        cursor: &mut MailboxState,
    ) -> Result<()> {
        let mut bar =
            crate::progress_bar::ProgressBar::new(format!("{} sync", self.folder), uids.len());
        let chunks: Vec<&[u32]> = uids.chunks(BATCH).collect();
        if let Some(first) = chunks.first() {
            wire.send_first_look(&uid_set(first)).await?;
        }
        for (index, chunk) in chunks.iter().enumerate() {
            let waited = std::time::Instant::now();
            let looks = wire.first_looks().await?;
            self.phases.headers += waited.elapsed();
            if self.ctx.shutdown.is_cancelled() {
                break;
            }
            // The server reads the next batch's header fields while this one is decided,
            // its bodies fetched and its results committed.
            if let Some(next) = chunks.get(index + 1) {
                wire.send_first_look(&uid_set(next)).await?;
            }
            self.batch(wire, &looks, chunk, cursor).await?;
            bar.advance(chunk.len());
        }
        Ok(())
    }

    /// Decide, fetch what is needed and commit one batch, in parts that bound memory.
    async fn batch(
        &mut self,
        wire: &mut Pipelined<'_>,
        looks: &[FirstLook],
        chunk: &[u32],
        cursor: &mut MailboxState,
    ) -> Result<()> {
        let (ctx, role) = (self.ctx, self.role);
        let candidate = |look: &FirstLook| {
            role == FolderRole::Notifications && ctx.prefilter.wants_body(&look.headers, &ctx.rules)
        };
        let mut part: Vec<&FirstLook> = Vec::new();
        let mut part_bytes = 0u64;
        for (index, look) in looks.iter().enumerate() {
            if candidate(look) {
                part_bytes += u64::from(look.size.min(MAX_BODY_BYTES as u32));
            }
            part.push(look);
            let last = index + 1 == looks.len();
            if part_bytes >= BODY_BYTES_PER_COMMIT || last {
                // The cursor may pass UIDs the header fetch did not return (already gone).
                let upto = if last {
                    chunk.last().copied().unwrap_or(look.uid)
                } else {
                    look.uid
                };
                let fetch_started = std::time::Instant::now();
                let items = resolve(wire, ctx, self.folder, role, &part, &candidate).await?;
                cursor.last_seen_uid = cursor.last_seen_uid.max(upto);
                self.phases.bodies += fetch_started.elapsed();
                let waited = std::time::Instant::now();
                self.committer.submit(*cursor, items, self.report).await?;
                self.phases.commit_wait += waited.elapsed();
                part.clear();
                part_bytes = 0;
            }
        }
        if looks.is_empty()
            && let Some(&upto) = chunk.last()
        {
            cursor.last_seen_uid = cursor.last_seen_uid.max(upto);
            self.committer
                .submit(*cursor, Vec::new(), self.report)
                .await?;
        }
        Ok(())
    }
}

/// Turn first looks into items: bodies for candidates, recipients for sent mail.
async fn resolve(
    wire: &mut Pipelined<'_>,
    ctx: &SyncContext,
    folder: &str,
    role: FolderRole,
    part: &[&FirstLook],
    candidate: &impl Fn(&FirstLook) -> bool,
) -> Result<Vec<Item>> {
    if role == FolderRole::Sent {
        return Ok(part
            .iter()
            .map(|look| match sent_mail(&look.headers) {
                Some(sent) => Item::Sent(sent),
                None => Item::Passed,
            })
            .collect());
    }
    let wanted: Vec<u32> = part
        .iter()
        .filter(|l| candidate(l) && l.size as usize <= MAX_BODY_BYTES)
        .map(|l| l.uid)
        .collect();
    if let Some(hook) = &ctx.hooks.between_fetches
        && !wanted.is_empty()
    {
        hook(folder, &wanted);
    }
    let mut bodies = fetch_bodies(wire, &wanted).await?;
    Ok(part
        .iter()
        .map(|look| {
            if !candidate(look) {
                Item::Passed
            } else if look.size as usize > MAX_BODY_BYTES {
                // The classifier reads only the headers of mail this large anyway.
                Item::Message(look.headers.clone())
            } else {
                match bodies.remove(&look.uid) {
                    Some(body) => Item::Message(body),
                    None => Item::Skipped(look.uid, "expunged before its body was fetched"),
                }
            }
        })
        .collect())
}

/// Whole messages by UID. A message another client expunged meanwhile is simply absent;
/// a server that answers NO for the whole set is asked one UID at a time.
async fn fetch_bodies(wire: &mut Pipelined<'_>, uids: &[u32]) -> Result<HashMap<u32, Vec<u8>>> {
    if uids.is_empty() {
        return Ok(HashMap::new());
    }
    let why = match wire.bodies(&uid_set(uids)).await? {
        Bodies::Fetched(bodies) => return Ok(bodies),
        Bodies::Refused(why) => why,
    };
    tracing::debug!("body FETCH refused ({why}); asking one message at a time");
    let mut bodies = HashMap::new();
    for uid in uids {
        if let Bodies::Fetched(one) = wire.bodies(&uid.to_string()).await? {
            bodies.extend(one);
        }
    }
    Ok(bodies)
}

/// Recipients, date and Message-ID of a message the user sent.
fn sent_mail(headers: &[u8]) -> Option<SentMail> {
    let message = mail_parser::MessageParser::default().parse_headers(headers)?;
    let mut recipients = Vec::new();
    for list in [message.to(), message.cc()].into_iter().flatten() {
        for addr in list.iter() {
            if let Some(address) = &addr.address {
                recipients.push(address.to_string());
            }
        }
    }
    let sent_at = message
        .date()
        .and_then(|d| chrono::DateTime::from_timestamp(d.to_timestamp(), 0))?;
    Some(SentMail {
        message_id: message.message_id().map(str::to_string),
        recipients,
        sent_at,
    })
}

/// "1:3,7,9:10" for sorted UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut index = 0;
    while index < uids.len() {
        let start = uids[index];
        let mut end = start;
        while index + 1 < uids.len() && uids[index + 1] == end + 1 {
            index += 1;
            end += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_windows_cover_every_uid_once() {
        let shown = |windows: Vec<Window>| -> Vec<(u32, Option<u32>)> {
            windows.iter().map(|w| (w.low, w.high)).collect()
        };
        assert_eq!(
            shown(search_windows(1, Some(25_000))),
            [
                (1, Some(10_000)),
                (10_001, Some(20_000)),
                (20_001, Some(25_000)),
                (25_001, None)
            ]
        );
        assert_eq!(shown(search_windows(7, None)), [(7, None)]);
        assert_eq!(shown(search_windows(9, Some(8))), [(9, None)]);
        assert_eq!(
            shown(search_windows(u32::MAX, Some(u32::MAX))),
            [(u32::MAX, Some(u32::MAX))]
        );
    }

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn sent_mail_reads_recipients_and_date() {
        let headers = b"From: me@example.com\r\nTo: Ann <ann@example.com>, bob@example.com\r\nCc: carl@example.com\r\nDate: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n\r\n";
        let sent = sent_mail(headers).unwrap();
        assert_eq!(
            sent.recipients,
            ["ann@example.com", "bob@example.com", "carl@example.com"]
        );
        assert_eq!(sent.message_id.as_deref(), Some("m1@example.com"));
        assert_eq!(sent.sent_at.timestamp(), 1_795_255_200);
    }
}
