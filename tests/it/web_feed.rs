//! The calendar feed, served by the real server on loopback and read by independent
//! parsers (Python icalendar, Mozilla ical.js, khal): content, folding, hostile text,
//! secret tokens, conditional GETs and how fast a change shows.

use crate::web_common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use nudged::clock::Clock;
use nudged::store::FollowupStatus;
use web_common::{add_task, parsers, request, start, within};

const HOSTILE_NAME: &str = "Eve\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:pwned";
const LONG_TITLE: &str = "Gratuliere Jürgen Müller-Lüdenscheidt zur Beförderung — \
    größte Glückwünsche aus Köln, Zürich und Şanlıurfa 🎉🎉 — 日本語のテキストも折り返し確認";

/// Titles of the four open tasks, as the parsers must read them back.
fn expected_titles() -> Vec<String> {
    vec![
        "Reply to Ann Lee".to_string(),
        format!("Reply to {}", HOSTILE_NAME.replace("\r\n", "\n")),
        LONG_TITLE.to_string(),
        r"Thank Bob, ; \ and <b>co</b>".to_string(),
    ]
}

/// The server's clock: a few days before the tasks fall due, so they are inside the
/// feed's window (due from 14 days ago to 60 days ahead).
fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 2, 25, 8, 0, 0).unwrap()
}

async fn seeded_server(web_extra: &str) -> (web_common::TestServer, Vec<i64>) {
    start(web_extra, Clock::Fixed(now()), |store| {
        let due = |d| Utc.with_ymd_and_hms(2030, 3, d, 9, 0, 0).unwrap();
        let titles = expected_titles();
        let mut ids = vec![
            add_task(store, "Ann Lee", "Reply to Ann Lee", due(1), "t-ann"),
            add_task(
                store,
                HOSTILE_NAME,
                &format!("Reply to {HOSTILE_NAME}"),
                due(2),
                "t-eve",
            ),
            add_task(store, "Jürgen", LONG_TITLE, due(3), "t-long"),
            add_task(store, "Bob", &titles[3], due(4), "t-bob"),
        ];
        let finished = add_task(store, "Cy", "Call Cy", due(5), "t-done");
        store
            .resolve_followup(finished, FollowupStatus::Done, now().timestamp())
            .unwrap();
        ids.push(finished);
        ids
    })
    .await
}

/// Every content line is at most 75 octets and ends in CRLF; no bare CR or LF hides
/// inside a line.
fn assert_well_formed_lines(text: &str) {
    assert!(text.ends_with("\r\n"));
    for line in text.strip_suffix("\r\n").unwrap().split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.contains(['\r', '\n']), "bare line break in {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_parses_in_three_independent_parsers() {
    let (server, _ids) = seeded_server("").await;
    let (events_path, todos_path) = server.new_feed_path();
    let events = within(Duration::from_secs(2), async || {
        server.get(&events_path).await.status == 200
    })
    .await;
    assert!(events.is_some(), "the new token never worked");
    let reply = server.get(&events_path).await;
    assert_eq!(
        reply.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    let text = reply.text();
    assert_well_formed_lines(&text);
    // Folding really happened on the long multi-byte title.
    assert!(
        text.lines().any(|l| l.starts_with(' ')),
        "nothing was folded:\n{text}"
    );
    // Counted as whole lines: the hostile name may appear escaped inside a value.
    assert_eq!(
        text.lines().filter(|l| *l == "BEGIN:VEVENT").count(),
        4,
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| *l == "END:VEVENT").count(),
        4,
        "{text}"
    );
    for property in ["X-WR-CALNAME:nudged follow-ups", "NAME:nudged follow-ups"] {
        assert!(text.contains(property), "{property} missing");
    }
    assert!(
        text.contains("REFRESH-INTERVAL;VALUE=DURATION:PT900S"),
        "{text}"
    );
    assert!(text.contains("X-PUBLISHED-TTL:PT900S"), "{text}");

    let file = server.dir.path().join("events.ics");
    std::fs::write(&file, &text).unwrap();
    for parsed in [parsers::python_icalendar(&file), parsers::ical_js(&file)] {
        assert_eq!(parsed.name, "nudged follow-ups");
        let summaries: Vec<&str> = parsed.items.iter().map(|i| i.summary.as_str()).collect();
        assert_eq!(summaries, expected_titles(), "{parsed:?}");
        assert!(
            parsed
                .items
                .iter()
                .all(|i| i.kind == "VEVENT" && i.alarms == 1)
        );
        let uids: Vec<&str> = parsed.items.iter().map(|i| i.uid.as_str()).collect();
        assert_eq!(
            uids,
            [
                "t-ann@nudged",
                "t-eve@nudged",
                "t-long@nudged",
                "t-bob@nudged"
            ]
        );
    }
    let imported = parsers::khal_import(&file);
    assert_eq!(imported.len(), 4, "khal imported {imported:#?}");
    assert!(imported.iter().any(|f| f.contains("Lüdenscheidt")));

    // The to-do variant also lists the finished task, ticked off.
    let todos = server.get(&todos_path).await;
    assert_eq!(todos.status, 200);
    let text = todos.text();
    assert_well_formed_lines(&text);
    let file = server.dir.path().join("todos.ics");
    std::fs::write(&file, &text).unwrap();
    for parsed in [parsers::python_icalendar(&file), parsers::ical_js(&file)] {
        assert_eq!(parsed.items.len(), 5, "{parsed:?}");
        let done = parsed
            .items
            .iter()
            .find(|i| i.uid == "todo-t-done@nudged")
            .unwrap();
        assert_eq!(done.status.as_deref(), Some("COMPLETED"));
        assert_eq!(done.sequence, 1);
        assert_eq!(done.alarms, 0);
        let open = parsed
            .items
            .iter()
            .find(|i| i.uid == "todo-t-ann@nudged")
            .unwrap();
        assert_eq!(open.status.as_deref(), Some("NEEDS-ACTION"));
        assert_eq!(open.alarms, 1);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_events_follow_the_config() {
    let (server, _) = seeded_server("feed_events = \"timed\"\nalarm = \"1h\"").await;
    let (path, _) = server.new_feed_path();
    within(Duration::from_secs(2), async || {
        server.get(&path).await.status == 200
    })
    .await
    .expect("feed never came up");
    let text = server.get(&path).await.text();
    assert!(text.contains("DTSTART:20300301T090000Z"), "{text}");
    assert!(text.contains("DTEND:20300301T093000Z"), "{text}");
    assert!(text.contains("TRIGGER;RELATED=START:-PT3600S"), "{text}");
    let file = server.dir.path().join("timed.ics");
    std::fs::write(&file, &text).unwrap();
    assert_eq!(parsers::python_icalendar(&file).items.len(), 4);
    assert_eq!(parsers::ical_js(&file).items.len(), 4);
    assert_eq!(parsers::khal_import(&file).len(), 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_and_rotated_tokens_get_the_same_404() {
    let (server, _) = seeded_server("").await;
    // Before any token exists, nothing answers.
    assert_eq!(server.get("/feed/anything.ics").await.status, 404);
    let (old_path, old_todos) = server.new_feed_path();
    within(Duration::from_secs(2), async || {
        server.get(&old_path).await.status == 200
    })
    .await
    .expect("feed never came up");
    let unknown = server.get("/no/such/page").await;
    for wrong in [
        "/feed/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics".to_string(),
        old_path.replace(".ics", ""),
        old_path.replace(".ics", "x.ics"),
        "/feed/.ics".to_string(),
    ] {
        let reply = server.get(&wrong).await;
        assert_eq!(reply.status, 404, "{wrong}");
        assert_eq!(
            reply.body, unknown.body,
            "{wrong} must look like any unknown path"
        );
    }
    let (new_path, _) = server.new_feed_path();
    let switched = within(Duration::from_secs(1), async || {
        server.get(&old_path).await.status == 404 && server.get(&new_path).await.status == 200
    })
    .await;
    assert!(
        switched.is_some(),
        "rotation did not take effect within a second"
    );
    assert_eq!(server.get(&old_todos).await.status, 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_clients_get_304_and_changes_show_within_a_second() {
    let (server, ids) = seeded_server("").await;
    let (path, todos) = server.new_feed_path();
    within(Duration::from_secs(2), async || {
        server.get(&path).await.status == 200
    })
    .await
    .expect("feed never came up");
    let first = server.get(&path).await;
    let etag = first.header("etag").unwrap().to_string();
    let modified = first.header("last-modified").unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'));

    let again = request(server.addr, "GET", &path, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let listed = format!("\"nope\", W/{etag}");
    let weak = request(server.addr, "GET", &path, &[("If-None-Match", &listed)]).await;
    assert_eq!(weak.status, 304);
    let by_date = request(
        server.addr,
        "GET",
        &path,
        &[("If-Modified-Since", &modified)],
    )
    .await;
    assert_eq!(by_date.status, 304);
    let head = request(server.addr, "HEAD", &path, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("etag"), Some(etag.as_str()));

    // A change from another connection (like `nudged snooze` in a shell) shows up
    // within a second, with its SEQUENCE bumped.
    let ann = ids[0];
    let mut other = server.other_connection();
    other
        .snooze_followup(
            ann,
            Utc.with_ymd_and_hms(2030, 4, 1, 9, 0, 0)
                .unwrap()
                .timestamp(),
            now().timestamp(),
        )
        .unwrap();
    let took = within(Duration::from_secs(1), async || {
        request(server.addr, "GET", &path, &[("If-None-Match", &etag)])
            .await
            .status
            == 200
    })
    .await;
    assert!(
        took.is_some(),
        "the change was not visible within one second"
    );
    let text = server.get(&path).await.text();
    let ann_event = text
        .split("BEGIN:VEVENT")
        .find(|e| e.contains("UID:t-ann@nudged"))
        .unwrap();
    assert!(ann_event.contains("SEQUENCE:1"), "{ann_event}");
    assert!(
        ann_event.contains("DTSTART;VALUE=DATE:20300401"),
        "{ann_event}"
    );
    other
        .resolve_followup(ann, FollowupStatus::Done, now().timestamp())
        .unwrap();
    within(Duration::from_secs(1), async || {
        !server.get(&path).await.text().contains("t-ann@")
    })
    .await
    .expect("a finished task stayed in the event feed");
    let todo_text = server.get(&todos).await.text();
    let ann_todo = todo_text
        .split("BEGIN:VTODO")
        .find(|e| e.contains("t-ann@"))
        .unwrap();
    assert!(ann_todo.contains("STATUS:COMPLETED") && ann_todo.contains("SEQUENCE:2"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_covers_a_window_and_keeps_the_nearest_within_feed_max() {
    let (server, _) = start("feed_max = 2", Clock::Fixed(now()), |store| {
        let day = chrono::Duration::days(1);
        add_task(store, "Old", "Call Old", now() - day * 20, "w-old");
        add_task(store, "Recent", "Call Recent", now() - day * 10, "w-recent");
        add_task(store, "Soon", "Call Soon", now() + day, "w-soon");
        add_task(store, "Later", "Call Later", now() + day * 59, "w-later");
        add_task(store, "Far", "Call Far", now() + day * 70, "w-far");
    })
    .await;
    let (path, todos) = server.new_feed_path();
    within(Duration::from_secs(2), async || {
        server.get(&path).await.status == 200
    })
    .await
    .expect("feed never came up");
    for path in [path, todos] {
        let text = server.get(&path).await.text();
        let uids: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("UID:"))
            .filter(|uid| !uid.starts_with("alarm-"))
            .map(|uid| uid.trim_start_matches("todo-"))
            .collect();
        // In the window: recent, soon, later; the two nearest to now stay.
        assert_eq!(uids.len(), 2, "{text}");
        for kept in ["w-soon@nudged", "w-recent@nudged"] {
            assert!(uids.contains(&kept), "{uids:?}");
        }
    }
    server.stop().await;
}
