//! The path every message takes, whatever its source: classify → log → plan, committed
//! in one transaction together with the source's cursor, so a crash anywhere leaves
//! either all of a message's effects or none of them. A reply to a digest is mail that
//! arrives too: its commands are applied on the same path ([`replies`]).

mod event;
mod housekeeping;
mod manual;
mod message;
pub mod replies;
mod sent;

pub use housekeeping::plan_housekeeping;
pub use manual::{ManualEntry, log_manual};
pub use message::{Classified, Ingest, Ingested};
pub use sent::{SentMail, record_sent};
