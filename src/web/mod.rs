//! The web side: a small HTTP server (meant to sit behind a reverse proxy) with the
//! calendar subscription feed and one-click done/snooze/skip links. [`links`] is also
//! used by the digest to write those links; [`serve`] runs the server.

mod actions;
mod feed;
mod feed_cache;
pub mod links;
pub mod listen;
mod pages;
mod server;
mod state;
pub mod token;

pub use links::action_url;
pub use server::{serve, spawn_background};
