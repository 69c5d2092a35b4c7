//! The digest outbox: one row per scheduled slot, holding the finished message and its
//! fixed Message-ID. The row is committed before delivery is tried and marked sent only
//! after the server accepted it, so a crash can at worst resend the same message.

use anyhow::Result;
use rusqlite::{OptionalExtension, params};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl DigestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestStatus::Pending => "pending",
            DigestStatus::Sending => "sending",
            DigestStatus::Sent => "sent",
            DigestStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> DigestStatus {
        match text {
            "sending" => DigestStatus::Sending,
            "sent" => DigestStatus::Sent,
            "failed" => DigestStatus::Failed,
            _ => DigestStatus::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DigestRow {
    pub id: i64,
    pub slot: i64,
    pub message_id: String,
    pub status: DigestStatus,
    pub attempts: i64,
    pub body: Vec<u8>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    /// A failed delivery is not retried before this time.
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
}

const SELECT: &str = "SELECT id, slot, message_id, status, attempts, body, created_at, sent_at,
        next_attempt_at, last_error FROM digest";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DigestRow> {
    Ok(DigestRow {
        id: r.get(0)?,
        slot: r.get(1)?,
        message_id: r.get(2)?,
        status: DigestStatus::parse(&r.get::<_, String>(3)?),
        attempts: r.get(4)?,
        body: r.get(5)?,
        created_at: r.get(6)?,
        sent_at: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_error: r.get(9)?,
    })
}

impl super::Store {
    pub fn digest_for_slot(&self, slot: i64) -> Result<Option<DigestRow>> {
        let sql = format!("{SELECT} WHERE slot = ?1");
        Ok(self.read().query_row(&sql, [slot], from_row).optional()?)
    }

    /// The newest digest row of any status.
    pub fn latest_digest(&self) -> Result<Option<DigestRow>> {
        let sql = format!("{SELECT} ORDER BY slot DESC LIMIT 1");
        Ok(self.read().query_row(&sql, [], from_row).optional()?)
    }

    /// Digests written but not yet accepted by the mail server, and not replaced by the
    /// digest of a later slot.
    pub fn unsent_digests(&self) -> Result<Vec<DigestRow>> {
        let sql = format!(
            "{SELECT} WHERE status IN ('pending', 'sending', 'failed') AND superseded_by_slot IS NULL
             ORDER BY slot"
        );
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Put a finished digest in the outbox, durably: it is on disk before any mail server
    /// is contacted. `through_interaction` is the newest interaction it reports, and the
    /// reply results it shows are marked as reported by it. Returns false (changing
    /// nothing) if the slot already has a digest.
    pub fn enqueue_digest(
        &mut self,
        slot: i64,
        message_id: &str,
        body: &[u8],
        now: i64,
        through_interaction: i64,
        reply_results: &[i64],
    ) -> Result<bool> {
        self.write_durable(|tx| {
            let added = tx.execute(
                "INSERT INTO digest (slot, message_id, body, created_at, through_interaction)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (slot) DO NOTHING",
                params![slot, message_id, body, now, through_interaction],
            )? == 1;
            if added {
                let id = tx.last_insert_rowid();
                for result in reply_results {
                    tx.execute(
                        "UPDATE digest_reply SET reported_in = ?2 WHERE id = ?1",
                        params![result, id],
                    )?;
                }
            }
            Ok(added)
        })
    }

    /// An unsent digest whose slot has passed is replaced by the next slot's digest,
    /// which reports everything since the last digest that went out (one catch-up, not
    /// a backlog). Its reply results go back to waiting for the next digest.
    pub fn supersede_digest(&mut self, id: i64, by_slot: i64) -> Result<()> {
        self.write_durable(|tx| {
            tx.execute(
                "UPDATE digest SET superseded_by_slot = ?2 WHERE id = ?1 AND status <> 'sent'",
                params![id, by_slot],
            )?;
            tx.execute(
                "UPDATE digest_reply SET reported_in = NULL WHERE reported_in = ?1",
                [id],
            )?;
            Ok(())
        })
    }

    /// Count the attempt before trying, so a crash mid-send is visible afterwards.
    pub fn mark_digest_sending(&mut self, id: i64) -> Result<()> {
        self.write_durable(|tx| {
            tx.execute(
                "UPDATE digest SET status = 'sending', attempts = attempts + 1 WHERE id = ?1",
                [id],
            )?;
            Ok(())
        })
    }

    pub fn mark_digest_sent(&mut self, id: i64, now: i64) -> Result<()> {
        // Durable too: a lost "sent" mark would mean a duplicate after a power cut.
        self.write_durable(|tx| {
            tx.execute(
                "UPDATE digest SET status = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
    }

    /// Delivery failed; try again at `retry_at`.
    pub fn mark_digest_failed(&mut self, id: i64, error: &str, retry_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE digest SET status = 'failed', last_error = ?2, next_attempt_at = ?3
                 WHERE id = ?1",
                params![id, error, retry_at],
            )?;
            Ok(())
        })
    }

    /// The newest interaction id the previous digests reported: what is "new" starts
    /// after it. Replaced (superseded) digests do not count, since their replacement
    /// reports what they held. Rows from before this was recorded fall back to what
    /// was logged before they were created.
    pub fn digest_cutoff(&self) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT COALESCE(MAX(COALESCE(through_interaction,
                    (SELECT MAX(i.id) FROM interaction i WHERE i.logged_at < d.created_at), 0)), 0)
             FROM digest d WHERE superseded_by_slot IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Every outbox row, oldest slot first (for tests and `nudged check`).
    pub fn all_digests(&self) -> Result<Vec<DigestRow>> {
        let sql = format!("{SELECT} ORDER BY slot, id");
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}
