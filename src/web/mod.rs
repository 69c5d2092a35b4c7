//! The web side: the calendar subscription feed and one-click action links. This
//! module holds what both the digest and the HTTP server need: signing and checking
//! action links.

pub mod links;
