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
    /// Other names this person is known by (names of contacts merged into it).
    pub aliases: Vec<String>,
}

impl NewIdentity {
    /// The same identity with its email and profile URL in their one spelling.
    pub fn normalized(&self) -> NewIdentity {
        NewIdentity {
            platform: self.platform.trim().to_lowercase(),
            display_name: self
                .display_name
                .as_ref()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty()),
            handle: self
                .handle
                .as_ref()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
            profile_url: self.profile_url.as_deref().and_then(normalize_profile_url),
            email: self.email.as_deref().and_then(normalize_email),
        }
    }

    /// The key this identity is unique by on its platform: the handle, else the
    /// profile URL, else the email, else the name as a last resort.
    pub(crate) fn handle_key(&self) -> Option<String> {
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
    let who = who.normalized();
    let Some(handle) = who.handle_key() else {
        return Ok(None);
    };
    if let Some(found) = find_identity(tx, &who, &handle)? {
        return Ok(Some(found));
    }
    let contact_id = match find_by_email(tx, who.email.as_deref())? {
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
    Ok(Some((
        contact_id,
        add_identity(tx, contact_id, &who, &handle)?,
    )))
}

/// The identity this actor already has, by profile URL, then platform handle. What
/// the new sighting adds (a profile URL, an email) is learnt without overwriting.
fn find_identity(
    tx: &Transaction<'_>,
    who: &NewIdentity,
    handle: &str,
) -> Result<Option<(i64, i64)>> {
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
    if let Some((_, identity_id)) = found {
        tx.execute(
            "UPDATE identity SET profile_url = COALESCE(profile_url, ?2), email = COALESCE(email, ?3)
             WHERE id = ?1 AND (?2 IS NULL OR NOT EXISTS (SELECT 1 FROM identity WHERE profile_url = ?2))",
            params![identity_id, who.profile_url, who.email],
        )?;
    }
    Ok(found)
}

/// The person an email address belongs to, on whatever platform it was seen.
pub(crate) fn find_by_email(tx: &Connection, email: Option<&str>) -> Result<Option<i64>> {
    let Some(email) = email else { return Ok(None) };
    Ok(tx
        .query_row(
            "SELECT contact_id FROM identity WHERE email = ?1 ORDER BY id LIMIT 1",
            [email],
            |r| r.get(0),
        )
        .optional()?)
}

/// Attach a new identity to a known contact. A clash on (platform, handle) or profile
/// URL means it is already known: the existing row is returned instead.
/// The first identity with this (lower-case) email: (contact, identity).
pub(crate) fn identity_by_email(tx: &Connection, email: &str) -> Result<Option<(i64, i64)>> {
    Ok(tx
        .query_row(
            "SELECT contact_id, id FROM identity WHERE email = ?1 ORDER BY id LIMIT 1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

pub(crate) fn display_name(tx: &Connection, contact_id: i64) -> Result<String> {
    Ok(tx.query_row(
        "SELECT display_name FROM contact WHERE id = ?1",
        [contact_id],
        |r| r.get(0),
    )?)
}

pub(crate) fn add_identity(
    tx: &Transaction<'_>,
    contact_id: i64,
    who: &NewIdentity,
    handle: &str,
) -> Result<i64> {
    let added = tx.execute(
        "INSERT INTO identity (contact_id, platform, handle, profile_url, email) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT DO NOTHING",
        params![contact_id, who.platform, handle, who.profile_url, who.email],
    )?;
    if added == 1 {
        return Ok(tx.last_insert_rowid());
    }
    Ok(tx.query_row(
        "SELECT id FROM identity WHERE (platform = ?1 AND handle = ?2) OR profile_url = ?3 ORDER BY id LIMIT 1",
        params![who.platform, handle, who.profile_url],
        |r| r.get(0),
    )?)
}

/// Email addresses compare without case and surrounding space.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().trim_start_matches("mailto:").trim();
    (email.contains('@') && !email.contains(char::is_whitespace)).then(|| email.to_lowercase())
}

/// One spelling per profile: scheme and host without case or "www.", no query,
/// fragment or trailing slash, and LinkedIn's tracking "/comm" prefix dropped — so the
/// link in a notification and the URL in an export name the same person.
pub fn normalize_profile_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    if host.is_empty() {
        return None;
    }
    let mut path = path.trim_end_matches('/');
    if host.ends_with("linkedin.com") {
        path = path.strip_prefix("comm/").unwrap_or(path);
    }
    let scheme = scheme.to_lowercase();
    Some(if path.is_empty() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}/{path}")
    })
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
    /// The interaction that started the current cycle; a reconnect task hangs on it.
    pub last_interaction_id: i64,
}

/// Answered from the `interaction_contact` index alone (the daemon asks every
/// minute; reading every interaction row made its resident size grow with the table).
/// SQLite fills the bare column i.id from the row that has the MAX.
const LAST_CONTACTS: &str = "SELECT c.id, c.display_name, c.tier, MAX(i.occurred_at), i.id
     FROM contact c JOIN interaction i ON i.contact_id = c.id
     WHERE i.kind NOT IN ('noise', 'unknown_template', 'none')
     GROUP BY c.id ORDER BY c.id";

impl super::Store {
    /// Every contact with the time of their latest interaction of any social kind.
    pub fn last_contacts(&self) -> Result<Vec<LastContact>> {
        let mut stmt = self.read().prepare(LAST_CONTACTS)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LastContact {
                    contact_id: r.get(0)?,
                    name: r.get(1)?,
                    tier: r.get(2)?,
                    last_interaction_at: r.get(3)?,
                    last_interaction_id: r.get(4)?,
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
        list(self.read(), None)
    }
}

/// Every contact, or only the one with id `only`.
pub(crate) fn list(conn: &Connection, only: Option<i64>) -> Result<Vec<ContactRow>> {
    let mut stmt = conn.prepare(
        "SELECT c.id, c.display_name, c.tier, c.note, c.created_at,
                (SELECT MAX(occurred_at) FROM interaction i WHERE i.contact_id = c.id),
                (SELECT COUNT(*) FROM interaction i WHERE i.contact_id = c.id)
         FROM contact c WHERE ?1 IS NULL OR c.id = ?1
         ORDER BY c.display_name COLLATE NOCASE, c.id",
    )?;
    let mut contacts: Vec<ContactRow> = stmt
        .query_map([only], |r| {
            Ok(ContactRow {
                id: r.get(0)?,
                display_name: r.get(1)?,
                tier: r.get(2)?,
                note: r.get(3)?,
                created_at: r.get(4)?,
                last_interaction_at: r.get(5)?,
                interactions: r.get(6)?,
                identities: Vec::new(),
                aliases: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut ids = conn.prepare(
        "SELECT id, contact_id, platform, handle, profile_url, email FROM identity
         WHERE ?1 IS NULL OR contact_id = ?1 ORDER BY contact_id, id",
    )?;
    let rows = ids.query_map([only], |r| {
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
    let mut aliases = std::collections::HashMap::<i64, Vec<String>>::new();
    let mut stmt = conn.prepare(
        "SELECT contact_id, name FROM contact_alias WHERE ?1 IS NULL OR contact_id = ?1 ORDER BY id",
    )?;
    for row in stmt.query_map([only], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })? {
        let (contact_id, name) = row?;
        aliases.entry(contact_id).or_default().push(name);
    }
    for contact in &mut contacts {
        contact.identities = by_contact.remove(&contact.id).unwrap_or_default();
        contact.aliases = aliases.remove(&contact.id).unwrap_or_default();
    }
    Ok(contacts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_contacts_reads_an_index_not_the_interactions() {
        let store = super::super::Store::in_memory().unwrap();
        let mut stmt = store
            .read()
            .prepare(&format!("EXPLAIN QUERY PLAN {LAST_CONTACTS}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("COVERING INDEX interaction_contact ")),
            "{plan:?}"
        );
    }
}
