//! A parsed view of one message holding just what rules look at, built once so a rule
//! set of any size parses each message a single time. Untrusted input: sizes are
//! capped and nothing here panics.

use chrono::{DateTime, TimeZone, Utc};
use mail_parser::MessageParser;

/// Messages beyond this are not notifications; only their headers are looked at.
pub const MAX_BODY_BYTES: usize = 512 * 1024;
const SNIPPET_CHARS: usize = 240;

#[derive(Debug, Clone, Default)]
pub struct MailView {
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
    /// Header name (lower case) and unfolded value, in message order.
    pub headers: Vec<(String, String)>,
    /// Plain text of the message: the text part, or the HTML part made readable.
    pub text: String,
    /// The HTML part, kept for link extraction (hrefs are not in the text).
    pub html: String,
}

impl MailView {
    pub fn parse(raw: &[u8]) -> Option<MailView> {
        let parser = MessageParser::default();
        let message = if raw.len() > MAX_BODY_BYTES {
            parser.parse_headers(raw)?
        } else {
            parser.parse(raw)?
        };
        let from = message.from().and_then(|a| a.first());
        let from_address = from
            .and_then(|a| a.address.as_deref())
            .map(|a| a.trim().to_ascii_lowercase());
        let from_name = from
            .and_then(|a| a.name.as_deref())
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        let headers = message
            .headers()
            .iter()
            .map(|h| {
                let raw_value = message
                    .raw_message()
                    .get(h.offset_start as usize..h.offset_end as usize)
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                (h.name().to_ascii_lowercase(), unfold(&raw_value))
            })
            .collect();
        let date = message
            .date()
            .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single());
        let text = message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        let html = message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        Some(MailView {
            from_address,
            from_name,
            subject: message.subject().unwrap_or_default().trim().to_string(),
            date,
            message_id: message.message_id().map(|id| id.trim().to_string()),
            headers,
            text,
            html,
        })
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The domain of the From address, lower case.
    pub fn from_domain(&self) -> Option<&str> {
        self.from_address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map(|(_, domain)| domain.trim_end_matches('>'))
    }

    /// A short plain-text excerpt: whitespace collapsed, cut on a character boundary.
    pub fn snippet(&self) -> String {
        let mut out = String::new();
        for word in self.text.split_whitespace() {
            if out.chars().count() + word.chars().count() + 1 > SNIPPET_CHARS {
                out.push('…');
                break;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }
}

/// Header values as a person reads them: folding removed, control characters dropped.
fn unfold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for part in value.split(['\r', '\n']) {
        let part = part.trim_matches(|c: char| c == ' ' || c == '\t');
        if part.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(part.chars().filter(|c| !c.is_control()));
    }
    out
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
            mail.header("x-linkedin-template"),
            Some("email_m2m_invite_single_01")
        );
        assert_eq!(mail.message_id.as_deref(), Some("a@b"));
        assert!(mail.text.contains("Ann wants"));
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
