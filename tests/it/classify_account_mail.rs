//! Account, security and suggestion mail of every built-in platform is noise and says
//! why, in English, German, French and Spanish; what a person did stays social even when
//! its words look like account mail; a bot never becomes a contact, a task or a
//! reminder; and `unknown_template` is kept for mail that really is a new template.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use nudged::classify::{Kind, RuleSet, classify, classify_explained};
use nudged::config::{Config, TrustConfig};
use nudged::ingest::{Ingest, plan_housekeeping};
use nudged::store::{NewIdentity, NewInteraction, Store};

/// A minimal notification: what the rules look at, nothing more.
fn mail(from: &str, subject: &str, headers: &str) -> Vec<u8> {
    let id = format!("{:x}", subject.len() * 7919 + from.len());
    format!(
        "From: {from}\r\nTo: Sam Rivera <sam@example.com>\r\nSubject: {subject}\r\n{headers}Date: Mon, 02 Mar 2026 10:00:00 +0000\r\nMessage-ID: <{id}.{}@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHello.\r\n",
        subject.chars().filter(char::is_ascii_alphanumeric).collect::<String>()
    )
    .into_bytes()
}

/// Senders whose subjects the platform writes itself, one per platform.
const SENDERS: &[(&str, &str)] = &[
    ("x", "X <info@x.com>"),
    ("facebook", "Facebook <notification@facebookmail.com>"),
    ("instagram", "Instagram <no-reply@mail.instagram.com>"),
    ("reddit", "Reddit <noreply@redditmail.com>"),
    ("xing", "XING <mailrobot@mail.xing.com>"),
    ("linkedin", "LinkedIn <notifications-noreply@linkedin.com>"),
    ("github", "GitHub <noreply@github.com>"),
];

const ACCOUNT_SUBJECTS: &[&str] = &[
    // English
    "Password reset request",
    "New login to your account from Chrome on Windows",
    "Your verification code",
    "123456 is your confirmation code",
    "Confirm your email address",
    "Your email address was changed",
    "Two-factor authentication is on",
    "We're updating our Terms of Service",
    // German
    "Passwort zurücksetzen",
    "Neue Anmeldung von einem unbekannten Gerät",
    "Dein Bestätigungscode lautet 482913",
    "Bestätige deine E-Mail-Adresse",
    "Deine E-Mail-Adresse wurde geändert",
    "Zwei-Faktor-Authentifizierung aktiviert",
    "Wir aktualisieren unsere Nutzungsbedingungen",
    // French
    "Réinitialisation de votre mot de passe",
    "Nouvelle connexion depuis un appareil inconnu",
    "Votre code de vérification",
    "Confirmez votre adresse e-mail",
    "Votre adresse e-mail a été modifiée",
    "Authentification à deux facteurs activée",
    "Mise à jour de nos conditions d'utilisation",
    // Spanish
    "Restablece tu contraseña",
    "Nuevo inicio de sesión desde un dispositivo desconocido",
    "Tu código de verificación",
    "Confirma tu dirección de correo",
    "Tu correo electrónico ha sido cambiado",
    "Verificación en dos pasos activada",
    "Actualizamos nuestros Términos",
];

const SUGGESTION_SUBJECTS: &[&str] = &[
    "People you may know",
    "Who to follow this week",
    "Trending in your network",
    "Your weekly digest",
    "New jobs for you",
    "Get 50% off Premium",
    "Personen, die du kennen könntest",
    "Neue Jobs für dich",
    "Personnes que vous connaissez peut-être",
    "Offres d'emploi pour vous",
    "Tendances de la semaine",
    "Personas que quizás conozcas",
    "Ofertas de empleo para ti",
    "Tendencias de hoy",
];

#[test]
fn account_and_suggestion_mail_is_noise_with_a_reason_everywhere() {
    let rules = RuleSet::builtin();
    let trust = TrustConfig::default();
    let mut wrong = Vec::new();
    for (platform, from) in SENDERS {
        for subject in ACCOUNT_SUBJECTS.iter().chain(SUGGESTION_SUBJECTS) {
            let got = classify(&mail(from, subject, ""), &rules, &trust);
            if got.kind != Kind::Noise
                || got.platform.as_deref() != Some(platform)
                || got.reason.is_none()
            {
                wrong.push(format!(
                    "{platform} {subject:?}: {} {:?} by {:?}",
                    got.kind, got.platform, got.rule
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn what_a_person_did_stays_social() {
    let rules = RuleSet::builtin();
    let trust = TrustConfig::default();
    let fb = "X-Facebook-Notify: feed_comment; from=100012345678901\r\n";
    for (from, subject, headers, kind) in [
        (
            "X <info@x.com>",
            "Ana Souza (@anasouza) is now following you",
            "",
            Kind::Follow,
        ),
        (
            "X <info@x.com>",
            "Ana Souza sent you a Direct Message",
            "",
            Kind::Message,
        ),
        (
            "X <info@x.com>",
            "Ana Souza mentioned you",
            "",
            Kind::Mention,
        ),
        (
            "Facebook <notification@facebookmail.com>",
            "Ana Souza commented on your post.",
            fb,
            Kind::Comment,
        ),
        (
            "Facebook <notification@facebookmail.com>",
            "Ana Souza wants to be friends on Facebook.",
            fb,
            Kind::ConnectionRequest,
        ),
        (
            "Instagram <no-reply@mail.instagram.com>",
            "ana.souza started following you",
            "",
            Kind::Follow,
        ),
        (
            "Reddit <noreply@redditmail.com>",
            "[reddit] 1 new message from u/anasouza",
            "",
            Kind::Message,
        ),
        (
            "XING <mailrobot@mail.xing.com>",
            "Ana Souza möchte sich mit dir vernetzen",
            "",
            Kind::ConnectionRequest,
        ),
        (
            "XING <mailrobot@mail.xing.com>",
            "Ana Souza hat deine Kontaktanfrage bestätigt",
            "",
            Kind::Connection,
        ),
        (
            "LinkedIn <messages-noreply@linkedin.com>",
            "Ana Souza has accepted your LinkedIn invitation",
            "",
            Kind::Connection,
        ),
        // A name that looks like marketing is still a name.
        (
            "LinkedIn <messages-noreply@linkedin.com>",
            "Premium Okafor has accepted your LinkedIn invitation",
            "",
            Kind::Connection,
        ),
        // A person's own subject (an InMail) may say anything.
        (
            "Ana Souza via LinkedIn <inmail-hit-reply@linkedin.com>",
            "New login page: could you review the password reset flow?",
            "X-LinkedIn-Class: INMAIL\r\nX-LinkedIn-Template: email_hire_inmail_initial_single_01\r\n",
            Kind::Message,
        ),
        // An issue title is the author's words, not GitHub's.
        (
            "Ana Souza <notifications@github.com>",
            "[fieldnote/relay] Password reset e-mail never arrives (#240)",
            "X-GitHub-Reason: mention\r\nX-GitHub-Sender: anasouza\r\n",
            Kind::Mention,
        ),
        (
            "Meetup <info@meetup.com>",
            "Reminder: Password hygiene night is tomorrow",
            "",
            Kind::Event,
        ),
    ] {
        let got = classify(&mail(from, subject, headers), &rules, &trust);
        assert_eq!(got.kind, kind, "{subject:?}: {:#?}", got.explanation);
    }
    // No rule knows these yet, but a person did them: a visible unknown template, never
    // noise that hides them.
    for (from, subject) in [
        (
            "LinkedIn <notifications-noreply@linkedin.com>",
            "Ana Souza recommended you",
        ),
        (
            "GitHub <noreply@github.com>",
            "Ana Souza is now sponsoring you",
        ),
    ] {
        let got = classify(&mail(from, subject, ""), &rules, &trust);
        assert_eq!(got.kind, Kind::UnknownTemplate, "{subject:?}: {got:#?}");
    }
}

#[test]
fn explain_names_the_noise_rule_and_its_reason() {
    let rules = RuleSet::builtin();
    let raw = mail(
        "X <info@x.com>",
        "Neue Anmeldung bei X über Firefox auf Linux",
        "",
    );
    let got = classify_explained(&raw, &rules, &TrustConfig::default());
    assert_eq!(got.kind, Kind::Noise);
    let first = &got.explanation[0];
    assert!(
        first.starts_with("noise: account or security notice")
            && first.contains("any.account_security"),
        "{:#?}",
        got.explanation
    );
    // The long shared pattern is shown by its start and what it matched.
    assert!(
        got.explanation
            .iter()
            .any(|l| l.contains("(at \"Neue Anmeldung\")")),
        "{:#?}",
        got.explanation
    );
}

#[test]
fn a_bot_is_noise_whatever_rule_matched() {
    // A user rule that maps every GitHub mention to a mention still cannot make a bot a
    // person: the classifier demotes it after any rule.
    let config = Config::parse(
        "[[rule]]\nname = \"github.bot\"\nplatform = \"github\"\nkind = \"noise\"\nfrom = [\"nobody@example.invalid\"]\n",
        None,
        Path::new("."),
    )
    .unwrap();
    let rules = RuleSet::with_user_config(&config.platforms, &config.rules).unwrap();
    for sender in ["Copilot", "renovate[bot]"] {
        let raw = mail(
            &format!("{sender} <notifications@github.com>"),
            "Re: [fieldnote/relay] Batch header fetches (PR #231)",
            &format!("X-GitHub-Reason: review_requested\r\nX-GitHub-Sender: {sender}\r\n"),
        );
        let got = classify_explained(&raw, &rules, &config.trust);
        assert_eq!(got.kind, Kind::Noise, "{:#?}", got.explanation);
        assert!(got.actor.is_none());
        assert!(
            got.reason.as_deref().unwrap_or_default().contains("bot"),
            "{got:#?}"
        );
    }
}

fn at(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap() + Duration::days(days)
}

fn config() -> Config {
    Config::parse(
        "[trust]\nallow_unverified = true\n[followups]\nreconnects_per_day = 10\n",
        None,
        Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_bot_gets_no_contact_no_task_and_no_reminder() {
    let config = config();
    let rules = RuleSet::builtin();
    let mut store = Store::in_memory().unwrap();
    let ingest = Ingest {
        rules: &rules,
        config: &config,
        now: at(0),
    };
    let gh = |sender: &str, login: &str, reason: &str, n: u32| {
        mail(
            &format!("{sender} <notifications@github.com>"),
            &format!("Re: [fieldnote/relay] Batch header fetches (PR #{n})"),
            &format!("X-GitHub-Reason: {reason}\r\nX-GitHub-Sender: {login}\r\n"),
        )
    };
    let copilot = store
        .write(|tx| ingest.message(tx, &gh("Copilot", "Copilot", "review_requested", 1)))
        .unwrap();
    let dependabot = store
        .write(|tx| ingest.message(tx, &gh("dependabot[bot]", "dependabot[bot]", "author", 2)))
        .unwrap();
    // The same mail from a person: the control that shows the test can fail.
    let person = store
        .write(|tx| ingest.message(tx, &gh("Ana Souza", "anasouza", "review_requested", 3)))
        .unwrap();
    for bot in [&copilot, &dependabot] {
        let recorded = bot.recorded.expect("a bot's mail is logged, as noise");
        assert_eq!(bot.classification.kind, Kind::Noise);
        assert_eq!((recorded.contact_id, bot.planned), (None, 0));
    }
    assert_eq!(person.classification.kind, Kind::Mention);
    assert_eq!(person.planned, 1);
    let names: Vec<String> = store
        .contacts()
        .unwrap()
        .into_iter()
        .map(|c| c.display_name)
        .collect();
    assert_eq!(names, vec!["Ana Souza".to_string()]);
    let titles: Vec<String> = store
        .all_followups()
        .unwrap()
        .into_iter()
        .map(|f| f.title)
        .collect();
    assert_eq!(titles, vec!["Respond to Ana Souza".to_string()]);

    // An older version made Copilot a contact: the planner still never reminds of it.
    store
        .record_interaction(
            &NewInteraction {
                platform: "github".into(),
                kind: Kind::Mention,
                occurred_at: at(0).timestamp(),
                subject: "Batch header fetches".into(),
                snippet: String::new(),
                link: None,
                template: None,
                rule: Some("github.mention".into()),
                source_message_id: Some("<old-copilot@github.com>".into()),
                trust: nudged::classify::Trust::Verified,
                actor: Some(NewIdentity {
                    platform: "github".into(),
                    display_name: Some("Copilot".into()),
                    handle: Some("Copilot".into()),
                    profile_url: Some("https://github.com/Copilot".into()),
                    email: None,
                }),
            },
            at(0).timestamp(),
        )
        .unwrap();
    plan_housekeeping(&mut store, &config, at(200)).unwrap();
    let reconnects: Vec<String> = store
        .all_followups()
        .unwrap()
        .into_iter()
        .filter(|f| f.rule == "keep_in_touch.reconnect")
        .map(|f| f.title)
        .collect();
    assert_eq!(reconnects, vec!["Reconnect with Ana Souza".to_string()]);
}

#[test]
fn stats_count_unknown_templates_apart_from_noise() {
    let config = config();
    let rules = RuleSet::builtin();
    let mut store = Store::in_memory().unwrap();
    let ingest = Ingest {
        rules: &rules,
        config: &config,
        now: at(0),
    };
    for raw in [
        mail("X <info@x.com>", "Password reset request", ""),
        mail("X <info@x.com>", "People you may know", ""),
        // A template no rule knows: the one figure that asks for a person.
        mail("X <info@x.com>", "Ana Souza reposted your post", ""),
    ] {
        store.write(|tx| ingest.message(tx, &raw)).unwrap();
    }
    let report = nudged::digest::stats::roi_report(&store, at(1)).unwrap();
    let x = report.windows[0]
        .platforms
        .iter()
        .find(|p| p.platform == "x")
        .unwrap();
    assert_eq!((x.noise, x.unknown_templates, x.interactions), (2, 1, 0));
    assert!(x.noise_only);
}

/// Mail the goldens call `unknown_template` is named for it, and the demo has none: an
/// unknown template is a platform's template change, not everyday account mail.
#[test]
fn unknown_template_is_kept_for_new_templates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut unknown = Vec::new();
    for dir in std::fs::read_dir(root.join("tests/fixtures")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.to_string_lossy().ends_with(".expect.toml") {
                let golden: toml::Table =
                    toml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                if golden.get("kind").and_then(|k| k.as_str()) == Some("unknown_template") {
                    unknown.push(file.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
    }
    assert!(
        !unknown.is_empty(),
        "the fixture set keeps a real new template"
    );
    assert!(
        unknown.iter().all(|f| f.starts_with("unknown_template")),
        "{unknown:?}"
    );
    let rules = RuleSet::builtin();
    let trust = TrustConfig::default();
    let mut demo = 0;
    for sub in ["cur", "new"] {
        let Ok(files) = std::fs::read_dir(root.join("examples/demo-maildir").join(sub)) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let got = classify(&std::fs::read(&path).unwrap(), &rules, &trust);
            demo += 1;
            assert_ne!(got.kind, Kind::UnknownTemplate, "{}", path.display());
        }
    }
    assert!(demo >= 15, "only {demo} demo messages");
}

#[test]
fn a_rule_for_every_platform_takes_the_senders_platform_or_none() {
    let config = Config::parse(
        "[[rule]]\nname = \"mine.greetings\"\nplatform = \"*\"\nkind = \"noise\"\nreason = \"greetings\"\nfrom = [\"@xing.com\", \"@unknown.example\"]\nsubject = '^Hallo'\n",
        None,
        Path::new("."),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rules = RuleSet::with_user_config(&config.platforms, &config.rules).unwrap();
    let xing = classify(
        &mail("XING <mailrobot@mail.xing.com>", "Hallo Sam", ""),
        &rules,
        &config.trust,
    );
    assert_eq!(
        (xing.platform.as_deref(), xing.kind, xing.reason.as_deref()),
        (Some("xing"), Kind::Noise, Some("greetings"))
    );
    // A sender no platform owns: the rule has no platform to give, so it does not match.
    let other = classify(
        &mail("Someone <a@unknown.example>", "Hallo Sam", ""),
        &rules,
        &config.trust,
    );
    assert_eq!((other.platform, other.kind), (None, Kind::None));
    assert!(rules.platform("*").is_none());
}

#[test]
fn the_classify_command_says_which_rule_and_why() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nudged"))
            .arg("--config")
            .arg(root.join("examples/demo.toml"))
            .args(args)
            .arg(root.join("tests/fixtures/github/noise_copilot_review_request.eml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&["classify", "--explain"]);
    assert!(
        text.contains("rule:     github.bot")
            && text.contains("reason:   a bot account acted")
            && text.contains("why:      noise: a bot account acted (X-GitHub-Sender), not a person (rule \"github.bot\")"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["--json", "classify"])).unwrap();
    assert_eq!(json[0]["result"]["kind"], "noise");
    assert_eq!(json[0]["result"]["rule"], "github.bot");
    assert!(
        json[0]["result"]["reason"]
            .as_str()
            .unwrap()
            .contains("bot")
    );
}

/// `classify --explain` can only say why if every built-in noise rule says it.
#[test]
fn every_builtin_noise_rule_has_a_reason() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/classify/rules/builtin.toml");
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let missing: Vec<&str> = file["rule"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"].as_str() == Some("noise"))
        .filter(|r| {
            r.get("reason")
                .and_then(|v| v.as_str())
                .is_none_or(str::is_empty)
        })
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "noise rules without a reason: {missing:?}"
    );
}
