//! Watching one folder for as long as the daemon runs, in the shape Delta Chat uses:
//! connect (or reuse the session), sync, then IDLE with a bounded wait, and sync again
//! after every IDLE. Any error drops the connection; the next attempt waits as the one
//! backoff policy says, much longer after the server refused our credentials.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use async_imap::extensions::idle::IdleResponse;

use super::connect::{self, ConnectError, Session};
use super::{FolderRole, SyncContext, logout, sync};
use crate::backoff::{self, Backoff};
use crate::config::SourceConfig;
use crate::source::{Progress, SourceReport};

/// RFC 2177 says re-issue IDLE at least every 29 minutes; servers and NAT boxes are
/// less patient than the RFC.
const IDLE_REISSUE: Duration = Duration::from_secs(25 * 60);
/// The server must answer DONE within this, or the connection is taken for dead.
const DONE_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a session ended.
enum Ended {
    Shutdown,
    /// The access token is about to expire: reconnect at once with a new one.
    Renew,
}

/// Watch `folder` of `source` until shutdown.
pub async fn watch_folder(
    ctx: Arc<SyncContext>,
    source: Arc<SourceConfig>,
    folder: String,
    role: FolderRole,
    mut progress: Progress,
) {
    let mut backoff = Backoff::new();
    loop {
        let ended = session(&ctx, &source, &folder, role, &mut progress, &mut backoff).await;
        let delay = match ended {
            Ok(Ended::Shutdown) => return,
            Ok(Ended::Renew) => continue,
            Err(ConnectError::Auth(why)) => {
                tracing::error!(
                    source = source.name,
                    folder,
                    "authentication failed: {why}; check username and password (or the OAuth token) — next attempt in {} min",
                    backoff::AUTH_FAILURE.as_secs() / 60
                );
                backoff::AUTH_FAILURE
            }
            Err(ConnectError::Other(err)) => {
                let delay = backoff.next_delay();
                tracing::warn!(
                    source = source.name,
                    folder,
                    "connection lost or failed: {err:#}; reconnecting in {:.1}s",
                    delay.as_secs_f32()
                );
                delay
            }
        };
        // A failed attempt is not a first sync: readiness waits for one that worked
        // (systemd's TimeoutStartSec bounds the wait), or it would report a daemon
        // that cannot read mail as ready.
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = ctx.shutdown.cancelled() => return,
        }
    }
}

/// One connection's life: connect, then sync and wait for news until something breaks.
async fn session(
    ctx: &SyncContext,
    source: &SourceConfig,
    folder: &str,
    role: FolderRole,
    progress: &mut Progress,
    backoff: &mut Backoff,
) -> Result<Ended, ConnectError> {
    let connected = tokio::select! {
        connected = connect::connect(source) => connected?,
        () = ctx.shutdown.cancelled() => return Ok(Ended::Shutdown),
    };
    let condstore = connected.capabilities.has_str("CONDSTORE");
    let use_idle = source.idle != Some(false) && connected.capabilities.has_str("IDLE");
    let renew_by = connected.renew_by;
    let mut session = connected.session;
    tracing::info!(source = source.name, folder, idle = use_idle, "connected");
    // The folder this session has selected: kept across an IDLE that brought news, so
    // the sync after it needs no new SELECT; cleared to re-check UIDVALIDITY otherwise.
    let mut selected = None;
    loop {
        let mut report = SourceReport::new(&source.name);
        let started = Instant::now();
        sync::sync_folder(
            &mut session,
            ctx,
            source,
            folder,
            role,
            condstore,
            &mut selected,
            &mut report,
        )
        .await?;
        if report.messages > 0 {
            tracing::info!(
                source = source.name,
                folder,
                messages = report.messages,
                logged = report.logged,
                planned = report.planned,
                took_ms = started.elapsed().as_millis() as u64,
                "synced"
            );
        }
        backoff.reset();
        progress.first_sync_done();
        progress.beat();
        if ctx.shutdown.is_cancelled() {
            logout(session).await;
            return Ok(Ended::Shutdown);
        }
        if renew_by.is_some_and(|at| Instant::now() >= at) {
            logout(session).await;
            return Ok(Ended::Renew);
        }
        let woke = if use_idle {
            let (back, woke) = idle(session, ctx, source, renew_by).await?;
            session = back;
            woke
        } else {
            tokio::select! {
                () = tokio::time::sleep(source.poll_interval()) => Woke::Quiet,
                () = ctx.shutdown.cancelled() => Woke::Shutdown,
            }
        };
        if woke != Woke::News {
            selected = None;
        }
        if woke == Woke::Shutdown {
            logout(session).await;
            return Ok(Ended::Shutdown);
        }
    }
}

/// Why waiting for mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Woke {
    /// IDLE reported a change in the selected folder.
    News,
    /// Time passed (poll interval, IDLE silence or re-issue).
    Quiet,
    Shutdown,
}

/// IDLE until the server reports something, `idle_timeout` passes (at most 25 minutes),
/// or shutdown is asked for; then DONE.
async fn idle(
    session: Session,
    ctx: &SyncContext,
    source: &SourceConfig,
    renew_by: Option<Instant>,
) -> Result<(Session, Woke)> {
    let mut handle = session.idle();
    handle.init().await?;
    // While idling, silence is expected: IDLE's own timer watches it instead.
    handle.as_mut().set_timeout(None);
    // The bound is idle_timeout itself, not only server silence: async-imap's timer
    // restarts at every `* OK Still here` (Dovecot sends one every 2 minutes), so a
    // keepalive-sending server would keep one IDLE open for the full 25 minutes, longer
    // than the systemd watchdog waits for this loop's next heartbeat (`stale_after`), and
    // the service was killed as hung every 17 minutes on a real systemd host.
    let longest = renew_by.map_or(IDLE_REISSUE, |at| {
        IDLE_REISSUE.min(at.saturating_duration_since(Instant::now()))
    });
    let longest = longest.min(source.idle_timeout());
    let woke = {
        let (wait, _interrupt) = handle.wait_with_timeout(source.idle_timeout());
        tokio::select! {
            waited = tokio::time::timeout(longest, wait) => match waited {
                Ok(Ok(IdleResponse::NewData(_))) => Woke::News,
                Ok(Ok(IdleResponse::Timeout)) => {
                    tracing::debug!("IDLE: server silent, re-issuing");
                    Woke::Quiet
                }
                Ok(Ok(IdleResponse::ManualInterrupt)) | Err(_) => Woke::Quiet,
                Ok(Err(err)) => return Err(anyhow!(err).context("IDLE failed")),
            },
            () = ctx.shutdown.cancelled() => Woke::Shutdown,
        }
    };
    handle.as_mut().set_timeout(Some(source.read_timeout()));
    let session = tokio::time::timeout(DONE_TIMEOUT, handle.done())
        .await
        .map_err(|_| anyhow!("the server did not answer DONE within 15 s"))?
        .map_err(|err| anyhow!(err).context("leaving IDLE failed"))?;
    connect::log_alerts(&session);
    Ok((session, woke))
}
