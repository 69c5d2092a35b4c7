//! The integration tests, one crate so the suite links once. Each module is one area,
//! run against real servers on loopback (Dovecot, aiosmtpd, Radicale, Chromium…) that
//! the helpers in [`support`] start per test; `cargo test --test it imap::` runs one area.

mod digest_common;
mod support;
mod tarpit;
mod web_common;
mod web_daemon;

mod calendar_caldav;
mod calendar_vdir;
mod check;
mod classify_account_mail;
mod classify_fixtures;
mod classify_props;
mod classify_rules;
mod classify_trust;
mod cli_people;
mod config_calendar;
mod config_errors;
mod contacts_carddav;
mod demo_e2e;
mod digest_backlog;
mod digest_delivery;
mod digest_faults;
mod digest_schedule;
mod fuzz_seeds;
mod harness_selftest;
mod hostile_files;
mod hung_peers;
mod imap;
mod init;
mod init_service;
mod init_srv;
mod log_secrets;
mod migrations;
mod oauth;
mod planner;
mod service;
mod service_notify;
mod smtp_oauth;
mod structure;
mod web_actions;
mod web_feed;
mod web_hostile;
