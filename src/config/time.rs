//! Wall-clock values in config: a time of day ("07:30") and an IANA time zone, each
//! refused with an example of what to write.

use serde::Deserialize;

/// "07:30" in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime(pub chrono::NaiveTime);

impl<'de> Deserialize<'de> for LocalTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(LocalTime)
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "bad time {text:?}: write it as HH:MM, e.g. \"07:30\""
                ))
            })
    }
}

/// An IANA time zone name like "Europe/Berlin".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for TimeZone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim().parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            serde::de::Error::custom(format!(
                "unknown time zone {text:?}: use an IANA name such as \"Europe/Berlin\" or \"America/New_York\""
            ))
        })
    }
}
