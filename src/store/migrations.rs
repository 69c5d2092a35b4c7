//! Schema changes, in order. Each entry runs once, in its own transaction, and bumps
//! `PRAGMA user_version`; a database is never recreated or wiped. To change the schema,
//! append an entry — never edit one that has shipped.

use anyhow::{Context, Result, bail};
use rusqlite::Connection;

/// Every migration; index + 1 is the `user_version` after it ran.
pub const MIGRATIONS: &[&str] = &[
    // 1: the data model of DESIGN.md. Times are UTC unix seconds.
    r#"
    CREATE TABLE contact (
        id INTEGER PRIMARY KEY,
        display_name TEXT NOT NULL,
        tier TEXT NOT NULL DEFAULT 'default',
        note TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE identity (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL REFERENCES contact(id),
        platform TEXT NOT NULL,
        handle TEXT NOT NULL,
        profile_url TEXT UNIQUE,
        email TEXT,
        UNIQUE (platform, handle)
    );
    CREATE INDEX identity_contact ON identity(contact_id);
    CREATE INDEX identity_email ON identity(email);
    CREATE TABLE interaction (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER REFERENCES contact(id),
        identity_id INTEGER REFERENCES identity(id),
        platform TEXT NOT NULL,
        kind TEXT NOT NULL,
        occurred_at INTEGER NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        snippet TEXT NOT NULL DEFAULT '',
        link TEXT,
        template TEXT,
        rule TEXT,
        source_message_id TEXT UNIQUE,
        verified TEXT NOT NULL DEFAULT 'unverified',
        logged_at INTEGER NOT NULL
    );
    CREATE INDEX interaction_contact ON interaction(contact_id, occurred_at);
    CREATE INDEX interaction_logged ON interaction(logged_at);
    CREATE INDEX interaction_platform ON interaction(platform, occurred_at);
    CREATE TABLE followup (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL REFERENCES contact(id),
        interaction_id INTEGER REFERENCES interaction(id),
        plan_key TEXT NOT NULL UNIQUE,
        rule TEXT NOT NULL,
        title TEXT NOT NULL,
        note TEXT,
        due_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
            CHECK (status IN ('open', 'done', 'snoozed', 'skipped', 'expired')),
        resolved_at INTEGER,
        sequence INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX followup_status_due ON followup(status, due_at);
    CREATE INDEX followup_contact ON followup(contact_id);
    CREATE TABLE mailbox_state (
        source TEXT NOT NULL,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_seen_uid INTEGER NOT NULL,
        highest_modseq INTEGER,
        PRIMARY KEY (source, folder)
    );
    CREATE TABLE maildir_seen (
        source TEXT NOT NULL,
        folder TEXT NOT NULL,
        file_key TEXT NOT NULL,
        seen_at INTEGER NOT NULL,
        PRIMARY KEY (source, folder, file_key)
    ) WITHOUT ROWID;
    CREATE TABLE digest (
        id INTEGER PRIMARY KEY,
        slot INTEGER NOT NULL UNIQUE,
        message_id TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        body BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        sent_at INTEGER,
        last_error TEXT
    );
    CREATE TABLE setting (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 2: one-click links that have acted, so a repeated POST (a double tap, a browser
    // resending a form) changes nothing. Keyed by the link's signature.
    r#"
    CREATE TABLE action_link_used (
        signature TEXT PRIMARY KEY,
        followup_id INTEGER NOT NULL,
        action TEXT NOT NULL,
        used_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: people across platforms and the planner's bookkeeping. Names a merged contact
    // had stay findable; `closed_by` says which event closed a task by itself; the
    // indexes keep planning after one interaction and the ROI figures fast on a large
    // log (the two time indexes cover their queries, so no table row is read).
    r#"
    CREATE TABLE contact_alias (
        id INTEGER PRIMARY KEY,
        contact_id INTEGER NOT NULL REFERENCES contact(id),
        name TEXT NOT NULL,
        merged_from INTEGER,
        UNIQUE (contact_id, name)
    );
    CREATE INDEX contact_alias_name ON contact_alias(name COLLATE NOCASE);
    CREATE UNIQUE INDEX contact_alias_merged ON contact_alias(merged_from);
    CREATE INDEX contact_name ON contact(display_name COLLATE NOCASE);
    ALTER TABLE followup ADD COLUMN closed_by TEXT;
    CREATE INDEX followup_contact_status ON followup(contact_id, status);
    CREATE INDEX followup_resolved ON followup(resolved_at, status, interaction_id, rule);
    CREATE INDEX followup_interaction ON followup(interaction_id);
    CREATE INDEX interaction_occurred ON interaction(occurred_at, platform, kind, contact_id);
    CREATE INDEX interaction_identity ON interaction(identity_id);
    "#,
    // 4: the digest outbox retries on a schedule, knows when a newer slot replaced an
    // unsent row and which interactions it covered; one process sends at a time (lease);
    // replies to a digest and what their commands did, until the next digest reports them.
    r#"
    ALTER TABLE digest ADD COLUMN next_attempt_at INTEGER;
    ALTER TABLE digest ADD COLUMN superseded_by_slot INTEGER;
    ALTER TABLE digest ADD COLUMN through_interaction INTEGER;
    CREATE TABLE lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE TABLE digest_reply (
        id INTEGER PRIMARY KEY,
        reply_message_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        digest_message_id TEXT NOT NULL,
        command TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'failed', 'unknown')),
        detail TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        reported_in INTEGER REFERENCES digest(id),
        UNIQUE (reply_message_id, position)
    );
    CREATE INDEX digest_reply_unreported ON digest_reply(reported_in);
    CREATE INDEX digest_message_id ON digest(message_id);
    "#,
    // 5: IMAP messages that vanished between the header and the body fetch (expunged by
    // another client), so they are counted and never retried.
    r#"
    CREATE TABLE imap_skipped (
        source TEXT NOT NULL,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        reason TEXT NOT NULL,
        skipped_at INTEGER NOT NULL,
        PRIMARY KEY (source, folder, uidvalidity, uid)
    ) WITHOUT ROWID;
    "#,
    // 6: each contact's latest social interaction (the reconnect planner asks every
    // minute) from an index alone. Without `kind` in it every interaction row was read,
    // and with memory-mapped reads the daemon's resident size grew with the whole table.
    // The same index, one column wider, so no other query's plan changes (a separate
    // (contact_id, kind, occurred_at) index slowed the digest's queries by 6 ms).
    r#"
    DROP INDEX interaction_contact;
    CREATE INDEX interaction_contact ON interaction(contact_id, occurred_at, kind);
    "#,
    // 7: each task knows its platform, so ranking 5,000 pending tasks and counting closed
    // ones per platform read the small followup table alone: the join to `interaction`
    // for its platform cost the digest a random read per task (about 3 ms).
    r#"
    ALTER TABLE followup ADD COLUMN platform TEXT;
    UPDATE followup SET platform = (SELECT i.platform FROM interaction i WHERE i.id = followup.interaction_id)
     WHERE interaction_id IS NOT NULL;
    CREATE INDEX followup_resolved_platform ON followup(resolved_at, status, platform);
    "#,
    // 8: task lists kept in step with the follow-ups (CalDAV, vdir): per list, each
    // item's place, ETag, the hash of what nudged last wrote and the person's STATUS, DUE
    // and PRIORITY as last seen; and per list its collection and sync token.
    r#"
    CREATE TABLE calendar_item (
        calendar TEXT NOT NULL,
        uid TEXT NOT NULL,
        followup_id INTEGER NOT NULL REFERENCES followup(id),
        href TEXT NOT NULL,
        etag TEXT,
        hash TEXT NOT NULL,
        state TEXT NOT NULL,
        due_at INTEGER NOT NULL,
        priority INTEGER,
        PRIMARY KEY (calendar, uid)
    ) WITHOUT ROWID;
    CREATE INDEX calendar_item_followup ON calendar_item(followup_id);
    CREATE TABLE calendar_state (
        calendar TEXT PRIMARY KEY,
        collection_url TEXT,
        sync_token TEXT,
        ctag TEXT,
        synced_at INTEGER
    );
    "#,
];

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Bring the database up to date, one transaction per step.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > latest_version() {
        bail!(
            "the database is at schema version {current}, newer than this nudged understands ({}); \
             run the newer nudged or restore a backup",
            latest_version()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)
            .with_context(|| format!("database migration to version {version} failed"))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}
