//! A rule compiled for matching: its patterns built once, its conditions checked in
//! order of cost (sender, headers, subject, template, body), recording what held so
//! `classify --explain` can say why a rule matched or how close it came.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};

use super::extract::CompiledPlatform;
use super::{MailView, RuleSpec, sender_matches};

/// A pattern no text matches: the stand-in for one that failed to build.
const NEVER_MATCHES: &str = r"[^\s\S]";

/// Bound on one compiled pattern, so a user's rule cannot eat memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|err| format!("bad pattern {pattern:?}: {err}"))
}

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

    pub fn new(source: &str, check: Check) -> Result<Self, String> {
        if check == Check::Now {
            drop(compile(source)?);
        }
        Ok(Self {
            source: source.to_string(),
            built: OnceLock::new(),
        })
    }
}

impl std::ops::Deref for Pattern {
    type Target = Regex;

    fn deref(&self) -> &Regex {
        self.built.get_or_init(|| {
            // User patterns compiled when the rules loaded and built-in ones in a unit
            // test, with these same limits, so this cannot fail; if it ever did, the
            // rule stops matching and says why rather than taking the daemon down.
            compile(&self.source).unwrap_or_else(|err| {
                tracing::error!("rule pattern disabled: {err}");
                Regex::new(NEVER_MATCHES).unwrap_or_else(|_| unreachable!("a constant pattern"))
            })
        })
    }
}

#[derive(Debug)]
pub(super) struct CompiledRule {
    pub spec: RuleSpec,
    pub headers: Vec<(String, Pattern)>,
    pub not_headers: Vec<(String, Pattern)>,
    pub subject: Option<Pattern>,
    pub template: Option<Pattern>,
    pub body: Option<Pattern>,
    pub capture: Option<Pattern>,
    pub from_name: Option<Pattern>,
    pub link: Option<Pattern>,
    pub profile: Option<Pattern>,
}

/// Whether body conditions are decided now or assumed to hold (header pass), and
/// whether to write down why (`classify --explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    HeadersOnly,
    Full,
    Explain,
}

/// The result of checking one rule. Descriptions are only written in `Full` mode:
/// classification runs on every message and must not allocate for nothing.
#[derive(Debug, Default)]
pub(super) struct Verdict {
    pub matched: bool,
    pub held: Vec<String>,
    pub failed: Option<String>,
}

impl CompiledRule {
    pub fn new(spec: RuleSpec, check: Check) -> Result<Self, String> {
        let in_rule = |e: String| format!("rule {:?}: {e}", spec.name);
        let opt = |p: &Option<String>| {
            p.as_deref()
                .map(|p| Pattern::new(p, check))
                .transpose()
                .map_err(in_rule)
        };
        let map = |m: &std::collections::BTreeMap<String, String>| {
            m.iter()
                .map(|(name, pattern)| {
                    Ok((name.to_ascii_lowercase(), Pattern::new(pattern, check)?))
                })
                .collect::<Result<Vec<_>, String>>()
                .map_err(in_rule)
        };
        if spec.name.trim().is_empty() {
            return Err("a rule needs a name".into());
        }
        if spec.platform.trim().is_empty() {
            return Err(in_rule("platform must not be empty".into()));
        }
        let has_condition = !spec.from.is_empty()
            || !spec.headers.is_empty()
            || spec.subject.is_some()
            || spec.from_name.is_some()
            || spec.template.is_some()
            || spec.body.is_some();
        if !has_condition {
            return Err(in_rule(
                "states no condition (from, headers, subject, from_name, template or body), so it would match every message".into(),
            ));
        }
        Ok(Self {
            headers: map(&spec.headers)?,
            not_headers: map(&spec.not_headers)?,
            subject: opt(&spec.subject)?,
            template: opt(&spec.template)?,
            body: opt(&spec.body)?,
            capture: opt(&spec.capture)?,
            from_name: opt(&spec.from_name)?,
            link: opt(&spec.link)?,
            profile: opt(&spec.profile)?,
            spec,
        })
    }

    pub fn check(
        &self,
        mail: &MailView,
        platform: Option<&CompiledPlatform>,
        mode: Mode,
    ) -> Verdict {
        let explain = mode == Mode::Explain;
        let mut held_list: Vec<String> = Vec::new();
        macro_rules! held {
            ($($arg:tt)*) => {
                if explain {
                    held_list.push(format!($($arg)*));
                }
            };
        }
        macro_rules! fail {
            ($($arg:tt)*) => {{
                let failed = explain.then(|| format!($($arg)*));
                return Verdict { matched: false, held: held_list, failed };
            }};
        }

        if !self.spec.from.is_empty() {
            let address = mail.from_address.as_deref().unwrap_or_default();
            if !self.spec.from.iter().any(|w| sender_matches(w, address)) {
                fail!("From {address:?} is not one of {:?}", self.spec.from);
            }
            held!("From {address:?} is one of {:?}", self.spec.from);
        }
        if let Some(pattern) = &self.from_name {
            let name = mail.from_name.as_deref().unwrap_or_default();
            if !pattern.is_match(name) {
                fail!("From name {name:?} does not match /{}/", pattern.shown());
            }
            held!("From name {name:?} matches /{}/", pattern.shown());
        }
        for (name, pattern) in &self.headers {
            match mail.headers_named(name).find(|v| pattern.is_match(v)) {
                Some(value) => held!("header {name}: {value:?} matches /{}/", pattern.shown()),
                None => match mail.header(name) {
                    Some(value) => fail!(
                        "header {name}: {value:?} does not match /{}/",
                        pattern.shown()
                    ),
                    None => fail!("header {name} is absent"),
                },
            }
        }
        for (name, pattern) in &self.not_headers {
            if let Some(value) = mail.headers_named(name).find(|v| pattern.is_match(v)) {
                fail!(
                    "header {name}: {value:?} matches /{}/, which this rule excludes",
                    pattern.shown()
                );
            }
            held!("no header {name} matching /{}/", pattern.shown());
        }
        if let Some(pattern) = &self.subject {
            if !pattern.is_match(&mail.subject) {
                fail!(
                    "subject {:?} does not match /{}/",
                    mail.subject,
                    pattern.shown()
                );
            }
            held!(
                "subject {:?} matches /{}/ (at {:?})",
                mail.subject,
                pattern.shown(),
                pattern.matched(&mail.subject)
            );
        }
        if let Some(pattern) = &self.template {
            let header = self.template_header(platform);
            let from_header = header.and_then(|h| mail.header(h));
            // Without the header the id can only come from links, which need the body.
            let template = match from_header {
                Some(ref value) => Some(value.trim().to_string()),
                None if mode == Mode::HeadersOnly => None,
                None => platform.and_then(|p| p.template_from_links(mail)),
            };
            match template {
                Some(t) if pattern.is_match(&t) => {
                    let source = if from_header.is_some() {
                        "header"
                    } else {
                        "links"
                    };
                    held!(
                        "template {t:?} (from {source}) matches /{}/",
                        pattern.shown()
                    );
                }
                Some(t) => fail!("template {t:?} does not match /{}/", pattern.shown()),
                None if mode == Mode::HeadersOnly => {}
                None => fail!("no template id in the headers or the platform's links"),
            }
        }
        if mode != Mode::HeadersOnly
            && let Some(pattern) = &self.body
        {
            if !pattern.is_match(&mail.text) {
                match &mail.body_skipped {
                    Some(why) => fail!("body pattern not checked: {why}"),
                    None => fail!("body does not match /{}/", pattern.shown()),
                }
            }
            held!(
                "body matches /{}/ (at {:?})",
                pattern.shown(),
                pattern.matched(&mail.text)
            );
        }
        Verdict {
            matched: true,
            held: held_list,
            failed: None,
        }
    }

    pub fn template_header<'a>(
        &'a self,
        platform: Option<&'a CompiledPlatform>,
    ) -> Option<&'a str> {
        self.spec
            .template_header
            .as_deref()
            .or(platform.and_then(|p| p.spec.template_header.as_deref()))
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
