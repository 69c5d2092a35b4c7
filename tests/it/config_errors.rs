//! Configuration mistakes exit with status 2 and say which key, where.

use std::path::Path;
use std::process::Command;

fn nudged(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run the nudged binary")
}

fn write_config(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn unknown_key_exits_2_with_key_and_position() {
    let (_dir, path) = write_config(
        "[store]\npath = \"n.db\"\n\n[digest]\nto = \"me@example.com\"\ntransprot = \"file\"\n",
    );
    let out = nudged(&path, &["followups"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("transprot"), "{stderr}");
    assert!(stderr.contains("config.toml:6:1"), "{stderr}");
}

#[test]
fn bad_duration_exits_2_with_position() {
    let (_dir, path) = write_config("[followups]\ncadence = \"90 days\"\n");
    let out = nudged(&path, &["followups"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml:2:11"), "{stderr}");
    assert!(stderr.contains("90 days"), "{stderr}");
}

#[test]
fn bad_rule_pattern_exits_2_naming_the_rule() {
    let (_dir, path) = write_config(
        "[[rule]]\nname = \"mine\"\nplatform = \"linkedin\"\nkind = \"message\"\nsubject = \"(unclosed\"\n",
    );
    let out = nudged(&path, &["followups"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mine") && stderr.contains(":2:"),
        "{stderr}"
    );
}

#[test]
fn missing_config_file_exits_2() {
    let out = nudged(Path::new("/nonexistent/nudged.toml"), &["followups"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("config.sample.toml"));
}

#[test]
fn usage_error_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("snooze")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_sample_config_is_valid() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.sample.toml");
    let config = nudged::config::Config::load(&sample).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.sources.len(), 2);
    assert!(config.digest.is_some() && config.smtp.is_some() && config.web.is_some());
}

#[test]
fn every_example_config_is_valid() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(examples.join("providers"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.push(examples.join("demo.toml"));
    assert!(files.len() >= 6);
    for file in files {
        nudged::config::Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A semantic error's position comes from the parser's spans: text that looks like
/// the offending key in a comment above it must not be what the error points at.
#[test]
fn errors_point_at_the_key_not_a_look_alike_in_a_comment() {
    let cases = [
        (
            "# [digest] to = \"me@example.com\" is what you want\n\
             [store]\npath = \"n.db\"\n\n[digest]\ntransport = \"file\"\nfile_dir = \"out\"\nto = \"nobody\"\n",
            "config.toml:8:6",
            "not an email address",
        ),
        (
            "# the \"personal\" source is my phone's account\n\
             [[source]]\nname = \"personal\"\nkind = \"imap\"\nhost = \"imap.example.com\"\nusername = \"me\"\n",
            "config.toml:3:8",
            "password_file",
        ),
        (
            "# rule \"mine\" once had subject = \"(unclosed\"\n\
             [[rule]]\nname = \"mine\"\nplatform = \"linkedin\"\nkind = \"message\"\nsubject = \"(unclosed\"\n",
            "config.toml:3:8",
            "mine",
        ),
        (
            "# [web] listen = \"nowhere\"\n[web]\npublic_url = \"https://n.example\"\nlisten = \"nowhere\"\n",
            "config.toml:4:10",
            "web.listen",
        ),
        (
            "# [[source]] tls = \"none\"\n[[source]]\nname = \"p\"\nkind = \"imap\"\nhost = \"imap.example.com\"\n\
             username = \"me\"\npassword_file = \"pw\"\ntls = \"none\"\n",
            "config.toml:8:7",
            "loopback",
        ),
    ];
    for (text, place, words) in cases {
        let (_dir, path) = write_config(text);
        let out = nudged(&path, &["followups"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(place) && stderr.contains(words),
            "want {place} and {words:?} for\n{text}\ngot: {stderr}"
        );
    }
}

#[test]
fn digest_and_feed_sizes_are_checked() {
    for (text, wanted) in [
        (
            "[digest]\nto = \"me@example.com\"\ntransport = \"file\"\nfile_dir = \"o\"\nmax_items = 40\n",
            "digest.max_items = 40 must be between 1 and 25",
        ),
        (
            "[web]\nfeed_max = 0\n",
            "web.feed_max = 0 would make an empty feed",
        ),
        (
            "[digest]\nto = \"me@example.com\"\ntransport = \"file\"\nfile_dir = \"o\"\nroi = \"hourly\"\n",
            "hourly",
        ),
    ] {
        let (_dir, path) = write_config(text);
        let out = nudged(&path, &["followups"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(wanted), "{stderr}");
    }
}
