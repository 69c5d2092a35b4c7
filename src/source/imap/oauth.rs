//! XOAUTH2 access tokens: read from `access_token_file`, or got with the stored refresh
//! token from the provider's token endpoint (the `oauth2` crate over reqwest, trusting
//! `crate::tls`) and reused from memory until shortly before they expire. A leaf: the
//! IMAP connect code and `nudged auth` use it; it uses neither.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenResponse,
};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, DeviceAuthorizationUrl, EndpointMaybeSet,
    EndpointNotSet, RefreshToken, RequestTokenError, StandardRevocableToken, TokenResponse,
    TokenUrl,
};

use crate::config::OAuth2Config;
use crate::secret::Secret;

/// Renew this long before the token runs out (or at half its life, if that is sooner).
const RENEW_MARGIN: Duration = Duration::from_secs(120);

pub struct AccessToken {
    pub token: Secret,
    pub renew_by: Option<Instant>,
}

/// Why no token came, as far as the caller is concerned.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the refresh token or the client: retrying will not help; a
    /// person has to sign in again (the text says how).
    #[error("{0}")]
    Refused(String),
    /// Network, TLS or local trouble: retry with the usual backoff.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// An OAuth client with whichever endpoints the config names.
pub type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    BasicTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointMaybeSet,
    EndpointMaybeSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
>;

/// Access tokens in memory, by refresh token file: several folders of one account (and
/// reconnects) share one token instead of asking the endpoint each time.
static CACHE: Mutex<BTreeMap<PathBuf, (Secret, Instant)>> = Mutex::new(BTreeMap::new());

/// The HTTPS client for token endpoints: the shared trust store, a deadline on every
/// request, and no redirects (a token endpoint that redirects is not followed with secrets).
pub fn http_client(ca_file: Option<&Path>, within: Duration) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .use_preconfigured_tls(crate::tls::client_config(ca_file)?)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(within)
        .timeout(within)
        .build()
        .context("cannot set up the HTTPS client")
}

/// The client for `oauth`: its id, its secret (from a file or a command), its endpoints.
pub async fn client(oauth: &OAuth2Config) -> anyhow::Result<OAuthClient> {
    let id = oauth.client_id.clone().context("oauth2 needs client_id")?;
    let token_url = oauth.token_url.clone().map(TokenUrl::new).transpose();
    let auth_url = oauth.auth_url.clone().map(AuthUrl::new).transpose();
    let device_url = (oauth.device_auth_url.clone())
        .map(DeviceAuthorizationUrl::new)
        .transpose();
    let mut client = oauth2::basic::BasicClient::new(ClientId::new(id))
        // In the body, not a Basic header: what Microsoft wants, and Google accepts both.
        .set_auth_type(AuthType::RequestBody)
        .set_token_uri_option(token_url.context("oauth2.token_url is not a URL")?)
        .set_auth_uri_option(auth_url.context("oauth2.auth_url is not a URL")?)
        .set_device_authorization_url_option(
            device_url.context("oauth2.device_auth_url is not a URL")?,
        );
    let secret = match (&oauth.client_secret_file, &oauth.client_secret_command) {
        (Some(path), _) => Some(Secret::from_file(path)?),
        (None, Some(command)) => Some(Secret::from_command(command).await?),
        (None, None) => None,
    };
    if let Some(secret) = secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().to_string()));
    }
    Ok(client)
}

/// A token for logging in to `source`, from memory while it is fresh.
pub async fn access_token(
    source: &str,
    oauth: &OAuth2Config,
    ca_file: Option<&Path>,
    within: Duration,
) -> Result<AccessToken, TokenError> {
    if let Some(path) = &oauth.access_token_file {
        return Ok(AccessToken {
            token: Secret::from_file(path)?,
            renew_by: None,
        });
    }
    let store = oauth
        .refresh_token_file
        .as_deref()
        .context("oauth2 needs refresh_token_file")?;
    if let Some((token, renew_by)) = cached(store) {
        return Ok(AccessToken {
            token,
            renew_by: Some(renew_by),
        });
    }
    let refresh = read_refresh_token(source, store)?;
    let client = client(oauth).await?;
    let http = http_client(ca_file, within)?;
    let started = Instant::now();
    let reply = client
        .exchange_refresh_token(&RefreshToken::new(refresh.expose().to_string()))
        .map_err(|err| anyhow!("oauth2: {err}"))?
        .request_async(&http)
        .await
        .map_err(|err| refresh_error(source, oauth, err))?;
    if let Some(rotated) = reply.refresh_token()
        && rotated.secret() != refresh.expose()
        && let Err(err) = store_refresh_token(store, rotated.secret())
    {
        // The old token may stop working soon: say so loudly, but use the access token.
        tracing::error!(source, error = %format!("{err:#}"), "cannot keep the renewed refresh token");
    }
    let token = Secret::new(reply.access_token().secret().clone());
    let renew_by = reply.expires_in().map(|life| {
        let margin = RENEW_MARGIN.min(life / 2);
        started + life.saturating_sub(margin)
    });
    if let Some(renew_by) = renew_by
        && let Ok(mut cache) = CACHE.lock()
    {
        cache.insert(store.to_path_buf(), (token.clone(), renew_by));
    }
    Ok(AccessToken { token, renew_by })
}

/// Drop a cached token the server refused, so the next log-in asks for a new one.
pub fn forget(oauth: &OAuth2Config) {
    if let Some(path) = &oauth.refresh_token_file {
        forget_path(path);
    }
}

fn cached(store: &Path) -> Option<(Secret, Instant)> {
    let cache = CACHE.lock().ok()?;
    let (token, renew_by) = cache.get(store)?;
    (Instant::now() < *renew_by).then(|| (token.clone(), *renew_by))
}

fn read_refresh_token(source: &str, store: &Path) -> Result<Secret, TokenError> {
    if !store.exists() {
        return Err(TokenError::Refused(format!(
            "no refresh token at {} yet: run `nudged auth login {source}`",
            store.display()
        )));
    }
    Ok(Secret::from_file(store)?)
}

/// The provider's "no" to a refresh token means a person must sign in again; anything
/// else (no answer, a proxy's error page) may pass.
fn refresh_error<E: std::error::Error + Send + Sync + 'static>(
    source: &str,
    oauth: &OAuth2Config,
    err: RequestTokenError<E, BasicErrorResponse>,
) -> TokenError {
    let url = oauth.token_url.as_deref().unwrap_or_default();
    match err {
        RequestTokenError::ServerResponse(reply) => {
            let what = format!(
                "{}{}",
                reply.error(),
                reply
                    .error_description()
                    .map(|text| format!(": {text}"))
                    .unwrap_or_default()
            );
            match reply.error() {
                BasicErrorResponseType::InvalidGrant => TokenError::Refused(format!(
                    "the token endpoint refused the refresh token ({what}); it has expired or was revoked: run `nudged auth login {source}`"
                )),
                BasicErrorResponseType::InvalidClient
                | BasicErrorResponseType::UnauthorizedClient => TokenError::Refused(format!(
                    "the token endpoint refused the client ({what}): check oauth2.client_id and the client secret, then run `nudged auth login {source}`"
                )),
                _ => TokenError::Other(anyhow!("the token endpoint {url} answered {what}")),
            }
        }
        RequestTokenError::Request(err) => TokenError::Other(
            anyhow!("{:#}", anyhow::Error::from(err))
                .context(format!("cannot reach the token endpoint {url}")),
        ),
        RequestTokenError::Parse(err, _) => TokenError::Other(anyhow!(
            "the token endpoint {url} sent a reply that is not a token: {err}"
        )),
        RequestTokenError::Other(text) => {
            TokenError::Other(anyhow!("the token endpoint {url}: {text}"))
        }
    }
}

/// Keep a refresh token: mode 0600 in a 0700 directory, written whole (temp + rename).
pub fn store_refresh_token(path: &Path, token: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".refresh-token-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    file.write_all(token.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot write the refresh token to {}", path.display()))?;
    forget_path(path);
    Ok(())
}

fn forget_path(path: &Path) {
    if let Ok(mut cache) = CACHE.lock() {
        cache.remove(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_stored_refresh_token_is_private_and_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oauth2/p.refresh-token");
        store_refresh_token(&path, "rt-1").unwrap();
        store_refresh_token(&path, "rt-2").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "rt-2");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn a_missing_refresh_token_says_to_sign_in() {
        let err = read_refresh_token("work", Path::new("/nonexistent/work.refresh-token"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("nudged auth login work"), "{err}");
    }
}
