//! nudged turns the notification emails social platforms send (LinkedIn, GitHub,
//! Mastodon, Facebook, X, Reddit, Meetup, blogs…) into a relationship log, follow-up
//! tasks and one digest email a day.
//!
//! Data flows one way:
//!
//! ```text
//! source ──raw mail──▶ classify ──Classification──▶ store ──▶ plan ──Followup──▶ store
//! (maildir, imap)      (pure)                       (sqlite)  (pure)
//! store ──▶ digest (schedule, render, outbox) ──▶ deliver (smtp, sendmail, file)
//! inbox ──reply to a digest──▶ digest::replies ──▶ store (done, snooze, met…)
//! store ──▶ calendar (.ics)
//! ```
//!
//! [`pipeline`] is the one path every message takes; [`cli`] is the command line.

pub mod backoff;
pub mod calendar;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod config;
pub mod digest;
pub mod import;
pub mod ingest;
pub mod plan;
pub mod progress_bar;
pub mod secret;
pub mod service;
pub mod source;
pub mod store;
pub mod tls;
pub mod web;
