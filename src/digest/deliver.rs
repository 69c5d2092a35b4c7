//! Deliver: hand a finished message to its transport — SMTP (lettre's async transport
//! over rustls), a local `sendmail`, or a file per message. Every attempt ends by a
//! deadline, whatever the peer does. Returns where it went; an error says what to fix
//! (the password, the CA file, the host and port). Retrying is the outbox's job.

use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::child::{ChildError, run_with_deadline};
use crate::config::{Config, DigestConfig, OAuth2Config, SmtpConfig, TlsMode, TransportKind};
use crate::secret::{Secret, resolve_secret};
use crate::source::imap::oauth::{self, TokenError};

/// One place decides how long a mail server may take: connect and each reply …
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);
/// … and one whole attempt (password, connect, TLS, login, upload, sendmail's run): a
/// server that trickles one byte a minute cannot hold a delivery open for ever.
pub const ATTEMPT_DEADLINE: Duration = Duration::from_secs(180);

type SmtpTransport = AsyncSmtpTransport<Tokio1Executor>;

/// What `sendmail` is when `digest.sendmail_command` is not set.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail -t -i";

/// Deliver `message` within [`ATTEMPT_DEADLINE`]; returns where it went, for the user.
pub async fn deliver(config: &Config, message: &[u8]) -> Result<String> {
    deliver_within(config, message, ATTEMPT_DEADLINE).await
}

/// [`deliver`] with the deadline given (tests use a short one).
pub async fn deliver_within(config: &Config, message: &[u8], deadline: Duration) -> Result<String> {
    let digest = config
        .digest
        .as_ref()
        .context("no [digest] section is configured")?;
    match digest.transport {
        TransportKind::File => {
            let dir = digest
                .file_dir
                .as_ref()
                .context("digest.file_dir is not set")?;
            let (dir, message) = (dir.clone(), message.to_vec());
            tokio::task::spawn_blocking(move || write_file(&dir, &message))
                .await
                .context("writing the digest file panicked")?
        }
        TransportKind::Smtp => {
            let smtp = config
                .smtp
                .as_ref()
                .context("digest.transport = \"smtp\" needs an [smtp] section")?;
            let where_ = smtp_label(smtp);
            tokio::time::timeout(deadline, send_smtp(smtp, digest, message))
                .await
                .map_err(|_| {
                    anyhow!(
                        "sending the digest to {where_} did not finish within {}s — the server accepted the connection but stopped answering; check smtp.host and smtp.port, or the server",
                        deadline.as_secs()
                    )
                })?
        }
        TransportKind::Sendmail => send_sendmail(digest, message, deadline).await,
    }
}

fn write_file(dir: &Path, message: &[u8]) -> Result<String> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create digest.file_dir {}", dir.display()))?;
    let path = dir.join(format!("digest-{}.eml", message_key(message)));
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let mut file = std::fs::File::create(&tmp)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    file.write_all(message)?;
    file.sync_all()?;
    // Renamed into place whole, so a crash never leaves half a message behind.
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.display().to_string())
}

/// A file name part that is the same for the same message (so a resend overwrites).
fn message_key(message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(message)[..8])
}

fn envelope(digest: &DigestConfig) -> Result<Envelope> {
    let address = |text: &str, key: &str| -> Result<Address> {
        let bare = match (text.rfind('<'), text.rfind('>')) {
            (Some(open), Some(close)) if open < close => text.get(open + 1..close).unwrap_or(text),
            _ => text,
        };
        bare.trim()
            .parse()
            .with_context(|| format!("digest.{key} = {text:?} is not an email address"))
    };
    Envelope::new(
        Some(address(&digest.from, "from")?),
        vec![address(&digest.to, "to")?],
    )
    .context("cannot build the SMTP envelope")
}

async fn send_smtp(smtp: &SmtpConfig, digest: &DigestConfig, message: &[u8]) -> Result<String> {
    let (transport, where_) = smtp_transport(smtp).await?;
    transport
        .send_raw(&envelope(digest)?, message)
        .await
        .map_err(|err| explain_smtp_error(&err, smtp, &where_))?;
    Ok(where_)
}

/// Connect, start TLS and log in to the SMTP server without sending anything (for
/// `nudged check`), within [`ATTEMPT_DEADLINE`]. Returns where it connected.
pub async fn check_smtp(smtp: &SmtpConfig) -> Result<String> {
    let where_ = smtp_label(smtp);
    let checked = tokio::time::timeout(ATTEMPT_DEADLINE, async {
        let (transport, where_) = smtp_transport(smtp).await?;
        match transport.test_connection().await {
            Ok(true) => Ok(where_),
            Ok(false) => anyhow::bail!("{where_} did not answer NOOP; is it an SMTP server?"),
            Err(err) => Err(explain_smtp_error(&err, smtp, &where_)),
        }
    });
    checked.await.map_err(|_| {
        anyhow!(
            "{where_} did not finish the login within {}s",
            ATTEMPT_DEADLINE.as_secs()
        )
    })?
}

fn smtp_port(smtp: &SmtpConfig) -> u16 {
    smtp.port.unwrap_or(match smtp.tls {
        TlsMode::Implicit => 465,
        TlsMode::Starttls => 587,
        TlsMode::None => 25,
    })
}

/// "smtp://host:port", for messages.
fn smtp_label(smtp: &SmtpConfig) -> String {
    format!("smtp://{}:{}", smtp.host, smtp_port(smtp))
}

/// The transport for `[smtp]` and a "smtp://host:port" label for messages.
async fn smtp_transport(smtp: &SmtpConfig) -> Result<(SmtpTransport, String)> {
    let port = smtp_port(smtp);
    let where_ = smtp_label(smtp);
    let tls = match smtp.tls {
        TlsMode::None => Tls::None,
        TlsMode::Implicit => Tls::Wrapper(tls_parameters(smtp)?),
        TlsMode::Starttls => Tls::Required(tls_parameters(smtp)?),
    };
    let mut builder = SmtpTransport::builder_dangerous(smtp.host.as_str())
        .port(port)
        .tls(tls)
        .timeout(Some(SMTP_TIMEOUT));
    if let Some(username) = &smtp.username {
        let secret = match &smtp.oauth2 {
            // The token is network I/O with its own deadline, asked for here, where no
            // database is held (the outbox records the attempt before, the outcome after).
            Some(oauth) => {
                builder = builder.authentication(vec![Mechanism::Xoauth2]);
                oauth_token(smtp, oauth).await?
            }
            None => resolve_secret(
                smtp.password_command.as_deref(),
                smtp.password_file.as_deref(),
            )
            .await
            .context("smtp: cannot get the password")?,
        };
        builder = builder.credentials(Credentials::new(
            username.clone(),
            secret.expose().to_string(),
        ));
    }
    Ok((builder.build(), where_))
}

/// An access token for XOAUTH2, shared with the IMAP source when `oauth2_source` names
/// one (same refresh token, same cached access token).
async fn oauth_token(smtp: &SmtpConfig, oauth: &OAuth2Config) -> Result<Secret> {
    let login = smtp.oauth2_login_name();
    match oauth::access_token(login, oauth, smtp.ca_file.as_deref(), SMTP_TIMEOUT).await {
        Ok(token) => Ok(token.token),
        Err(TokenError::Refused(why)) => bail!("smtp: no OAuth token: {why}"),
        Err(TokenError::Other(err)) => Err(err.context("smtp: cannot get an OAuth token")),
    }
}

/// lettre cannot take a rustls configuration, so it gets the shared trust store's
/// anchors one by one and none of its own ([`crate::tls`]: one store for IMAP, SMTP, HTTPS).
fn tls_parameters(smtp: &SmtpConfig) -> Result<TlsParameters> {
    let mut builder =
        TlsParameters::builder(smtp.host.clone()).certificate_store(CertificateStore::None);
    let anchors = crate::tls::trust_anchors(smtp.ca_file.as_deref()).context("smtp")?;
    for der in anchors {
        match Certificate::from_der(der.to_vec()) {
            Ok(cert) => builder = builder.add_root_certificate(cert),
            Err(err) => tracing::debug!(error = %err, "a CA certificate was skipped"),
        }
    }
    builder
        .build_rustls()
        .map_err(|err| anyhow!("cannot set up TLS for {}: {err}", smtp.host))
}

/// Turn lettre's error into one that says what to check.
fn explain_smtp_error(
    err: &lettre::transport::smtp::Error,
    smtp: &SmtpConfig,
    where_: &str,
) -> anyhow::Error {
    let code = err.status().map(|c| c.to_string());
    let refused = code
        .as_deref()
        .is_some_and(|c| c.starts_with("535") || c.starts_with("534"));
    let hint = if refused && let Some(oauth) = &smtp.oauth2 {
        // Not offered again: the next attempt asks the token endpoint for a new one.
        oauth::forget(oauth);
        format!(
            "the server refused the OAuth token for smtp.username: check that the sign-in covers sending (Microsoft: the SMTP.Send scope; SMTP AUTH allowed for the mailbox), then run `nudged auth login {}`",
            smtp.oauth2_login_name()
        )
    } else if refused {
        "authentication failed: check smtp.username and the password from password_file / password_command"
            .to_string()
    } else if err.is_tls() {
        "TLS failed: check smtp.tls (implicit for port 465, starttls for 587) and, for a private CA, smtp.ca_file"
            .to_string()
    } else if err.is_timeout() {
        format!(
            "no answer within {}s: check smtp.host and smtp.port",
            SMTP_TIMEOUT.as_secs()
        )
    } else if connection_refused(err) {
        "connection refused: check smtp.host and smtp.port, and that the server is running"
            .to_string()
    } else if err.is_permanent() {
        "the server refused the message: check digest.from and digest.to".to_string()
    } else if err.is_transient() {
        "the server asked to try again later".to_string()
    } else {
        format!("check smtp.host and smtp.port; smtp.tls = {:?}", smtp.tls)
    };
    anyhow!("sending the digest to {where_} failed: {err} — {hint}")
}

fn connection_refused(err: &lettre::transport::smtp::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = inner.source();
    }
    false
}

/// Pipe the message to a local sendmail, which reads the recipients from the headers.
/// One that has not finished by `deadline` is killed and reported.
async fn send_sendmail(
    digest: &DigestConfig,
    message: &[u8],
    deadline: Duration,
) -> Result<String> {
    let command = digest
        .sendmail_command
        .as_deref()
        .unwrap_or(DEFAULT_SENDMAIL);
    // Split on whitespace, no shell: the command comes from the config, the data never.
    let mut words = command.split_whitespace();
    let program = words.next().context("digest.sendmail_command is empty")?;
    let mut child = tokio::process::Command::new(program);
    child
        .args(words)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // sendmail wants local line endings; lettre wrote CRLF.
    let local = String::from_utf8_lossy(message).replace("\r\n", "\n");
    let output = match run_with_deadline(child, Some(local.as_bytes()), deadline).await {
        Ok(output) => output,
        Err(ChildError::Spawn(err)) => {
            return Err(err).with_context(|| {
                format!("cannot run {program:?}: install a sendmail (e.g. msmtp-mta) or set digest.sendmail_command")
            });
        }
        Err(ChildError::Stdin(err)) => {
            return Err(err).with_context(|| format!("{program:?} stopped reading the message"));
        }
        Err(ChildError::Wait(err)) => return Err(err).context("cannot wait for sendmail"),
        Err(ChildError::TimedOut) => bail!(
            "{command:?} did not finish within {}s and was stopped (with what it started); check digest.sendmail_command",
            deadline.as_secs()
        ),
    };
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(format!("sendmail ({program})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn refused_connection_says_check_host_and_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let config = Config::parse(
            &format!(
                "[digest]\nto = \"me@example.com\"\ntransport = \"smtp\"\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n"
            ),
            None,
            Path::new("."),
        )
        .unwrap();
        let err = deliver(&config, b"Subject: x\r\n\r\nbody\r\n")
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("host and smtp.port"), "{err:#}");
    }

    fn smtp_config(port: u16) -> Config {
        Config::parse(
            &format!(
                "[digest]\nto = \"me@example.com\"\ntransport = \"smtp\"\n[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n"
            ),
            None,
            Path::new("."),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn a_server_that_greets_and_then_says_nothing_is_given_up_at_the_deadline() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let _ = stream.write_all(b"220 tarpit ESMTP\r\n").await;
                held.push(stream);
            }
        });
        let started = std::time::Instant::now();
        let err = deliver_within(
            &smtp_config(port),
            b"Subject: x\r\n\r\nbody\r\n",
            Duration::from_millis(400),
        )
        .await
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("did not finish within"),
            "{err:#}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_sendmail_that_never_exits_is_killed_at_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = dir.path().join("hang");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho $$ > {}\nexec sleep 600\n",
                pid_file.display()
            ),
        )
        .unwrap();
        let config = Config::parse(
            &format!(
                "[digest]\nto = \"me@example.com\"\ntransport = \"sendmail\"\nsendmail_command = \"/bin/sh {}\"\n",
                script.display()
            ),
            None,
            Path::new("."),
        )
        .unwrap();
        let err = deliver_within(
            &config,
            b"Subject: x\r\n\r\nbody\r\n",
            Duration::from_millis(400),
        )
        .await
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("did not finish within"),
            "{err:#}"
        );
        crate::child::assert_gone_within(&pid_file, Duration::from_secs(5)).await;
    }

    #[tokio::test]
    async fn sendmail_gets_the_message_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake-sendmail");
        let out = dir.path().join("out.eml");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" > {0}.args\ncat > {0}\n",
                out.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let config = Config::parse(
            &format!(
                // Through sh: exec of a file this process just wrote can fail with ETXTBSY.
                "[digest]\nto = \"me@example.com\"\ntransport = \"sendmail\"\nsendmail_command = \"/bin/sh {} -t -i\"\n",
                script.display()
            ),
            None,
            Path::new("."),
        )
        .unwrap();
        deliver(&config, b"Subject: x\r\n\r\nbody\r\n")
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "Subject: x\n\nbody\n"
        );
        let args = std::fs::read_to_string(dir.path().join("out.eml.args")).unwrap();
        assert_eq!(args.trim(), "-t -i");
    }
}
