//! A rule's pattern, built lazily, and when patterns are checked. Below both the rule
//! conditions and the platforms, which share it.

use std::sync::OnceLock;

use regex::Regex;

use crate::config::compile_pattern;

/// A pattern no text matches: the stand-in for one that failed to build.
const NEVER_MATCHES: &str = r"[^\s\S]";

/// A rule's pattern, built on first use. A case-insensitive Unicode automaton costs tens
/// of KB, and most rules only ever see mail their sender test already turned away:
/// holding every automaton from the start was ~3 MB of a daemon that is meant to stay
/// under 15 MB. A user's pattern is compiled in full when the rules load (so a bad one
/// is reported then, with its place) and dropped again; the built-in ones are compiled
/// by a unit test instead, which keeps a restart fast.
#[derive(Debug)]
pub(super) struct Pattern {
    source: String,
    built: OnceLock<Regex>,
}

/// Whether a pattern is compiled once when the rules load, to report errors early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// Written by the user: check it now.
    Now,
    /// Built in: `every_builtin_pattern_compiles` checks them all.
    Builtin,
}

impl Pattern {
    /// The pattern as `classify --explain` shows it: whole when short, else its start
    /// (the shared account-mail shapes run to dozens of lines).
    pub fn shown(&self) -> String {
        const SHOWN: usize = 80;
        let compact: String = self.source.split_whitespace().collect::<Vec<_>>().join(" ");
        match compact.char_indices().nth(SHOWN) {
            None => compact,
            Some((cut, _)) => format!("{}…", &compact[..cut]),
        }
    }

    /// What the pattern matched in `text`, for `classify --explain`.
    pub fn matched<'t>(&self, text: &'t str) -> &'t str {
        self.find(text).map_or("", |m| m.as_str())
    }

    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            built: OnceLock::new(),
        }
    }
}

impl std::ops::Deref for Pattern {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        self.built.get_or_init(|| {
            // User patterns compiled when the rules loaded and built-in ones in a unit
            // test, with these same limits, so this cannot fail; if it ever did, the
            // rule stops matching and says why rather than taking the daemon down.
            compile_pattern(&self.source).unwrap_or_else(|err| {
                tracing::error!("rule pattern disabled: {err}");
                Regex::new(NEVER_MATCHES).unwrap_or_else(|_| unreachable!("a constant pattern"))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stand_in_pattern_builds_and_matches_nothing() {
        let never = Regex::new(NEVER_MATCHES).unwrap();
        assert!(!never.is_match(""));
        assert!(!never.is_match("anything at all\n"));
    }
}
