//! A task list, whichever kind: a CalDAV collection or a vdir folder behind one set of
//! calls (list, fetch, get, conditional put and delete), so the sync pass is written once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Result, anyhow};

use super::caldav::{DavCollection, Flavor, Listing, WriteResult};
use super::dav::DavClient;
use super::vdir::VdirCollection;
use crate::config::{CalendarConfig, DavKind};
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
                Ok(TaskList::Vdir(VdirCollection::open(
                    path,
                    calendar.collection(),
                    calendar.color.as_deref(),
                )?))
            }
            _ => {
                let client = DavClient::new(&calendar.endpoint()).await?;
                let counter = client.requests.clone();
                let collection = DavCollection::open(
                    client,
                    Flavor::Calendar,
                    Some(calendar.collection()),
                    known,
                    create,
                )
                .await?;
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
            TaskList::Vdir(v) => v.pull(cursor),
        }
    }

    pub async fn fetch(&self, hrefs: &[String]) -> Result<Vec<(String, Option<String>, String)>> {
        match self {
            TaskList::Dav(c, _) => c.fetch(hrefs).await,
            TaskList::Vdir(v) => v.fetch(hrefs),
        }
    }

    pub async fn get(&self, href: &str) -> Result<Option<(Option<String>, String)>> {
        match self {
            TaskList::Dav(c, _) => c.get(href).await,
            TaskList::Vdir(v) => v.get(href),
        }
    }

    pub async fn put(&self, href: &str, text: &str, etag: Option<&str>) -> Result<WriteResult> {
        match self {
            TaskList::Dav(c, _) => c.put(href, text, etag).await,
            TaskList::Vdir(v) => v.put(href, text, etag),
        }
    }

    pub async fn delete(&self, href: &str, etag: Option<&str>) -> Result<WriteResult> {
        match self {
            TaskList::Dav(c, _) => c.delete(href, etag).await,
            TaskList::Vdir(v) => v.delete(href, etag),
        }
    }
}
