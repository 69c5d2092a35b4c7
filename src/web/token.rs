//! The secret in the feed URL. It carries 256 random bits; the database keeps only its
//! SHA-256, so a copied database does not hand out the feed, and a request's token is
//! hashed and compared in constant time. Rotating replaces the hash: the old URL then
//! gets the same 404 as any made-up one.

use anyhow::Result;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::Store;

const TOKEN_HASH_SETTING: &str = "feed_token_sha256";

pub type TokenHash = [u8; 32];

fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// The stored hash, if a feed URL was ever made. A damaged value counts as none.
pub fn stored_hash(store: &Store) -> Result<Option<TokenHash>> {
    Ok(store
        .setting(TOKEN_HASH_SETTING)?
        .and_then(|text| hex::decode(text).ok())
        .and_then(|bytes| TokenHash::try_from(bytes.as_slice()).ok()))
}

/// Make a new token, replacing any old one, and return it. This is the only time the
/// token exists in the clear.
pub fn new_token(store: &mut Store) -> Result<String> {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    store.set_setting(TOKEN_HASH_SETTING, &hex::encode(hash(&token)))?;
    Ok(token)
}

/// Whether `given` is the current token. Hashing first means the comparison's timing
/// could at most leak the hash, and `ct_eq` does not leak even that.
pub fn matches(stored: &TokenHash, given: &str) -> bool {
    hash(given).ct_eq(stored).into()
}

/// The event feed and the to-do feed for `token` under `base_url`.
pub fn feed_urls(base_url: &str, token: &str) -> (String, String) {
    let base = base_url.trim_end_matches('/');
    (
        format!("{base}/feed/{token}.ics"),
        format!("{base}/feed/{token}/todo.ics"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_replaces_the_token_and_only_its_hash_is_kept() {
        let mut store = Store::in_memory().unwrap();
        assert!(stored_hash(&store).unwrap().is_none());
        let first = new_token(&mut store).unwrap();
        assert!(first.len() >= 43, "256 bits in base64: {first}");
        let stored = stored_hash(&store).unwrap().unwrap();
        assert!(matches(&stored, &first));
        assert!(
            !store
                .setting(TOKEN_HASH_SETTING)
                .unwrap()
                .unwrap()
                .contains(&first)
        );
        let second = new_token(&mut store).unwrap();
        let stored = stored_hash(&store).unwrap().unwrap();
        assert!(matches(&stored, &second));
        assert!(!matches(&stored, &first));
        assert!(!matches(&stored, ""));
    }
}
