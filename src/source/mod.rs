//! Sources: where raw mail comes from. Each source reads messages and pushes them
//! through [`crate::pipeline::Ingest`], committing its cursor with the results.

pub mod maildir;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::pipeline::Ingested;

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
}

impl SourceReport {
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            ..Self::default()
        }
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
