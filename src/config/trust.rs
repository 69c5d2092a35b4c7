//! `[trust]`: which receiving servers' DKIM verdicts and which DKIM keys the
//! classifier believes when it decides a notification really comes from its platform.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Which notifications are believed to come from the platform they claim.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustConfig {
    /// Receiving servers (authserv-id of `Authentication-Results`) whose DKIM verdict
    /// nudged believes, e.g. "mx.fastmail.com". Only the topmost such header counts.
    #[serde(default)]
    pub authserv_ids: Vec<String>,
    /// Plan follow-ups for notifications that could not be verified.
    #[serde(default)]
    pub allow_unverified: bool,
    /// DKIM public keys to verify signatures with locally, by DNS name:
    /// `"selector._domainkey.linkedin.com" = "v=DKIM1; k=rsa; p=MIIB…"`. The classifier
    /// never queries DNS itself; signatures without a key here fall back to
    /// `authserv_ids`.
    #[serde(default)]
    pub dkim_keys: BTreeMap<String, String>,
}
