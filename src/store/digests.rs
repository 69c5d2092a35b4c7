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
}

const SELECT: &str =
    "SELECT id, slot, message_id, status, attempts, body, created_at, sent_at FROM digest";

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

    /// Digests written but not yet accepted by the mail server.
    pub fn unsent_digests(&self) -> Result<Vec<DigestRow>> {
        let sql =
            format!("{SELECT} WHERE status IN ('pending', 'sending', 'failed') ORDER BY slot");
        let mut stmt = self.read().prepare(&sql)?;
        let rows = stmt
            .query_map([], from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Put a finished digest in the outbox. Returns false if the slot already has one.
    pub fn enqueue_digest(
        &mut self,
        slot: i64,
        message_id: &str,
        body: &[u8],
        now: i64,
    ) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "INSERT INTO digest (slot, message_id, body, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (slot) DO NOTHING",
                params![slot, message_id, body, now],
            )? == 1)
        })
    }

    /// Count the attempt before trying, so a crash mid-send is visible afterwards.
    pub fn mark_digest_sending(&mut self, id: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE digest SET status = 'sending', attempts = attempts + 1 WHERE id = ?1",
                [id],
            )?;
            Ok(())
        })
    }

    pub fn mark_digest_sent(&mut self, id: i64, now: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE digest SET status = 'sent', sent_at = ?2, last_error = NULL WHERE id = ?1",
                params![id, now],
            )?;
            Ok(())
        })
    }

    pub fn mark_digest_failed(&mut self, id: i64, error: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE digest SET status = 'failed', last_error = ?2 WHERE id = ?1",
                params![id, error],
            )?;
            Ok(())
        })
    }

    /// When the last digest was created: new interactions are those logged after it.
    pub fn last_digest_created_at(&self) -> Result<Option<i64>> {
        Ok(self
            .read()
            .query_row("SELECT MAX(created_at) FROM digest", [], |r| r.get(0))?)
    }
}
