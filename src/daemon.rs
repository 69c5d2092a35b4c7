//! The daemon's wiring: one task per IMAP folder (IDLE or polling), one per Maildir
//! source, a periodic housekeeping-and-digest pass, and one task each for the task lists
//! (`[[calendar]]`) and address books (`[[contacts]]`), all stopped by one cancellation
//! token. `run --once` uses the same sync code, one pass per source, no waiting.
//! Blocking database work goes through [`SharedStore::run`], the one writer.

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
use crate::digest::outbox::run_digest;
use crate::pipeline::{Ingest, plan_housekeeping};
use crate::source::imap::{self, Hooks, SyncContext};
use crate::source::{FirstSync, Progress, SourceReport, maildir::sync_maildir};
use crate::store::{SharedStore, Store};

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
        let store = Store::open(&config.store_path())?;
        // The daemon mostly appends; SQLite's default 2 MB page cache would be the
        // largest part of its resident memory for no gain (the OS caches the file).
        store.read().execute_batch("PRAGMA cache_size = -256")?;
        Ok(Self {
            ctx: Arc::new(SyncContext {
                store: SharedStore::new(store),
                config: Arc::new(config),
                rules: Arc::new(rules),
                prefilter: Arc::new(prefilter),
                clock,
                shutdown,
                hooks,
            }),
        })
    }

    pub fn store(&self) -> &SharedStore {
        &self.ctx.store
    }

    /// One pass over every source, in config order (`run --once`).
    pub async fn run_once(&self) -> Result<Vec<SourceReport>> {
        let mut reports = Vec::new();
        for source in &self.ctx.config.sources {
            reports.push(match source.kind {
                SourceKind::Maildir => self.maildir_pass(source).await?,
                SourceKind::Imap => imap::sync_source_once(&self.ctx, source).await?,
            });
        }
        Ok(reports)
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
        let (config, rules, source) = (
            Arc::clone(&self.ctx.config),
            Arc::clone(&self.ctx.rules),
            source.clone(),
        );
        let now = self.ctx.clock.now();
        self.ctx
            .store
            .run(move |store| {
                let ingest = Ingest {
                    rules: &rules,
                    config: &config,
                    now,
                };
                sync_maildir(store, &ingest, &source)
            })
            .await
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
        let ctx = Arc::clone(&self.ctx);
        tasks.spawn(async move { passes(ctx, maildirs).await });
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

/// Every minute: read Maildir sources, then expire tasks, plan reconnects and send a
/// due digest — the same steps `run --once` takes after its sources.
async fn passes(ctx: Arc<SyncContext>, mut maildirs: Vec<(String, Progress)>) {
    let daemon = Daemon {
        ctx: Arc::clone(&ctx),
    };
    loop {
        for (name, progress) in &mut maildirs {
            let Some(source) = ctx.config.sources.iter().find(|s| &s.name == name) else {
                continue;
            };
            match daemon.maildir_pass(source).await {
                Ok(report) if report.logged > 0 => {
                    tracing::info!(source = name, logged = report.logged, "maildir synced")
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(source = name, "maildir pass failed: {err:#}"),
            }
            progress.first_sync_done();
            progress.beat();
        }
        let (config, now) = (Arc::clone(&ctx.config), ctx.clock.now());
        let housekeeping = ctx
            .store
            .run(move |store| {
                let planned = plan_housekeeping(store, &config, now)?;
                let digest = run_digest(store, &config, now, false)?;
                Ok((planned, digest))
            })
            .await;
        match housekeeping {
            Ok(((expired, reconnects), digest)) => {
                tracing::debug!(expired, reconnects, ?digest, "housekeeping")
            }
            Err(err) => tracing::warn!("housekeeping or digest failed: {err:#}"),
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
