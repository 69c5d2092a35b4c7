//! Sources: where raw mail comes from. Each source reads messages and pushes them
//! through [`crate::ingest::Ingest`], committing its cursor with the results.

pub mod imap;
pub mod maildir;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::ingest::Ingested;

/// What one pass over one source did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    pub source: String,
    /// Messages looked at for the first time.
    pub messages: usize,
    /// Interactions newly logged (noise included).
    pub logged: usize,
    pub planned: usize,
    /// Logged interactions by "platform kind".
    pub by_kind: BTreeMap<String, usize>,
    /// Messages that could not be read; they are retried on the next pass.
    pub errors: Vec<String>,
    /// IMAP messages that vanished before they could be read (recorded, not retried).
    pub skipped: usize,
    /// Contacts reached by the user's own sent mail, and tasks that closed.
    pub sent_contacts: usize,
    pub closed_by_sent: usize,
}

impl SourceReport {
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            ..Self::default()
        }
    }

    /// Add what another part of the same pass found.
    pub fn absorb(&mut self, other: SourceReport) {
        self.messages += other.messages;
        self.logged += other.logged;
        self.planned += other.planned;
        for (what, n) in other.by_kind {
            *self.by_kind.entry(what).or_default() += n;
        }
        self.errors.extend(other.errors);
        self.skipped += other.skipped;
        self.sent_contacts += other.sent_contacts;
        self.closed_by_sent += other.closed_by_sent;
    }

    pub fn count(&mut self, ingested: &Ingested) {
        self.messages += 1;
        self.planned += ingested.planned;
        if let Some(recorded) = ingested.recorded
            && recorded.is_new
        {
            self.logged += 1;
            let platform = ingested
                .classification
                .platform
                .as_deref()
                .unwrap_or("unknown");
            *self
                .by_kind
                .entry(format!("{platform} {}", ingested.classification.kind))
                .or_default() += 1;
        }
    }
}

/// Hooks for a service manager (systemd's READY=1 and WATCHDOG=1 later): each work loop
/// beats its heartbeat when it makes progress and reports its first finished sync once.
pub struct Progress {
    heartbeat: tokio::sync::watch::Sender<Instant>,
    first_sync: Option<FirstSync>,
}

/// Counts down the work loops that have not finished a first sync yet. Only a sync
/// that worked counts: a loop whose server is down keeps the daemon "starting".
pub struct FirstSync {
    remaining: Arc<AtomicUsize>,
    all_done: Arc<tokio::sync::watch::Sender<bool>>,
}

impl FirstSync {
    /// A countdown of `loops`, and the receiver that turns true when it reaches zero.
    pub fn countdown(loops: usize) -> (Vec<FirstSync>, tokio::sync::watch::Receiver<bool>) {
        let (tx, rx) = tokio::sync::watch::channel(loops == 0);
        let (remaining, all_done) = (Arc::new(AtomicUsize::new(loops)), Arc::new(tx));
        let each = (0..loops)
            .map(|_| FirstSync {
                remaining: Arc::clone(&remaining),
                all_done: Arc::clone(&all_done),
            })
            .collect();
        (each, rx)
    }

    fn done(self) {
        if self.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.all_done.send_replace(true);
        }
    }
}

impl Progress {
    pub fn new(first_sync: FirstSync) -> (Self, tokio::sync::watch::Receiver<Instant>) {
        let (heartbeat, rx) = tokio::sync::watch::channel(Instant::now());
        (
            Self {
                heartbeat,
                first_sync: Some(first_sync),
            },
            rx,
        )
    }

    pub fn beat(&self) {
        self.heartbeat.send_replace(Instant::now());
    }

    pub fn first_sync_done(&mut self) {
        if let Some(first) = self.first_sync.take() {
            first.done();
        }
    }
}
