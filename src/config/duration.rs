//! Human durations as people write them in config files and on the command line:
//! "48h", "30d", "1w", "90m", "2d12h". One parser so every place agrees on the syntax.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A span of time written by a person. Whole days are kept apart from hours so the
/// planner can add calendar days in the user's time zone (a "30d" step keeps the same
/// wall-clock time across a DST change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HumanDuration {
    pub days: i64,
    pub seconds: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "bad duration {input:?}: {reason} (write it like \"48h\", \"30d\", \"1w\", \"90m\" or \"2d12h\")"
)]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl HumanDuration {
    pub const fn days(days: i64) -> Self {
        Self { days, seconds: 0 }
    }

    pub const fn hours(hours: i64) -> Self {
        Self {
            days: 0,
            seconds: hours * 3600,
        }
    }

    /// Total length, counting a day as 24 hours (right for everything but local-time
    /// arithmetic, which the planner does itself).
    pub fn to_chrono(self) -> chrono::Duration {
        chrono::Duration::days(self.days) + chrono::Duration::seconds(self.seconds)
    }

    pub fn is_zero(self) -> bool {
        self.days == 0 && self.seconds == 0
    }
}

impl FromStr for HumanDuration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let fail = |reason| DurationError {
            input: input.to_string(),
            reason,
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail("it is empty"));
        }
        if text == "0" {
            return Ok(Self::days(0));
        }
        let mut days: i64 = 0;
        let mut seconds: i64 = 0;
        let mut number = String::new();
        for ch in text.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            if ch.is_whitespace() {
                continue;
            }
            if number.is_empty() {
                return Err(fail("a unit must follow a number"));
            }
            let value: i64 = number
                .parse()
                .map_err(|_| fail("the number is too large"))?;
            number.clear();
            let (add_days, add_seconds) = match ch {
                'w' => (value.checked_mul(7), Some(0)),
                'd' => (Some(value), Some(0)),
                'h' => (Some(0), value.checked_mul(3600)),
                'm' => (Some(0), value.checked_mul(60)),
                's' => (Some(0), Some(value)),
                _ => return Err(fail("units are w, d, h, m and s")),
            };
            days = add_days
                .and_then(|d| days.checked_add(d))
                .ok_or_else(|| fail("the number is too large"))?;
            seconds = add_seconds
                .and_then(|s| seconds.checked_add(s))
                .ok_or_else(|| fail("the number is too large"))?;
        }
        if !number.is_empty() {
            return Err(fail("the last number has no unit"));
        }
        // chrono panics on durations beyond ~292 billion years; a century is plenty.
        if days > 36_500 || seconds > 36_500 * 86_400 {
            return Err(fail("it is longer than a hundred years"));
        }
        Ok(Self { days, seconds })
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return write!(f, "0");
        }
        if self.days != 0 {
            if self.days % 7 == 0 && self.seconds == 0 {
                write!(f, "{}w", self.days / 7)?;
            } else {
                write!(f, "{}d", self.days)?;
            }
        }
        let (h, rest) = (self.seconds / 3600, self.seconds % 3600);
        let (m, s) = (rest / 60, rest % 60);
        if h != 0 {
            write!(f, "{h}h")?;
        }
        if m != 0 {
            write!(f, "{m}m")?;
        }
        if s != 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_people_write() {
        assert_eq!("48h".parse(), Ok(HumanDuration::hours(48)));
        assert_eq!("30d".parse(), Ok(HumanDuration::days(30)));
        assert_eq!("1w".parse(), Ok(HumanDuration::days(7)));
        assert_eq!(
            "2d12h".parse(),
            Ok(HumanDuration {
                days: 2,
                seconds: 12 * 3600
            })
        );
        assert_eq!("0".parse(), Ok(HumanDuration::days(0)));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        for bad in [
            "",
            "h",
            "48",
            "3 fortnights",
            "-1d",
            "99999999999999999999d",
            "40000d",
        ] {
            assert!(bad.parse::<HumanDuration>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn displays_round_trip() {
        for text in ["48h", "30d", "1w", "2d12h", "90m"] {
            let parsed: HumanDuration = text.parse().unwrap();
            assert_eq!(parsed.to_string().parse::<HumanDuration>().unwrap(), parsed);
        }
    }
}
