//! `Db`: the daemon's one writer and its few readers. The writer connection lives on its
//! own thread and runs write closures sent over a channel, one after another; a closure
//! holds SQL only, so nothing slow (a mail server, a child process) can sit on the lock.
//! Read-only WAL connections, opened lazily, answer queries beside it, and every commit
//! bumps a `watch` counter that caches wait on instead of polling.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use anyhow::{Context, Result, anyhow};
use tokio::sync::{Semaphore, oneshot, watch};

use super::Store;

/// Read connections open at most: two calendar clients and a page at once is plenty,
/// and each one costs its page cache in resident memory.
const READERS: usize = 2;

type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// The daemon's database: clone it freely, every clone talks to the same writer.
#[derive(Clone)]
pub struct Db {
    shared: Arc<Shared>,
}

struct Shared {
    jobs: mpsc::Sender<Job>,
    idle_readers: Mutex<Vec<Store>>,
    reader_slots: Semaphore,
    commits: watch::Receiver<u64>,
    path: PathBuf,
}

impl Db {
    /// Open (creating and migrating if needed) the database at `path` and start its
    /// writer thread, which ends when the last clone is dropped.
    pub fn open(path: &Path) -> Result<Self> {
        let store = Store::open(path)?;
        // The writer mostly appends; SQLite's default page cache would be the largest
        // part of the daemon's resident memory for no gain (the OS caches the file).
        store
            .read()
            .execute_batch("PRAGMA cache_size = -256; PRAGMA mmap_size = 0;")?;
        Self::with_writer(store)
    }

    /// Wrap an already opened store (tests seed it first) as the writer.
    pub fn with_writer(store: Store) -> Result<Self> {
        let path = store.path().to_path_buf();
        let (jobs, queue) = mpsc::channel::<Job>();
        let (bump, commits) = watch::channel(0u64);
        std::thread::Builder::new()
            .name("nudged-db".into())
            .spawn(move || run_writer(store, queue, bump))
            .context("cannot start the database writer thread")?;
        Ok(Self {
            shared: Arc::new(Shared {
                jobs,
                idle_readers: Mutex::new(Vec::new()),
                reader_slots: Semaphore::new(READERS),
                commits,
                path,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Counts commits that changed something; `changed()` on a clone wakes a cache.
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.shared.commits.clone()
    }

    /// Run `work` on the writer, after the writes queued before it. SQL only inside.
    pub async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.send(Box::new(move |store| {
            let _ = reply.send(work(store));
        }))?;
        answer
            .await
            .map_err(|_| anyhow!("a database write panicked; it was rolled back"))?
    }

    /// [`Db::write`] for code that is not async (CLI commands).
    pub fn write_blocking<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        self.send(Box::new(move |store| {
            let _ = reply.send(work(store));
        }))?;
        answer
            .recv()
            .map_err(|_| anyhow!("a database write panicked; it was rolled back"))?
    }

    fn send(&self, job: Job) -> Result<()> {
        self.shared
            .jobs
            .send(job)
            .map_err(|_| anyhow!("the database writer has stopped"))
    }

    /// Run a query on a read-only connection, off the async executor. Writes queued
    /// on the writer never hold it up (WAL: readers see the last commit).
    pub async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T> + Send + 'static,
    {
        let _slot = self
            .shared
            .reader_slots
            .acquire()
            .await
            .context("the database is closed")?;
        let shared = Arc::clone(&self.shared);
        tokio::task::spawn_blocking(move || shared.with_reader(work))
            .await
            .context("a database read panicked")?
    }

    /// [`Db::read`] for code that is not async.
    pub fn read_blocking<T>(&self, work: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.shared.with_reader(work)
    }
}

impl Shared {
    fn with_reader<T>(&self, work: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let idle = self
            .idle_readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let reader = match idle {
            Some(reader) => reader,
            None => Store::open_reader(&self.path)?,
        };
        let result = work(&reader);
        let mut idle = self
            .idle_readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < READERS {
            idle.push(reader);
        }
        result
    }
}

/// The writer thread: one job at a time until every sender is gone. A panicking job
/// rolled back its transaction when it unwound, so the connection goes on serving.
fn run_writer(mut store: Store, queue: mpsc::Receiver<Job>, bump: watch::Sender<u64>) {
    while let Ok(job) = queue.recv() {
        let before = store.read().total_changes();
        if std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut store))).is_err() {
            tracing::error!("a database write panicked; it was rolled back");
        }
        if store.read().total_changes() != before {
            bump.send_modify(|count| *count = count.wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_bump_the_counter_and_readers_see_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("n.db")).unwrap();
        let mut commits = db.commits();
        let seen = *commits.borrow_and_update();
        db.write(|s| s.set_setting("k", "v")).await.unwrap();
        commits.changed().await.unwrap();
        assert!(*commits.borrow() > seen);
        let value = db.read(|s| s.setting("k")).await.unwrap();
        assert_eq!(value.as_deref(), Some("v"));
        // A read changes nothing, so it wakes no cache.
        assert!(!commits.has_changed().unwrap());
    }

    #[tokio::test]
    async fn readers_cannot_write_and_a_panic_leaves_the_writer_alive() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("n.db")).unwrap();
        let refused = db
            .read(|s| Ok(s.read().execute("DELETE FROM setting", [])?))
            .await;
        assert!(refused.is_err());
        let panicked = db.write(|_| -> Result<()> { panic!("boom") }).await;
        assert!(format!("{:#}", panicked.unwrap_err()).contains("rolled back"));
        db.write(|s| s.set_setting("after", "yes")).await.unwrap();
        assert_eq!(
            db.read_blocking(|s| s.setting("after")).unwrap().as_deref(),
            Some("yes")
        );
    }
}
