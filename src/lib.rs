//! nudged turns the notification emails social platforms send (LinkedIn, GitHub,
//! Mastodon, Facebook, X, Reddit, Meetup, blogs…) into a relationship log, follow-up
//! tasks and one digest email a day.
//!
//! Data flows one way:
//!
//! ```text
//! source ──raw mail──▶ ingest: classify → record → plan ──▶ store (one writer, read pool)
//! (maildir, imap)      (a reply to a digest is mail too)
//! store ──▶ digest (gather, rank, render, outbox) ──▶ deliver (smtp, sendmail, file)
//! store ◀─▶ calendar (.ics; CalDAV and vdir task lists, both ways)
//! store ◀── web (feed, signed links), import (vCard, LinkedIn, CardDAV)
//! ```
//!
//! [`ingest`] is the one path every message takes, [`service`] wires the daemon, [`cli`]
//! is the command line; `clock`, `backoff`, `secret`, `tls` and `progress_bar` are the
//! leaves everything may use.

pub mod backoff;
pub mod calendar;
pub mod child;
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
