//! Local DKIM verification with the `mail-auth` crate, against public keys the caller
//! supplies (`[trust] dkim_keys` in config, or keys a test made). The classifier is
//! pure, so it never asks DNS: a signature whose key is not supplied is not checked
//! here and the verdict falls back to `Authentication-Results`.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::OnceLock;

use futures_util::FutureExt;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{ResolverConfig, ResolverOpts};
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt,
};

use super::rules::domain_within;

/// The keys we hold, by DNS name (`selector._domainkey.domain`), as mail-auth's
/// resolver cache: a lookup is answered from here or not at all.
struct KeyCache(HashMap<Box<str>, Txt>);

impl KeyCache {
    fn from_records(records: &BTreeMap<String, String>) -> Self {
        let keys = records
            .iter()
            .filter_map(|(name, record)| {
                let key = DomainKey::parse(record.as_bytes()).ok()?;
                Some((dns_name(name).into_boxed_str(), Txt::from(key)))
            })
            .collect();
        KeyCache(keys)
    }
}

fn dns_name(name: &str) -> String {
    format!(
        "{}.",
        name.trim().trim_end_matches('.').to_ascii_lowercase()
    )
}

impl ResolverCache<Box<str>, Txt> for KeyCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _: Box<str>, _: Txt, _: std::time::Instant) {}
}

/// An authenticator whose resolver has no name servers: even if a lookup slipped past
/// the key cache, it could not reach the network.
fn offline_authenticator() -> Option<&'static MessageAuthenticator> {
    static AUTH: OnceLock<Option<MessageAuthenticator>> = OnceLock::new();
    AUTH.get_or_init(|| {
        MessageAuthenticator::new(
            ResolverConfig::from_parts(None, Vec::new(), Vec::new()),
            ResolverOpts::default(),
        )
        .ok()
    })
    .as_ref()
}

/// What a local check of a platform's signatures found, and why. The trust verdict
/// (`super::trust`) builds on it; this file only knows DKIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalDkim {
    Pass(String),
    Fail(String),
}

/// Check the signatures made by one of the platform's domains whose key we hold.
/// `None` when there is no such signature: nothing was learned locally.
pub fn verify(
    raw: &[u8],
    platform_domains: &[String],
    keys: &BTreeMap<String, String>,
) -> Option<LocalDkim> {
    if keys.is_empty() || platform_domains.is_empty() {
        return None;
    }
    let cache = KeyCache::from_records(keys);
    let mut message = AuthenticatedMessage::parse(raw)?;
    message.dkim_headers.retain(|header| {
        let signature = &header.header;
        platform_domains
            .iter()
            .any(|d| domain_within(&signature.d, d))
            && cache.0.contains_key(
                dns_name(&format!("{}._domainkey.{}", signature.s, signature.d)).as_str(),
            )
    });
    if message.dkim_headers.is_empty() {
        return None;
    }
    // Malformed signatures are not ours to judge here; the aligned ones above are.
    message.errors.clear();
    let authenticator = offline_authenticator()?;
    let params = Parameters::new(&message).with_txt_cache(&cache);
    // Every key it needs is already in memory, so the future never waits; one that
    // would (a lookup past the cache) is dropped, which counts as "not checked".
    let outputs = authenticator.verify_dkim(params).now_or_never()?;
    let mut failure = None;
    for output in &outputs {
        let domain = output.signature().map(|s| s.d.clone()).unwrap_or_default();
        match output.result() {
            DkimResult::Pass => {
                return Some(LocalDkim::Pass(format!(
                    "DKIM signature of {domain} verified locally"
                )));
            }
            DkimResult::Fail(err) | DkimResult::Neutral(err) | DkimResult::PermError(err) => {
                failure.get_or_insert_with(|| {
                    format!("DKIM signature of {domain} does not verify: {err}")
                });
            }
            DkimResult::TempError(_) | DkimResult::None => {}
        }
    }
    failure.map(LocalDkim::Fail)
}
