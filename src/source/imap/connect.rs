//! Connect and log in: TCP, then TLS (implicit, or STARTTLS that must succeed), the
//! greeting, and LOGIN or XOAUTH2. Certificate checks are always on, against the one
//! trust store in `crate::tls` (`ca_file` adds to it). Errors say whether retrying soon can help.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use async_imap::imap_proto::{Response, ResponseCode, Status};
use async_imap::types::Capabilities;
use async_imap::{Authenticator, Client};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use super::oauth;
use super::stream::{Conn, TimedStream};
use crate::config::{SourceConfig, TlsMode};
use crate::secret::Secret;

pub type Session = async_imap::Session<TimedStream>;

/// Why a connection failed, as far as retrying is concerned.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The server (or the token endpoint) rejected our credentials: retry much later.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Network, TLS, protocol or local trouble: retry with the usual backoff.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A logged-in session and what the server can do.
pub struct Connected {
    pub session: Session,
    pub capabilities: Capabilities,
    /// Reconnect before this (the access token expires then).
    pub renew_by: Option<Instant>,
}

/// The shared trust store ([`crate::tls`]) as a connector.
fn tls_connector(ca_file: Option<&Path>) -> anyhow::Result<TlsConnector> {
    Ok(TlsConnector::from(Arc::new(crate::tls::client_config(
        ca_file,
    )?)))
}

async fn tls_handshake(
    connector: &TlsConnector,
    host: &str,
    tcp: TcpStream,
    within: Duration,
) -> anyhow::Result<Conn> {
    let name = ServerName::try_from(host.to_string())
        .with_context(|| format!("{host:?} is not a valid server name"))?;
    let tls = tokio::time::timeout(within, connector.connect(name, tcp))
        .await
        .map_err(|_| anyhow!("TLS handshake with {host} timed out"))?
        .with_context(|| format!("TLS handshake with {host} failed"))?;
    Ok(Conn::Tls(Box::new(tls)))
}

/// Connect, secure, greet and log in.
pub async fn connect(source: &SourceConfig) -> Result<Connected, ConnectError> {
    let host = source
        .host
        .as_deref()
        .context("an imap source needs a host")?;
    let port = source.port.unwrap_or(match source.tls {
        TlsMode::Implicit => 993,
        TlsMode::Starttls | TlsMode::None => 143,
    });
    let within = source.read_timeout();
    let tcp = tokio::time::timeout(within, TcpStream::connect((host, port)))
        .await
        .map_err(|_| anyhow!("connecting to {host}:{port} timed out"))?
        .with_context(|| format!("cannot connect to {host}:{port}"))?;
    let _ = tcp.set_nodelay(true);
    let mut client = match source.tls {
        TlsMode::Implicit => {
            let connector = tls_connector(source.ca_file.as_deref())?;
            let conn = tls_handshake(&connector, host, tcp, within).await?;
            greeted(Client::new(TimedStream::new(conn, within))).await?
        }
        TlsMode::None => greeted(Client::new(TimedStream::new(Conn::Plain(tcp), within))).await?,
        TlsMode::Starttls => {
            let connector = tls_connector(source.ca_file.as_deref())?;
            let mut plain =
                greeted(Client::new(TimedStream::new(Conn::Plain(tcp), within))).await?;
            plain
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|err| {
                    anyhow!("{host} refused STARTTLS ({err}); tls = \"starttls\" requires it, so nudged will not log in in the clear")
                })?;
            // into_inner drops the client's read buffer: anything the server (or someone
            // in between) sent before the handshake is discarded, never parsed.
            let Conn::Plain(tcp) = plain.into_inner().into_inner() else {
                return Err(anyhow!("STARTTLS on a connection that is already TLS").into());
            };
            let conn = tls_handshake(&connector, host, tcp, within).await?;
            Client::new(TimedStream::new(conn, within))
        }
    };
    client.get_mut().set_timeout(Some(within));
    let user = source
        .username
        .as_deref()
        .context("an imap source needs a username")?;
    let (mut session, renew_by) = if let Some(oauth2) = &source.oauth2 {
        let token = oauth::access_token(&source.name, oauth2, source.ca_file.as_deref(), within)
            .await
            .map_err(|err| match err {
                oauth::TokenError::Refused(why) => ConnectError::Auth(why),
                oauth::TokenError::Other(err) => ConnectError::Other(err),
            })?;
        let auth = XOAuth2 {
            user: user.to_string(),
            token: token.token,
            sent: false,
        };
        let session = client
            .authenticate("XOAUTH2", auth)
            .await
            .map_err(|(err, _)| {
                // A token the server refuses is not used again.
                oauth::forget(oauth2);
                login_error(err)
            })?;
        (session, token.renew_by)
    } else {
        let password = password(source).await?;
        let session = client
            .login(user, password.expose())
            .await
            .map_err(|(err, _)| login_error(err))?;
        (session, None)
    };
    let capabilities = session
        .capabilities()
        .await
        .context("CAPABILITY after login failed")?;
    log_alerts(&session);
    Ok(Connected {
        session,
        capabilities,
        renew_by,
    })
}

async fn password(source: &SourceConfig) -> anyhow::Result<Secret> {
    match (&source.password_file, &source.password_command) {
        (Some(path), _) => Secret::from_file(path),
        (None, Some(command)) => Secret::from_command(command).await,
        (None, None) => Err(anyhow!("source {:?} has no password", source.name)),
    }
}

/// A NO or BAD to LOGIN/AUTHENTICATE is about the credentials; anything else is not.
fn login_error(err: async_imap::error::Error) -> ConnectError {
    use async_imap::error::Error;
    match err {
        Error::No(text) | Error::Bad(text) => {
            let text = server_text(&text);
            if text.contains("[ALERT]") {
                tracing::warn!(alert = %text, "server alert at log-in");
            }
            ConnectError::Auth(format!("the server said: {text}"))
        }
        other => ConnectError::Other(anyhow!(other).context("log-in failed")),
    }
}

/// async-imap renders a NO as `code: …, info: Some("text")`; keep the server's text.
fn server_text(rendered: &str) -> String {
    rendered
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(rendered, |(text, _)| text)
        .trim()
        .to_string()
}

/// Read the greeting: a BYE means the server does not want us now.
async fn greeted(mut client: Client<TimedStream>) -> anyhow::Result<Client<TimedStream>> {
    let greeting = client
        .read_response()
        .await
        .context("no greeting from the server")?
        .context("the server closed the connection before greeting")?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            outcome,
        } => {
            if matches!(outcome.code, Some(ResponseCode::Alert)) {
                tracing::warn!(
                    alert = outcome.information.as_deref().unwrap_or_default(),
                    "server alert"
                );
            }
            Ok(client)
        }
        Response::Data { outcome, .. } => Err(anyhow!(
            "the server refused the connection: {}",
            outcome.information.as_deref().unwrap_or_default()
        )),
        _ => Err(anyhow!("unexpected greeting from the server")),
    }
}

/// Log `[ALERT]` texts the server sent since the last look; RFC 3501 says the user must
/// see them, and the log is where a daemon's user looks.
pub fn log_alerts(session: &Session) {
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        if let async_imap::types::UnsolicitedResponse::Other(data) = response
            && let Response::Data { outcome, .. } = data.parsed()
            && matches!(outcome.code, Some(ResponseCode::Alert))
        {
            tracing::warn!(
                alert = outcome.information.as_deref().unwrap_or_default(),
                "server alert"
            );
        }
    }
}

/// SASL XOAUTH2: the token once; an empty answer to the server's error challenge.
struct XOAuth2 {
    user: String,
    token: Secret,
    sent: bool,
}

impl Authenticator for XOAuth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
        format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.user,
            self.token.expose()
        )
    }
}
