//! UID SEARCH, header FETCH and body FETCH commands in flight on one session at once.
//!
//! A backfill asks the server for thousands of batches. Sent one after another, the
//! server waits while we classify and we wait while it reads its files; on a 2-core
//! home server that costs the sum of both. So the next search window and the next
//! batch's header FETCH are sent before the current batch's bodies are asked for, and
//! the server always has work queued. IMAP allows this (RFC 3501 §5.5); a server may
//! even answer two commands interleaved, so each untagged answer is routed by what it
//! carries (search hits, header fields or a whole message), and each command ends with
//! its own tagged reply.

use std::collections::HashMap;

use anyhow::{Context, Result, anyhow, bail};
use async_imap::imap_proto::{
    AttributeValue, MailboxDatum, RequestId, Response, ResponseCode, Status,
};

use super::connect::Session;

/// Header fields of one message from the first look.
pub(super) struct FirstLook {
    pub uid: u32,
    pub size: u32,
    pub headers: Vec<u8>,
}

/// How a body FETCH ended.
pub(super) enum Bodies {
    Fetched(HashMap<u32, Vec<u8>>),
    /// The server refused the whole set (NO or BAD), e.g. because one UID vanished.
    Refused(String),
}

/// One command in flight: its tag, what it returned so far, and once its tagged reply
/// came, whether that was OK (or the server's reason for not).
struct InFlight<T> {
    tag: RequestId,
    got: T,
    ended: Option<Result<(), String>>,
}

impl<T> InFlight<T> {
    fn new(tag: RequestId, got: T) -> Self {
        Self {
            tag,
            got,
            ended: None,
        }
    }
}

/// At most one UID SEARCH, one header FETCH and one body FETCH in flight on `session`.
pub(super) struct Pipelined<'a> {
    session: &'a mut Session,
    /// `(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (...)])`
    look_items: String,
    search: Option<InFlight<Vec<u32>>>,
    looks: Option<InFlight<Vec<FirstLook>>>,
    bodies: Option<InFlight<HashMap<u32, Vec<u8>>>>,
}

impl<'a> Pipelined<'a> {
    pub fn new(session: &'a mut Session, header_fields: &[String]) -> Self {
        Self {
            session,
            look_items: format!(
                "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS ({})])",
                header_fields.join(" ")
            ),
            search: None,
            looks: None,
            bodies: None,
        }
    }

    /// `UID SEARCH criteria`; read the hits with [`Self::search_hits`].
    pub async fn send_search(&mut self, criteria: &str) -> Result<()> {
        debug_assert!(self.search.is_none(), "one UID SEARCH at a time");
        let tag = self
            .send("UID SEARCH", format!("UID SEARCH {criteria}"))
            .await?;
        self.search = Some(InFlight::new(tag, Vec::new()));
        Ok(())
    }

    /// The UIDs the search in flight found, in the order the server gave them.
    pub async fn search_hits(&mut self) -> Result<Vec<u32>> {
        match self.wait(|p| &mut p.search).await? {
            (hits, Ok(())) => Ok(hits),
            (_, Err(why)) => bail!("UID SEARCH failed: {why}"),
        }
    }

    /// Ask for the header fields of `uid_set`; read them with [`Self::first_looks`].
    pub async fn send_first_look(&mut self, uid_set: &str) -> Result<()> {
        debug_assert!(self.looks.is_none(), "one header FETCH at a time");
        let tag = self
            .send(
                "the header FETCH",
                format!("UID FETCH {uid_set} {}", self.look_items),
            )
            .await?;
        self.looks = Some(InFlight::new(tag, Vec::new()));
        Ok(())
    }

    /// The answer to the header FETCH in flight, sorted by UID.
    pub async fn first_looks(&mut self) -> Result<Vec<FirstLook>> {
        match self.wait(|p| &mut p.looks).await? {
            (mut looks, Ok(())) => {
                looks.sort_unstable_by_key(|l| l.uid);
                Ok(looks)
            }
            (_, Err(why)) => bail!("header FETCH failed: {why}"),
        }
    }

    /// Whole messages by UID (BODY.PEEK, so `\Seen` is never set). A search or header
    /// FETCH in flight keeps running meanwhile; its answers are kept for later.
    pub async fn bodies(&mut self, uid_set: &str) -> Result<Bodies> {
        let tag = self
            .send(
                "the body FETCH",
                format!("UID FETCH {uid_set} (UID BODY.PEEK[])"),
            )
            .await?;
        self.bodies = Some(InFlight::new(tag, HashMap::new()));
        Ok(match self.wait(|p| &mut p.bodies).await? {
            (bodies, Ok(())) => Bodies::Fetched(bodies),
            (_, Err(why)) => Bodies::Refused(why),
        })
    }

    async fn send(&mut self, what: &str, command: String) -> Result<RequestId> {
        self.session
            .run_command(command)
            .await
            .with_context(|| format!("sending {what} failed"))
    }

    /// Read until the command in `slot` has its tagged reply: what it returned, and
    /// whether it ended OK.
    async fn wait<T>(
        &mut self,
        slot: fn(&mut Self) -> &mut Option<InFlight<T>>,
    ) -> Result<(T, Result<(), String>)> {
        while slot(self).as_ref().is_some_and(|c| c.ended.is_none()) {
            self.read_one().await?;
        }
        let command = slot(self).take().context("no such command was sent")?;
        let ended = command.ended.context("the loop above waits for the end")?;
        Ok((command.got, ended))
    }

    /// Read what is still owed, so the session can take other commands. Used at the
    /// end of a pass, which may stop early (shutdown) with commands already sent.
    pub async fn finish(mut self) -> Result<()> {
        while self.search.as_ref().is_some_and(|s| s.ended.is_none())
            || self.looks.as_ref().is_some_and(|l| l.ended.is_none())
            || self.bodies.as_ref().is_some_and(|b| b.ended.is_none())
        {
            self.read_one().await?;
        }
        Ok(())
    }

    /// Read one response and file it with the command it belongs to.
    async fn read_one(&mut self) -> Result<()> {
        let response = self
            .session
            .read_response()
            .await
            .context("reading the FETCH answer failed")?
            .ok_or_else(|| anyhow!("the server closed the connection during FETCH"))?;
        match response.parsed() {
            Response::Fetch(_, attributes) => self.file_fetch(attributes),
            Response::MailboxData(MailboxDatum::Search(uids)) => {
                if let Some(search) = self.search.as_mut() {
                    search.got.extend_from_slice(uids);
                }
            }
            Response::Done {
                tag,
                status,
                outcome,
            } => {
                let ended = match status {
                    Status::Ok => Ok(()),
                    _ => Err(outcome.information.as_deref().unwrap_or("").to_string()),
                };
                if let Some(search) = self.search.as_mut().filter(|s| &s.tag == tag) {
                    search.ended = Some(ended);
                } else if let Some(looks) = self.looks.as_mut().filter(|l| &l.tag == tag) {
                    looks.ended = Some(ended);
                } else if let Some(bodies) = self.bodies.as_mut().filter(|b| &b.tag == tag) {
                    bodies.ended = Some(ended);
                }
            }
            Response::Data {
                status: Status::Bye,
                outcome,
            } => bail!(
                "the server ended the session: {}",
                outcome.information.as_deref().unwrap_or_default()
            ),
            Response::Data { outcome, .. } if matches!(outcome.code, Some(ResponseCode::Alert)) => {
                tracing::warn!(
                    alert = outcome.information.as_deref().unwrap_or_default(),
                    "server alert"
                );
            }
            // EXISTS, EXPUNGE and the like: this pass works by UID and needs none of them.
            _ => {}
        }
        Ok(())
    }

    /// An untagged FETCH: header fields go to the first look, whole messages to the
    /// body FETCH; a flag update alone (another client reading mail) goes nowhere.
    fn file_fetch(&mut self, attributes: &[AttributeValue<'_>]) {
        let mut uid = None;
        let mut size = None;
        let mut headers = None;
        let mut body = None;
        for attribute in attributes {
            match attribute {
                AttributeValue::Uid(u) => uid = Some(*u),
                AttributeValue::Rfc822Size(s) => size = Some(*s),
                AttributeValue::BodySection {
                    section: Some(_),
                    data: Some(data),
                    ..
                }
                | AttributeValue::Rfc822Header(Some(data)) => headers = Some(data),
                AttributeValue::BodySection {
                    section: None,
                    data: Some(data),
                    ..
                }
                | AttributeValue::Rfc822(Some(data)) => body = Some(data),
                _ => {}
            }
        }
        let Some(uid) = uid else { return };
        if let (Some(headers), Some(looks)) = (headers, self.looks.as_mut()) {
            looks.got.push(FirstLook {
                uid,
                size: size.unwrap_or(0),
                headers: headers.to_vec(),
            });
        }
        if let (Some(body), Some(bodies)) = (body, self.bodies.as_mut()) {
            bodies.got.insert(uid, body.to_vec());
        }
    }
}
