//! CalDAV (RFC 4791) and CardDAV (RFC 6352) collections: discovery from a server root,
//! principal or collection (RFC 6764 well-known URIs, current-user-principal, the home
//! set), MKCALENDAR for a VTODO list, incremental listing by sync-collection (RFC 6578)
//! or else by ctag and ETags, multiget, and conditional PUT/DELETE.

use anyhow::{Context, Result, bail};
use reqwest::{StatusCode, Url};

use super::dav::{DavClient, DavResponse, resolve, xml_escape};
use crate::store::CalendarCursor;

/// Calendars or address books: the names that differ between the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Calendar,
    AddressBook,
}

impl Flavor {
    fn well_known(self) -> &'static str {
        match self {
            Flavor::Calendar => "/.well-known/caldav",
            Flavor::AddressBook => "/.well-known/carddav",
        }
    }
    fn namespace(self) -> &'static str {
        match self {
            Flavor::Calendar => "urn:ietf:params:xml:ns:caldav",
            Flavor::AddressBook => "urn:ietf:params:xml:ns:carddav",
        }
    }
    fn home_set(self) -> &'static str {
        match self {
            Flavor::Calendar => "calendar-home-set",
            Flavor::AddressBook => "addressbook-home-set",
        }
    }
    fn resource(self) -> &'static str {
        match self {
            Flavor::Calendar => "calendar",
            Flavor::AddressBook => "addressbook",
        }
    }
    fn data(self) -> &'static str {
        match self {
            Flavor::Calendar => "calendar-data",
            Flavor::AddressBook => "address-data",
        }
    }
    fn multiget(self) -> &'static str {
        match self {
            Flavor::Calendar => "calendar-multiget",
            Flavor::AddressBook => "addressbook-multiget",
        }
    }
}

/// Members of a collection that changed since the cursor.
#[derive(Debug, Default)]
pub struct Listing {
    /// (href, ETag) of members added or changed.
    pub changed: Vec<(String, Option<String>)>,
    pub removed: Vec<String>,
    /// `changed` is every member: those not in it are gone.
    pub complete: bool,
    pub cursor: CalendarCursor,
}

/// How a conditional write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteResult {
    Stored {
        etag: Option<String>,
    },
    /// 412: someone else changed (or created) the item first.
    Conflict,
}

/// One collection on a DAV server.
pub struct DavCollection {
    pub client: DavClient,
    pub url: Url,
    flavor: Flavor,
    /// Use sync-collection when the server offers it (`sync = "etag"` turns it off).
    pub incremental: bool,
}

const ITEM_PROPS: &str = "<d:prop><d:getetag/></d:prop>";

impl DavCollection {
    /// Find (for calendars: create if missing) the collection named `display_name`
    /// under the client's URL, unless `known` already says where it is. For address
    /// books, `None` takes the first one found.
    pub async fn open(
        client: DavClient,
        flavor: Flavor,
        display_name: Option<&str>,
        known: Option<&str>,
        create: bool,
    ) -> Result<Self> {
        if let Some(url) = known.and_then(|k| Url::parse(k).ok()) {
            return Ok(Self {
                client,
                url,
                flavor,
                incremental: true,
            });
        }
        let url = discover(&client, flavor, display_name, create).await?;
        Ok(Self {
            client,
            url,
            flavor,
            incremental: true,
        })
    }

    /// The changes since `cursor`: one request when the server offers sync-collection
    /// or an unchanged ctag.
    pub async fn pull(&self, cursor: &CalendarCursor) -> Result<Listing> {
        let mut next = CalendarCursor {
            collection_url: Some(self.url.to_string()),
            ..cursor.clone()
        };
        if !self.incremental {
            // A token kept from `sync = "auto"` is not trusted any more.
            next.sync_token = None;
        }
        if self.incremental
            && let Some(token) = &cursor.sync_token
        {
            match self.sync_collection(Some(token)).await? {
                Some(listing) => return Ok(with_url(listing, &next)),
                None => next.sync_token = None,
            }
        }
        let body = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:supported-report-set/><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#;
        let ms = self
            .client
            .multistatus("PROPFIND", &self.url, "0", body)
            .await?;
        let about = ms.responses.first();
        let offers_sync = self.incremental
            && about.is_some_and(|r| r.has_element("supported-report-set", "sync-collection"));
        if offers_sync && let Some(listing) = self.sync_collection(None).await? {
            return Ok(with_url(listing, &next));
        }
        let ctag = about.and_then(|r| r.text("getctag")).map(str::to_string);
        if ctag.is_some() && ctag == cursor.ctag {
            return Ok(Listing {
                cursor: next,
                ..Listing::default()
            });
        }
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:">{ITEM_PROPS}</d:propfind>"#
        );
        let ms = self
            .client
            .multistatus("PROPFIND", &self.url, "1", &body)
            .await?;
        next.ctag = ctag;
        Ok(Listing {
            changed: members(&self.url, &ms.responses),
            removed: Vec::new(),
            complete: true,
            cursor: next,
        })
    }

    /// REPORT sync-collection; `None` when the server no longer accepts the token.
    async fn sync_collection(&self, token: Option<&str>) -> Result<Option<Listing>> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level>{ITEM_PROPS}</d:sync-collection>"#,
            xml_escape(token.unwrap_or_default())
        );
        let reply = self
            .client
            .send("REPORT", &self.url, &[("Depth", "1")], Some(&body))
            .await?;
        match reply.status {
            StatusCode::MULTI_STATUS => {}
            StatusCode::FORBIDDEN | StatusCode::CONFLICT | StatusCode::PRECONDITION_FAILED
                if token.is_some() =>
            {
                return Ok(None);
            }
            status => bail!("sync-collection on {} answered {status}", self.url),
        }
        let ms = super::dav::parse_multistatus(&reply.body)
            .with_context(|| format!("sync-collection on {}: unreadable XML", self.url))?;
        let removed = ms
            .responses
            .iter()
            .filter(|r| r.status == Some(404))
            .map(|r| r.href.clone())
            .collect();
        Ok(Some(Listing {
            changed: members(&self.url, &ms.responses),
            removed,
            complete: token.is_none(),
            cursor: CalendarCursor {
                sync_token: ms.sync_token,
                ..CalendarCursor::default()
            },
        }))
    }

    /// The text and ETag of each of `hrefs` (those still there), in batches.
    pub async fn fetch(&self, hrefs: &[String]) -> Result<Vec<(String, Option<String>, String)>> {
        let mut out = Vec::new();
        for batch in hrefs.chunks(500) {
            let list: String = batch
                .iter()
                .map(|h| format!("<d:href>{}</d:href>", xml_escape(h)))
                .collect();
            let body = format!(
                r#"<?xml version="1.0" encoding="utf-8"?><c:{m} xmlns:d="DAV:" xmlns:c="{ns}"><d:prop><d:getetag/><c:{data}/></d:prop>{list}</c:{m}>"#,
                m = self.flavor.multiget(),
                ns = self.flavor.namespace(),
                data = self.flavor.data(),
            );
            let ms = self
                .client
                .multistatus("REPORT", &self.url, "1", &body)
                .await?;
            for r in ms.responses {
                if let Some(data) = r.text(self.flavor.data()) {
                    out.push((
                        r.href.clone(),
                        r.text("getetag").map(str::to_string),
                        data.to_string(),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// One item, or `None` when it is gone.
    pub async fn get(&self, href: &str) -> Result<Option<(Option<String>, String)>> {
        let url = resolve(&self.url, href)?;
        let reply = self.client.send("GET", &url, &[], None).await?;
        match reply.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            status if status.is_success() => Ok(Some((reply.etag, reply.body))),
            status => bail!("GET {url} answered {status}"),
        }
    }

    /// PUT with `If-Match: etag`, or `If-None-Match: *` to create.
    pub async fn put(&self, href: &str, text: &str, etag: Option<&str>) -> Result<WriteResult> {
        let url = resolve(&self.url, href)?;
        let condition = match etag {
            Some(etag) => ("If-Match", etag),
            None => ("If-None-Match", "*"),
        };
        let reply = self
            .client
            .send("PUT", &url, &[condition], Some(text))
            .await?;
        match reply.status {
            StatusCode::PRECONDITION_FAILED => Ok(WriteResult::Conflict),
            status if status.is_success() => Ok(WriteResult::Stored { etag: reply.etag }),
            status => bail!("PUT {url} answered {status}: {}", first_line(&reply.body)),
        }
    }

    /// DELETE with `If-Match`; an item already gone counts as deleted.
    pub async fn delete(&self, href: &str, etag: Option<&str>) -> Result<WriteResult> {
        let url = resolve(&self.url, href)?;
        let headers: Vec<(&str, &str)> = etag.map(|e| ("If-Match", e)).into_iter().collect();
        let reply = self.client.send("DELETE", &url, &headers, None).await?;
        match reply.status {
            StatusCode::PRECONDITION_FAILED => Ok(WriteResult::Conflict),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(WriteResult::Stored { etag: None }),
            status if status.is_success() => Ok(WriteResult::Stored { etag: None }),
            status => bail!("DELETE {url} answered {status}"),
        }
    }

    /// Every member's text (address books: read whole at start and daily).
    pub async fn read_all(&self) -> Result<Vec<String>> {
        let listing = self.pull(&CalendarCursor::default()).await?;
        let hrefs: Vec<String> = listing.changed.into_iter().map(|(h, _)| h).collect();
        Ok(self
            .fetch(&hrefs)
            .await?
            .into_iter()
            .map(|(_, _, text)| text)
            .collect())
    }
}

fn with_url(mut listing: Listing, cursor: &CalendarCursor) -> Listing {
    listing.cursor.collection_url = cursor.collection_url.clone();
    listing.cursor.ctag = cursor.ctag.clone();
    listing
}

/// Members (not the collection itself) with their ETags.
fn members(collection: &Url, responses: &[DavResponse]) -> Vec<(String, Option<String>)> {
    responses
        .iter()
        .filter(|r| r.status != Some(404) && !r.href.ends_with('/'))
        .filter(|r| resolve(collection, &r.href).is_ok_and(|u| u.path() != collection.path()))
        .map(|r| (r.href.clone(), r.text("getetag").map(str::to_string)))
        .collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Server root, principal or collection → the collection (created for calendars).
async fn discover(
    client: &DavClient,
    flavor: Flavor,
    display_name: Option<&str>,
    create: bool,
) -> Result<Url> {
    let ns = flavor.namespace();
    let about = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="{ns}"><d:prop><d:resourcetype/><d:displayname/><d:current-user-principal/><c:{home}/></d:prop></d:propfind>"#,
        home = flavor.home_set()
    );
    let mut start = client.base.clone();
    if matches!(start.path(), "" | "/") {
        // RFC 6764 §5: the well-known URI points at the context path, if there is one.
        let well_known = resolve(&start, flavor.well_known())?;
        if let Ok(ms) = client
            .multistatus("PROPFIND", &well_known, "0", &about)
            .await
            && let Some(r) = ms.responses.first()
        {
            start = resolve(&well_known, &r.href).unwrap_or(start);
        }
    }
    let ms = client.multistatus("PROPFIND", &start, "0", &about).await?;
    let first = ms.responses.first().cloned().unwrap_or_default();
    if first.has_element("resourcetype", flavor.resource()) {
        return Ok(start);
    }
    let mut home = first
        .prop(flavor.home_set())
        .and_then(|p| p.hrefs.first())
        .map(|h| resolve(&start, h))
        .transpose()?;
    if home.is_none()
        && let Some(principal) = first
            .prop("current-user-principal")
            .and_then(|p| p.hrefs.first())
    {
        let principal = resolve(&start, principal)?;
        let ms = client
            .multistatus("PROPFIND", &principal, "0", &about)
            .await?;
        home = ms
            .responses
            .first()
            .and_then(|r| r.prop(flavor.home_set()))
            .and_then(|p| p.hrefs.first())
            .map(|h| resolve(&principal, h))
            .transpose()?;
    }
    let home = home.with_context(|| {
        format!(
            "{start} names no {} or current-user-principal; set url to the collection itself",
            flavor.home_set()
        )
    })?;
    let ms = client.multistatus("PROPFIND", &home, "1", &about).await?;
    let found = ms.responses.iter().find(|r| {
        r.has_element("resourcetype", flavor.resource())
            && display_name.is_none_or(|name| r.text("displayname") == Some(name))
    });
    if let Some(found) = found {
        return resolve(&home, &found.href);
    }
    let (Flavor::Calendar, Some(name), true) = (flavor, display_name, create) else {
        bail!(
            "{home} holds no {}{}",
            flavor.resource(),
            display_name
                .map(|n| format!(" named {n:?}"))
                .unwrap_or_default()
        );
    };
    make_calendar(client, &home, name).await
}

/// MKCALENDAR a VTODO list named `name` under `home`.
async fn make_calendar(client: &DavClient, home: &Url, name: &str) -> Result<Url> {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let url = resolve(home, &format!("{}/", slug.trim_matches('-')))?;
    let body = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>{}</d:displayname><c:supported-calendar-component-set><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"#,
        xml_escape(name)
    );
    let reply = client.send("MKCALENDAR", &url, &[], Some(&body)).await?;
    if !reply.status.is_success() {
        bail!(
            "cannot create the task list {name:?} at {url}: the server answered {}",
            reply.status
        );
    }
    tracing::info!(%url, "created the task list {name:?}");
    Ok(url)
}
