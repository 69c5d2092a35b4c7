//! The digest over SMTP with XOAUTH2 (Microsoft 365 with password log-in switched off):
//! one `nudged auth login` against the test authorization server serves IMAP and SMTP
//! (`oauth2_source`), a real aiosmtpd that offers only XOAUTH2 gets the token the server
//! issued and delivers the digest; a token it refuses, or a revoked refresh token, is a
//! clear error that names the sign-in to repeat.

use crate::oauth::{Seen, nudged, start_auth_server};
use crate::support::{self, Dovecot, PASSWORD};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// aiosmtpd with AUTH XOAUTH2 only (smtp_oauth/xoauth2_smtpd.py), taking `token`.
struct XOAuth2Smtpd {
    port: u16,
    maildir: PathBuf,
    log: PathBuf,
    child: Child,
}

impl XOAuth2Smtpd {
    fn start(dir: &Path, token: &str) -> XOAuth2Smtpd {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_oauth/xoauth2_smtpd.py");
        let port = support::free_port();
        let maildir = dir.join(format!("Maildir-{port}"));
        let log = dir.join(format!("smtpd-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(&maildir)
            .arg(token)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start /usr/bin/python3 (python3-aiosmtpd): {e}"));
        let mut smtpd = XOAuth2Smtpd {
            port,
            maildir,
            log,
            child,
        };
        if let Ok(Some(status)) = smtpd.child.try_wait() {
            panic!(
                "the XOAUTH2 SMTP server exited with {status}: {}",
                smtpd.log()
            );
        }
        support::wait_for_banner(port, "220", Duration::from_secs(15));
        smtpd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn delivered(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for XOAuth2Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(imap_port: u16, auth_port: u16, smtp_port: u16, db: &str) -> String {
    format!(
        "[store]\npath = \"{db}\"\n\n[[source]]\nname = \"work\"\nkind = \"imap\"\n\
         host = \"127.0.0.1\"\nport = {imap_port}\ntls = \"none\"\nusername = \"olga\"\nfolders = [\"INBOX\"]\n\n\
         [source.oauth2]\nclient_id = \"nudged-test\"\n\
         token_url = \"http://127.0.0.1:{auth_port}/token\"\n\
         device_auth_url = \"http://127.0.0.1:{auth_port}/device\"\n\
         scopes = [\"imap\", \"smtp\", \"offline_access\"]\n\n\
         [digest]\nto = \"olga@example.org\"\nfrom = \"nudged <olga@example.org>\"\ntransport = \"smtp\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nusername = \"olga\"\noauth2_source = \"work\"\n"
    )
}

#[test]
fn one_sign_in_sends_the_digest_with_xoauth2_and_a_refused_token_says_what_to_do() {
    let dovecot = Dovecot::start_with(|o| {
        o.tls = false;
        o.extra_config = "auth_failure_delay = 0\n".into();
    });
    let seen = Arc::new(Mutex::new(Seen::default()));
    let auth_port = start_auth_server(seen.clone());
    let dir = tempfile::tempdir().unwrap();
    let smtpd = XOAuth2Smtpd::start(dir.path(), PASSWORD);
    let config = dir.path().join("nudged.toml");
    let text = config_text(
        dovecot.imap_port(),
        auth_port,
        smtpd.port,
        "state/nudged.db",
    );
    std::fs::write(&config, &text).unwrap();

    let (code, out, err) = nudged(&config, &["auth", "login", "work"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("The digest is sent over SMTP with the same sign-in"),
        "{out}"
    );
    // One sign-in: `auth login smtp` is not a thing when [smtp] shares the source's.
    let (code, out, err) = nudged(&config, &["auth", "login", "smtp"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("oauth2_source"), "{err}");

    let (code, out, err) = nudged(&config, &["met", "Ann Lee", "--at", "the fair"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = nudged(&config, &["digest", "--send-now"]);
    assert_eq!(code, Some(0), "{out}{err}\n{}", smtpd.log());
    assert!(out.starts_with("Sent "), "{out}");
    assert!(
        smtpd
            .log()
            .contains(&format!("XOAUTH2 user=olga token={PASSWORD}")),
        "the server did not see the issued token: {}",
        smtpd.log()
    );
    let delivered = smtpd.delivered();
    assert_eq!(delivered.len(), 1, "{}", smtpd.log());
    assert!(
        delivered[0].contains("X-RcptTo: olga@example.org"),
        "{}",
        delivered[0]
    );
    assert!(delivered[0].contains("Ann Lee"), "{}", delivered[0]);

    // A server that refuses the token: the send fails with what to do, and the digest
    // stays in the outbox.
    // (Each case has a database of its own, so today's digest is not already sent.)
    let fresh = |name: &str, smtp_port: u16, refresh_token: &str| {
        let config = dir.path().join(format!("{name}.toml"));
        let db = format!("{name}/nudged.db");
        std::fs::write(
            &config,
            config_text(dovecot.imap_port(), auth_port, smtp_port, &db),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join(format!("{name}/oauth2"))).unwrap();
        std::fs::write(
            dir.path().join(format!("{name}/oauth2/work.refresh-token")),
            refresh_token,
        )
        .unwrap();
        let (code, out, err) = nudged(&config, &["met", "Ann Lee"]);
        assert_eq!(code, Some(0), "{out}{err}");
        config
    };
    let picky = XOAuth2Smtpd::start(dir.path(), "some-other-token");
    let other = fresh("picky", picky.port, "rt-2");
    let (code, out, err) = nudged(&other, &["digest", "--send-now"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("refused the OAuth token") && err.contains("nudged auth login work"),
        "{err}"
    );
    assert!(picky.log().contains("XOAUTH2 user=olga"), "{}", picky.log());
    assert!(picky.delivered().is_empty());

    // A revoked refresh token: no connection attempt with a stale token, a clear
    // "sign in again".
    let revoked = fresh("revoked", smtpd.port, "rt-revoked");
    let (code, out, err) = nudged(&revoked, &["digest", "--send-now"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("expired or was revoked") && err.contains("run `nudged auth login work`"),
        "{err}"
    );
    assert_eq!(smtpd.delivered().len(), 1, "nothing more was sent");
}
