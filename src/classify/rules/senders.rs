//! Every sender some rule or platform names, as sets. The IMAP first look asks "could
//! this be a notification?" for each of hundreds of thousands of messages; most are
//! ordinary mail from people no rule names, and one look-up here says so instead of
//! comparing the sender with every rule's list in turn.

use std::collections::HashSet;

#[derive(Debug, Default)]
pub(super) struct SenderIndex {
    /// `name@host`, lower case.
    addresses: HashSet<String>,
    /// `name@` (any host), lower case.
    local_parts: HashSet<String>,
    /// `@domain` (and its subdomains), lower case.
    domains: HashSet<String>,
}

impl SenderIndex {
    /// Add a rule's `from` entry, in the forms [`super::sender_matches`] understands.
    pub fn add_sender(&mut self, want: &str) {
        let want = want.trim();
        if let Some(domain) = want.strip_prefix('@') {
            self.add_domain(domain);
        } else if let Some(local) = want.strip_suffix('@') {
            self.local_parts.insert(local.to_ascii_lowercase());
        } else {
            self.addresses.insert(want.to_ascii_lowercase());
        }
    }

    /// Add a platform domain (mail from it or any subdomain).
    pub fn add_domain(&mut self, domain: &str) {
        let domain = domain.trim_start_matches('@');
        if !domain.is_empty() {
            self.domains.insert(domain.to_ascii_lowercase());
        }
    }

    /// Whether some entry names `address`: true whenever asking [`super::sender_matches`]
    /// of every entry, or `domain_within` of every domain, would be (never less often).
    pub fn names(&self, address: &str) -> bool {
        let address = address.to_ascii_lowercase();
        if self.addresses.contains(&address) {
            return true;
        }
        let Some((local, domain)) = address.rsplit_once('@') else {
            return false;
        };
        if self.local_parts.contains(local) {
            return true;
        }
        // `MailView::from_domain` drops a stray '>', `domain_within` a trailing dot.
        let mut domain = domain.trim_end_matches(['>', '.']);
        loop {
            if self.domains.contains(domain) {
                return true;
            }
            match domain.split_once('.') {
                Some((_, parent)) => domain = parent,
                None => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{domain_within, sender_matches};
    use super::*;

    #[test]
    fn agrees_with_comparing_one_by_one() {
        let wants = [
            "@linkedin.com",
            "notifications@github.com",
            "noreply@",
            " @Mail.Example.org ",
            "@",
        ];
        let domains = ["facebookmail.com", "@x.com"];
        let mut index = SenderIndex::default();
        wants.iter().for_each(|w| index.add_sender(w));
        domains.iter().for_each(|d| index.add_domain(d));
        for address in [
            "invitations@linkedin.com",
            "a@e.LinkedIn.com",
            "a@notlinkedin.com",
            "Notifications@GitHub.com",
            "other@github.com",
            "NoReply@anything.example",
            "x@mail.example.org.",
            "x@deep.mail.example.org",
            "x@example.org",
            "a@facebookmail.com",
            "a@mail.x.com",
            "plain-string",
            "",
            "@",
            "a@linkedin.com>",
        ] {
            let one_by_one = wants.iter().any(|w| sender_matches(w, address))
                || address
                    .rsplit_once('@')
                    .is_some_and(|(_, got)| domains.iter().any(|d| domain_within(got, d)));
            let from_domain = address
                .rsplit_once('@')
                .map(|(_, d)| d.trim_end_matches('>'));
            let known =
                from_domain.is_some_and(|got| domains.iter().any(|d| domain_within(got, d)));
            let expected = one_by_one || known;
            if address.contains('>') {
                // A superset is safe (the caller then checks every rule); less is not.
                assert!(index.names(address) || !expected, "{address:?}");
            } else {
                assert_eq!(index.names(address), expected, "{address:?}");
            }
        }
    }
}
