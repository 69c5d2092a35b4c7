//! `[[contacts]]`: address books on a CardDAV server or in a vdir, read at start and
//! then daily into the same import as `nudged import vcard` (idempotent: a known person
//! is merged, not added again). The reading happens with no database held; the import
//! is one write.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::vcard;
use crate::calendar::caldav::{DavCollection, Flavor};
use crate::calendar::dav::DavClient;
use crate::config::{Config, ContactsConfig, DavKind};
use crate::store::{Db, ImportReport};

/// What one read of one address book did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AddressBookReport {
    pub contacts: String,
    pub cards: usize,
    pub added: usize,
    pub merged: usize,
    pub skipped: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every card of the address book, as vCard text (one card per entry).
pub async fn read_cards(book: &ContactsConfig) -> Result<Vec<String>> {
    match book.kind {
        DavKind::Vdir => {
            let dir = book
                .path
                .clone()
                .ok_or_else(|| anyhow!("contacts {:?} has no path", book.name))?;
            tokio::task::spawn_blocking(move || read_vdir(&dir))
                .await
                .context("reading the address book folder panicked")?
        }
        _ => {
            let client = DavClient::new(&book.endpoint()).await?;
            let collection = DavCollection::open(
                client,
                Flavor::AddressBook,
                book.addressbook.as_deref(),
                None,
                false,
            )
            .await?;
            collection.read_all().await
        }
    }
}

fn read_vdir(dir: &std::path::Path) -> Result<Vec<String>> {
    let mut cards = Vec::new();
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the address book folder {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "vcf") {
            cards.push(super::read_text(&path)?);
        }
    }
    Ok(cards)
}

/// Read every `[[contacts]]` and import it; a failing book is reported, the rest go on.
pub async fn import_address_books(
    store: &Db,
    config: &Config,
    now: DateTime<Utc>,
) -> Vec<AddressBookReport> {
    let mut reports = Vec::new();
    for book in &config.contacts {
        let mut report = AddressBookReport {
            contacts: book.name.clone(),
            ..AddressBookReport::default()
        };
        match import_one(store, book, now).await {
            Ok((cards, import)) => {
                report.cards = cards;
                report.added = import.added;
                report.merged = import.merged;
                report.skipped = import.skipped;
            }
            Err(err) => {
                tracing::warn!(contacts = book.name, "address book import failed: {err:#}");
                report.error = Some(format!("{err:#}"));
            }
        }
        reports.push(report);
    }
    reports
}

async fn import_one(
    store: &Db,
    book: &ContactsConfig,
    now: DateTime<Utc>,
) -> Result<(usize, ImportReport)> {
    let cards = read_cards(book).await?;
    let mut report = ImportReport::default();
    let records: Vec<_> = cards
        .iter()
        .flat_map(|text| vcard::parse(text, &mut report))
        .collect();
    let at = crate::store::to_unix(now);
    let report = store
        .write(move |s| {
            s.import_contacts(&records, &mut report, at)?;
            Ok(report)
        })
        .await?;
    Ok((cards.len(), report))
}

/// Read the address books at start and then every `interval` (the daemon's task).
pub async fn run_periodically(
    store: Db,
    config: Arc<Config>,
    clock: crate::clock::Clock,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Some(interval) = config.contacts.iter().map(ContactsConfig::interval).min() else {
        return;
    };
    loop {
        for report in import_address_books(&store, &config, clock.now()).await {
            tracing::info!(?report, "address book read");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = shutdown.cancelled() => return,
        }
    }
}
