//! One-click links on the real server: what a mail scanner does (GET, HEAD) changes
//! nothing, the button's POST acts once, expired or tampered links are refused, and
//! everything outside shown on a page is escaped.

use crate::web_common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use nudged::clock::Clock;
use nudged::store::FollowupStatus;
use nudged::web::action_url;
use nudged::web::links::{Action, signing_key};
use web_common::{TestServer, add_task, request, start, within};

const HOSTILE_TITLE: &str =
    "Reply to <script>alert(1)</script> & \"Mallory\" <img src=x onerror=alert(2)>";

struct Seeded {
    key: Vec<u8>,
    task: i64,
    other: i64,
}

async fn seeded() -> (TestServer, Seeded) {
    start("", Clock::System, |store| {
        let due = Utc.with_ymd_and_hms(2030, 3, 1, 9, 0, 0).unwrap();
        Seeded {
            key: signing_key(store).unwrap(),
            task: add_task(store, "Mallory", HOSTILE_TITLE, due, "t-mallory"),
            other: add_task(store, "Ann Lee", "Reply to Ann Lee", due, "t-ann"),
        }
    })
    .await
}

/// The path of a link, as the digest would write it for `public_url`.
fn link(seed: &Seeded, action: Action, task: i64, expires_in: chrono::Duration) -> String {
    let url = action_url(
        "https://nudged.example.com/",
        &seed.key,
        action,
        task,
        Utc::now() + expires_in,
    );
    url.strip_prefix("https://nudged.example.com")
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_head_show_a_confirm_page_and_change_nothing() {
    let (server, seed) = seeded().await;
    let before = server.dump();
    for action in Action::ALL {
        let path = link(&seed, action, seed.task, chrono::Duration::days(14));
        let page = server.get(&path).await;
        assert_eq!(page.status, 200, "{path}");
        let html = page.text();
        // Only a form the person has to press; no script that could submit it.
        assert!(
            html.contains(&format!("<form method=\"post\" action=\"{path}\">")),
            "{html}"
        );
        assert!(html.contains(action.label()));
        assert!(
            !html.contains("<script"),
            "unescaped or added script:\n{html}"
        );
        assert!(!html.contains("<img"), "unescaped markup:\n{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Mallory&quot;"),
            "{html}"
        );
        assert!(html.contains("name=\"viewport\""));
        let csp = page.header("content-security-policy").unwrap();
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        assert!(csp.contains("form-action 'self'") && !csp.contains("unsafe"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("cache-control"), Some("no-store"));

        let head = request(server.addr, "HEAD", &path, &[]).await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
    }
    // Scanners also retry and follow links twice.
    let path = link(&seed, Action::Done, seed.task, chrono::Duration::days(1));
    for _ in 0..3 {
        assert_eq!(server.get(&path).await.status, 200);
    }
    assert_eq!(before, server.dump(), "a GET or HEAD changed the database");
    // The feed refresher must not write either. As a barrier, make a feed token from
    // another connection and wait until the feed serves it: the refresher has then run
    // a whole pass after the GETs. The token's setting is the only change allowed.
    let (feed, _) = server.new_feed_path();
    within(Duration::from_secs(5), async || {
        server.get(&feed).await.status == 200
    })
    .await
    .expect("the feed refresher never picked up the new token");
    let after = server.dump();
    let (old, new): (BTreeSet<&str>, BTreeSet<&str>) =
        (before.lines().collect(), after.lines().collect());
    let removed: Vec<&&str> = old.difference(&new).collect();
    let added: Vec<&&str> = new.difference(&old).collect();
    assert!(removed.is_empty(), "rows went away: {removed:?}");
    assert!(
        added.len() == 1 && added[0].contains("feed_token_sha256"),
        "more than the feed token changed: {added:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_acts_once_and_a_repeat_changes_nothing() {
    let (server, seed) = seeded().await;
    let (feed, _) = server.new_feed_path();
    within(Duration::from_secs(2), async || {
        server.get(&feed).await.status == 200
    })
    .await
    .expect("feed never came up");

    let snooze = link(
        &seed,
        Action::SnoozeWeek,
        seed.task,
        chrono::Duration::days(14),
    );
    let first = request(server.addr, "POST", &snooze, &[]).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.text().contains("Snoozed until"), "{}", first.text());
    let task = server
        .other_connection()
        .followup(seed.task)
        .unwrap()
        .unwrap();
    assert_eq!(task.status, FollowupStatus::Snoozed);
    assert_eq!(task.sequence, 1);
    let after_first = server.dump();
    let again = request(server.addr, "POST", &snooze, &[]).await;
    assert_eq!(again.status, 200);
    assert!(again.text().contains("nothing changed"), "{}", again.text());
    assert_eq!(
        after_first,
        server.dump(),
        "a repeated POST changed the database"
    );

    // The snooze shows in the feed within a second.
    within(Duration::from_secs(1), async || {
        let text = server.get(&feed).await.text();
        text.split("BEGIN:VEVENT")
            .any(|e| e.contains("UID:t-mallory@nudged") && e.contains("SEQUENCE:1"))
    })
    .await
    .expect("the snooze did not reach the feed within a second");

    // Done, then done again: one change.
    let done = link(&seed, Action::Done, seed.other, chrono::Duration::days(14));
    assert_eq!(request(server.addr, "POST", &done, &[]).await.status, 200);
    let after_done = server.dump();
    let task = server
        .other_connection()
        .followup(seed.other)
        .unwrap()
        .unwrap();
    assert_eq!(task.status, FollowupStatus::Done);
    assert_eq!(request(server.addr, "POST", &done, &[]).await.status, 200);
    // A different link for the now closed task changes nothing either.
    let skip = link(&seed, Action::Skip, seed.other, chrono::Duration::days(14));
    let skipped = request(server.addr, "POST", &skip, &[]).await;
    assert!(
        skipped.text().contains("already done"),
        "{}",
        skipped.text()
    );
    assert_eq!(after_done, server.dump());
    // The confirm page of a closed task offers no button.
    assert!(!server.get(&skip).await.text().contains("<form"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_tampered_links_are_refused() {
    let (server, seed) = seeded().await;
    let before = server.dump();
    let expired = link(
        &seed,
        Action::Done,
        seed.task,
        chrono::Duration::seconds(-5),
    );
    let good = link(&seed, Action::Done, seed.task, chrono::Duration::days(1));
    let parts: Vec<&str> = good.trim_start_matches("/a/").split('/').collect();
    let mut bad_sig = parts[3].to_string();
    let flipped = if bad_sig.starts_with('A') { "B" } else { "A" };
    bad_sig.replace_range(0..1, flipped);
    let foreign = action_url(
        "",
        &[9u8; 32],
        Action::Done,
        seed.task,
        Utc::now() + chrono::Duration::days(1),
    );
    let cases = [
        (expired, 410),
        (
            format!("/a/{}/{}/{}/{bad_sig}", parts[0], parts[1], parts[2]),
            403,
        ),
        (
            format!("/a/skip/{}/{}/{}", parts[1], parts[2], parts[3]),
            403,
        ),
        (
            format!("/a/{}/{}/{}/{}", parts[0], seed.other, parts[2], parts[3]),
            403,
        ),
        (
            format!(
                "/a/{}/{}/{}/{}",
                parts[0], parts[1], 4102444800i64, parts[3]
            ),
            403,
        ),
        (foreign, 403),
        (
            format!("/a/explode/{}/{}/{}", parts[1], parts[2], parts[3]),
            404,
        ),
        (format!("/a/done/x/{}/{}", parts[2], parts[3]), 404),
    ];
    for (path, status) in &cases {
        for method in ["GET", "HEAD", "POST"] {
            let reply = request(server.addr, method, path, &[]).await;
            assert_eq!(reply.status, *status, "{method} {path}");
            if method != "HEAD" {
                let text = reply.text();
                assert!(!text.contains("<form"), "{method} {path} offered a button");
            }
        }
    }
    assert_eq!(before, server.dump(), "a refused link changed the database");
    // The untouched link still works.
    assert_eq!(request(server.addr, "POST", &good, &[]).await.status, 200);
    assert_ne!(before, server.dump());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_link_key_refuses_old_links_without_a_restart() {
    let (server, seed) = seeded().await;
    let path = link(&seed, Action::Done, seed.task, chrono::Duration::days(1));
    assert_eq!(server.get(&path).await.status, 200);
    let key_file = server.db.with_file_name("nudged.db.link-key");
    let shown = std::process::Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(server.dir.path().join("config.toml"))
        .arg("links")
        .output()
        .unwrap();
    assert!(shown.status.success());
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout).trim(),
        key_file.display().to_string()
    );
    let before = std::fs::read(&key_file).unwrap();
    // Let the key file's mtime move on file systems with coarse timestamps.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let rotated = std::process::Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(server.dir.path().join("config.toml"))
        .args(["links", "--rotate"])
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert_ne!(before, std::fs::read(&key_file).unwrap());
    let refused = request(server.addr, "POST", &path, &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let task = server
        .other_connection()
        .followup(seed.task)
        .unwrap()
        .unwrap();
    assert_eq!(task.status, FollowupStatus::Open);
    server.stop().await;
}
