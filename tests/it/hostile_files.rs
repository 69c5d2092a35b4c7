//! Files that are not what they seem, through the real binary: `classify` refuses a FIFO
//! (instead of blocking on it forever), a symlink and a directory, and a Maildir whose
//! file names differ only in invalid UTF-8 logs every message.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MENTION: &str = include_str!("../fixtures/github/mention.eml");

/// Run nudged with `args`, killing it if it has not finished within 10 s.
fn nudged(config: &Path, args: &[&OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "nudged {args:?} still ran after 10 s: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn config_in(dir: &Path) -> std::path::PathBuf {
    let config = dir.join("nudged.toml");
    std::fs::create_dir_all(dir.join("Maildir/cur")).unwrap();
    std::fs::create_dir_all(dir.join("Maildir/new")).unwrap();
    std::fs::write(
        &config,
        "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"Maildir\"\n",
    )
    .unwrap();
    config
}

#[test]
fn classify_refuses_fifos_symlinks_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let real = dir.path().join("mention.eml");
    std::fs::write(&real, MENTION).unwrap();
    let fifo = dir.path().join("fifo.eml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let link = dir.path().join("link.eml");
    std::os::unix::fs::symlink(&real, &link).unwrap();

    let ok = nudged(&config, &["classify".as_ref(), real.as_os_str()]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for (file, why) in [
        (&fifo, "a FIFO, not a regular file"),
        (&link, "symbolic link"),
        (
            &dir.path().join("Maildir"),
            "a directory, not a regular file",
        ),
    ] {
        let out = nudged(
            &config,
            &["classify".as_ref(), real.as_os_str(), file.as_os_str()],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(why), "{file:?}: {stderr}");
        // The good file before it was still classified.
        assert!(!out.stdout.is_empty());
    }
}

#[test]
fn maildir_names_differing_only_in_invalid_utf8_are_two_messages() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let new = dir.path().join("Maildir/new");
    for (name, id) in [
        (&b"1700000000.\xff.host"[..], "one"),
        (&b"1700000000.\xfe.host"[..], "two"),
    ] {
        let raw = MENTION.replace(
            "<fieldnote/relay/issues/58/3109876543@github.com>",
            &format!("<utf8-{id}@github.com>"),
        );
        std::fs::write(new.join(OsStr::from_bytes(name)), raw).unwrap();
    }
    let out = nudged(&config, &["run".as_ref(), "--once".as_ref()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(dir.path().join("nudged.db")).unwrap();
    let logged: i64 = conn
        .query_row("SELECT COUNT(*) FROM interaction", [], |r| r.get(0))
        .unwrap();
    let seen: i64 = conn
        .query_row("SELECT COUNT(*) FROM maildir_seen", [], |r| r.get(0))
        .unwrap();
    assert_eq!((logged, seen), (2, 2));
    // A second run adds nothing.
    let out = nudged(&config, &["run".as_ref(), "--once".as_ref()]);
    assert!(out.status.success());
    let logged: i64 = conn
        .query_row("SELECT COUNT(*) FROM interaction", [], |r| r.get(0))
        .unwrap();
    assert_eq!(logged, 2);
}
