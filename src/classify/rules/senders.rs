//! Every sender some rule or platform names, as sets. The IMAP first look asks "could
//! this be a notification?" for each of hundreds of thousands of messages; most are
//! ordinary mail from people no rule names, and one look-up here says so instead of
//! comparing the sender with every rule's list in turn.

use std::collections::HashMap;

/// Each entry lists the rules (by index in trial order) whose `from` names it; a
/// platform's domain is an entry with no rule of its own.
#[derive(Debug, Default)]
pub(super) struct SenderIndex {
    /// `name@host`, lower case.
    addresses: HashMap<String, Vec<usize>>,
    /// `name@` (any host), lower case.
    local_parts: HashMap<String, Vec<usize>>,
    /// `@domain` (and its subdomains), lower case.
    domains: HashMap<String, Vec<usize>>,
}

impl SenderIndex {
    /// Add a rule's `from` entry, in the forms [`super::sender_matches`] understands.
    pub fn add_sender(&mut self, want: &str, rule: usize) {
        let want = want.trim();
        let (map, key) = if let Some(domain) = want.strip_prefix('@') {
            let domain = domain.trim_start_matches('@');
            if domain.is_empty() {
                // `sender_matches` never matches an empty domain.
                return;
            }
            (&mut self.domains, domain)
        } else if let Some(local) = want.strip_suffix('@') {
            (&mut self.local_parts, local)
        } else {
            (&mut self.addresses, want)
        };
        map.entry(key.to_ascii_lowercase()).or_default().push(rule);
    }

    /// Add a platform domain (mail from it or any subdomain).
    pub fn add_domain(&mut self, domain: &str) {
        let domain = domain.trim_start_matches('@');
        if !domain.is_empty() {
            self.domains.entry(domain.to_ascii_lowercase()).or_default();
        }
    }

    /// Whether some entry names `address`: true whenever asking [`super::sender_matches`]
    /// of every entry, or `domain_within` of every domain, would be (never less often).
    pub fn names(&self, address: &str) -> bool {
        let mut named = false;
        self.entries_naming(address, |_| named = true);
        named
    }

    /// Mark in `rules` every rule with a `from` entry that names `address`: every rule
    /// whose `from` condition can hold (and possibly a few more, which the condition
    /// itself then turns away).
    pub fn mark_rules(&self, address: &str, rules: &mut [bool]) {
        self.entries_naming(address, |entry| {
            for &rule in entry {
                if let Some(flag) = rules.get_mut(rule) {
                    *flag = true;
                }
            }
        });
    }

    fn entries_naming(&self, address: &str, mut found: impl FnMut(&[usize])) {
        let address = address.to_ascii_lowercase();
        if let Some(entry) = self.addresses.get(&address) {
            found(entry);
        }
        let Some((local, domain)) = address.rsplit_once('@') else {
            return;
        };
        if let Some(entry) = self.local_parts.get(local) {
            found(entry);
        }
        // `MailView::from_domain` drops a stray '>', `domain_within` a trailing dot.
        let mut domain = domain.trim_end_matches(['>', '.']);
        loop {
            if let Some(entry) = self.domains.get(domain) {
                found(entry);
            }
            match domain.split_once('.') {
                Some((_, parent)) => domain = parent,
                None => return,
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
        wants.iter().for_each(|w| index.add_sender(w, 0));
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

    /// Each rule is marked exactly when its `from` condition holds, except that a
    /// stray '>' may mark more (the condition turns those away).
    #[test]
    fn marks_the_rules_whose_sender_condition_holds() {
        let rules: [&[&str]; 7] = [
            &["@linkedin.com", "noreply@github.com"],
            &["invitations@LinkedIn.com"],
            &["wordpress@"],
            &["@", "@@x.com", " @e.linkedin.com "],
            &["a@b@"],
            &[""],
            &["@.odd.example"],
        ];
        let mut index = SenderIndex::default();
        for (i, wants) in rules.iter().enumerate() {
            wants.iter().for_each(|w| index.add_sender(w, i));
        }
        index.add_domain("github.com");
        for address in [
            "invitations@linkedin.com",
            "x@E.linkedin.com",
            "noreply@github.com",
            "notifications@github.com",
            "wordpress@blog.example",
            "WordPress@Blog.example.",
            "a@b@c.example",
            "x@mail.x.com",
            "x@x.com.",
            "x@a..odd.example",
            "x@.odd.example",
            "x@odd.example",
            "",
            "@",
            "a@linkedin.com>",
        ] {
            let mut marked = vec![false; rules.len()];
            index.mark_rules(address, &mut marked);
            for (i, wants) in rules.iter().enumerate() {
                let holds = wants.iter().any(|w| sender_matches(w, address));
                if address.contains('>') {
                    assert!(marked[i] || !holds, "{address:?} rule {i}");
                } else {
                    assert_eq!(marked[i], holds, "{address:?} rule {i}");
                }
            }
        }
    }
}
