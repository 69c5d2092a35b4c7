//! Follow-up sequences as written in config (`[[sequence]]`), and what serde cannot
//! check about them. The planner (`plan::sequence`) decides which one applies.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::Kind;
use crate::config::duration::HumanDuration;

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
    /// `plan::closing_steps`).
    pub name: Spanned<String>,
    pub delay: HumanDuration,
    /// Title, with `{name}` and `{platform}` filled in.
    pub title: Spanned<String>,
    pub note: Option<Spanned<String>>,
}

/// Check what serde cannot: kinds that can have tasks, step names usable in keys,
/// known placeholders. The error carries the byte span of the offending value.
pub(super) fn validate_sequences(specs: &[SequenceSpec]) -> Result<(), (Range<usize>, String)> {
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
