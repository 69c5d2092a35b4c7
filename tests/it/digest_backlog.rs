//! Coming back after months away: 5,000 open follow-ups, built from the demo's own
//! LinkedIn and GitHub notifications with new names, handles, Message-IDs and dates, go
//! through the real classifier and planner. The digest as sent stays short (a ranked list
//! with context, one line for the rest, an offer to skip the old part), its links carry
//! no tracking, and the feed served over HTTP covers a window, not the backlog. The
//! signed links of the offer and of the task list work against the real server.

use crate::web_common;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use nudged::classify::RuleSet;
use nudged::clock::Clock;
use nudged::config::Config;
use nudged::digest::outbox::{DigestOutcome, run_digest_on};
use nudged::ingest::Ingest;
use nudged::store::Store;
use web_common::{request, start, within};

const NOW: &str = "2026-11-24T06:31:00Z";
const OPEN_WANTED: usize = 5_000;

/// A demo message and what in it names the person, to be made unique per copy.
struct Template {
    file: &'static str,
    copies: usize,
    /// Literal texts (as they appear in the raw message) replaced by a per-copy variant.
    names: &'static [&'static str],
}

const TEMPLATES: [Template; 4] = [
    // LinkedIn invitation: one "answer" task each.
    Template {
        file: "examples/demo-maildir/cur/1794819821.M103P4203.demo:2,S",
        copies: 1_400,
        names: &[
            "zoemueller-ux",
            "=?UTF-8?B?Wm/DqyBNw7xsbGVy?=",
            "Zo=C3=AB M=C3=BCller",
        ],
    },
    // LinkedIn InMail: one "reply" task each.
    Template {
        file: "examples/demo-maildir/cur/1794949530.M110P4210.demo:2,S",
        copies: 1_400,
        names: &["danawhitfield", "Dana Whitfield"],
    },
    // GitHub mention and review request: one "respond" task each.
    Template {
        file: "examples/demo-maildir/cur/1794853809.M104P4204.demo:2,S",
        copies: 1_100,
        names: &["jnunez", "=?UTF-8?Q?Jos=C3=A9_N=C3=BA=C3=B1ez?="],
    },
    Template {
        file: "examples/demo-maildir/cur/1794926238.M109P4209.demo:2,S",
        copies: 1_100,
        names: &["meichen", "Mei Chen"],
    },
];

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

/// Copy `n` of a template: unique Message-ID, a date spread over the last 150 days, and
/// every name or handle given a suffix (so each copy is a different person).
fn variant(raw: &str, template: usize, n: usize, names: &[&str]) -> String {
    let days_ago = 1 + (n * 7 + template * 3) % 150;
    let date = (now() - Duration::days(days_ago as i64) - Duration::minutes((n % 600) as i64))
        .to_rfc2822();
    let mut out = String::with_capacity(raw.len() + 64);
    let mut in_head = true;
    for line in raw.split_inclusive('\n') {
        if in_head && line.trim_end().is_empty() {
            in_head = false;
        }
        let lower = line.to_ascii_lowercase();
        if in_head && lower.starts_with("message-id:") {
            out.push_str(&format!(
                "Message-ID: <backlog-{template}-{n}@example.com>\r\n"
            ));
        } else if in_head && lower.starts_with("date:") {
            out.push_str(&format!("Date: {date}\r\n"));
        } else {
            out.push_str(line);
        }
    }
    for name in names {
        let unique = if name.starts_with("=?") || name.contains("=C3") {
            format!("Person {template}x{n} Example")
        } else if name.contains(' ') {
            format!("{name} {template}x{n}")
        } else {
            format!("{name}{template}x{n}")
        };
        out = out.replace(name, &unique);
    }
    out
}

fn backlog_config(dir: &Path) -> Config {
    let text = format!(
        "[store]\npath = {:?}\n[digest]\nto = \"Sam Rivera <sam@example.com>\"\n\
         from = \"nudged <nudged@example.com>\"\ntimezone = \"Europe/Berlin\"\ntransport = \"file\"\n\
         file_dir = {:?}\ncalendar = \"both\"\n[web]\npublic_url = \"https://nudged.example.com/\"\n\
         [followups]\nexpire_after = \"3650d\"\n[trust]\nauthserv_ids = [\"mx.example.com\"]\n",
        dir.join("nudged.db").display().to_string(),
        dir.join("outbox").display().to_string(),
    );
    Config::parse(&text, None, Path::new("/")).expect("backlog config")
}

/// Classify and record every copy through the real pipeline, a few hundred per
/// transaction as a backfill would.
fn build_backlog(store: &mut Store, config: &Config) {
    let rules = RuleSet::with_user_rules(&config.rules).expect("rules");
    let ingest = Ingest {
        rules: &rules,
        config,
        now: now(),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (t, template) in TEMPLATES.iter().enumerate() {
        let raw = std::fs::read_to_string(root.join(template.file)).expect("demo message");
        for chunk in (0..template.copies).collect::<Vec<_>>().chunks(300) {
            store
                .write(|tx| {
                    for &n in chunk {
                        let mail = variant(&raw, t, n, template.names);
                        let ingested = ingest.message(tx, mail.as_bytes())?;
                        assert_eq!(ingested.planned, 1, "copy {n} of {}", template.file);
                    }
                    Ok(())
                })
                .expect("ingest");
        }
    }
}

fn urls(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || "\"'<>()".contains(c))
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.replace("&amp;", "&"))
        .collect()
}

const TRACKING: [&str; 7] = [
    "trk=",
    "trkEmail",
    "midToken",
    "midSig",
    "lipi=",
    "utm_",
    "email_token",
];

fn assert_clean_links(what: &str, text: &str) {
    let found = urls(text);
    assert!(!found.is_empty(), "no links in the {what}");
    for url in found {
        for param in TRACKING {
            assert!(!url.contains(param), "{what}: tracking {param:?} in {url}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_open_follow_ups_make_a_short_digest_and_a_windowed_feed() {
    let (server, (_dir, text, message_len, skip_path, tasks_path)) =
        start("", Clock::Fixed(now()), |store| {
            let dir = tempfile::tempdir().expect("temp dir");
            let config = backlog_config(dir.path());
            build_backlog(store, &config);
            let open = store.pending_followups(None).expect("tasks").len();
            assert!(open >= OPEN_WANTED, "only {open} open follow-ups");

            // Delivery is async (no database held while it runs); this set-up closure is not.
            let outcome = tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(run_digest_on(
                    store,
                    &config,
                    now(),
                    true,
                ))
            })
            .expect("digest");
            let DigestOutcome::Sent { location, .. } = outcome else {
                panic!("no digest: {outcome:?}");
            };
            let raw = std::fs::read(&location).expect("the digest file");
            let message = mail_parser::MessageParser::default()
                .parse(&raw)
                .expect("a parseable digest");
            let text = message.body_text(0).expect("text part").into_owned();
            let html = message.body_html(0).expect("html part").into_owned();
            assert_clean_links("HTML part", &html);
            let ics: String = message
                .attachments()
                .map(|a| String::from_utf8_lossy(a.contents()).into_owned())
                .collect();
            assert!(
                ics.matches("BEGIN:VEVENT").count() <= 25,
                "the .ics carries more than the short list"
            );
            for param in TRACKING {
                assert!(!ics.contains(param), "tracking {param:?} in the .ics");
            }
            let link_after = |prefix: &str| {
                let url = urls(&text)
                    .into_iter()
                    .find(|u| u.contains(prefix))
                    .unwrap_or_else(|| panic!("no {prefix} link in:\n{text}"));
                url.trim_start_matches("https://nudged.example.com")
                    .to_string()
            };
            (
                dir,
                text.clone(),
                raw.len(),
                link_after("/p/skip-older/"),
                link_after("/p/tasks/"),
            )
        })
        .await;

    // The digest as sent is small, and a person reads who is in it in a minute.
    println!("digest as sent: {message_len} bytes");
    assert!(message_len <= 100_000, "digest is {message_len} bytes");
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| {
            let t = l.trim_start();
            t.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    assert!(
        !shown.is_empty() && shown.len() <= 25,
        "{} shown:\n{text}",
        shown.len()
    );
    assert_eq!(shown.len(), 12, "the default max_items");
    assert_eq!(text.matches("\n    Why: ").count(), shown.len(), "{text}");
    assert_eq!(
        text.matches("\n    Context: ").count(),
        shown.len(),
        "{text}"
    );
    // The first are the ones where a person waits for an answer.
    assert!(
        shown[0].contains("Answer ") || shown[0].contains("Reply to "),
        "{}",
        shown[0]
    );
    let rest = text
        .lines()
        .find(|l| l.starts_with("And ") && l.contains(" more: "))
        .unwrap_or_else(|| panic!("no count of the rest:\n{text}"));
    let count: usize = rest["And ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(count >= OPEN_WANTED - 12 - 200, "{rest}");
    assert!(text.contains("nudged followups"), "{text}");
    assert!(text.contains("Reply \"skip old\""), "{text}");
    assert_clean_links("text part", &text);

    // The feed covers a window, capped at feed_max.
    let (events, todos) = server.new_feed_path();
    // The server picks up the new token on its next look at the database.
    within(std::time::Duration::from_secs(10), async || {
        server.get(&events).await.status == 200
    })
    .await
    .expect("the feed never answered with the new token");
    for path in [&events, &todos] {
        let feed = request(server.addr, "GET", path, &[]).await;
        assert_eq!(feed.status, 200, "{path}");
        println!("feed {path}: {} bytes", feed.body.len());
        assert!(
            feed.body.len() <= 300_000,
            "feed is {} bytes",
            feed.body.len()
        );
        let items = feed.text().matches("BEGIN:VEVENT").count()
            + feed.text().matches("BEGIN:VTODO").count();
        assert!((1..=200).contains(&items), "{items} items in {path}");
        for param in TRACKING {
            assert!(
                !feed.text().contains(param),
                "tracking {param:?} in the feed"
            );
        }
    }

    // Every open task is on one signed page, each with its buttons.
    let page = server.get(&tasks_path).await;
    assert_eq!(page.status, 200);
    let page_text = page.text();
    assert!(page_text.contains(">Snooze 1 week<"), "no buttons");
    assert!(
        page_text.matches("<li>").count() >= OPEN_WANTED,
        "not every task listed"
    );
    let mut tampered = tasks_path.clone();
    tampered.replace_range(tampered.len() - 3.., "AAA");
    assert_eq!(server.get(&tampered).await.status, 403);

    // The offer: GET only shows the count; the POST skips them, once.
    let stale_before = (now() - Duration::days(30)).timestamp();
    let stale = server
        .other_connection()
        .pending_followups(None)
        .unwrap()
        .iter()
        .filter(|t| t.due_at < stale_before)
        .count();
    assert!(stale > 1_000, "{stale}");
    println!(
        "open before the skip: {}, more than 30 days overdue: {stale}",
        server
            .other_connection()
            .pending_followups(None)
            .unwrap()
            .len()
    );
    let confirm = server.get(&skip_path).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text().contains(&format!("{stale} open follow-ups")));
    let open_before = server
        .other_connection()
        .pending_followups(None)
        .unwrap()
        .len();
    let skipped = request(server.addr, "POST", &skip_path, &[]).await;
    assert_eq!(skipped.status, 200);
    assert!(skipped.text().contains(&format!("{stale} follow-ups")));
    let open_after = server
        .other_connection()
        .pending_followups(None)
        .unwrap()
        .len();
    assert_eq!(open_after, open_before - stale);
    let again = request(server.addr, "POST", &skip_path, &[]).await;
    assert!(again.text().contains("Already used"), "{}", again.text());
    server.stop().await;
}
