//! Running as a service: the systemd units pass systemd's own checks, logs suit the
//! journal, backups are consistent, completions and the man page are generated.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn systemd_analyze(args: &[&str]) -> std::process::Output {
    Command::new("systemd-analyze").args(args).output().expect(
        "systemd-analyze is missing: run scripts/install-test-deps.sh (Debian package systemd)",
    )
}

/// A copy of a unit whose ExecStart points at the binary under test, since `verify`
/// checks that the command exists and is executable.
fn unit_for_test(name: &str, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("systemd").join(name)).unwrap();
    let bin = env!("CARGO_BIN_EXE_nudged");
    let text = text
        .replace("/usr/local/bin/nudged", bin)
        .replace("%h/.cargo/bin/nudged", bin);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["nudged.service", "nudged-user.service"] {
        let unit = unit_for_test(name, dir.path());
        let out = systemd_analyze(&["verify", unit.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn system_unit_exposure_is_at_most_1_5() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test("nudged.service", dir.path());
    let out = systemd_analyze(&[
        "security",
        "--offline=yes",
        "--threshold=15",
        unit.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let level: f64 = stdout
        .lines()
        .find_map(|l| l.split("Overall exposure level for nudged.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{stdout}"));
    assert!(level <= 1.5, "exposure {level} > 1.5:\n{stdout}");
}

#[test]
fn system_unit_does_not_restart_on_config_errors() {
    let text = std::fs::read_to_string(repo().join("systemd/nudged.service")).unwrap();
    assert!(text.contains("RestartPreventExitStatus=2"));
    assert!(text.contains("Type=notify") && text.contains("WatchdogSec="));
    assert!(
        !text.to_lowercase().contains("password="),
        "no secret in the unit"
    );
}

#[test]
fn logs_under_journald_carry_priorities_and_no_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::create_dir_all(dir.path().join("mail/cur")).unwrap();
    std::fs::write(
        &config,
        "[store]\npath = \"n.db\"\n[[source]]\nname = \"m\"\nkind = \"maildir\"\npath = \"mail\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .env("JOURNAL_STREAM", "8:12345")
        .env("RUST_LOG", "nudged=debug")
        .args(["--config", config.to_str().unwrap(), "run", "--once"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("<6>") && l.contains("pass finished")),
        "{stderr}"
    );
    for line in stderr.lines() {
        assert!(
            line.len() > 3 && line.as_bytes()[1].is_ascii_digit() && &line[2..3] == ">",
            "{line}"
        );
        assert!(!line.contains("Z "), "timestamp in journald line: {line}");
    }
}

#[test]
fn backup_makes_a_consistent_copy_and_never_overwrites_by_accident() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(&config, "[store]\npath = \"n.db\"\n").unwrap();
    let nudged = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nudged"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        nudged(&["met", "Ann Lee", "--at", "the fair"])
            .status
            .success()
    );
    let copy = dir.path().join("copy.db");
    let out = nudged(&["backup", copy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM followup", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 5);
    let again = nudged(&["backup", copy.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        nudged(&["backup", "--force", copy.to_str().unwrap()])
            .status
            .success()
    );
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("followups") && text.contains("snooze"),
            "{args:?}"
        );
    }
}
