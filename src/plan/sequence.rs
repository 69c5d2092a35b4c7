//! Follow-up sequences the user writes in config, and which sequence applies to an
//! interaction. A `[[sequence]]` for a kind (optionally on one platform) replaces the
//! built-in one; the most specific match wins, and among equals the later one.
//!
//! ```toml
//! [[sequence]]
//! when = { kind = "connection", platform = "linkedin" }
//! steps = [
//!   { name = "thank", delay = "24h", title = "Thank {name} on {platform}" },
//!   { name = "call", delay = "14d", title = "Call {name}", note = "Ask about their move" },
//! ]
//! ```

use crate::classify::Kind;
use crate::config::duration::HumanDuration;
pub use crate::config::{SequenceSpec, SequenceWhen, StepSpec};

/// One step of a sequence, borrowed from the built-in table or the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub note: Option<&'a str>,
    pub delay: HumanDuration,
}

impl<'a> Step<'a> {
    fn from_spec(spec: &'a StepSpec) -> Self {
        Step {
            name: spec.name.get_ref(),
            title: spec.title.get_ref(),
            note: spec.note.as_ref().map(|n| n.get_ref().as_str()),
            delay: spec.delay,
        }
    }
}

/// The user's sequence for this kind on this platform, if they wrote one.
pub fn configured<'a>(
    specs: &'a [SequenceSpec],
    kind: Kind,
    platform: &str,
) -> Option<Vec<Step<'a>>> {
    let mut best: Option<(bool, &SequenceSpec)> = None;
    for spec in specs.iter().filter(|s| *s.when.kind.get_ref() == kind) {
        let specific = match &spec.when.platform {
            Some(p) if p.eq_ignore_ascii_case(platform) => true,
            Some(_) => continue,
            None => false,
        };
        // `>=`: a later table of equal specificity overrides an earlier one.
        if best.is_none_or(|(was_specific, _)| specific >= was_specific) {
            best = Some((specific, spec));
        }
    }
    best.map(|(_, spec)| spec.steps.iter().map(Step::from_spec).collect())
}

/// `{name}` and `{platform}` in a template.
pub fn fill(template: &str, name: &str, platform: &str) -> String {
    template
        .replace("{name}", name)
        .replace("{platform}", platform)
}
