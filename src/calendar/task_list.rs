//! A task list, whichever kind: a CalDAV collection or a vdir folder behind one set of
//! calls (list, fetch, get, conditional put and delete), so the sync pass is written once.
//! A vdir's file I/O runs on tokio's blocking pool, so a slow disk stalls no other task.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow};

use super::caldav::{DavCollection, Flavor, Listing, WriteResult};
use super::dav::DavClient;
use super::vdir::VdirCollection;
use crate::config::{CalendarConfig, DavKind, SyncMode};
use crate::store::CalendarCursor;

/// A CalDAV collection or a vdir, behind one set of calls.
pub enum TaskList {
    Dav(Box<DavCollection>, Arc<AtomicUsize>),
    Vdir(VdirCollection),
}

impl TaskList {
    /// Connect (CalDAV: discover, and create the list when `create`) or open the folder.
    pub async fn open(
        calendar: &CalendarConfig,
        known: Option<&str>,
        create: bool,
    ) -> Result<Self> {
        match calendar.kind {
            DavKind::Vdir => {
                let path = calendar
                    .path
                    .as_deref()
                    .ok_or_else(|| anyhow!("calendar {:?} has no path", calendar.name))?;
                let (path, name) = (path.to_path_buf(), calendar.collection().to_string());
                let color = calendar.color.clone();
                let vdir =
                    blocking(move || VdirCollection::open(&path, &name, color.as_deref())).await?;
                Ok(TaskList::Vdir(vdir))
            }
            _ => {
                let client = DavClient::new(&calendar.endpoint()).await?;
                let counter = client.requests.clone();
                let mut collection = DavCollection::open(
                    client,
                    Flavor::Calendar,
                    Some(calendar.collection()),
                    known,
                    create,
                )
                .await?;
                collection.incremental = calendar.sync == SyncMode::Auto;
                Ok(TaskList::Dav(Box::new(collection), counter))
            }
        }
    }

    pub fn requests(&self) -> usize {
        match self {
            TaskList::Dav(_, counter) => counter.load(Ordering::Relaxed),
            TaskList::Vdir(_) => 0,
        }
    }

    pub async fn pull(&self, cursor: &CalendarCursor) -> Result<Listing> {
        match self {
            TaskList::Dav(c, _) => c.pull(cursor).await,
            TaskList::Vdir(v) => {
                let (v, cursor) = (v.clone(), cursor.clone());
                blocking(move || v.pull(&cursor)).await
            }
        }
    }

    pub async fn fetch(&self, hrefs: &[String]) -> Result<Vec<(String, Option<String>, String)>> {
        match self {
            TaskList::Dav(c, _) => c.fetch(hrefs).await,
            TaskList::Vdir(v) => {
                let (v, hrefs) = (v.clone(), hrefs.to_vec());
                blocking(move || v.fetch(&hrefs)).await
            }
        }
    }

    pub async fn get(&self, href: &str) -> Result<Option<(Option<String>, String)>> {
        match self {
            TaskList::Dav(c, _) => c.get(href).await,
            TaskList::Vdir(v) => {
                let (v, href) = (v.clone(), href.to_string());
                blocking(move || v.get(&href)).await
            }
        }
    }

    pub async fn put(&self, href: &str, text: &str, etag: Option<&str>) -> Result<WriteResult> {
        match self {
            TaskList::Dav(c, _) => c.put(href, text, etag).await,
            TaskList::Vdir(v) => {
                let (v, href, text) = (v.clone(), href.to_string(), text.to_string());
                let etag = etag.map(str::to_string);
                blocking(move || v.put(&href, &text, etag.as_deref())).await
            }
        }
    }

    pub async fn delete(&self, href: &str, etag: Option<&str>) -> Result<WriteResult> {
        match self {
            TaskList::Dav(c, _) => c.delete(href, etag).await,
            TaskList::Vdir(v) => {
                let (v, href, etag) = (v.clone(), href.to_string(), etag.map(str::to_string));
                blocking(move || v.delete(&href, etag.as_deref())).await
            }
        }
    }
}

/// Run file I/O on the blocking pool and wait for it.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| anyhow!("a vdir file task stopped: {err}"))?
}
