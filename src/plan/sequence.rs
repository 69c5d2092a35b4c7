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

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::classify::Kind;
use crate::duration::HumanDuration;

/// One `[[sequence]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    pub when: SequenceWhen,
    /// No steps turns the kind's follow-ups off.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceWhen {
    pub kind: Spanned<Kind>,
    /// A platform id ("linkedin", "github", …); any platform when absent.
    pub platform: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Stable name; part of each task's key and of its rule. The names `reply`,
    /// `respond`, `answer`, `thank`, `call` and `meet` close by themselves (see
    /// [`super::closing_steps`]).
    pub name: Spanned<String>,
    pub delay: HumanDuration,
    /// Title, with `{name}` and `{platform}` filled in.
    pub title: Spanned<String>,
    pub note: Option<Spanned<String>>,
}

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

/// Check what serde cannot: kinds that can have tasks, step names usable in keys,
/// known placeholders. The error carries the byte span of the offending value.
pub fn validate(specs: &[SequenceSpec]) -> Result<(), (Range<usize>, String)> {
    for spec in specs {
        let kind = *spec.when.kind.get_ref();
        if !kind.is_social() {
            return Err((
                spec.when.kind.span(),
                format!(
                    "sequence.when.kind = \"{kind}\" never gets follow-ups; use a kind such as \"message\" or \"connection\""
                ),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for step in &spec.steps {
            let name = step.name.get_ref();
            let plain = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !plain {
                return Err((
                    step.name.span(),
                    format!(
                        "step name {name:?}: use lowercase letters, digits and _ (it becomes part of each task's key)"
                    ),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err((
                    step.name.span(),
                    format!("step name {name:?} is used twice in this sequence"),
                ));
            }
            if step.title.get_ref().trim().is_empty() {
                return Err((step.title.span(), "a step needs a title".into()));
            }
            for text in std::iter::once(&step.title).chain(step.note.as_ref()) {
                if let Some(bad) = unknown_placeholder(text.get_ref()) {
                    return Err((
                        text.span(),
                        format!(
                            "unknown placeholder {bad}: templates know {{name}} and {{platform}}"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn unknown_placeholder(template: &str) -> Option<String> {
    let rest = template.replace("{name}", "").replace("{platform}", "");
    let start = rest.find('{')?;
    let tail = rest.get(start..).unwrap_or_default();
    let end = tail.find('}').map_or(tail.len(), |i| i + 1);
    Some(tail.get(..end).unwrap_or(tail).to_string())
}
