//! Running as a service: the daemon's wiring of every work loop ([`daemon`]), life under
//! systemd (readiness, watchdog, status line), the log format the journal reads, and
//! `nudged check`, which tries everything the daemon will need before it runs.

pub mod check;
pub mod checklist;
pub mod daemon;
pub mod logging;
pub mod notify;
pub mod systemd;
