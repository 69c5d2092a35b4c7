//! `nudged check` against a real Dovecot and SMTP server: a good config passes; a wrong
//! password, a missing folder and an unreachable host each fail with what to fix.

use crate::support;

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

fn run_check(config: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(config)
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

#[test]
fn a_config_without_sources_is_flagged_and_no_database_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nudged.toml");
    std::fs::write(&config, "[store]\npath = \"state/nudged.db\"\n").unwrap();
    let (code, out) = run_check(&config);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("[FAIL] sources: none configured") && out.contains("add a [[source]]"),
        "{out}"
    );
    assert!(!out.contains("Everything checks out"), "{out}");
    assert!(
        !dir.path().join("state").exists(),
        "check made the database"
    );
}

/// A small tmpfs, unmounted on drop.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(at: std::path::PathBuf) -> SmallDisk {
        std::fs::create_dir_all(&at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4M", "tmpfs"])
            .arg(&at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a 4 MB tmpfs to fill a disk; run it as root with CAP_SYS_ADMIN: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk(at)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let disk = SmallDisk::mount(dir.path().join("state"));
    std::fs::create_dir_all(dir.path().join("mail/new")).unwrap();
    let config = dir.path().join("nudged.toml");
    std::fs::write(
        &config,
        "[store]\npath = \"state/nudged.db\"\n\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"mail\"\n",
    )
    .unwrap();
    let (code, out) = run_check(&config);
    assert_eq!(code, Some(0), "{out}");
    let made = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .output()
        .unwrap();
    assert!(made.status.success());
    // As while the daemon runs: a connection holds the WAL and shared-memory files, so
    // the database still opens on a full disk.
    let daemon_like = rusqlite::Connection::open(disk.0.join("nudged.db")).unwrap();
    daemon_like
        .query_row("SELECT COUNT(*) FROM interaction", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    // Fill what is left.
    {
        use std::io::Write as _;
        let mut filler = std::fs::File::create(disk.0.join("filler")).unwrap();
        let block = vec![0u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
    }
    let (code, out) = run_check(&config);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("[FAIL] database") && out.contains("cannot be written"),
        "{out}"
    );
    assert!(out.contains("free disk space"), "{out}");
    assert!(!out.contains("Everything checks out"), "{out}");
    drop(daemon_like);
    std::fs::remove_file(disk.0.join("filler")).unwrap();
    let (code, out) = run_check(&config);
    assert_eq!(code, Some(0), "{out}");
}
