//! What every web handler shares: the database, the config, the clock, the live link
//! key and the feed's ready rendering. A file of its own, below the handlers and the
//! server, so none of them needs another to know it.

use std::sync::Arc;

use super::feed_cache::FeedCache;
use super::links;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::Db;

/// What every handler shares.
#[derive(Clone)]
pub struct WebState {
    pub store: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    /// The link-signing key, read again when its file changes.
    pub key: Arc<links::LiveKey>,
    pub feed: FeedCache,
}
