//! Bot accounts are not people: a review request from `Copilot` or a comment from
//! `dependabot[bot]` must not become a contact, a task or a keep-in-touch reminder.
//! This is the one place that says what a bot looks like; the classifier demotes what a
//! bot did to noise, and the planner refuses bot contacts an older version recorded.

use super::{Kind, rules::Outcome};

/// Accounts that act without a `[bot]` suffix on their login. GitHub's own agents sign
/// as these; a person who really has one of these names is not likely.
const BOT_LOGINS: &[&str] = &[
    "copilot",
    "github copilot",
    "copilot-swe-agent",
    "github-actions",
    "dependabot",
    "dependabot-preview",
    "renovate",
];

/// Whether a login or display name is a bot's: `name[bot]` (how GitHub shows an App's
/// account, login and display name alike) or one of GitHub's agent accounts.
pub fn is_bot_account(name: &str) -> bool {
    let name = name.trim().trim_start_matches('@').to_lowercase();
    name.ends_with("[bot]") || BOT_LOGINS.contains(&name.as_str())
}

/// What a bot did is logged as noise, with nobody attached. Returns whether it was
/// demoted, and records why in the outcome.
pub(super) fn demote_bot_actor(outcome: &mut Outcome) -> bool {
    if !outcome.kind.is_social() {
        return false;
    }
    let Some(actor) = &outcome.actor else {
        return false;
    };
    let Some(bot) = [&actor.handle, &actor.name]
        .into_iter()
        .flatten()
        .find(|n| is_bot_account(n))
        .cloned()
    else {
        return false;
    };
    let was = outcome.kind;
    outcome.kind = Kind::Noise;
    outcome.actor = None;
    let reason = format!("{bot:?} is a bot account, not a person");
    let rule = outcome.rule.as_deref().unwrap_or("-");
    outcome
        .explanation
        .insert(0, format!("noise: {reason} (rule {rule:?} said {was})"));
    outcome.reason = Some(reason);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Actor;

    #[test]
    fn bots_by_suffix_and_by_name() {
        for bot in [
            "dependabot[bot]",
            "github-actions[bot]",
            "Copilot",
            "@copilot",
            "renovate[bot]",
            " Some-App[BOT] ",
        ] {
            assert!(is_bot_account(bot), "{bot}");
        }
        for person in ["Ann Lee", "botanist", "robot-arms", "copilots", "bot"] {
            assert!(!is_bot_account(person), "{person}");
        }
    }

    #[test]
    fn a_bot_mention_becomes_noise_without_an_actor() {
        let mut outcome = Outcome {
            kind: Kind::Mention,
            actor: Some(Actor {
                name: Some("Copilot".into()),
                handle: Some("Copilot".into()),
                ..Actor::default()
            }),
            rule: Some("github.mention".into()),
            ..Outcome::default()
        };
        assert!(demote_bot_actor(&mut outcome));
        assert_eq!(outcome.kind, Kind::Noise);
        assert!(outcome.actor.is_none());
        assert!(
            outcome.explanation[0].contains("bot account"),
            "{outcome:?}"
        );
        // A person is left alone, and so is what is already noise.
        let mut person = Outcome {
            kind: Kind::Reply,
            actor: Some(Actor {
                name: Some("Ann Lee".into()),
                handle: Some("annlee".into()),
                ..Actor::default()
            }),
            ..Outcome::default()
        };
        assert!(!demote_bot_actor(&mut person));
        assert_eq!(person.kind, Kind::Reply);
    }
}
