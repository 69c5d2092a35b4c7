//! `nudged init` against a real Dovecot (TLS with the test CA through `ca_file`) and SMTP
//! sink: with flags it writes a 0600 config that `nudged check` passes; a wrong password
//! says so and writes nothing; an existing config is never replaced without --force; and
//! the questions on a terminal (tmux) lead to the same kind of config.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{Dovecot, PASSWORD, SmtpSink};

fn run(args: &[&str]) -> (Option<i32>, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .args(args)
        .env("TZ", "Europe/Berlin")
        .output()
        .unwrap();
    (
        status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    )
}

fn init_args<'a>(
    config: &'a str,
    port: &'a str,
    ca: &'a str,
    password: &'a str,
    smtp_port: &'a str,
) -> Vec<&'a str> {
    vec![
        "--config",
        config,
        "init",
        "--yes",
        "--email",
        "olga@example.org",
        "--provider",
        "dovecot",
        "--imap-host",
        "127.0.0.1",
        "--imap-port",
        port,
        "--tls",
        "implicit",
        "--ca-file",
        ca,
        "--username",
        "olga",
        "--password-file",
        password,
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        smtp_port,
        "--smtp-tls",
        "none",
        "--smtp-anonymous",
    ]
}

#[test]
fn init_with_flags_writes_a_private_config_that_checks_out_and_refuses_a_wrong_password() {
    let dovecot = Dovecot::start_with(|o| o.extra_config = "auth_failure_delay = 0\n".into());
    dovecot.append(
        "olga",
        "Sent",
        b"From: olga@example.org\r\nSubject: s\r\n\r\nhi\r\n",
    );
    let sink = SmtpSink::start_into_dir(&tempfile::tempdir().unwrap().keep());
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    let bad = dir.path().join("bad");
    std::fs::write(&good, format!("{PASSWORD}\n")).unwrap();
    std::fs::write(&bad, "not-the-password\n").unwrap();
    let config = dir.path().join("etc/nudged.toml");
    let config_s = config.to_str().unwrap();
    let port = dovecot.imaps_port().to_string();
    let ca = dovecot.ca_file();
    let smtp_port = sink.port().to_string();

    let (code, out) = run(&init_args(
        config_s,
        &port,
        ca.to_str().unwrap(),
        bad.to_str().unwrap(),
        &smtp_port,
    ));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("refused the log-in for olga") && out.contains("Nothing was written"),
        "{out}"
    );
    assert!(!config.exists(), "a failed init wrote {}", config.display());

    let (code, out) = run(&init_args(
        config_s,
        &port,
        ca.to_str().unwrap(),
        good.to_str().unwrap(),
        &smtp_port,
    ));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Everything checks out."), "{out}");
    assert!(out.contains("Sent folder: \"Sent\""), "{out}");
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("sent_folder = \"Sent\"") && text.contains("timezone = \"Europe/Berlin\""),
        "{text}"
    );
    assert!(
        !text.contains(PASSWORD),
        "the password itself was written:\n{text}"
    );

    let (code, out) = run(&["--config", config_s, "check"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("[ok  ] source \"mail\": logged in") && out.contains("[ok  ] smtp"),
        "{out}"
    );

    // A script that leaves out the password is told which flag gives it (exit 2).
    let other = dir.path().join("other.toml");
    let (code, out) = run(&[
        "--config",
        other.to_str().unwrap(),
        "init",
        "--yes",
        "--email",
        "me@fastmail.com",
    ]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("--password-file") && out.contains("app password"),
        "{out}"
    );
    assert!(!other.exists());

    // Never over an existing config without --force.
    std::fs::write(&config, "# mine\n").unwrap();
    let (code, out) = run(&init_args(
        config_s,
        &port,
        ca.to_str().unwrap(),
        good.to_str().unwrap(),
        &smtp_port,
    ));
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("--force"), "{out}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");
}

/// tmux gives the command a real terminal; questions are answered as they appear.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let socket = format!("nudged-init-{}", std::process::id());
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "60",
                command,
            ])
            .status()
            .expect("tmux must be installed (scripts/install-test-deps.sh installs it)");
        assert!(status.success(), "tmux did not start");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-200"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait until the screen shows `prompt` (each question is worded differently), then
    /// type `answer`.
    fn answer(&self, prompt: &str, answer: &str) {
        self.wait_for(prompt);
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-l", answer])
            .status()
            .unwrap();
        assert!(status.success());
        Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "Enter"])
            .status()
            .unwrap();
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn shell_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}

#[test]
fn init_asks_on_a_terminal() {
    let dovecot = Dovecot::start_with(|o| {
        o.tls = false;
        o.extra_config = "auth_failure_delay = 0\n".into();
    });
    let sink = SmtpSink::start_into_dir(&tempfile::tempdir().unwrap().keep());
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let config = dir.path().join("nudged.toml");
    let command = format!(
        "{} --config {} init --smtp-host 127.0.0.1 --smtp-port {} --smtp-tls none --smtp-anonymous; echo INIT-EXIT=$?; sleep 600",
        shell_quote(Path::new(env!("CARGO_BIN_EXE_nudged"))),
        shell_quote(&config),
        sink.port()
    );
    let tmux = Tmux::start(&command);
    tmux.answer("Your email address:", "olga@example.org");
    tmux.answer("Provider (gmail", "dovecot");
    tmux.answer("IMAP TLS", "none");
    tmux.answer("IMAP server:", "127.0.0.1");
    tmux.answer("IMAP port [143]:", &dovecot.imap_port().to_string());
    tmux.answer("User name [olga@example.org]:", "olga");
    tmux.answer("Password: a file", password.to_str().unwrap());
    tmux.answer("Send the digest to [olga@example.org]:", "");
    tmux.answer("Time zone", "America/New_York");
    tmux.answer("Write ", "y");
    let screen = tmux.wait_for("INIT-EXIT=");
    assert!(screen.contains("INIT-EXIT=0"), "{screen}");
    assert!(screen.contains("Everything checks out."), "{screen}");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("username = \"olga\"") && text.contains("timezone = \"America/New_York\""),
        "{text}"
    );
    let mode = std::fs::metadata(&config).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}
