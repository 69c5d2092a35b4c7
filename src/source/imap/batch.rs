//! What a sync pass hands the committer for each UID of a batch. Its own file, below
//! both: the sync loop makes items and the commit consumes them, and neither imports
//! the other's internals to share the type.

use crate::ingest::SentMail;

/// What became of one UID in a batch.
pub(super) enum Item {
    /// Not a notification candidate: only its headers were read.
    Passed,
    Message(Vec<u8>),
    Sent(SentMail),
    Skipped(u32, &'static str),
}
