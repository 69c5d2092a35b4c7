//! Committing a sync batch: messages are classified on the blocking pool, then results
//! and the folder's cursor go to the writer in one transaction. One commit may run
//! while the next batch is fetched; a new commit waits for the one before it, so
//! cursors only ever move forward, in order.

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::task::JoinHandle;

use super::SyncContext;
use super::batch::Item;
use crate::ingest::{Classified, Ingest, Ingested, record_sent};
use crate::source::SourceReport;
use crate::store::{Db, MailboxState, sync_state};

/// What one commit did, for the report.
#[derive(Default)]
struct Committed {
    ingested: Vec<Ingested>,
    passed: usize,
    skipped: usize,
    sent_contacts: usize,
    closed_by_sent: usize,
}

/// A fetched item, its message (if any) already classified.
enum Ready {
    Message(Box<Classified>),
    Other(Item),
}

pub(super) struct Committer {
    store: Db,
    ingest: (Arc<crate::config::Config>, Arc<crate::classify::RuleSet>),
    clock: crate::clock::Clock,
    source: String,
    folder: String,
    pending: Option<JoinHandle<Result<Committed>>>,
}

impl Committer {
    pub(super) fn new(ctx: &SyncContext, source: &str, folder: &str) -> Self {
        Self {
            store: ctx.store.clone(),
            ingest: (Arc::clone(&ctx.config), Arc::clone(&ctx.rules)),
            clock: ctx.clock,
            source: source.to_string(),
            folder: folder.to_string(),
            pending: None,
        }
    }

    /// Start committing `items` with `cursor`, after the previous commit landed.
    pub(super) async fn submit(
        &mut self,
        cursor: MailboxState,
        items: Vec<Item>,
        report: &mut SourceReport,
    ) -> Result<()> {
        self.finish(report).await?;
        let (store, source, folder) =
            (self.store.clone(), self.source.clone(), self.folder.clone());
        let (config, rules) = (Arc::clone(&self.ingest.0), Arc::clone(&self.ingest.1));
        let now = self.clock.now();
        self.pending = Some(tokio::spawn(async move {
            let classify = (Arc::clone(&config), Arc::clone(&rules));
            let items = tokio::task::spawn_blocking(move || {
                let ingest = Ingest {
                    rules: &classify.1,
                    config: &classify.0,
                    now,
                };
                items
                    .into_iter()
                    .map(|item| match item {
                        Item::Message(raw) => Ready::Message(Box::new(ingest.classify(raw))),
                        other => Ready::Other(other),
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .context("classifying a batch panicked")?;
            store
                .write(move |store| {
                    store.write(|tx| {
                        let ingest = Ingest {
                            rules: &rules,
                            config: &config,
                            now,
                        };
                        let mut done = Committed::default();
                        for item in items {
                            match item {
                                Ready::Message(classified) => {
                                    done.ingested.push(ingest.record(tx, *classified)?)
                                }
                                Ready::Other(Item::Passed | Item::Message(_)) => done.passed += 1,
                                Ready::Other(Item::Sent(mail)) => {
                                    let (reached, closed) = record_sent(tx, &mail, now)?;
                                    done.sent_contacts += reached;
                                    done.closed_by_sent += closed;
                                    done.passed += 1;
                                }
                                Ready::Other(Item::Skipped(uid, reason)) => {
                                    sync_state::record_skipped(
                                        tx,
                                        &source,
                                        &folder,
                                        cursor.uidvalidity,
                                        uid,
                                        reason,
                                        now.timestamp(),
                                    )?;
                                    done.skipped += 1;
                                }
                            }
                        }
                        sync_state::set_mailbox_state(tx, &source, &folder, cursor)?;
                        Ok(done)
                    })
                })
                .await
        }));
        Ok(())
    }

    /// Wait for the commit under way, if any, and count what it did.
    pub(super) async fn finish(&mut self, report: &mut SourceReport) -> Result<()> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let done = pending.await.context("a database commit panicked")??;
        for one in &done.ingested {
            report.count(one);
        }
        report.messages += done.passed + done.skipped;
        report.skipped += done.skipped;
        report.sent_contacts += done.sent_contacts;
        report.closed_by_sent += done.closed_by_sent;
        if done.skipped > 0 {
            tracing::info!(
                source = self.source,
                folder = self.folder,
                skipped = done.skipped,
                "messages vanished between header and body fetch; recorded, not retried"
            );
        }
        Ok(())
    }
}
