//! Storing imported address books. A record joins the person it names by profile URL,
//! platform handle or email — never by name alone, where two "John Smith"s would
//! become one — so importing the same file twice adds nothing the second time.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::contacts::{NewIdentity, add_identity, insert_contact};

/// One person from an export, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ImportedContact {
    pub name: String,
    pub note: Option<String>,
    /// How they can be recognised; the first is the record's own key in its export.
    pub identities: Vec<NewIdentity>,
    /// When the export says you connected: logged once as a `connection` interaction.
    pub connected_at: Option<i64>,
}

/// What became of one record.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub name: String,
    /// "added" (a new contact), "merged" (a known contact learnt something) or "skipped".
    pub outcome: &'static str,
    pub contact_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub merged: usize,
    pub skipped: usize,
    pub records: Vec<ImportOutcome>,
}

impl ImportReport {
    /// A record the parser could not use at all.
    pub fn skip(&mut self, name: &str, reason: String) {
        self.skipped += 1;
        self.records.push(ImportOutcome {
            name: name.to_string(),
            outcome: "skipped",
            contact_id: None,
            reason: Some(reason),
        });
    }

    fn push(&mut self, outcome: ImportOutcome) {
        match outcome.outcome {
            "added" => self.added += 1,
            "merged" => self.merged += 1,
            _ => self.skipped += 1,
        }
        self.records.push(outcome);
    }
}

impl super::Store {
    /// Store parsed records in one transaction, adding to `report`.
    pub fn import_contacts(
        &mut self,
        records: &[ImportedContact],
        report: &mut ImportReport,
        now: i64,
    ) -> Result<()> {
        self.write(|tx| {
            for record in records {
                report.push(import_one(tx, record, now)?);
            }
            Ok(())
        })
    }
}

fn import_one(tx: &Transaction<'_>, record: &ImportedContact, now: i64) -> Result<ImportOutcome> {
    let identities: Vec<(NewIdentity, String)> = record
        .identities
        .iter()
        .map(NewIdentity::normalized)
        .filter_map(|who| who.handle_key().map(|handle| (who, handle)))
        .collect();
    let outcome = |outcome, contact_id, reason: Option<&str>| ImportOutcome {
        name: record.name.clone(),
        outcome,
        contact_id,
        reason: reason.map(str::to_string),
    };
    if identities.is_empty() {
        return Ok(outcome("skipped", None, Some("no name, email or URL")));
    }
    let mut known = None;
    for (who, handle) in &identities {
        known = existing_contact(tx, who, handle)?;
        if known.is_some() {
            break;
        }
    }
    let (contact_id, is_new) = match known {
        Some(id) => (id, false),
        None => {
            let id = insert_contact(tx, &record.name, now)?;
            if let Some(note) = &record.note {
                tx.execute(
                    "UPDATE contact SET note = ?2 WHERE id = ?1",
                    params![id, note],
                )?;
            }
            (id, true)
        }
    };
    let before: i64 = tx.query_row(
        "SELECT COUNT(*) FROM identity WHERE contact_id = ?1",
        [contact_id],
        |r| r.get(0),
    )?;
    let mut first_identity = None;
    for (who, handle) in &identities {
        let id = add_identity(tx, contact_id, who, handle)?;
        first_identity.get_or_insert((id, who, handle));
    }
    let after: i64 = tx.query_row(
        "SELECT COUNT(*) FROM identity WHERE contact_id = ?1",
        [contact_id],
        |r| r.get(0),
    )?;
    let mut learnt = after > before;
    if let (Some(at), Some((identity_id, who, handle))) = (record.connected_at, first_identity) {
        let added = tx.execute(
            "INSERT INTO interaction (contact_id, identity_id, platform, kind, occurred_at, subject,
                                      source_message_id, verified, logged_at)
             VALUES (?1, ?2, ?3, 'connection', ?4, ?5, ?6, 'verified', ?7)
             ON CONFLICT (source_message_id) DO NOTHING",
            params![
                contact_id,
                identity_id,
                who.platform,
                at,
                format!("Connected on {} (imported)", who.platform),
                format!("import:{}:{handle}", who.platform),
                now
            ],
        )?;
        learnt |= added == 1;
    }
    Ok(match (is_new, learnt) {
        (true, _) => outcome("added", Some(contact_id), None),
        (false, true) => outcome("merged", Some(contact_id), None),
        (false, false) => outcome("skipped", Some(contact_id), Some("already known")),
    })
}

/// The contact an identity already belongs to: by profile URL, platform handle, email.
/// Three lookups rather than one OR, so each uses its index.
fn existing_contact(tx: &Transaction<'_>, who: &NewIdentity, handle: &str) -> Result<Option<i64>> {
    if let Some(url) = &who.profile_url {
        let found = tx
            .query_row(
                "SELECT contact_id FROM identity WHERE profile_url = ?1",
                [url],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    let found = tx
        .query_row(
            "SELECT contact_id FROM identity WHERE platform = ?1 AND handle = ?2",
            params![who.platform, handle],
            |r| r.get(0),
        )
        .optional()?;
    if found.is_some() {
        return Ok(found);
    }
    super::contacts::find_by_email(tx, who.email.as_deref())
}
