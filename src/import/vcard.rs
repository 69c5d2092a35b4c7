//! vCard 3.0 and 4.0 (`.vcf`, as Apple Contacts, Google Contacts and Thunderbird
//! export them), read with the `ical` crate's vCard parser, which unfolds lines. Kept
//! per card: the formatted name, email addresses, profile URLs, UID, and NOTE/ORG/TITLE
//! as the contact's note.

use ical::parser::vcard::component::VcardContact;

use super::{identity_for_email, identity_for_url};
use crate::store::{ImportReport, ImportedContact, NewIdentity};

/// Parse every card in `text`. Cards that cannot be used are recorded in `report` as
/// skipped, with the reason; a card the parser cannot read ends the file there.
pub fn parse(text: &str, report: &mut ImportReport) -> Vec<ImportedContact> {
    let mut records = Vec::new();
    for (index, card) in ical::VcardParser::new(text.as_bytes()).enumerate() {
        match card {
            Ok(card) => match to_record(&card) {
                Some(record) => records.push(record),
                None => report.skip(
                    &format!("card {}", index + 1),
                    "it has no name (FN or N)".into(),
                ),
            },
            Err(err) => {
                report.skip(
                    &format!("card {}", index + 1),
                    format!("unreadable, import stopped here: {err}"),
                );
                break;
            }
        }
    }
    records
}

fn to_record(card: &VcardContact) -> Option<ImportedContact> {
    let name = value(card, "FN")
        .filter(|n| !n.trim().is_empty())
        .or_else(|| value(card, "N").and_then(|n| name_from_n(&n)))?;
    let name = name.trim().to_string();
    let mut identities = Vec::new();
    if let Some(uid) = value(card, "UID").filter(|u| !u.trim().is_empty()) {
        identities.push(NewIdentity {
            platform: "vcard".into(),
            display_name: Some(name.clone()),
            handle: Some(format!("uid:{}", uid.trim())),
            ..NewIdentity::default()
        });
    }
    for email in values(card, "EMAIL") {
        identities.extend(identity_for_email(&email, &name));
    }
    for url in values(card, "URL")
        .into_iter()
        .chain(values(card, "X-SOCIALPROFILE"))
    {
        identities.extend(identity_for_url(&url, &name));
    }
    for address in values(card, "IMPP") {
        identities.extend(identity_for_impp(&address, &name));
    }
    if identities.is_empty() {
        // Only a name (and perhaps a phone): still one contact, found again by name.
        identities.push(NewIdentity {
            platform: "vcard".into(),
            display_name: Some(name.clone()),
            ..NewIdentity::default()
        });
    }
    let role = match (value(card, "TITLE"), value(card, "ORG")) {
        (Some(title), Some(org)) => Some(format!("{title} at {}", org_name(&org))),
        (Some(title), None) => Some(title),
        (None, Some(org)) => Some(org_name(&org)),
        (None, None) => None,
    };
    let note = [role, value(card, "NOTE")]
        .into_iter()
        .flatten()
        .filter(|n| !n.trim().is_empty())
        .collect::<Vec<_>>();
    Some(ImportedContact {
        name,
        note: (!note.is_empty()).then(|| note.join("\n")),
        identities,
        connected_at: None,
    })
}

/// Property name without its group ("item1.EMAIL" is EMAIL), compared without case.
fn is(property: &ical::property::Property, name: &str) -> bool {
    let bare = property.name.rsplit('.').next().unwrap_or(&property.name);
    bare.eq_ignore_ascii_case(name)
}

fn values(card: &VcardContact, name: &str) -> Vec<String> {
    card.properties
        .iter()
        .filter(|p| is(p, name))
        .filter_map(|p| p.value.as_deref())
        .map(unescape)
        .filter(|v| !v.trim().is_empty())
        .collect()
}

fn value(card: &VcardContact, name: &str) -> Option<String> {
    values(card, name).into_iter().next()
}

/// An IMPP address: a web profile as [`identity_for_url`] reads it; otherwise the URI
/// scheme names the network ("xmpp:ann@jabber.example", "skype:ann.lee").
fn identity_for_impp(address: &str, name: &str) -> Option<NewIdentity> {
    let address = address.trim();
    if address.starts_with("http://") || address.starts_with("https://") {
        return identity_for_url(address, name);
    }
    let (scheme, handle) = address.split_once(':')?;
    let handle = handle.trim_start_matches('/').trim();
    if scheme.is_empty()
        || handle.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return None;
    }
    Some(NewIdentity {
        platform: scheme.to_ascii_lowercase(),
        display_name: Some(name.to_string()),
        handle: Some(handle.to_string()),
        ..NewIdentity::default()
    })
}

/// "Lee;Ann;;Dr.;" → "Ann Lee".
fn name_from_n(n: &str) -> Option<String> {
    let parts: Vec<&str> = n.split(';').map(str::trim).collect();
    let given = parts.get(1).copied().unwrap_or_default();
    let family = parts.first().copied().unwrap_or_default();
    let name = format!("{given} {family}").trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// ORG is "Company;Department": the company is enough.
fn org_name(org: &str) -> String {
    org.split(';').next().unwrap_or(org).trim().to_string()
}

/// RFC 6350 §3.4 escapes. The parser leaves values as written. Structured values
/// (N, ORG) keep `\;` as a literal ';' once split, which is close enough for names.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_escaped_and_grouped_properties() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Ångström\r\nitem1.EMAIL;TYPE=INTERNET:Zoe@Example.org\r\nNOTE:Met at the fair\\, booth 4\\nlikes sailing an\r\n d hiking\r\nEND:VCARD\r\n";
        let mut report = ImportReport::default();
        let records = parse(text, &mut report);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].name, "Zoë Ångström");
        assert_eq!(
            records[0].note.as_deref(),
            Some("Met at the fair, booth 4\nlikes sailing and hiking")
        );
        assert_eq!(
            records[0].identities[0].email.as_deref(),
            Some("zoe@example.org")
        );
    }

    #[test]
    fn name_from_n_when_fn_is_missing() {
        assert_eq!(name_from_n("Lee;Ann;;;").as_deref(), Some("Ann Lee"));
        assert_eq!(name_from_n(";;;;"), None);
    }
}
