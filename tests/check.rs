//! `nudged check` against a real Dovecot and SMTP server: a good config passes; a wrong
//! password, a missing folder and an unreachable host each fail with what to fix.

mod support;

use std::process::Command;

use support::{Dovecot, SmtpSink};

fn check(dir: &std::path::Path, source: &str, smtp_port: u16) -> (Option<i32>, String) {
    let config = dir.join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"mail\"\nkind = \"imap\"\n{source}\n\n\
             [digest]\nto = \"me@example.com\"\ntransport = \"smtp\"\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn source(port: u16, user: &str, password_file: &str, folders: &str) -> String {
    format!(
        "host = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nusername = \"{user}\"\npassword_file = \"{password_file}\"\nfolders = {folders}\n"
    )
}

#[test]
fn check_reports_what_is_wrong_and_how_to_fix_it() {
    let dovecot = Dovecot::start_with(|o| {
        o.tls = false;
        o.extra_config = "auth_failure_delay = 0\n".into();
    });
    dovecot.append(
        "olga",
        "INBOX",
        b"From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n",
    );
    let sink = SmtpSink::start_into_dir(&tempfile::tempdir().unwrap().keep());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good"), format!("{}\n", support::PASSWORD)).unwrap();
    std::fs::write(dir.path().join("bad"), "not-the-password\n").unwrap();

    let (code, out) = check(
        dir.path(),
        &source(dovecot.imap_port(), "olga", "good", "[\"INBOX\"]"),
        sink.port(),
    );
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("[ok  ] source \"mail\": logged in") && out.contains("[ok  ] smtp"),
        "{out}"
    );

    let (code, out) = check(
        dir.path(),
        &source(dovecot.imap_port(), "olga", "bad", "[\"INBOX\"]"),
        sink.port(),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("[FAIL] source \"mail\"")
            && out.contains("fix: check username and the password"),
        "{out}"
    );
    assert!(
        !out.contains("not-the-password"),
        "the password leaked: {out}"
    );

    let (code, out) = check(
        dir.path(),
        &source(dovecot.imap_port(), "olga", "good", "[\"INBOX\", \"Nope\"]"),
        sink.port(),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("[FAIL] source \"mail\" folder \"Nope\": not on the server"),
        "{out}"
    );

    let closed = support::free_port();
    let (code, out) = check(
        dir.path(),
        &source(closed, "olga", "good", "[\"INBOX\"]"),
        sink.port(),
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("fix: check host and port"), "{out}");
}
