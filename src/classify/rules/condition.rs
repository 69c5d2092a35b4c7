//! A rule compiled for matching: its patterns built once, its conditions checked in
//! order of cost (sender, headers, subject, template, body), recording what held so
//! `classify --explain` can say why a rule matched or how close it came.

use super::pattern::{Check, Pattern};
use super::platform::CompiledPlatform;
use super::url_pattern::UrlPattern;
use super::{MailView, RuleSpec, sender_matches};

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
    pub link: Option<UrlPattern>,
    pub profile: Option<UrlPattern>,
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
    /// A user's rule is checked in full now (see [`Check`]); a built-in one is trusted.
    pub fn new(spec: RuleSpec, check: Check) -> Result<Self, String> {
        if check == Check::Now {
            spec.validate()?;
        }
        let opt = |p: &Option<String>| p.as_deref().map(Pattern::new);
        let map = |m: &std::collections::BTreeMap<String, String>| {
            m.iter()
                .map(|(name, pattern)| (name.to_ascii_lowercase(), Pattern::new(pattern)))
                .collect::<Vec<_>>()
        };
        Ok(Self {
            headers: map(&spec.headers),
            not_headers: map(&spec.not_headers),
            subject: opt(&spec.subject),
            template: opt(&spec.template),
            body: opt(&spec.body),
            capture: opt(&spec.capture),
            from_name: opt(&spec.from_name),
            link: spec.link.as_deref().map(UrlPattern::new),
            profile: spec.profile.as_deref().map(UrlPattern::new),
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
                // `fail!` formats lazily, so the value is only looked up again to explain.
                None => fail!(
                    "{}",
                    match mail.header(name) {
                        Some(value) => format!(
                            "header {name}: {value:?} does not match /{}/",
                            pattern.shown()
                        ),
                        None => format!("header {name} is absent"),
                    }
                ),
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
