//! The whole digest loop against real servers: notifications in a Dovecot user's Maildir,
//! the digest sent over SMTP to aiosmtpd which delivers it into that same Maildir, checked
//! by Python's `email` and `icalendar` and rendered in headless Chromium; then the owner's
//! reply, appended over IMAP, is read back by the maildir source and acted on, while a
//! forged reply does nothing.

use crate::digest_common;
use crate::support;

use std::path::Path;

use digest_common::*;
use nudged::digest::outbox::DigestOutcome;
use nudged::store::{FollowupStatus, Store};
use support::{Dovecot, SmtpSink};

fn loop_config(dir: &Path, maildir: &Path, smtp_port: u16) -> nudged::config::Config {
    config(&format!(
        r#"
[store]
path = "{db}"

[[source]]
name = "inbox"
kind = "maildir"
path = "{maildir}"

[digest]
to = "Sam Rivera <sam@example.com>"
from = "nudged <nudged@example.com>"
at = "07:30"
timezone = "Europe/Berlin"
transport = "smtp"
calendar = "both"

{smtp}
[web]
public_url = "https://nudged.example.com/"

[followups]
expire_after = "3650d"

[trust]
authserv_ids = ["mx.example.com"]
"#,
        db = dir.join("nudged.db").display(),
        maildir = maildir.display(),
        smtp = smtp_section(smtp_port),
    ))
}

fn reply(from: &str, in_reply_to: &str, auth: bool, body: &str, id: &str) -> Vec<u8> {
    let auth = if auth {
        "Authentication-Results: mx.example.com; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=sam@example.com\r\n"
    } else {
        ""
    };
    format!(
        "{auth}From: {from}\r\nTo: nudged <nudged@example.com>\r\nSubject: Re: your digest\r\n\
         Message-ID: <{id}@example.com>\r\nIn-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n\
         Date: Tue, 24 Nov 2026 08:10:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

#[test]
fn digest_arrives_whole_renders_on_a_phone_and_replies_act() {
    let dovecot = Dovecot::start();
    let maildir = dovecot.maildir("sam");
    seed_demo(&maildir);
    let sink = SmtpSink::start(&maildir);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = loop_config(dir.path(), &maildir, sink.port());
    let mut store = Store::open(&config.store_path()).expect("store");
    let now = at("2026-11-24T06:31:00Z"); // 07:31 in Berlin
    add_hostile_contact(&mut store, &config, at("2026-11-20T12:00:00Z"));

    let outcome = pass(&mut store, &config, now);
    let DigestOutcome::Sent { message_id, .. } = &outcome else {
        panic!("no digest sent: {outcome:?}");
    };
    let delivered: Vec<_> = messages_in(&maildir)
        .into_iter()
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|m| m.contains(message_id.as_str())))
        .collect();
    assert_eq!(delivered.len(), 1, "one digest in the inbox");

    // An independent parser sees the structure, headers and parts.
    let report = python_check(
        &delivered[0],
        &dir.path().join("digest.html"),
        &dir.path().join("digest.ics"),
    );
    let strings = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key} in {report}"))
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(
        strings("structure"),
        [
            "multipart/mixed",
            "multipart/alternative",
            "text/plain",
            "text/html",
            "text/calendar"
        ]
    );
    assert!(strings("defects").is_empty(), "{report}");
    assert_eq!(report["message_id"], message_id.as_str());
    assert!(report["date_parsed"].is_string(), "{report}");
    assert!(
        report["reply_to"]
            .as_str()
            .unwrap()
            .contains("sam@example.com")
    );
    let names = strings("header_names");
    assert!(
        !names
            .iter()
            .any(|n| n == "bcc" || n.starts_with("x-injected")),
        "a contact name added headers: {names:?}"
    );
    let subject = report["subject"].as_str().unwrap();
    assert!(subject.ends_with("new — Tue 24 Nov"), "{subject}");
    assert!(
        subject.contains("follow-ups due") || subject.contains("follow-up due"),
        "{subject}"
    );
    let text = report["text"].as_str().unwrap();
    for wanted in [
        "Why: asked to connect",
        "Context: ",
        "New since the last digest",
        "Last 30 days by platform",
        "https://nudged.example.com/a/done/",
        "Reply to this email to act",
    ] {
        assert!(text.contains(wanted), "text lacks {wanted:?}:\n{text}");
    }
    assert!(
        text.contains("Eve Bcc: victim@evil.example <script>"),
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("Bcc:") || l.starts_with("X-Injected"))
    );
    let html = std::fs::read_to_string(dir.path().join("digest.html")).expect("html part");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "name not escaped"
    );
    assert!(!html.contains("<script>"), "raw script tag in the HTML");
    assert!(
        !html.contains(" src=") && !html.contains("<link"),
        "outside assets in the HTML"
    );
    let components = report["ics_components"].as_array().expect("ics components");
    assert!(components.iter().any(|c| c["name"] == "VEVENT"));
    assert!(components.iter().any(|c| c["name"] == "VTODO"));
    let uids: std::collections::BTreeSet<_> =
        components.iter().map(|c| c["uid"].to_string()).collect();
    assert_eq!(uids.len(), components.len(), "UIDs are unique");

    assert!(
        !text.contains("trk=") && !text.contains("midToken") && !text.contains("%24deep_link"),
        "tracking parameters in the text:\n{text}"
    );
    // The calendar carries the short list, not the backlog.
    assert!(
        components.len() <= 2 * 12,
        "{} calendar items",
        components.len()
    );

    // Chromium renders it on a phone and on a laptop: real images with text on them,
    // matching the reviewed goldens within a tolerance for font rendering noise.
    for (width, height) in [(390, 844), (1200, 900)] {
        let png = screenshot(&dir.path().join("digest.html"), dir.path(), width, height);
        let (w, h, ink) = png_ink(&png);
        assert_eq!((w, h), (width, height));
        assert!(ink > (w * h) as usize / 50, "only {ink} non-white pixels");
        assert_matches_golden(&png, &format!("digest-{width}.png"));
    }

    // Later passes the same day send nothing more.
    assert!(matches!(
        pass(&mut store, &config, at("2026-11-24T07:00:00Z")),
        DigestOutcome::AlreadySent { .. }
    ));

    // The owner replies; two forgeries try to skip a task.
    let pending = store.pending_followups(None).expect("tasks");
    let (done, snoozed, kept) = (pending[0].id, pending[1].id, pending[2].id);
    let body = format!(
        "done {done}\r\nsnooze {snoozed} 1w\r\nmet Ann Lee at the spring fair\r\nfrobnicate\r\n\r\n\
         On Tue, 24 Nov 2026 at 07:31, nudged <nudged@example.com> wrote:\r\n> skip {kept}\r\n"
    );
    dovecot.append(
        "sam",
        "INBOX",
        &reply(
            "Sam Rivera <sam@example.com>",
            message_id,
            true,
            &body,
            "r1",
        ),
    );
    let forged = format!("skip {kept}\r\n");
    dovecot.append(
        "sam",
        "INBOX",
        &reply(
            "Mallory <mallory@evil.example>",
            message_id,
            true,
            &forged,
            "f1",
        ),
    );
    dovecot.append(
        "sam",
        "INBOX",
        &reply(
            "Sam Rivera <sam@example.com>",
            message_id,
            false,
            &forged,
            "f2",
        ),
    );
    assert!(matches!(
        pass(&mut store, &config, at("2026-11-24T08:00:00Z")),
        DigestOutcome::AlreadySent { .. }
    ));
    let status = |id| store.followup(id).expect("task").expect("exists").status;
    assert_eq!(status(done), FollowupStatus::Done);
    assert_eq!(status(snoozed), FollowupStatus::Snoozed);
    assert_eq!(
        status(kept),
        FollowupStatus::Open,
        "a forged or quoted command acted"
    );
    assert_eq!(store.contacts_named("Ann Lee").expect("contacts").len(), 1);

    // Tomorrow's digest reports what each command did, the unknown one included.
    let outcome = pass(&mut store, &config, at("2026-11-25T06:31:00Z"));
    assert!(matches!(outcome, DigestOutcome::Sent { .. }), "{outcome:?}");
    let digests = digests_in(&maildir);
    assert_eq!(digests.len(), 2, "one digest per day");
    let tomorrow = store.latest_digest().expect("row").expect("digest");
    let text = String::from_utf8_lossy(&tomorrow.body).into_owned();
    let decoded = mail_parser::MessageParser::default()
        .parse(text.as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .expect("text part");
    assert!(decoded.contains("Your replies"), "{decoded}");
    assert!(decoded.contains(&format!("✓ \"done {done}\"")), "{decoded}");
    assert!(
        decoded.contains("? \"frobnicate\" — not a command"),
        "{decoded}"
    );
    assert!(
        decoded.contains("Met Ann Lee at the spring fair"),
        "{decoded}"
    );
    assert!(!decoded.contains(&format!("skip {kept}")), "{decoded}");
}

#[test]
fn preview_prints_what_would_be_sent_and_sends_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("maildir");
    }
    seed_demo(&maildir);
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
            "[store]\npath = \"nudged.db\"\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"Maildir\"\n\
             [digest]\nto = \"sam@example.com\"\ntimezone = \"Europe/Berlin\"\ntransport = \"file\"\nfile_dir = \"out\"\n\
             [followups]\nexpire_after = \"3650d\"\n[trust]\nauthserv_ids = [\"mx.example.com\"]\n",
    )
    .expect("config");
    let nudged = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_nudged"))
            .env("NUDGED_NOW", "2026-11-22T06:00:00Z")
            .arg("--config")
            .arg(&config_path)
            .args(args)
            .output()
            .expect("run nudged");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // A first start just before 07:30 waits for the slot; the preview shows what would go.
    let run = nudged(&["run", "--once"]);
    assert!(run.contains("digest: the next digest goes out at"), "{run}");
    let text = nudged(&["digest", "--preview"]);
    assert!(text.starts_with("Subject: "), "{text}");
    assert!(text.contains("New since the last digest"), "{text}");
    let raw = nudged(&["digest", "--preview", "--raw"]);
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(raw.contains("text/calendar"), "{raw}");
    assert!(raw.contains("Message-ID: <digest-"), "{raw}");
    assert!(!dir.path().join("out").exists(), "preview must not deliver");
    let sent = nudged(&["digest", "--send-now"]);
    assert!(sent.starts_with("Sent "), "{sent}");
    assert_eq!(
        std::fs::read_dir(dir.path().join("out"))
            .expect("outbox dir")
            .count(),
        1
    );
}
