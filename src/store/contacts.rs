//! People and how they show up on each platform. A new interaction finds its person by
//! profile URL, then platform handle, then email; only when none is known is a new
//! contact created.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

/// How an actor presented themselves in one interaction.
#[derive(Debug, Clone, Default)]
pub struct NewIdentity {
    pub platform: String,
    pub display_name: Option<String>,
    pub handle: Option<String>,
    pub profile_url: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IdentityRow {
    pub id: i64,
    pub platform: String,
    pub handle: String,
    pub profile_url: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContactRow {
    pub id: i64,
    pub display_name: String,
    pub tier: String,
    pub note: Option<String>,
    #[serde(with = "super::interactions::unix_as_rfc3339")]
    pub created_at: i64,
    #[serde(with = "super::interactions::opt_unix_as_rfc3339")]
    pub last_interaction_at: Option<i64>,
    pub interactions: i64,
    pub identities: Vec<IdentityRow>,
}

impl NewIdentity {
    /// The key this identity is unique by on its platform: the handle, else the
    /// profile URL, else the email, else the name as a last resort.
    fn handle_key(&self) -> Option<String> {
        self.handle
            .clone()
            .or_else(|| self.profile_url.clone())
            .or_else(|| self.email.clone())
            .or_else(|| {
                self.display_name
                    .as_ref()
                    .map(|n| format!("name:{}", n.to_lowercase()))
            })
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
    }
}

/// Find or create the contact and identity for an actor. `None` when the actor is
/// anonymous (no name, handle, URL or email).
pub(crate) fn resolve(
    tx: &Transaction<'_>,
    who: &NewIdentity,
    now: i64,
) -> Result<Option<(i64, i64)>> {
    let Some(handle) = who.handle_key() else {
        return Ok(None);
    };
    let by_url = match &who.profile_url {
        Some(url) => tx
            .query_row(
                "SELECT id, contact_id FROM identity WHERE profile_url = ?1",
                [url],
                |r| Ok((r.get(1)?, r.get(0)?)),
            )
            .optional()?,
        None => None,
    };
    let found = match by_url {
        Some(found) => Some(found),
        None => tx
            .query_row(
                "SELECT id, contact_id FROM identity WHERE platform = ?1 AND handle = ?2",
                params![who.platform, handle],
                |r| Ok((r.get(1)?, r.get(0)?)),
            )
            .optional()?,
    };
    if let Some((contact_id, identity_id)) = found {
        // Learn what this notification adds (a profile URL, an email) without
        // overwriting what we already had.
        tx.execute(
            "UPDATE identity SET profile_url = COALESCE(profile_url, ?2), email = COALESCE(email, ?3)
             WHERE id = ?1 AND (?2 IS NULL OR NOT EXISTS (SELECT 1 FROM identity WHERE profile_url = ?2))",
            params![identity_id, who.profile_url, who.email],
        )?;
        return Ok(Some((contact_id, identity_id)));
    }
    let by_email: Option<i64> = match &who.email {
        Some(email) => tx
            .query_row(
                "SELECT contact_id FROM identity WHERE email = ?1 LIMIT 1",
                [email],
                |r| r.get(0),
            )
            .optional()?,
        None => None,
    };
    let contact_id = match by_email {
        Some(id) => id,
        None => {
            let name = who
                .display_name
                .clone()
                .or_else(|| who.handle.clone())
                .or_else(|| who.email.clone())
                .unwrap_or_else(|| handle.clone());
            insert_contact(tx, &name, now)?
        }
    };
    tx.execute(
        "INSERT INTO identity (contact_id, platform, handle, profile_url, email) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![contact_id, who.platform, handle, who.profile_url, who.email],
    )?;
    Ok(Some((contact_id, tx.last_insert_rowid())))
}

pub(crate) fn insert_contact(tx: &Transaction<'_>, name: &str, now: i64) -> Result<i64> {
    tx.execute(
        "INSERT INTO contact (display_name, created_at) VALUES (?1, ?2)",
        params![name, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// A contact's latest social interaction (for keep-in-touch planning).
#[derive(Debug, Clone)]
pub struct LastContact {
    pub contact_id: i64,
    pub name: String,
    pub tier: String,
    pub last_interaction_at: i64,
}

impl super::Store {
    /// Every contact with the time of their latest interaction of any social kind.
    pub fn last_contacts(&self) -> Result<Vec<LastContact>> {
        let mut stmt = self.read().prepare(
            "SELECT c.id, c.display_name, c.tier, MAX(i.occurred_at)
             FROM contact c JOIN interaction i ON i.contact_id = c.id
             WHERE i.kind NOT IN ('noise', 'unknown_template', 'none')
             GROUP BY c.id ORDER BY c.id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LastContact {
                    contact_id: r.get(0)?,
                    name: r.get(1)?,
                    tier: r.get(2)?,
                    last_interaction_at: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Find or create the contact for an actor, in its own transaction.
    pub fn resolve_contact(&mut self, who: &NewIdentity, now: i64) -> Result<Option<(i64, i64)>> {
        self.write(|tx| resolve(tx, who, now))
    }

    /// Contacts whose name matches exactly (case-insensitive).
    pub fn contacts_named(&self, name: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .read()
            .prepare("SELECT id FROM contact WHERE display_name = ?1 COLLATE NOCASE ORDER BY id")?;
        let ids = stmt
            .query_map([name.trim()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }

    pub fn contacts(&self) -> Result<Vec<ContactRow>> {
        list(self.read())
    }
}

fn list(conn: &Connection) -> Result<Vec<ContactRow>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.display_name, c.tier, c.note, c.created_at,
                (SELECT MAX(occurred_at) FROM interaction i WHERE i.contact_id = c.id),
                (SELECT COUNT(*) FROM interaction i WHERE i.contact_id = c.id)
         FROM contact c ORDER BY c.display_name COLLATE NOCASE, c.id",
    )?;
    let mut contacts: Vec<ContactRow> = stmt
        .query_map([], |r| {
            Ok(ContactRow {
                id: r.get(0)?,
                display_name: r.get(1)?,
                tier: r.get(2)?,
                note: r.get(3)?,
                created_at: r.get(4)?,
                last_interaction_at: r.get(5)?,
                interactions: r.get(6)?,
                identities: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut ids = conn.prepare(
        "SELECT id, contact_id, platform, handle, profile_url, email FROM identity ORDER BY contact_id, id",
    )?;
    let rows = ids.query_map([], |r| {
        Ok((
            r.get::<_, i64>(1)?,
            IdentityRow {
                id: r.get(0)?,
                platform: r.get(2)?,
                handle: r.get(3)?,
                profile_url: r.get(4)?,
                email: r.get(5)?,
            },
        ))
    })?;
    let mut by_contact = std::collections::HashMap::<i64, Vec<IdentityRow>>::new();
    for row in rows {
        let (contact_id, identity) = row?;
        by_contact.entry(contact_id).or_default().push(identity);
    }
    for contact in &mut contacts {
        contact.identities = by_contact.remove(&contact.id).unwrap_or_default();
    }
    Ok(contacts)
}
