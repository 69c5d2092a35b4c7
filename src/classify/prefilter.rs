//! The cheap first look for IMAP: which header fields to fetch for every new message,
//! and whether those fields alone say the message can be a notification. The decision
//! itself is the classifier's ([`RuleSet::header_candidate`]), so the first look and
//! the full classification can never disagree about what a rule means; a mailbox of
//! ordinary mail then costs headers, not bodies.

use super::MailView;
use super::rules::RuleSet;

/// Fields every first look fetches, whatever the rules: who sent it, what it is, and
/// what the Sent folder needs (recipients, date, Message-ID).
const BASE_FIELDS: &[&str] = &[
    "FROM",
    "SENDER",
    "REPLY-TO",
    "SUBJECT",
    "DATE",
    "MESSAGE-ID",
    "LIST-ID",
    "TO",
    "CC",
    "IN-REPLY-TO",
    "REFERENCES",
];

/// The header fields the rules in force look at, computed once per daemon.
#[derive(Debug)]
pub struct Prefilter {
    fields: Vec<String>,
    /// The digest owner's address: their replies to a digest ("done 3") are read too.
    owner: Option<String>,
}

impl Prefilter {
    /// `owner` is `digest.to` (a bare address or "Name <address>").
    pub fn new(rules: &RuleSet, owner: Option<&str>) -> Self {
        let mut fields: Vec<String> = BASE_FIELDS.iter().map(|f| f.to_string()).collect();
        for name in rules.header_names() {
            let name = name.trim().to_ascii_uppercase();
            // Only plain header names go into the FETCH command.
            if !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !fields.contains(&name)
            {
                fields.push(name);
            }
        }
        let owner = owner.map(|to| {
            let to = to.trim();
            let address = match (to.rfind('<'), to.rfind('>')) {
                (Some(open), Some(close)) if open < close => to.get(open + 1..close).unwrap_or(to),
                _ => to,
            };
            address.trim().to_ascii_lowercase()
        });
        Self { fields, owner }
    }

    /// Whether a message with these header fields could be a notification, or a reply
    /// of the owner's that may carry commands for nudged. `headers` is the raw header
    /// block (what `HEADER.FIELDS` returns).
    pub fn wants_body(&self, headers: &[u8], rules: &RuleSet) -> bool {
        let Some(mail) = MailView::parse_for_rules(headers) else {
            // Unparseable headers: let the full classifier decide.
            return true;
        };
        let owner_reply = self.owner.is_some()
            && mail.from_address == self.owner
            && (mail.header("in-reply-to").is_some() || mail.header("references").is_some());
        owner_reply || rules.header_candidate(&mail)
    }

    /// Header names for `BODY.PEEK[HEADER.FIELDS (...)]`, upper case.
    pub fn header_fields(&self) -> &[String] {
        &self.fields
    }
}

/// Whether a message with these header fields could be classified as a notification.
pub fn could_be_notification(headers: &[u8], rules: &RuleSet) -> bool {
    Prefilter::new(rules, None).wants_body(headers, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_mail_is_not_a_candidate() {
        let headers = b"From: Aunt May <may@example.org>\r\nSubject: Sunday lunch\r\n\r\n";
        assert!(!could_be_notification(headers, &RuleSet::builtin()));
    }

    #[test]
    fn the_owners_replies_are_read_for_commands() {
        let rules = RuleSet::builtin();
        let prefilter = Prefilter::new(&rules, Some("Sam Rivera <Sam@Example.com>"));
        let reply = b"From: Sam <sam@example.com>\r\nIn-Reply-To: <digest-1@example.com>\r\nSubject: Re: 3 due\r\n\r\n";
        assert!(prefilter.wants_body(reply, &rules));
        let not_a_reply = b"From: Sam <sam@example.com>\r\nSubject: note to self\r\n\r\n";
        assert!(!prefilter.wants_body(not_a_reply, &rules));
        let someone_else =
            b"From: Eve <eve@evil.example>\r\nIn-Reply-To: <digest-1@example.com>\r\n\r\n";
        assert!(!prefilter.wants_body(someone_else, &rules));
    }

    #[test]
    fn platform_senders_and_list_ids_are() {
        let rules = RuleSet::builtin();
        let linkedin = b"From: LinkedIn <invitations@linkedin.com>\r\nSubject: hi\r\n\r\n";
        assert!(could_be_notification(linkedin, &rules));
        let mastodon = b"From: mastodon@social.example\r\nList-ID: <mention.samr.social.example>\r\nSubject: You were mentioned by Ann\r\n\r\n";
        assert!(could_be_notification(mastodon, &rules));
    }

    /// Only the fetched fields of a message's header block, as IMAP returns them.
    fn fetched_fields(raw: &[u8], fields: &[String]) -> Vec<u8> {
        let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
        let block = text.split("\n\n").next().unwrap_or_default();
        let mut out = String::new();
        let mut keep = false;
        for line in block.lines() {
            if !line.starts_with([' ', '\t']) {
                let name = line
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_uppercase();
                keep = fields.contains(&name);
            }
            if keep {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("\r\n");
        out.into_bytes()
    }

    #[test]
    fn every_message_the_classifier_logs_passes_the_first_look() {
        let rules = RuleSet::builtin();
        let prefilter = Prefilter::new(&rules, None);
        let trust = crate::config::TrustConfig::default();
        let mut checked = 0;
        let mut dirs = vec![
            std::path::PathBuf::from("examples/demo-maildir/cur"),
            std::path::PathBuf::from("examples/demo-maildir/new"),
        ];
        for entry in std::fs::read_dir("tests/fixtures").unwrap() {
            dirs.push(entry.unwrap().path());
        }
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if dir.starts_with("tests/fixtures") && path.extension().is_none_or(|e| e != "eml")
                {
                    continue;
                }
                let raw = std::fs::read(&path).unwrap();
                let classification = super::super::classify(&raw, &rules, &trust);
                if classification.platform.is_some() {
                    let headers = fetched_fields(&raw, prefilter.header_fields());
                    assert!(
                        could_be_notification(&headers, &rules),
                        "{} is a {} notification but its fetched headers say no:\n{}",
                        path.display(),
                        classification.kind,
                        String::from_utf8_lossy(&headers)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "only {checked} notifications checked");
    }

    #[test]
    fn fields_include_rule_headers() {
        let prefilter = Prefilter::new(&RuleSet::builtin(), None);
        let fields = prefilter.header_fields();
        assert!(
            fields.iter().any(|f| f == "X-LINKEDIN-TEMPLATE"),
            "{fields:?}"
        );
        assert!(fields.iter().any(|f| f == "X-GITHUB-REASON"), "{fields:?}");
        assert!(fields.iter().all(|f| !f.contains(' ')));
    }
}
