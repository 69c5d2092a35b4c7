//! Calendars: .ics text for the digest and the feed ([`ics`]), and task lists kept in step
//! with the follow-ups both ways — CalDAV servers ([`caldav`]) and vdir folders ([`vdir`]),
//! merged by the rules in [`merge`] and driven by [`sync`]; for event-only apps such as
//! khal, a vdir list can also show its open tasks as events ([`vdir_events`]).

pub mod caldav;
pub mod dav;
pub mod ics;
pub mod merge;
pub mod reach;
pub mod sync;
pub mod task_list;
pub mod vdir;
pub mod vdir_events;
pub mod vtodo;

pub use ics::*;
