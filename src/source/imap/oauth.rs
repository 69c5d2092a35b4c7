//! XOAUTH2 access tokens: read from `access_token_file`, or fetched with the refresh
//! token from the provider's token endpoint on every connect. The endpoint is spoken to
//! with a minimal HTTP/1.0 POST over rustls (HTTP/1.0 so no chunked replies); plain http
//! only for a loopback endpoint, which config validation enforces.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::connect::{ConnectError, tls_connector, tls_handshake};
use super::stream::Conn;
use crate::config::OAuth2Config;
use crate::secret::Secret;

/// Token replies are small; anything bigger is not a token endpoint.
const MAX_REPLY: u64 = 256 * 1024;
/// Reconnect this long before the token runs out.
const RENEW_MARGIN: Duration = Duration::from_secs(120);

pub struct AccessToken {
    pub token: Secret,
    pub renew_by: Option<Instant>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: Option<String>,
    expires_in: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn access_token(
    oauth: &OAuth2Config,
    ca_file: Option<&Path>,
    within: Duration,
) -> Result<AccessToken, ConnectError> {
    if let Some(path) = &oauth.access_token_file {
        return Ok(AccessToken {
            token: Secret::from_file(path)?,
            renew_by: None,
        });
    }
    let url = oauth
        .token_url
        .as_deref()
        .context("oauth2 needs token_url")?;
    let refresh = Secret::from_file(
        oauth
            .refresh_token_file
            .as_deref()
            .context("oauth2 needs refresh_token_file")?,
    )?;
    let client_secret = match (&oauth.client_secret, &oauth.client_secret_file) {
        (Some(text), _) => Some(Secret::new(text.clone())),
        (None, Some(path)) => Some(Secret::from_file(path)?),
        (None, None) => None,
    };
    let mut form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}",
        form_encode(refresh.expose()),
        form_encode(oauth.client_id.as_deref().unwrap_or_default())
    );
    if let Some(secret) = &client_secret {
        form.push_str("&client_secret=");
        form.push_str(&form_encode(secret.expose()));
    }
    let started = Instant::now();
    let (status, body) = tokio::time::timeout(within, post(url, &form, ca_file, within))
        .await
        .map_err(|_| anyhow!("the token endpoint {url} did not answer in time"))??;
    let reply: TokenReply = serde_json::from_slice(&body)
        .with_context(|| format!("the token endpoint {url} answered {status} without JSON"))?;
    match reply.access_token {
        Some(token) if (200..300).contains(&status) && !token.is_empty() => Ok(AccessToken {
            token: Secret::new(token),
            renew_by: reply
                .expires_in
                .map(|secs| started + Duration::from_secs(secs).saturating_sub(RENEW_MARGIN)),
        }),
        _ => {
            let why = format!(
                "the token endpoint answered {status}: {} {}",
                reply.error.as_deref().unwrap_or("no token"),
                reply.error_description.as_deref().unwrap_or_default()
            );
            // 400/401 mean the refresh token or client is refused: do not hammer.
            if status == 400 || status == 401 {
                Err(ConnectError::Auth(why))
            } else {
                Err(anyhow!(why).into())
            }
        }
    }
}

/// POST a form; returns (status, body).
async fn post(
    url: &str,
    form: &str,
    ca_file: Option<&Path>,
    within: Duration,
) -> anyhow::Result<(u16, Vec<u8>)> {
    let (tls, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        anyhow::bail!("token_url {url:?} is not an http(s) URL");
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => (
            host,
            port.parse::<u16>()
                .with_context(|| format!("bad port in token_url {url:?}"))?,
        ),
        _ => (authority, if tls { 443 } else { 80 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect((host, port))
        .await
        .with_context(|| format!("cannot connect to the token endpoint {host}:{port}"))?;
    let mut conn = if tls {
        tls_handshake(&tls_connector(ca_file)?, host, tcp, within).await?
    } else {
        Conn::Plain(tcp)
    };
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    conn.write_all(request.as_bytes()).await?;
    conn.flush().await?;
    let mut reply = Vec::new();
    (&mut conn).take(MAX_REPLY).read_to_end(&mut reply).await?;
    let head_end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the token endpoint sent no HTTP header")?;
    let status_line = String::from_utf8_lossy(reply.get(..head_end).unwrap_or_default());
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .context("the token endpoint sent no HTTP status")?;
    Ok((status, reply.split_off(head_end + 4)))
}

/// application/x-www-form-urlencoded for one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_are_escaped() {
        assert_eq!(form_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
