//! Where each source has got to: for Maildir folders, the set of file keys already
//! processed; for IMAP folders, UIDVALIDITY and the last UID whose results are committed.

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};

/// The committed position in one IMAP folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxState {
    pub uidvalidity: u32,
    pub last_seen_uid: u32,
    pub highest_modseq: Option<u64>,
}

impl super::Store {
    pub fn maildir_seen(&self, source: &str, folder: &str, file_key: &str) -> Result<bool> {
        Ok(self
            .read()
            .query_row(
                "SELECT 1 FROM maildir_seen WHERE source = ?1 AND folder = ?2 AND file_key = ?3",
                params![source, folder, file_key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// IMAP messages skipped in one folder: (uid, reason), oldest first.
    pub fn imap_skipped(&self, source: &str, folder: &str) -> Result<Vec<(u32, String)>> {
        let mut stmt = self.read().prepare(
            "SELECT uid, reason FROM imap_skipped WHERE source = ?1 AND folder = ?2 ORDER BY uid",
        )?;
        let rows = stmt.query_map(params![source, folder], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn mailbox_state(&self, source: &str, folder: &str) -> Result<Option<MailboxState>> {
        Ok(self
            .read()
            .query_row(
                "SELECT uidvalidity, last_seen_uid, highest_modseq FROM mailbox_state
                 WHERE source = ?1 AND folder = ?2",
                params![source, folder],
                |r| {
                    Ok(MailboxState {
                        uidvalidity: r.get(0)?,
                        last_seen_uid: r.get(1)?,
                        highest_modseq: r.get::<_, Option<i64>>(2)?.map(|m| m as u64),
                    })
                },
            )
            .optional()?)
    }
}

/// Mark a Maildir file processed, in the same transaction as its results.
pub fn mark_maildir_seen(
    tx: &Transaction<'_>,
    source: &str,
    folder: &str,
    file_key: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO maildir_seen (source, folder, file_key, seen_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
        params![source, folder, file_key, now],
    )?;
    Ok(())
}

/// Note an IMAP message that could not be read (expunged, or too large), in the same
/// transaction that moves the cursor past it.
pub fn record_skipped(
    tx: &Transaction<'_>,
    source: &str,
    folder: &str,
    uidvalidity: u32,
    uid: u32,
    reason: &str,
    now: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO imap_skipped (source, folder, uidvalidity, uid, reason, skipped_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        params![source, folder, uidvalidity, uid, reason, now],
    )?;
    Ok(())
}

/// Move an IMAP folder's cursor, in the same transaction as the results it covers.
pub fn set_mailbox_state(
    tx: &Transaction<'_>,
    source: &str,
    folder: &str,
    state: MailboxState,
) -> Result<()> {
    tx.execute(
        "INSERT INTO mailbox_state (source, folder, uidvalidity, last_seen_uid, highest_modseq)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (source, folder) DO UPDATE SET uidvalidity = excluded.uidvalidity,
             last_seen_uid = excluded.last_seen_uid, highest_modseq = excluded.highest_modseq",
        params![
            source,
            folder,
            state.uidvalidity,
            state.last_seen_uid,
            state.highest_modseq.map(|m| m as i64)
        ],
    )?;
    Ok(())
}
