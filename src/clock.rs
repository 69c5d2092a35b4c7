//! The one place that owns "now". Everything that asks for the time goes through a
//! [`Clock`], so tests can pin it and end-to-end runs can move it with `NUDGED_NOW`.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

/// Environment variable that pins the clock for a whole process (tests, demos of a
/// digest on another day). Accepts RFC 3339, e.g. `2026-11-24T07:31:00+01:00`.
pub const NOW_ENV: &str = "NUDGED_NOW";

#[derive(Debug, Clone, Copy)]
pub enum Clock {
    System,
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The system clock unless `NUDGED_NOW` pins it.
    pub fn from_env() -> Result<Self> {
        match std::env::var(NOW_ENV) {
            Ok(text) if !text.trim().is_empty() => {
                let at = DateTime::parse_from_rfc3339(text.trim()).with_context(|| {
                    format!("{NOW_ENV}={text:?} is not an RFC 3339 time like 2026-11-24T07:31:00Z")
                })?;
                Ok(Clock::Fixed(at.with_timezone(&Utc)))
            }
            _ => Ok(Clock::System),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(at) => *at,
        }
    }
}
