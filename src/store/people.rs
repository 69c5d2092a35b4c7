//! Finding a person the way a user names them (an id, a name, a name they had before a
//! merge), joining two contacts into one, and the whole history of one person.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::contacts::{ContactRow, NewIdentity, add_identity, find_by_email, list, resolve};
use super::{FollowupRow, InteractionRow};

/// Why a name did not lead to exactly one person. The CLI reports these as usage
/// errors: the user can fix them by being more precise.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("no contact matches {0:?}; `nudged contacts` lists them")]
    NotFound(String),
    #[error("{query:?} could be any of {}; use the id", list_candidates(.candidates))]
    Ambiguous {
        query: String,
        candidates: Vec<(i64, String)>,
    },
    #[error("both name contact {0}; a contact cannot be merged into itself")]
    SameContact(i64),
}

fn list_candidates(candidates: &[(i64, String)]) -> String {
    candidates
        .iter()
        .map(|(id, name)| format!("{id} ({name})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `contacts merge` did.
#[derive(Debug, Clone, Serialize)]
pub struct MergeOutcome {
    pub into: i64,
    pub from: i64,
    /// True when `from` had already been merged into `into`: nothing changed.
    pub already_merged: bool,
    pub identities: usize,
    pub interactions: usize,
    pub followups: usize,
}

/// One person and everything logged about them, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: ContactRow,
    pub history: Vec<InteractionRow>,
    pub followups: Vec<FollowupRow>,
}

/// The contact a user means by `query`: an id (also the id of a contact merged away),
/// else an exact name, current or former, ignoring case.
pub(crate) fn find(conn: &Connection, query: &str) -> Result<i64> {
    let query = query.trim();
    if let Ok(id) = query.trim_start_matches('#').parse::<i64>() {
        let found: Option<i64> = conn
            .query_row(
                "SELECT id FROM contact WHERE id = ?1
                 UNION ALL SELECT contact_id FROM contact_alias WHERE merged_from = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        return found.ok_or_else(|| LookupError::NotFound(query.to_string()).into());
    }
    match named(conn, query)?.as_slice() {
        [] => Err(LookupError::NotFound(query.to_string()).into()),
        [(id, _)] => Ok(*id),
        many => Err(LookupError::Ambiguous {
            query: query.to_string(),
            candidates: many.to_vec(),
        }
        .into()),
    }
}

/// Contacts called `name` now or before a merge (case-insensitive), by id.
pub(crate) fn named(conn: &Connection, name: &str) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, display_name FROM contact WHERE display_name = ?1 COLLATE NOCASE
         UNION
         SELECT c.id, c.display_name FROM contact_alias a JOIN contact c ON c.id = a.contact_id
         WHERE a.name = ?1 COLLATE NOCASE
         ORDER BY 1",
    )?;
    let rows = stmt
        .query_map([name.trim()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The person behind a manual entry (`met`, `log`): known by profile URL or email
/// first; else the one contact already called that name; else a new contact. Two
/// contacts of that name is an error, not a guess.
pub(crate) fn resolve_manual(
    tx: &Transaction<'_>,
    who: &NewIdentity,
    now: i64,
) -> Result<Option<(i64, i64)>> {
    let who = who.normalized();
    let Some(handle) = who.handle_key() else {
        return Ok(None);
    };
    let by_url: Option<i64> = match &who.profile_url {
        Some(url) => tx
            .query_row(
                "SELECT contact_id FROM identity WHERE profile_url = ?1",
                [url],
                |r| r.get(0),
            )
            .optional()?,
        None => None,
    };
    let known = match by_url {
        Some(id) => Some(id),
        None => find_by_email(tx, who.email.as_deref())?,
    };
    let known = match (known, &who.display_name) {
        (Some(id), _) => Some(id),
        (None, Some(name)) => match named(tx, name)?.as_slice() {
            [] => None,
            [(id, _)] => Some(*id),
            many => {
                return Err(LookupError::Ambiguous {
                    query: name.clone(),
                    candidates: many.to_vec(),
                }
                .into());
            }
        },
        (None, None) => None,
    };
    match known {
        Some(contact_id) => Ok(Some((
            contact_id,
            add_identity(tx, contact_id, &who, &handle)?,
        ))),
        None => resolve(tx, &who, now),
    }
}

/// Join `from` into `into`: identities, interactions, tasks and former names move;
/// `from`'s name stays findable as an alias of `into`. Running it again is a no-op.
pub(crate) fn merge(tx: &Transaction<'_>, into: i64, from: i64) -> Result<MergeOutcome> {
    let mut outcome = MergeOutcome {
        into,
        from,
        already_merged: false,
        identities: 0,
        interactions: 0,
        followups: 0,
    };
    if into == from {
        outcome.already_merged = true;
        return Ok(outcome);
    }
    let from_row: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT display_name, note FROM contact WHERE id = ?1",
            [from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((from_name, from_note)) = from_row else {
        return Err(LookupError::NotFound(from.to_string()).into());
    };
    outcome.identities = tx.execute(
        "UPDATE identity SET contact_id = ?1 WHERE contact_id = ?2",
        [into, from],
    )?;
    outcome.interactions = tx.execute(
        "UPDATE interaction SET contact_id = ?1 WHERE contact_id = ?2",
        [into, from],
    )?;
    outcome.followups = tx.execute(
        "UPDATE followup SET contact_id = ?1 WHERE contact_id = ?2",
        [into, from],
    )?;
    tx.execute(
        "UPDATE OR IGNORE contact_alias SET contact_id = ?1 WHERE contact_id = ?2",
        [into, from],
    )?;
    tx.execute("DELETE FROM contact_alias WHERE contact_id = ?1", [from])?;
    tx.execute(
        "INSERT INTO contact_alias (contact_id, name, merged_from) VALUES (?1, ?2, ?3)
         ON CONFLICT (contact_id, name) DO UPDATE SET merged_from = COALESCE(merged_from, excluded.merged_from)",
        params![into, from_name, from],
    )?;
    // Keep what the user wrote about either of them.
    if let Some(note) = from_note.filter(|n| !n.trim().is_empty()) {
        tx.execute(
            "UPDATE contact SET note = CASE WHEN note IS NULL OR note = '' THEN ?2 ELSE note || char(10) || ?2 END
             WHERE id = ?1",
            params![into, note],
        )?;
    }
    tx.execute("DELETE FROM contact WHERE id = ?1", [from])?;
    Ok(outcome)
}

impl super::Store {
    /// The contact a user means by an id or a name (see [`find`]).
    pub fn find_contact(&self, query: &str) -> Result<i64> {
        find(self.read(), query)
    }

    /// Merge the contact named by `from` into the one named by `into`.
    pub fn merge_contacts(&mut self, into: &str, from: &str) -> Result<MergeOutcome> {
        self.write(|tx| {
            let into_id = find(tx, into)?;
            let from_id = find(tx, from)?;
            if into_id == from_id && !was_merged_into(tx, from, into_id)? {
                return Err(LookupError::SameContact(into_id).into());
            }
            merge(tx, into_id, from_id)
        })
    }

    pub fn contact_name(&self, id: i64) -> Result<String> {
        Ok(self
            .read()
            .query_row(
                "SELECT display_name FROM contact WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| LookupError::NotFound(id.to_string()))?)
    }

    /// A contact with its identities, whole history and every task.
    pub fn contact_detail(&self, id: i64) -> Result<Option<ContactDetail>> {
        let Some(contact) = list(self.read(), Some(id))?.into_iter().next() else {
            return Ok(None);
        };
        Ok(Some(ContactDetail {
            history: self.interactions_of(id)?,
            followups: self.followups_of(id)?,
            contact,
        }))
    }

    /// Put a contact in a keep-in-touch tier.
    pub fn set_tier(&mut self, id: i64, tier: &str) -> Result<()> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE contact SET tier = ?2 WHERE id = ?1",
                params![id, tier],
            )?;
            if changed == 0 {
                return Err(LookupError::NotFound(id.to_string()).into());
            }
            Ok(())
        })
    }
}

/// Whether `query` names a contact that an earlier merge folded into `into` — the
/// second run of the same `merge`, which must succeed without doing anything.
fn was_merged_into(conn: &Connection, query: &str, into: i64) -> Result<bool> {
    let query = query.trim();
    let hit: Option<i64> = match query.trim_start_matches('#').parse::<i64>() {
        Ok(id) => conn
            .query_row(
                "SELECT 1 FROM contact_alias WHERE merged_from = ?1 AND contact_id = ?2",
                [id, into],
                |r| r.get(0),
            )
            .optional()?,
        Err(_) => conn
            .query_row(
                "SELECT 1 FROM contact_alias a JOIN contact c ON c.id = a.contact_id
                 WHERE a.contact_id = ?2 AND a.name = ?1 COLLATE NOCASE
                   AND c.display_name <> ?1 COLLATE NOCASE",
                params![query, into],
                |r| r.get(0),
            )
            .optional()?,
    };
    Ok(hit.is_some())
}
