//! Store: the only module that touches SQLite. One file, WAL, foreign keys on, an
//! explicit busy timeout, write transactions that take the write lock up front
//! (IMMEDIATE) so two writers never deadlock halfway through. The file is created 0600:
//! it holds who the user talks to.
//!
//! The daemon reaches it through [`Db`]: one writer thread and a few read-only
//! connections; CLI commands open a `Store` of their own for one short command.

mod activity;
pub(crate) mod calendar_items;
pub(crate) mod contacts;
mod db;
pub(crate) mod digest_queries;
mod digests;
pub(crate) mod followups;
pub(crate) mod imports;
pub(crate) mod interactions;
pub mod migrations;
pub(crate) mod people;
pub(crate) mod stats;
pub mod sync_state;
mod web;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

pub use activity::PlatformActivity;
pub use calendar_items::{AppliedChanges, CalendarCursor, CalendarOutcome, CalendarSnapshot};
pub use contacts::{
    ContactRow, IdentityRow, LastContact, NewIdentity, normalize_email, normalize_profile_url,
};
pub use db::Db;
pub use digest_queries::{ReplyResult, ReplyResultRow, TaskContext, TaskSketch, Touch};
pub use digests::{DigestRow, DigestStatus};
pub use followups::{FollowupRow, FollowupStatus, NewFollowup};
pub use imports::{ImportOutcome, ImportReport, ImportedContact};
pub use interactions::{InteractionRow, NewInteraction, Recorded};
pub use people::{ContactDetail, LookupError, MergeOutcome};
/// The open write transaction a store function records into; callers outside the store
/// hold it only to hand it on (every SQL statement is written here).
pub use rusqlite::Transaction;
pub use stats::PlatformWindow;
pub use sync_state::MailboxState;
pub use web::{LinkOutcome, TaskChange};

/// How long a writer waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the database folder {}", dir.display()))?;
        }
        create_private(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the database {}", path.display()))?;
        Self::setup(conn, path.to_path_buf())
    }

    /// A read-only connection to a database [`Store::open`] already migrated, for
    /// queries beside the writer: small page cache, no memory map, `query_only` so a
    /// write sent here by mistake fails loudly.
    pub fn open_reader(path: &Path) -> Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open the database {} for reading", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.execute_batch(
            "PRAGMA query_only = ON; PRAGMA cache_size = -512; PRAGMA mmap_size = 0;",
        )?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// A private in-memory database, for tests and `classify`-style dry runs.
    pub fn in_memory() -> Result<Self> {
        Self::setup(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn setup(mut conn: Connection, path: PathBuf) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if mode != "wal" && path.as_os_str() != ":memory:" {
            tracing::warn!(mode, "the database did not switch to WAL mode");
        }
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        // A 16 MiB page cache and memory-mapped reads: the ROI figures scan months of
        // index pages, which otherwise cost a read() call each time they are wanted.
        conn.execute_batch("PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456;")?;
        migrations::migrate(&mut conn)
            .with_context(|| format!("cannot prepare the database {}", path.display()))?;
        Ok(Self { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `work` in one IMMEDIATE transaction: all of it lands or none of it does.
    pub fn write<T>(&mut self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&tx)?;
        tx.commit().context("cannot commit to the database")?;
        Ok(value)
    }

    /// Like [`Store::write`], but the commit reaches the disk before this returns
    /// (`synchronous = FULL` for this one commit), for rows that must survive a power cut
    /// such as a digest about to be handed to a mail server.
    pub fn write_durable<T>(
        &mut self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.conn.execute_batch("PRAGMA synchronous = FULL")?;
        let result = self.write(work);
        // Back to the cheap default even when the write failed.
        let restored = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        let value = result?;
        restored?;
        Ok(value)
    }

    /// Read-only access for queries.
    pub fn read(&self) -> &Connection {
        &self.conn
    }

    pub fn schema_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// A write that is rolled back: proves the database takes writes (not read-only,
    /// not locked for good) and leaves it as it was.
    pub fn probe_write(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO setting (key, value) VALUES ('check_write_probe', '')
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [],
        )?;
        tx.rollback()?;
        Ok(())
    }

    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))?)
    }

    /// Copy the live database to `target` with SQLite's online backup (consistent even
    /// while the daemon writes), via a temporary file renamed into place. Returns the
    /// number of pages copied.
    pub fn backup_to(&self, target: &Path) -> Result<i64> {
        let dir = target
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(".nudged-backup-{}.tmp", std::process::id()));
        create_private(&tmp)?;
        let result = (|| -> Result<i64> {
            let mut copy = Connection::open(&tmp)?;
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut copy)?;
            backup.run_to_completion(256, Duration::from_millis(5), None)?;
            let pages = backup.progress().pagecount as i64;
            drop(backup);
            let check: String = copy.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            anyhow::ensure!(
                check == "ok",
                "the backup copy failed its integrity check: {check}"
            );
            Ok(pages)
        })();
        match result {
            Ok(pages) => {
                std::fs::rename(&tmp, target)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                Ok(pages)
            }
            Err(err) => {
                let _ = std::fs::remove_file(&tmp);
                Err(err.context(format!("backup to {} failed", target.display())))
            }
        }
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM setting WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO setting (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )?;
            Ok(())
        })
    }

    pub fn delete_setting(&mut self, key: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM setting WHERE key = ?1", [key])?;
            Ok(())
        })
    }
}

/// Create the file with mode 0600 before SQLite does (SQLite would honour the umask).
fn create_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(err) => {
                Err(err).with_context(|| format!("cannot create the database {}", path.display()))
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

pub fn to_unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

pub fn from_unix(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_database_is_private_and_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/nudged.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            migrations::latest_version()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let mode: String = store
            .read()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn reopening_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nudged.db");
        let mut store = Store::open(&path).unwrap();
        store.set_setting("k", "v").unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.setting("k").unwrap().as_deref(), Some("v"));
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn newer_schema_is_refused_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nudged.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 999).unwrap();
        }
        let err = Store::open(&path).err().unwrap();
        assert!(format!("{err:#}").contains("newer"), "{err:#}");
    }
}
