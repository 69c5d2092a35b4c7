//! `nudged init` finds the servers of a domain it has no preset for in DNS (RFC 6186):
//! dnsmasq on loopback serves `_imaps._tcp.example.test` (→ the test Dovecot) and
//! `_submission._tcp.example.test`, init is pointed at it with `--dns-server`, logs in to
//! what it found and writes those hosts and ports.

use crate::support::{self, Dovecot, PASSWORD, SmtpSink};

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Dnsmasq {
    port: u16,
    log: std::path::PathBuf,
    child: Child,
}

impl Dnsmasq {
    fn start(dir: &Path, records: &[String]) -> Dnsmasq {
        let dnsmasq = Path::new("/usr/sbin/dnsmasq");
        assert!(
            dnsmasq.exists(),
            "/usr/sbin/dnsmasq is missing (Debian dnsmasq-base); run scripts/install-test-deps.sh"
        );
        let port = support::free_port();
        let log = dir.join("dnsmasq.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(dnsmasq);
        command.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--local=/example.test/",
            "--log-queries",
            "--log-facility=-",
        ]);
        command.arg(format!("--port={port}"));
        for record in records {
            command.arg(format!("--srv-host={record}"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start dnsmasq");
        let mut server = Dnsmasq { port, log, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.log().contains("started") {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("dnsmasq exited with {status}: {}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "dnsmasq did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn init_takes_the_servers_a_domain_publishes_in_dns_srv() {
    let dovecot = Dovecot::start_with(|o| o.extra_config = "auth_failure_delay = 0\n".into());
    let dir = tempfile::tempdir().unwrap();
    let sink = SmtpSink::start_into_dir(dir.path());
    // Two targets that both reach loopback but can be told apart in the written config.
    let dns = Dnsmasq::start(
        dir.path(),
        &[
            format!(
                "_imaps._tcp.example.test,localhost,{},0,1",
                dovecot.imaps_port()
            ),
            format!(
                "_submission._tcp.example.test,127.0.0.1,{},0,1",
                sink.port()
            ),
        ],
    );
    let password = dir.path().join("password");
    std::fs::write(&password, format!("{PASSWORD}\n")).unwrap();
    let config = dir.path().join("nudged.toml");
    let output = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .args([
            "init",
            "--yes",
            "--email",
            "olga@example.test",
            "--username",
            "olga",
        ])
        .arg("--ca-file")
        .arg(dovecot.ca_file())
        .arg("--password-file")
        .arg(&password)
        .args(["--smtp-tls", "none", "--smtp-anonymous", "--smtp-port"])
        .arg(sink.port().to_string())
        .arg("--dns-server")
        .arg(format!("127.0.0.1:{}", dns.port))
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}\n--- dnsmasq ---\n{}",
        dns.log()
    );
    assert!(
        out.contains(&format!("Logging in to localhost:{}", dovecot.imaps_port())),
        "{out}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let imap = text.split("[digest]").next().unwrap();
    assert!(
        imap.contains("host = \"localhost\"")
            && imap.contains(&format!("port = {}", dovecot.imaps_port()))
            && imap.contains("tls = \"implicit\""),
        "the IMAP server is not the one _imaps._tcp names:\n{text}"
    );
    let smtp = text.split("[smtp]").nth(1).unwrap_or_default();
    assert!(
        smtp.contains("host = \"127.0.0.1\""),
        "the SMTP host is not the one _submission._tcp names:\n{text}"
    );
    let log = dns.log();
    assert!(
        log.contains("_imaps._tcp.example.test") && log.contains("_submission._tcp.example.test"),
        "{log}"
    );
}
