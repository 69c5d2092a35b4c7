//! The planner and the people behind it, through the library on a controlled clock:
//! sequences and due times (a DST week in New York), identity resolution and merge,
//! tasks that close themselves, expiry, and idempotent re-planning and re-import.

use chrono::{DateTime, TimeZone, Utc};
use std::path::Path;

use chrono_tz::Tz;
use nudged::classify::RuleSet;
use nudged::config::Config;
use nudged::ingest::{Ingest, SentMail, plan_housekeeping, record_sent};
use nudged::store::{FollowupRow, FollowupStatus, NewIdentity, Store};

fn ny() -> Tz {
    "America/New_York".parse().unwrap()
}

fn config(extra: &str) -> Config {
    let text = format!(
        "[followups]\ntimezone = \"America/New_York\"\nexpire_after = \"7d\"\n[trust]\nallow_unverified = true\n{extra}"
    );
    Config::parse(&text, None, std::path::Path::new(".")).unwrap_or_else(|e| panic!("{e}"))
}

fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&ny())
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn ny_time(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    ny().with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

/// A LinkedIn notification as LinkedIn sends it, reduced to what the rules look at.
fn linkedin(kind: &str, who: &str, slug: &str, id: &str, at: DateTime<Utc>) -> Vec<u8> {
    let (from, subject, headers) = match kind {
        "message" => (
            "inmail-hit-reply@linkedin.com",
            format!("{who} sent you a message"),
            "X-LinkedIn-Class: INMAIL\r\nX-LinkedIn-Template: email_hire_inmail_initial_single_01\r\n",
        ),
        "invite" => (
            "invitations@linkedin.com",
            format!("{who} wants to add me to your LinkedIn network"),
            "X-LinkedIn-Template: email_m2m_invite_single_01\r\n",
        ),
        _ => (
            "messages-noreply@linkedin.com",
            format!("{who} has accepted your LinkedIn invitation"),
            "",
        ),
    };
    format!(
        "From: {who} <{from}>\r\nTo: me@example.com\r\nSubject: {subject}\r\n{headers}Message-ID: <{id}@linkedin.com>\r\nDate: {}\r\n\r\nSee https://www.linkedin.com/comm/in/{slug}?trk=x\r\n",
        at.to_rfc2822()
    )
    .into_bytes()
}

fn ingest(store: &mut Store, config: &Config, raw: &[u8], now: DateTime<Utc>) -> usize {
    let rules = RuleSet::builtin();
    let ingest = Ingest {
        rules: &rules,
        config,
        now,
    };
    store.write(|tx| ingest.message(tx, raw)).unwrap().planned
}

fn tasks(store: &Store) -> Vec<FollowupRow> {
    store.all_followups().unwrap()
}

fn task<'a>(rows: &'a [FollowupRow], rule: &str) -> &'a FollowupRow {
    rows.iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {rows:#?}"))
}

#[test]
fn connection_sequence_across_the_march_dst_change() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    // Friday before the spring-forward Sunday (2026-03-08) at 10:00 EST.
    let at = ny_time(2026, 3, 6, 10, 0);
    assert_eq!(
        ingest(
            &mut store,
            &config,
            &linkedin("accepted", "Ann Lee", "annlee", "a1", at),
            at
        ),
        3
    );
    let rows = tasks(&store);
    // Hours are elapsed hours: 48 h after 10:00 EST is 11:00 EDT.
    assert_eq!(
        local(nudged::store::from_unix(
            task(&rows, "connection.thank").due_at
        )),
        "2026-03-08 11:00 EDT"
    );
    // Days are calendar days: the same wall-clock time a month later.
    assert_eq!(
        local(nudged::store::from_unix(
            task(&rows, "connection.call").due_at
        )),
        "2026-04-05 10:00 EDT"
    );
}

#[test]
fn due_times_in_the_november_dst_week() {
    let tz = ny();
    let d = |s: &str| {
        s.parse::<nudged::config::duration::HumanDuration>()
            .unwrap()
    };
    // Saturday 09:00 EDT; the clocks go back on Sunday 2026-11-01.
    let start = ny_time(2026, 10, 31, 9, 0);
    assert_eq!(
        local(nudged::plan::due_after(start, d("24h"), tz)),
        "2026-11-01 08:00 EST"
    );
    assert_eq!(
        local(nudged::plan::due_after(start, d("1d"), tz)),
        "2026-11-01 09:00 EST"
    );
    assert_eq!(
        local(nudged::plan::due_after(start, d("1w"), tz)),
        "2026-11-07 09:00 EST"
    );
    // 01:30 happens twice on 2026-11-01: the earlier one.
    let before = ny_time(2026, 10, 31, 1, 30);
    assert_eq!(
        local(nudged::plan::due_after(before, d("1d"), tz)),
        "2026-11-01 01:30 EDT"
    );
    // 02:30 does not exist on 2026-03-08: a day of elapsed time instead.
    let skipped = ny_time(2026, 3, 7, 2, 30);
    assert_eq!(
        local(nudged::plan::due_after(skipped, d("1d"), tz)),
        "2026-03-08 03:30 EDT"
    );
}

#[test]
fn replanning_is_idempotent_and_housekeeping_plans_one_reconnect() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    let at = ny_time(2026, 6, 1, 9, 0);
    let raw = linkedin("message", "Ann Lee", "annlee", "m1", at);
    assert_eq!(ingest(&mut store, &config, &raw, at), 1);
    assert_eq!(ingest(&mut store, &config, &raw, at), 0);
    // 91 days later: the reply expired long ago, a reconnect is due, once.
    let later = ny_time(2026, 8, 31, 9, 0);
    let (expired, planned) = plan_housekeeping(&mut store, &config, later).unwrap();
    assert_eq!((expired, planned), (1, 1));
    assert_eq!(
        plan_housekeeping(&mut store, &config, later).unwrap(),
        (0, 0)
    );
    let rows = tasks(&store);
    assert_eq!(task(&rows, "message.reply").status, FollowupStatus::Expired);
    let reconnect = task(&rows, "keep_in_touch.reconnect");
    assert_eq!(reconnect.title, "Reconnect with Ann Lee");
    // The default cadence: 90 calendar days after the last message, same local time.
    assert_eq!(
        local(nudged::store::from_unix(reconnect.due_at)),
        "2026-08-30 09:00 EDT"
    );
    // A new message closes the pending reconnect: the cadence starts again.
    let again = ny_time(2026, 9, 2, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Ann Lee", "annlee", "m2", again),
        again,
    );
    let rows = tasks(&store);
    let reconnect = task(&rows, "keep_in_touch.reconnect");
    assert_eq!(reconnect.status, FollowupStatus::Done);
    assert_eq!(reconnect.closed_by.as_deref(), Some("message"));
}

#[test]
fn sent_reply_closes_reply_but_not_a_later_message() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    let at = ny_time(2026, 6, 1, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Ann Lee", "annlee", "m1", at),
        at,
    );
    // The user knows her address (from an import, a `met --email`, …).
    let mut report = nudged::import::ImportReport::default();
    store
        .import_contacts(
            &[nudged::import::ImportedContact {
                name: "Ann Lee".into(),
                identities: vec![
                    nudged::import::identity_for_url(
                        "https://www.linkedin.com/in/annlee",
                        "Ann Lee",
                    )
                    .unwrap(),
                    nudged::import::identity_for_email("Ann.Lee@Example.com", "Ann Lee").unwrap(),
                ],
                ..Default::default()
            }],
            &mut report,
            at.timestamp(),
        )
        .unwrap();
    assert_eq!((report.added, report.merged), (0, 1), "{report:?}");
    let later = ny_time(2026, 6, 1, 15, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Ann Lee", "annlee", "m2", later),
        later,
    );
    let sent = SentMail {
        message_id: Some("<r1@example.com>".into()),
        recipients: vec!["ANN.LEE@example.com".into(), "stranger@example.org".into()],
        sent_at: ny_time(2026, 6, 1, 12, 0),
    };
    let closed = store.write(|tx| record_sent(tx, &sent, later)).unwrap();
    assert_eq!(closed, (1, 1));
    // Re-reading the Sent folder changes nothing.
    assert_eq!(
        store.write(|tx| record_sent(tx, &sent, later)).unwrap(),
        (0, 0)
    );
    let rows = tasks(&store);
    let replies: Vec<_> = rows.iter().filter(|f| f.rule == "message.reply").collect();
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].status, FollowupStatus::Done);
    assert_eq!(replies[0].closed_by.as_deref(), Some("sent"));
    assert_eq!(
        replies[1].status,
        FollowupStatus::Open,
        "the 15:00 message is not answered yet"
    );
}

#[test]
fn accepted_notification_closes_the_request() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    let at = ny_time(2026, 6, 1, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("invite", "Ann Lee", "annlee", "i1", at),
        at,
    );
    let later = ny_time(2026, 6, 2, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("accepted", "Ann Lee", "annlee", "c1", later),
        later,
    );
    let rows = tasks(&store);
    let answer = task(&rows, "connection_request.answer");
    assert_eq!(answer.status, FollowupStatus::Done);
    assert_eq!(answer.closed_by.as_deref(), Some("connection"));
    assert_eq!(task(&rows, "connection.thank").status, FollowupStatus::Open);
    assert_eq!(store.contacts().unwrap().len(), 1);
}

#[test]
fn configured_sequence_replaces_the_default_for_its_platform() {
    let config = config(
        "[[sequence]]\nwhen = { kind = \"message\", platform = \"linkedin\" }\nsteps = [\n  { name = \"reply\", delay = \"2d\", title = \"Answer {name} on {platform}\", note = \"Be brief\" },\n  { name = \"nudge\", delay = \"1w\", title = \"Check in with {name}\" },\n]\n",
    );
    let mut store = Store::in_memory().unwrap();
    let at = ny_time(2026, 6, 1, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Ann Lee", "annlee", "m1", at),
        at,
    );
    let rows = tasks(&store);
    assert_eq!(
        task(&rows, "message.reply").title,
        "Answer Ann Lee on LinkedIn"
    );
    assert_eq!(
        task(&rows, "message.reply").note.as_deref(),
        Some("Be brief")
    );
    assert_eq!(task(&rows, "message.nudge").title, "Check in with Ann Lee");
}

#[test]
fn sequence_config_errors_point_at_the_value() {
    let parse = |text: &str| {
        Config::parse(
            text,
            Some(std::path::Path::new("c.toml")),
            std::path::Path::new("."),
        )
        .unwrap_err()
        .to_string()
    };
    let err = parse("[[sequence]]\nwhen = { kind = \"conection\" }\n");
    assert!(err.starts_with("c.toml:2:17:"), "{err}");
    let err = parse("[[sequence]]\nwhen = { kind = \"noise\" }\n");
    assert!(
        err.starts_with("c.toml:2:17:") && err.contains("never gets"),
        "{err}"
    );
    let err = parse(
        "[[sequence]]\nwhen = { kind = \"message\" }\n[[sequence.steps]]\nname = \"reply\"\ndelay = \"1d\"\ntitle = \"Hi {nmae}\"\n",
    );
    assert!(
        err.starts_with("c.toml:6:9:") && err.contains("{nmae}"),
        "{err}"
    );
    let err = parse(
        "[[sequence]]\nwhen = { kind = \"message\" }\nsteps = [{ name = \"Re ply\", delay = \"1d\", title = \"x\" }]\n",
    );
    assert!(err.starts_with("c.toml:3:19:"), "{err}");
    let err = parse(
        "[[sequence]]\nwhen = { kind = \"message\" }\nsteps = [{ name = \"r\", delay = \"soon\", title = \"x\" }]\n",
    );
    assert!(
        err.starts_with("c.toml:3:") && err.contains("soon"),
        "{err}"
    );
}

#[test]
fn identities_resolve_across_spellings_and_platforms() {
    let mut store = Store::in_memory().unwrap();
    let who = |platform: &str, url: Option<&str>, email: Option<&str>, handle: Option<&str>| {
        NewIdentity {
            platform: platform.into(),
            display_name: Some("Ann Lee".into()),
            handle: handle.map(Into::into),
            profile_url: url.map(Into::into),
            email: email.map(Into::into),
        }
    };
    let (ann, _) = store
        .resolve_contact(
            &who(
                "linkedin",
                Some("https://www.linkedin.com/comm/in/annlee?trk=abc"),
                None,
                Some("annlee"),
            ),
            1,
        )
        .unwrap()
        .unwrap();
    // The export's spelling of the same profile.
    let same = store
        .resolve_contact(
            &who(
                "linkedin",
                Some("https://linkedin.com/in/annlee/"),
                None,
                None,
            ),
            2,
        )
        .unwrap()
        .unwrap();
    assert_eq!(same.0, ann);
    // An email seen on LinkedIn finds her on GitHub too.
    store
        .resolve_contact(
            &who("linkedin", None, Some("Ann@Example.com"), Some("annlee")),
            3,
        )
        .unwrap();
    let github = store
        .resolve_contact(
            &who("github", None, Some("ann@example.com"), Some("alee")),
            4,
        )
        .unwrap()
        .unwrap();
    assert_eq!(github.0, ann);
    let other = store
        .resolve_contact(&who("github", None, None, Some("someone-else")), 5)
        .unwrap()
        .unwrap();
    assert_ne!(other.0, ann);
}

#[test]
fn merge_moves_everything_keeps_both_names_and_is_idempotent() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    let at = ny_time(2026, 6, 1, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Ann Lee", "annlee", "m1", at),
        at,
    );
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Annie L.", "annie-l", "m2", at),
        at,
    );
    let ids: Vec<i64> = store.contacts().unwrap().iter().map(|c| c.id).collect();
    assert_eq!(ids.len(), 2);
    let outcome = store.merge_contacts("Ann Lee", "Annie L.").unwrap();
    assert!(!outcome.already_merged);
    assert_eq!(
        (outcome.identities, outcome.interactions, outcome.followups),
        (1, 1, 1)
    );
    let contacts = store.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0].aliases, vec!["Annie L.".to_string()]);
    assert_eq!(contacts[0].interactions, 2);
    // Both names, and the old id, still find her.
    let ann = contacts[0].id;
    assert_eq!(store.find_contact("annie l.").unwrap(), ann);
    assert_eq!(store.find_contact(&outcome.from.to_string()).unwrap(), ann);
    // Again: nothing to do, and no error.
    let again = store.merge_contacts("Ann Lee", "Annie L.").unwrap();
    assert!(again.already_merged);
    let again = store
        .merge_contacts(&ann.to_string(), &outcome.from.to_string())
        .unwrap();
    assert!(again.already_merged);
    // A contact cannot be merged into itself.
    let err = store.merge_contacts("Ann Lee", "Ann Lee").unwrap_err();
    assert!(err.to_string().contains("itself"), "{err}");
    let detail = store.contact_detail(ann).unwrap().unwrap();
    assert_eq!(detail.history.len(), 2);
    assert_eq!(detail.followups.len(), 2);
}

#[test]
fn imports_are_idempotent_and_join_known_people() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import");
    let mut store = Store::in_memory().unwrap();
    let now = ny_time(2026, 11, 20, 9, 0).timestamp();
    let import = |store: &mut Store, file: &str| {
        let text = nudged::import::read_text(&fixtures.join(file)).unwrap();
        let mut report = nudged::import::ImportReport::default();
        let records = if file.ends_with(".csv") {
            nudged::import::linkedin::parse(&text, &mut report).unwrap()
        } else {
            nudged::import::vcard::parse(&text, &mut report)
        };
        store.import_contacts(&records, &mut report, now).unwrap();
        report
    };
    let v3 = import(&mut store, "contacts-3.0.vcf");
    assert_eq!((v3.added, v3.merged, v3.skipped), (2, 0, 1), "{v3:#?}");
    let v4 = import(&mut store, "contacts-4.0.vcf");
    assert_eq!((v4.added, v4.merged, v4.skipped), (2, 0, 0), "{v4:#?}");
    let csv = import(&mut store, "Connections.csv");
    // Zoë is known from her vCard's LinkedIn profile: merged (the connection date is new).
    assert_eq!((csv.added, csv.merged, csv.skipped), (3, 1, 0), "{csv:#?}");
    for file in ["contacts-3.0.vcf", "contacts-4.0.vcf", "Connections.csv"] {
        let again = import(&mut store, file);
        assert_eq!((again.added, again.merged), (0, 0), "{file}: {again:#?}");
    }
    let contacts = store.contacts().unwrap();
    let names: Vec<&str> = contacts.iter().map(|c| c.display_name.as_str()).collect();
    assert_eq!(contacts.len(), 7, "{names:?}");
    let zoe = contacts
        .iter()
        .find(|c| c.display_name == "Zoë Ångström")
        .unwrap();
    assert_eq!(
        zoe.note.as_deref(),
        Some(
            "Head of Research at Nordlicht AB\nMet at the Malmö meetup, talked about sailing. Wants an intro to the Berlin team."
        )
    );
    assert_eq!(zoe.interactions, 1);
    let jose = contacts
        .iter()
        .find(|c| c.display_name == "José Müller-Łukasiewicz")
        .unwrap();
    assert_eq!(
        jose.note.as_deref(),
        Some("Kennengelernt auf der Konferenz in Köln; sehr hilfsbereit. Nächstes Jahr wieder.")
    );
    assert!(jose.identities.iter().any(|i| i.platform == "linkedin"
        && i.profile_url.as_deref() == Some("https://linkedin.com/in/jose-muller-lukasiewicz")));
    assert!(
        names.contains(&"李小龍") && names.contains(&"Renée"),
        "{names:?}"
    );
}

#[test]
fn stats_count_done_missed_response_time_and_noise_only_platforms() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    let at = ny_time(2026, 6, 1, 9, 0);
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Ann Lee", "annlee", "m1", at),
        at,
    );
    ingest(
        &mut store,
        &config,
        &linkedin("message", "Bo Chen", "bochen", "m2", at),
        at,
    );
    let noise = format!(
        "From: LinkedIn <jobs-noreply@linkedin.com>\r\nSubject: 5 new jobs\r\nX-LinkedIn-Template: jobs_digest\r\nMessage-ID: <n1@linkedin.com>\r\nDate: {}\r\n\r\nJobs\r\n",
        at.to_rfc2822()
    );
    let rules = RuleSet::builtin();
    let classified = nudged::classify::classify(noise.as_bytes(), &rules, &config.trust);
    assert_eq!(
        classified.kind,
        nudged::classify::Kind::Noise,
        "{classified:#?}"
    );
    ingest(&mut store, &config, noise.as_bytes(), at);
    let ann_reply = store
        .all_followups()
        .unwrap()
        .into_iter()
        .find(|f| f.contact_name == "Ann Lee")
        .unwrap();
    let answered = ny_time(2026, 6, 1, 15, 0);
    store
        .resolve_followup(ann_reply.id, FollowupStatus::Done, answered.timestamp())
        .unwrap();
    // Bo's reply is never written: past the 7-day grace it expires.
    let later = ny_time(2026, 6, 20, 9, 0);
    plan_housekeeping(&mut store, &config, later).unwrap();
    let report = nudged::digest::stats::roi_report(&store, later).unwrap();
    let month = &report.windows[0];
    assert_eq!(month.days, 30);
    let linkedin = month
        .platforms
        .iter()
        .find(|p| p.platform == "linkedin")
        .unwrap();
    assert_eq!(
        (linkedin.interactions, linkedin.noise, linkedin.people),
        (2, 1, 2)
    );
    assert_eq!(
        (
            linkedin.tasks_done,
            linkedin.tasks_missed,
            linkedin.tasks_expired
        ),
        (1, 1, 1)
    );
    assert_eq!(linkedin.median_response_secs, Some(6 * 3600));
    assert!(!linkedin.noise_only);
    // A platform that only ever sent noise says so.
    let gh_noise = format!(
        "From: GitHub <noreply@github.com>\r\nSubject: Your weekly digest\r\nMessage-ID: <n2@github.com>\r\nDate: {}\r\n\r\nDigest\r\n",
        later.to_rfc2822()
    );
    let classified = nudged::classify::classify(gh_noise.as_bytes(), &rules, &config.trust);
    assert!(!classified.kind.is_social(), "{classified:#?}");
    ingest(&mut store, &config, gh_noise.as_bytes(), later);
    let report = nudged::digest::stats::roi_report(&store, later).unwrap();
    let github = report.windows[0]
        .platforms
        .iter()
        .find(|p| p.platform == "github")
        .unwrap();
    assert!(github.noise_only, "{github:#?}");
}

#[test]
fn the_sample_sequence_is_valid_when_uncommented() {
    let sample =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.sample.toml"))
            .unwrap();
    let start = sample
        .find("# [[sequence]]")
        .expect("the sample shows a sequence");
    let block: String = sample[start..]
        .lines()
        .take_while(|l| l.starts_with("# "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    let config =
        Config::parse(&block, None, Path::new(".")).unwrap_or_else(|e| panic!("{e}\n{block}"));
    assert_eq!(config.sequences[0].steps.len(), 3);
}

#[test]
fn reconnect_reminders_trickle_in_a_few_a_day() {
    let config = config("");
    let mut store = Store::in_memory().unwrap();
    let long_ago = ny_time(2025, 1, 10, 9, 0);
    for (i, who) in ["Ann Lee", "Bo Chen", "Cy Park", "Di Roy", "Ed Fox"]
        .iter()
        .enumerate()
    {
        let slug = who.to_lowercase().replace(' ', "");
        let at = long_ago + chrono::Duration::days(i as i64);
        ingest(
            &mut store,
            &config,
            &linkedin("message", who, &slug, &format!("old{i}"), at),
            at,
        );
    }
    let today = ny_time(2026, 6, 1, 8, 0);
    let (_, planned) = plan_housekeeping(&mut store, &config, today).unwrap();
    assert_eq!(planned, 3, "at most reconnects_per_day (3) on one day");
    let (_, again) =
        plan_housekeeping(&mut store, &config, today + chrono::Duration::hours(3)).unwrap();
    assert_eq!(again, 0, "the same day adds no more");
    let reconnects: Vec<String> = tasks(&store)
        .into_iter()
        .filter(|f| f.rule == "keep_in_touch.reconnect")
        .map(|f| f.contact_name)
        .collect();
    // The freshest lapses come first.
    assert_eq!(reconnects.len(), 3);
    assert!(
        reconnects.contains(&"Ed Fox".to_string()) && !reconnects.contains(&"Ann Lee".to_string()),
        "{reconnects:?}"
    );
    let (_, next_day) =
        plan_housekeeping(&mut store, &config, today + chrono::Duration::days(1)).unwrap();
    assert_eq!(next_day, 2);
}
