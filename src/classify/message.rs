//! A parsed view of one message holding just what rules look at, built in two steps so
//! ordinary mail costs little: [`MailView::parse_headers`] reads the header block only
//! (enough to decide whether a message can be a notification at all), and
//! [`MailView::load_body`] decodes the body for the few that can. Untrusted input:
//! sizes, part counts and nesting are capped and nothing here panics.

use std::borrow::Cow;
use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::{HeaderName, Message, MessageParser, PartType};

use super::header_block::{self, Field};
use super::header_text::{clean_text, strip_comments, unfold};

/// Messages beyond this are not notifications; only their headers are looked at.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
/// More MIME parts than any notification has; past it the body is not read.
pub const MAX_PARTS: usize = 64;
/// Deeper multipart nesting than any notification has; past it the body is not read.
pub const MAX_NESTING: usize = 8;
const SNIPPET_CHARS: usize = 240;

#[derive(Debug, Clone, Default)]
pub struct MailView {
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub reply_to_address: Option<String>,
    pub reply_to_name: Option<String>,
    pub subject: String,
    /// The Date header, else the newest `Received:` timestamp.
    pub date: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
    /// The header block as received; values are unfolded only when a rule asks for
    /// them, since most of a block (Received, ARC, DKIM) is never read.
    raw_headers: Vec<u8>,
    fields: Vec<Field>,
    /// Plain text of the message: the text part, or the HTML part made readable.
    pub text: String,
    /// The HTML part, kept for link extraction (hrefs are not in the text).
    pub html: String,
    /// Whether [`MailView::load_body`] ran; rules on bodies are only decided after it.
    pub body_loaded: bool,
    /// Why the body was not read, when a limit stopped it.
    pub body_skipped: Option<String>,
    /// Where the body starts in the raw bytes.
    pub(crate) body_start: usize,
}

/// Decodes the few fields that need it (addresses, RFC 2047 words, dates); it is only
/// ever given those fields, never the whole header block.
fn header_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .header_address(HeaderName::From)
            .header_address(HeaderName::ReplyTo)
            .header_text(HeaderName::Subject)
            .header_date(HeaderName::Date)
            .header_id(HeaderName::MessageId)
            .default_header_ignore()
    })
}

/// Only what is needed to find and decode the body parts.
fn body_parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .default_header_ignore()
    })
}

/// Fields handed to mail-parser for decoding in the header pass.
const DECODED_FIELDS: &[&[u8]] = &[b"from", b"reply-to", b"subject", b"date", b"message-id"];
/// What rule conditions read decoded; see [`MailView::parse_for_rules`].
const RULE_FIELDS: &[&[u8]] = &[b"from", b"subject"];
/// Fields that, with the body bytes, are all mail-parser needs to read the MIME tree.
const MIME_FIELDS: &[&[u8]] = &[
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
];

/// The first field of each name in `names`, concatenated as a little header block.
fn pick_fields(raw: &[u8], fields: &[Field], names: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut seen = [false; 8];
    for field in fields {
        let name = field.name(raw);
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(name))
            && !seen.get(i).copied().unwrap_or(true)
        {
            if let Some(flag) = seen.get_mut(i) {
                *flag = true;
            }
            out.extend_from_slice(field.whole(raw));
            if !out.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out
}

impl MailView {
    /// Headers and body in one go.
    pub fn parse(raw: &[u8]) -> Option<MailView> {
        let mut mail = Self::parse_headers(raw)?;
        mail.load_body(raw);
        Some(mail)
    }

    /// The header block only. `None` when the bytes hold no header at all.
    pub fn parse_headers(raw: &[u8]) -> Option<MailView> {
        Self::parse_header_fields(raw, DECODED_FIELDS)
    }

    /// Just enough of the header block for the rules' header conditions: sender and
    /// subject decoded, every other field raw; no date, Message-ID or Reply-To (no
    /// rule condition reads them). The IMAP first look runs this on every message of
    /// a mailbox, and decoding dates and ids it never uses was a third of its cost.
    pub fn parse_for_rules(raw: &[u8]) -> Option<MailView> {
        Self::parse_header_fields(raw, RULE_FIELDS)
    }

    fn parse_header_fields(raw: &[u8], decoded_fields: &[&[u8]]) -> Option<MailView> {
        let block = header_block::scan(raw)?;
        let mut decoded = pick_fields(raw, &block.fields, decoded_fields);
        decoded.extend_from_slice(b"\r\n");
        let message = header_parser().parse_headers(&decoded);
        let message = message.as_ref();
        let from = message.and_then(|m| m.from()).and_then(|a| a.first());
        let reply_to = message.and_then(|m| m.reply_to()).and_then(|a| a.first());
        let address = |a: Option<&mail_parser::Addr>| {
            a.and_then(|a| a.address.as_deref())
                .map(|a| a.trim().to_ascii_lowercase())
                .filter(|a| !a.is_empty())
        };
        let name = |a: Option<&mail_parser::Addr>| {
            a.and_then(|a| a.name.as_deref())
                .map(|n| clean_text(n.trim()))
                .filter(|n| !n.is_empty())
        };
        let raw_headers = raw.get(..block.body_start).unwrap_or(raw).to_vec();
        let mut mail = MailView {
            from_address: address(from),
            from_name: name(from),
            reply_to_address: address(reply_to),
            reply_to_name: name(reply_to),
            subject: clean_text(message.and_then(|m| m.subject()).unwrap_or_default().trim()),
            date: None,
            message_id: message
                .and_then(|m| m.message_id())
                .map(|id| id.trim().to_string()),
            raw_headers,
            fields: block.fields,
            text: String::new(),
            html: String::new(),
            body_loaded: false,
            body_skipped: None,
            body_start: block.body_start,
        };
        if decoded_fields.contains(&b"date".as_slice()) {
            mail.date = message
                .and_then(|m| m.date())
                .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single())
                .or_else(|| newest_received(&mail));
        }
        Some(mail)
    }

    /// Decode the body, unless a size, part-count or nesting limit says the message is
    /// no notification; then the body stays empty and `body_skipped` says why.
    pub fn load_body(&mut self, raw: &[u8]) {
        if self.body_loaded {
            return;
        }
        self.body_loaded = true;
        if raw.len() > MAX_BODY_BYTES {
            self.body_skipped = Some(format!(
                "body not read: {} bytes is over the {MAX_BODY_BYTES}-byte limit",
                raw.len()
            ));
            return;
        }
        // The MIME fields and the body bytes, without the kilobytes of transport
        // headers mail-parser would otherwise scan a second time.
        let mut bytes = pick_fields(&self.raw_headers, &self.fields, MIME_FIELDS);
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(raw.get(self.body_start..).unwrap_or_default());
        let Some(message) = body_parser().parse(&bytes) else {
            return;
        };
        if message.parts.len() > MAX_PARTS {
            self.body_skipped = Some(format!(
                "body not read: {} MIME parts is over the limit of {MAX_PARTS}",
                message.parts.len()
            ));
            return;
        }
        let depth = nesting_depth(&message);
        if depth > MAX_NESTING {
            self.body_skipped = Some(format!(
                "body not read: MIME nesting {depth} is over the limit of {MAX_NESTING}"
            ));
            return;
        }
        self.html = message
            .html_body
            .iter()
            .filter_map(|&id| message.parts.get(id as usize))
            .find_map(|part| match &part.body {
                PartType::Html(html) => Some(html.to_string()),
                _ => None,
            })
            .unwrap_or_default();
        // mail-parser turns an HTML-only body into text itself, dropping <head>,
        // <style>, <script> and comments and decoding entities; nothing is rendered.
        self.text = message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
    }

    /// The first value of a header, by case-insensitive name, unfolded.
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.fields
            .iter()
            .find(|f| {
                f.name(&self.raw_headers)
                    .eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|f| unfold(f.value(&self.raw_headers)))
    }

    /// Whether the message has a header of this name (its value is not read).
    pub fn has_header(&self, name: &str) -> bool {
        self.fields.iter().any(|f| {
            f.name(&self.raw_headers)
                .eq_ignore_ascii_case(name.as_bytes())
        })
    }

    /// Every value of a header, by case-insensitive name, unfolded, in message order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        self.fields
            .iter()
            .filter(move |f| {
                f.name(&self.raw_headers)
                    .eq_ignore_ascii_case(name.as_bytes())
            })
            .map(|f| unfold(f.value(&self.raw_headers)))
    }

    /// Every header as (name as written, unfolded value), in message order.
    pub fn header_fields(&self) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
        self.fields.iter().map(|f| {
            (
                String::from_utf8_lossy(f.name(&self.raw_headers)),
                unfold(f.value(&self.raw_headers)),
            )
        })
    }

    /// The domain of the From address, lower case.
    pub fn from_domain(&self) -> Option<&str> {
        self.from_address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, domain)| domain.trim_end_matches('>'))
    }

    /// A short plain-text excerpt: whitespace collapsed, control characters dropped,
    /// cut on a character boundary.
    pub fn snippet(&self) -> String {
        let mut out = String::new();
        let mut chars = 0;
        for word in self.text.split_whitespace() {
            let len = word.chars().count();
            if chars + len + 1 > SNIPPET_CHARS {
                out.push('…');
                break;
            }
            if !out.is_empty() {
                out.push(' ');
                chars += 1;
            }
            out.extend(word.chars().filter(|c| !c.is_control()));
            chars += len;
        }
        out
    }
}

/// How deep multiparts nest, walked without recursion so hostile nesting cannot
/// exhaust the stack.
fn nesting_depth(message: &Message<'_>) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(u32, usize)> = vec![(0, 1)];
    let mut visited = 0usize;
    while let Some((id, depth)) = stack.pop() {
        visited += 1;
        // A part list is a tree, but never trust that: stop after every part was seen.
        if visited > message.parts.len() + 1 {
            break;
        }
        deepest = deepest.max(depth);
        if let Some(PartType::Multipart(children)) = message.parts.get(id as usize).map(|p| &p.body)
        {
            stack.extend(children.iter().map(|&child| (child, depth + 1)));
        }
    }
    deepest
}

/// Transport stamps say when the message reached each server; the newest is closest
/// to when it was sent when the sender wrote no Date.
fn newest_received(mail: &MailView) -> Option<DateTime<Utc>> {
    mail.headers_named("received")
        .filter_map(|value| {
            let stamp = value.rsplit_once(';')?.1;
            let stamp = strip_comments(stamp);
            DateTime::parse_from_rfc2822(stamp.trim())
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_rules_need() {
        let raw = b"From: Ann Lee <invitations@LinkedIn.com>\r\nSubject: Hello\r\n there\r\nX-LinkedIn-Template: email_m2m_invite_single_01\r\nMessage-ID: <a@b>\r\nDate: Tue, 17 Nov 2026 10:00:00 +0000\r\n\r\nAnn wants to connect.\r\n";
        let mail = MailView::parse(raw).unwrap();
        assert_eq!(
            mail.from_address.as_deref(),
            Some("invitations@linkedin.com")
        );
        assert_eq!(mail.from_name.as_deref(), Some("Ann Lee"));
        assert_eq!(mail.from_domain(), Some("linkedin.com"));
        assert_eq!(mail.subject, "Hello there");
        assert_eq!(
            mail.header("X-LinkedIn-Template").as_deref(),
            Some("email_m2m_invite_single_01")
        );
        assert_eq!(mail.message_id.as_deref(), Some("a@b"));
        assert!(mail.text.contains("Ann wants"));
    }

    #[test]
    fn header_pass_leaves_the_body_alone() {
        let raw = b"From: a@b.example\nSubject: x\n\nbody text\n";
        let mail = MailView::parse_headers(raw).unwrap();
        assert!(!mail.body_loaded);
        assert!(mail.text.is_empty());
    }

    #[test]
    fn missing_date_falls_back_to_the_newest_received() {
        let raw = b"Received: from a by b; Tue, 17 Nov 2026 10:00:00 +0000 (UTC)\nReceived: from c by a; Tue, 17 Nov 2026 09:59:00 +0000\nFrom: a@b.example\n\nx\n";
        let mail = MailView::parse_headers(raw).unwrap();
        assert_eq!(
            mail.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2026-11-17T10:00:00+00:00")
        );
    }

    #[test]
    fn deep_nesting_stops_the_body() {
        let mut raw =
            String::from("From: a@b.example\nContent-Type: multipart/mixed; boundary=b0\n\n");
        for depth in 0..12 {
            raw.push_str(&format!(
                "--b{depth}\nContent-Type: multipart/mixed; boundary=b{}\n\n",
                depth + 1
            ));
        }
        raw.push_str("--b12\nContent-Type: text/plain\n\nhidden\n");
        let mail = MailView::parse(raw.as_bytes()).unwrap();
        assert!(mail.body_skipped.is_some(), "{:?}", mail.text);
    }

    #[test]
    fn snippet_cuts_on_characters() {
        let mail = MailView {
            text: "Zoë ".repeat(200),
            ..Default::default()
        };
        let snippet = mail.snippet();
        assert!(snippet.chars().count() <= 241);
        assert!(snippet.ends_with('…'));
    }
}
