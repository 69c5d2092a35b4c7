//! `nudged auth login SOURCE` signs in to an OAuth provider once — the device code grant
//! (RFC 8628, e.g. Microsoft) or a browser with a loopback redirect and PKCE (RFC 8252,
//! e.g. Google) — and keeps the refresh token; `nudged auth status` says whether it works.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Subcommand;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, Scope,
    StandardDeviceAuthorizationResponse, TokenResponse,
};
use serde::Serialize;

use super::{Context, UsageError, print_json};
use crate::config::{Config, OAuth2Config};
use crate::source::imap::oauth::{self, OAuthClient, TokenError};

/// Every request to the provider gets this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a person has to finish signing in in the browser.
const BROWSER_WAIT: Duration = Duration::from_secs(10 * 60);

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Sign in to the OAuth provider of an IMAP source (or of [smtp]) and keep its refresh token (0600)
    Login {
        /// The source's name, as in [[source]] name = "…", or "smtp" for an [smtp.oauth2] table
        source: String,
    },
    /// For each OAuth source: where its refresh token is and whether it still works
    Status,
}

pub fn auth(ctx: &Context, command: AuthCommand) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match command {
        AuthCommand::Login { source } => runtime.block_on(login(ctx, &source)),
        AuthCommand::Status => runtime.block_on(status(ctx)),
    }
}

/// Something that signs in with OAuth: an IMAP source, or `[smtp]` with a table of its own.
struct SignIn<'a> {
    name: &'a str,
    oauth: &'a OAuth2Config,
    ca_file: Option<&'a Path>,
}

/// Every sign-in the config has; `[smtp]` with `oauth2_source` shares its source's.
fn sign_ins(config: &Config) -> Vec<SignIn<'_>> {
    let sources = config.sources.iter().filter_map(|source| {
        Some(SignIn {
            name: &source.name,
            oauth: source.oauth2.as_ref()?,
            ca_file: source.ca_file.as_deref(),
        })
    });
    let smtp = config
        .smtp
        .as_ref()
        .filter(|smtp| smtp.oauth2_source.is_none())
        .and_then(|smtp| {
            Some(SignIn {
                name: "smtp",
                oauth: smtp.oauth2.as_ref()?,
                ca_file: smtp.ca_file.as_deref(),
            })
        });
    sources.chain(smtp).collect()
}

fn sign_in<'a>(ctx: &'a Context, name: &str) -> Result<SignIn<'a>> {
    if let Some(found) = sign_ins(&ctx.config).into_iter().find(|s| s.name == name) {
        return Ok(found);
    }
    let message = if ctx.config.sources.iter().any(|s| s.name == name) {
        format!(
            "source {name:?} logs in with a password; add a [source.oauth2] table to sign in with OAuth"
        )
    } else if name == "smtp" && ctx.config.smtp.is_some() {
        "[smtp] has no OAuth sign-in of its own: set oauth2_source = \"SOURCE\" (then sign in as that source) or add an [smtp.oauth2] table".into()
    } else {
        format!("no source is named {name:?} in the config")
    };
    Err(UsageError(message).into())
}

async fn login(ctx: &Context, name: &str) -> Result<()> {
    let SignIn {
        name,
        oauth,
        ca_file,
    } = sign_in(ctx, name)?;
    let store = match (&oauth.access_token_file, &oauth.refresh_token_file) {
        (Some(_), _) => {
            return Err(UsageError(format!(
                "{name:?} reads its token from access_token_file, which another program keeps fresh; remove that key to let nudged sign in"
            ))
            .into());
        }
        (None, Some(path)) => path.clone(),
        (None, None) => bail!("{name:?} has no refresh_token_file"),
    };
    let client = oauth::client(oauth).await?;
    let http = oauth::http_client(ca_file, HTTP_TIMEOUT)?;
    let refresh = if oauth.device_auth_url.is_some() {
        device_login(&client, &http, &oauth.scopes).await?
    } else if oauth.auth_url.is_some() {
        browser_login(&client, &http, &oauth.scopes).await?
    } else {
        return Err(UsageError(format!(
            "{name:?}: set oauth2.device_auth_url (sign in with a code, e.g. Microsoft) or oauth2.auth_url (sign in in a browser, e.g. Google)"
        ))
        .into());
    };
    oauth::store_refresh_token(&store, &refresh)?;
    give_to_service_user(&store)?;
    println!(
        "Signed in. The refresh token is kept in {} (mode 0600).",
        store.display()
    );
    if let Some(smtp) = &ctx.config.smtp
        && smtp.oauth2_source.as_deref() == Some(name)
    {
        println!("The digest is sent over SMTP with the same sign-in.");
    }
    let token = oauth::access_token(name, oauth, ca_file, HTTP_TIMEOUT)
        .await
        .map_err(|err| anyhow!("{err:#}"))?;
    if let Some(renew_by) = token.renew_by {
        println!(
            "An access token was issued; nudged renews it before it expires (next in {} min).",
            renew_by
                .saturating_duration_since(std::time::Instant::now())
                .as_secs()
                / 60
        );
    }
    Ok(())
}

/// `sudo nudged auth login` for the system service: the token is written by root into
/// the service's state directory (/var/lib/nudged, owned by the `nudged` user), so it is
/// handed to that directory's owner, or the service could not read or rotate it.
fn give_to_service_user(store: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let Some(token_dir) = store.parent() else {
        return Ok(());
    };
    let Some(owner) = token_dir.parent().and_then(|d| std::fs::metadata(d).ok()) else {
        return Ok(());
    };
    if owner.uid() == 0 {
        return Ok(());
    }
    for path in [token_dir, store] {
        std::os::unix::fs::chown(path, Some(owner.uid()), Some(owner.gid()))
            .with_context(|| format!("cannot give {} to the service's user", path.display()))?;
    }
    Ok(())
}

/// RFC 8628: show the code, then poll the token endpoint at the interval the provider
/// asks for until the person has entered it (the crate handles `authorization_pending`
/// and `slow_down`) or the code expires.
async fn device_login(
    client: &OAuthClient,
    http: &reqwest::Client,
    scopes: &[String],
) -> Result<String> {
    let mut request = client
        .exchange_device_code()
        .map_err(|err| anyhow!("oauth2: {err}"))?;
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let details: StandardDeviceAuthorizationResponse = request
        .request_async(http)
        .await
        .map_err(|err| anyhow!("the device authorization endpoint: {}", describe(&err)))?;
    eprintln!(
        "To sign in, open {} in any browser and enter the code {}",
        details.verification_uri().as_str(),
        details.user_code().secret()
    );
    eprintln!(
        "Waiting for you to finish (the code is good for {} min)…",
        details.expires_in().as_secs() / 60
    );
    let reply = client
        .exchange_device_access_token(&details)
        .map_err(|err| anyhow!("oauth2: {err}"))?
        .request_async(http, tokio::time::sleep, None)
        .await
        .map_err(|err| anyhow!("signing in did not finish: {}", describe(&err)))?;
    refresh_token_of(&reply)
}

/// RFC 8252 for installed apps: the browser comes back to a port on 127.0.0.1 that this
/// command listens on, with a code bound to our PKCE verifier and a state we check.
async fn browser_login(
    client: &OAuthClient,
    http: &reqwest::Client,
    scopes: &[String],
) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1 for the browser's return")?;
    let port = listener.local_addr()?.port();
    let redirect = RedirectUrl::new(format!("http://127.0.0.1:{port}/"))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .map_err(|err| anyhow!("oauth2: {err}"))?
        .set_pkce_challenge(challenge)
        .set_redirect_uri(Cow::Borrowed(&redirect))
        // Google issues a refresh token only with offline access asked for.
        .add_extra_param("access_type", "offline");
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, state) = request.url();
    eprintln!(
        "Open this address in a browser on this machine and sign in (over SSH: ssh -L {port}:127.0.0.1:{port} first):\n\n  {url}\n"
    );
    let code = tokio::time::timeout(BROWSER_WAIT, wait_for_code(listener, state.secret()))
        .await
        .map_err(|_| {
            anyhow!(
                "nobody signed in within {} min",
                BROWSER_WAIT.as_secs() / 60
            )
        })??;
    let reply = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|err| anyhow!("oauth2: {err}"))?
        .set_pkce_verifier(verifier)
        .set_redirect_uri(Cow::Borrowed(&redirect))
        .request_async(http)
        .await
        .map_err(|err| anyhow!("the token endpoint: {}", describe(&err)))?;
    refresh_token_of(&reply)
}

/// Serve the loopback redirect until the browser comes back with our state.
async fn wait_for_code(listener: tokio::net::TcpListener, state: &str) -> Result<String> {
    let (found, mut answer) = tokio::sync::mpsc::channel::<Result<String>>(1);
    let expected = state.to_string();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(
            move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                let found = found.clone();
                let expected = expected.clone();
                async move {
                    let outcome = redirect_outcome(query.as_deref().unwrap_or_default(), &expected);
                    let page = match &outcome {
                        Some(Ok(_)) => {
                            "Signed in. You can close this window and go back to nudged."
                        }
                        Some(Err(_)) => "Signing in failed; nudged says why in the terminal.",
                        None => "This is not the answer nudged is waiting for.",
                    };
                    if let Some(outcome) = outcome {
                        let _ = found.send(outcome).await;
                    }
                    page
                }
            },
        ),
    );
    let server = axum::serve(listener, app);
    tokio::select! {
        served = server => Err(anyhow!("the loopback listener stopped: {served:?}")),
        outcome = answer.recv() => outcome.unwrap_or_else(|| Err(anyhow!("the loopback listener stopped"))),
    }
}

/// `code` with the right `state`, the provider's `error`, or None for anything else.
fn redirect_outcome(query: &str, expected_state: &str) -> Option<Result<String>> {
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{query}"))
        .ok()?
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    if get("state").as_deref() != Some(expected_state) {
        return None;
    }
    if let Some(error) = get("error") {
        let text = get("error_description").unwrap_or_default();
        return Some(Err(anyhow!("the provider said: {error} {text}")));
    }
    get("code").map(Ok)
}

fn refresh_token_of(reply: &oauth2::basic::BasicTokenResponse) -> Result<String> {
    reply
        .refresh_token()
        .map(|token| token.secret().clone())
        .context("the provider issued no refresh token: ask for offline access (the scope offline_access for Microsoft) in oauth2.scopes")
}

/// The provider's error code and text, without the request (which may hold secrets).
fn describe<E: std::error::Error, T: oauth2::ErrorResponse>(
    err: &oauth2::RequestTokenError<E, T>,
) -> String {
    match err {
        oauth2::RequestTokenError::ServerResponse(reply) => reply.to_string(),
        oauth2::RequestTokenError::Request(err) => format!("no answer: {err}"),
        oauth2::RequestTokenError::Parse(err, _) => format!("an answer that is not OAuth: {err}"),
        oauth2::RequestTokenError::Other(text) => text.clone(),
    }
}

#[derive(Serialize)]
struct SourceStatus {
    source: String,
    token_file: Option<String>,
    ok: bool,
    detail: String,
}

async fn status(ctx: &Context) -> Result<()> {
    let mut rows = Vec::new();
    for SignIn {
        name,
        oauth,
        ca_file,
    } in sign_ins(&ctx.config)
    {
        let file = oauth
            .access_token_file
            .as_deref()
            .or(oauth.refresh_token_file.as_deref());
        let (ok, detail) = match file {
            Some(path) if !path.exists() => (
                false,
                format!("no token yet: run `nudged auth login {name}`"),
            ),
            _ => match oauth::access_token(name, oauth, ca_file, HTTP_TIMEOUT).await {
                Ok(token) => (
                    true,
                    match token.renew_by {
                        Some(at) => format!(
                            "signed in; the access token is good for {} more min",
                            at.saturating_duration_since(std::time::Instant::now())
                                .as_secs()
                                / 60
                        ),
                        None => "signed in (access_token_file)".into(),
                    },
                ),
                Err(TokenError::Refused(why)) => (false, why),
                Err(TokenError::Other(err)) => (false, format!("{err:#}")),
            },
        };
        rows.push(SourceStatus {
            source: name.to_string(),
            token_file: file.map(|p: &Path| p.display().to_string()),
            ok,
            detail,
        });
    }
    if ctx.json {
        print_json(&rows)?;
    } else if rows.is_empty() {
        println!("Nothing in the config signs in with OAuth.");
    } else {
        for row in &rows {
            let mark = if row.ok { "ok  " } else { "FAIL" };
            println!(
                "[{mark}] {} ({}): {}",
                row.source,
                row.token_file.as_deref().unwrap_or("-"),
                row.detail
            );
        }
    }
    if rows.iter().any(|row| !row.ok) {
        bail!("a source cannot sign in");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_must_carry_our_state() {
        assert!(redirect_outcome("code=abc&state=other", "s1").is_none());
        assert_eq!(
            redirect_outcome("code=a%2Fb&state=s1", "s1").and_then(|r| r.ok()),
            Some("a/b".to_string())
        );
        let refused = redirect_outcome("error=access_denied&state=s1", "s1");
        assert!(matches!(refused, Some(Err(_))));
    }
}
