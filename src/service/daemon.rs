//! The daemon's wiring: one task per IMAP folder (IDLE or polling), one per Maildir
//! source, a periodic housekeeping-and-digest pass, and one task each for the task lists
//! (`[[calendar]]`) and address books (`[[contacts]]`), all stopped by one cancellation
//! token. `run --once` uses the same sync code, one pass per source, no waiting.
//! Database work goes through [`Db`]; the digest runs as its own task, so a mail server
//! that stops answering delays only the digest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::classify::RuleSet;
use crate::classify::prefilter::Prefilter;
use crate::clock::Clock;
use crate::config::{Config, SourceConfig, SourceKind};
use crate::digest::outbox::{DigestOutcome, run_digest};
use crate::ingest::plan_housekeeping;
use crate::source::imap::{self, Hooks, SyncContext};
use crate::source::{FirstSync, Progress, SourceReport, maildir::sync_maildir_db};
use crate::store::Db;

/// How often local Maildirs are read again, and housekeeping and the digest run.
const PASS_INTERVAL: Duration = Duration::from_secs(60);

/// One IMAP folder a work loop watches.
type ImapFolder = (Arc<SourceConfig>, String, imap::FolderRole);

/// What a service manager can watch: all first syncs done, and each loop's last beat.
pub struct Signals {
    pub first_sync_done: watch::Receiver<bool>,
    /// (work loop name, time of its last progress)
    pub heartbeats: Vec<(String, watch::Receiver<Instant>)>,
}

pub struct Daemon {
    ctx: Arc<SyncContext>,
}

impl Daemon {
    /// Open the store and compile the rules; `shutdown` stops everything started here.
    pub fn new(
        config: Config,
        clock: Clock,
        shutdown: CancellationToken,
        hooks: Hooks,
    ) -> Result<Self> {
        let rules = RuleSet::with_user_config(&config.platforms, &config.rules)
            .map_err(anyhow::Error::msg)?;
        let prefilter = Prefilter::new(&rules, config.digest.as_ref().map(|d| d.to.as_str()));
        let store = Db::open(&config.store_path())?;
        Ok(Self {
            ctx: Arc::new(SyncContext {
                store,
                config: Arc::new(config),
                rules: Arc::new(rules),
                prefilter: Arc::new(prefilter),
                clock,
                shutdown,
                hooks,
            }),
        })
    }

    pub fn db(&self) -> &Db {
        &self.ctx.store
    }

    /// One pass over every source, in config order (`run --once`). A source that
    /// fails is reported in its place and the others still run; the flag says whether
    /// any failed.
    pub async fn run_once(&self) -> (Vec<SourceReport>, bool) {
        let mut reports = Vec::new();
        let mut failed = false;
        for source in &self.ctx.config.sources {
            let pass = match source.kind {
                SourceKind::Maildir => self.maildir_pass(source).await,
                SourceKind::Imap => imap::sync_source_once(&self.ctx, source).await,
            };
            reports.push(pass.unwrap_or_else(|err| {
                failed = true;
                tracing::error!(source = source.name, "source failed: {err:#}");
                let mut report = SourceReport::new(&source.name);
                report.errors.push(format!("{err:#}"));
                report
            }));
        }
        (reports, failed)
    }

    /// Expire stale tasks and plan reconnects: (expired, planned).
    pub async fn housekeeping(&self) -> Result<(usize, usize)> {
        housekeeping(&self.ctx).await
    }

    /// Send the digest if one is due (the database is free while it is delivered).
    pub async fn digest(&self) -> Result<DigestOutcome> {
        run_digest(
            &self.ctx.store,
            &self.ctx.config,
            self.ctx.clock.now(),
            false,
        )
        .await
    }

    /// One pass over every `[[calendar]]` task list, both ways.
    pub async fn sync_calendars(&self) -> Vec<crate::calendar::sync::CalendarReport> {
        let hooks = crate::calendar::sync::SyncHooks::default();
        let now = self.ctx.clock.now();
        crate::calendar::sync::sync_calendars(&self.ctx.store, &self.ctx.config, now, &hooks).await
    }

    /// Read every `[[contacts]]` address book into the contacts.
    pub async fn import_address_books(
        &self,
    ) -> Vec<crate::import::address_book::AddressBookReport> {
        let now = self.ctx.clock.now();
        crate::import::address_book::import_address_books(&self.ctx.store, &self.ctx.config, now)
            .await
    }

    async fn maildir_pass(&self, source: &SourceConfig) -> Result<SourceReport> {
        let ctx = &self.ctx;
        sync_maildir_db(&ctx.store, &ctx.config, &ctx.rules, ctx.clock.now(), source).await
    }

    /// Start every work loop; the returned future ends once they all stopped after
    /// shutdown. Signals are for a service manager.
    pub fn watch(&self) -> (Signals, impl Future<Output = Result<()>> + use<>) {
        let mut loops: Vec<(String, Option<ImapFolder>)> = Vec::new();
        for source in &self.ctx.config.sources {
            let shared = Arc::new(source.clone());
            match source.kind {
                SourceKind::Imap => {
                    for (folder, role) in imap::folders(source) {
                        loops.push((
                            format!("{}/{folder}", source.name),
                            Some((Arc::clone(&shared), folder, role)),
                        ));
                    }
                }
                SourceKind::Maildir => loops.push((source.name.clone(), None)),
            }
        }
        let (first_syncs, first_sync_done) = FirstSync::countdown(loops.len());
        let mut heartbeats = Vec::new();
        let mut tasks = JoinSet::new();
        let mut maildirs = Vec::new();
        for ((name, imap_folder), first) in loops.into_iter().zip(first_syncs) {
            let (progress, beat) = Progress::new(first);
            heartbeats.push((name.clone(), beat));
            match imap_folder {
                Some((source, folder, role)) => {
                    tasks.spawn(imap::watch::watch_folder(
                        Arc::clone(&self.ctx),
                        source,
                        folder,
                        role,
                        progress,
                    ));
                }
                None => maildirs.push((name, progress)),
            }
        }
        let (first_pass_done, first_pass) = tokio::sync::oneshot::channel();
        let ctx = Arc::clone(&self.ctx);
        tasks.spawn(async move { passes(ctx, maildirs, first_pass_done).await });
        let ctx = Arc::clone(&self.ctx);
        tasks.spawn(async move { digests(ctx, first_pass).await });
        let ctx = Arc::clone(&self.ctx);
        tasks.spawn(crate::calendar::sync::run_periodically(
            ctx.store.clone(),
            Arc::clone(&ctx.config),
            ctx.clock,
            ctx.shutdown.clone(),
        ));
        tasks.spawn(crate::import::address_book::run_periodically(
            ctx.store.clone(),
            Arc::clone(&ctx.config),
            ctx.clock,
            ctx.shutdown.clone(),
        ));
        let done = async move {
            while let Some(joined) = tasks.join_next().await {
                joined.context("a work loop panicked")?;
            }
            Ok(())
        };
        (
            Signals {
                first_sync_done,
                heartbeats,
            },
            done,
        )
    }
}

/// Every minute: read Maildir sources, then expire tasks and plan reconnects — the
/// same steps `run --once` takes after its sources. The digest task starts after the
/// first round, so a digest sent at start covers the local mail.
async fn passes(
    ctx: Arc<SyncContext>,
    mut maildirs: Vec<(String, Progress)>,
    first_pass_done: tokio::sync::oneshot::Sender<()>,
) {
    let daemon = Daemon {
        ctx: Arc::clone(&ctx),
    };
    let mut first_pass_done = Some(first_pass_done);
    loop {
        for (name, progress) in &mut maildirs {
            let Some(source) = ctx.config.sources.iter().find(|s| &s.name == name) else {
                continue;
            };
            match daemon.maildir_pass(source).await {
                Ok(report) => {
                    if report.logged > 0 {
                        tracing::info!(source = name, logged = report.logged, "maildir synced");
                    }
                    // Only a pass that worked is a first sync (see watch_folder).
                    progress.first_sync_done();
                }
                Err(err) => tracing::warn!(source = name, "maildir pass failed: {err:#}"),
            }
            progress.beat();
        }
        match housekeeping(&ctx).await {
            Ok((expired, reconnects)) => tracing::debug!(expired, reconnects, "housekeeping"),
            Err(err) => tracing::warn!("housekeeping failed: {err:#}"),
        }
        if let Some(done) = first_pass_done.take() {
            let _ = done.send(());
        }
        tokio::select! {
            () = tokio::time::sleep(PASS_INTERVAL) => {}
            () = ctx.shutdown.cancelled() => return,
        }
    }
}

async fn housekeeping(ctx: &SyncContext) -> Result<(usize, usize)> {
    let (config, now) = (Arc::clone(&ctx.config), ctx.clock.now());
    ctx.store
        .write(move |store| plan_housekeeping(store, &config, now))
        .await
}

/// Every minute, send a due digest. Its own task: a mail server that accepts and then
/// never answers holds up this loop only, until the attempt's deadline.
async fn digests(ctx: Arc<SyncContext>, first_pass: tokio::sync::oneshot::Receiver<()>) {
    tokio::select! {
        _ = first_pass => {}
        () = ctx.shutdown.cancelled() => return,
    }
    loop {
        let now = ctx.clock.now();
        tokio::select! {
            outcome = run_digest(&ctx.store, &ctx.config, now, false) => match outcome {
                Ok(outcome) => tracing::debug!(?outcome, "digest pass"),
                Err(err) => tracing::warn!("digest failed: {err:#}"),
            },
            // A delivery cut short stays "sending": the next start resends it once the
            // lease has expired, same Message-ID.
            () = ctx.shutdown.cancelled() => return,
        }
        tokio::select! {
            () = tokio::time::sleep(PASS_INTERVAL) => {}
            () = ctx.shutdown.cancelled() => return,
        }
    }
}

/// Cancel `shutdown` on SIGTERM or SIGINT; the loops finish their transaction and log out.
pub fn cancel_on_signals(shutdown: CancellationToken) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("stopping: finishing the current transaction and logging out");
        shutdown.cancel();
    });
    Ok(())
}
