//! The IMAP password never reaches the log, whatever `RUST_LOG` asks for: the most
//! specific directives (a protocol crate's own module at trace) included. Runs the real
//! binary against a real Dovecot with LOGIN over a plain loopback connection, where the
//! password would otherwise be traced in the clear.

use crate::support;

use std::process::Command;

use support::{Dovecot, PASSWORD};

const MENTION: &str = include_str!("../fixtures/github/mention.eml");

#[test]
fn the_password_stays_out_of_the_log_at_every_rust_log() {
    let dovecot = Dovecot::start_with(|o| o.tls = false);
    dovecot.append("lena", "INBOX", MENTION.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), format!("{PASSWORD}\n")).unwrap();
    let config = dir.path().join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"nudged.db\"\n\n[[source]]\nname = \"mail\"\nkind = \"imap\"\nusername = \"lena\"\n\
             host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\npassword_file = \"password\"\nbackfill_days = 3650\n",
            dovecot.imap_port()
        ),
    )
    .unwrap();
    for rust_log in [
        "trace",
        "async_imap=trace",
        "async_imap::imap_stream=trace",
        "async_imap::client=trace,async_imap::imap_stream=trace,imap_proto=trace",
        "info,async_imap::imap_stream[decode]=trace",
        "off,async_imap::imap_stream=trace",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
            .arg("--config")
            .arg(&config)
            .args(["run", "--once"])
            .env("RUST_LOG", rust_log)
            .env_remove("JOURNAL_STREAM")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "RUST_LOG={rust_log}: {stderr}");
        assert!(
            !stderr.contains(PASSWORD),
            "RUST_LOG={rust_log} logged the password:\n{stderr}"
        );
        assert!(
            !stderr.contains("LOGIN") && !stderr.contains("decode: input"),
            "RUST_LOG={rust_log} logged IMAP protocol traffic:\n{stderr}"
        );
    }
    // The filter drops only the protocol crates' detail: nudged's own lines stay.
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .args(["run", "--once"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pass finished"),
        "RUST_LOG=trace lost nudged's own lines:\n{stderr}"
    );
}
