//! OAuth against a small authorization server inside the test (device code and token
//! endpoints): `nudged auth login` waits out `authorization_pending`, keeps the refresh
//! token 0600, the daemon's log-in to a real Dovecot uses XOAUTH2 with the token it was
//! issued, a rotated refresh token is kept, and a revoked one says to sign in again.

use crate::support;

use std::io::{BufRead, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use support::{Dovecot, PASSWORD};

#[derive(Default)]
pub(crate) struct Seen {
    pending_sent: usize,
    pub(crate) refresh_grants: Vec<String>,
    client_ids: Vec<String>,
    /// (code, code_verifier, redirect_uri) of each authorization_code grant.
    code_grants: Vec<(String, String, String)>,
}

fn form(body: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn json(status: StatusCode, body: serde_json::Value) -> axum::response::Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The authorization server: one device code, answered "pending" once; refresh tokens
/// rt-1 (rotated to rt-2) and rt-2 are good, anything else is expired.
pub(crate) fn start_auth_server(seen: Arc<Mutex<Seen>>) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let device = axum::routing::post(move || async move {
                json(
                    StatusCode::OK,
                    serde_json::json!({
                        "device_code": "dc-1", "user_code": "WDJB-MJHT",
                        "verification_uri": format!("http://127.0.0.1:{port}/verify"),
                        "expires_in": 120, "interval": 1
                    }),
                )
            });
            let token = axum::routing::post(move |body: String| {
                let seen = seen.clone();
                async move {
                    let fields = form(&body);
                    let get = |key: &str| {
                        fields
                            .iter()
                            .find(|(k, _)| k == key)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let mut seen = seen.lock().unwrap();
                    seen.client_ids.push(get("client_id"));
                    let issued = |refresh: &str| {
                        json(
                            StatusCode::OK,
                            serde_json::json!({
                                "access_token": PASSWORD, "token_type": "Bearer",
                                "expires_in": 3600, "refresh_token": refresh
                            }),
                        )
                    };
                    match get("grant_type").as_str() {
                        "urn:ietf:params:oauth:grant-type:device_code" => {
                            if seen.pending_sent == 0 {
                                seen.pending_sent += 1;
                                json(
                                    StatusCode::BAD_REQUEST,
                                    serde_json::json!({"error": "authorization_pending"}),
                                )
                            } else {
                                issued("rt-1")
                            }
                        }
                        "authorization_code" => {
                            seen.code_grants.push((
                                get("code"),
                                get("code_verifier"),
                                get("redirect_uri"),
                            ));
                            if get("code") == "code-1" {
                                issued("rt-1")
                            } else {
                                json(
                                    StatusCode::BAD_REQUEST,
                                    serde_json::json!({"error": "invalid_grant"}),
                                )
                            }
                        }
                        "refresh_token" => {
                            let refresh = get("refresh_token");
                            seen.refresh_grants.push(refresh.clone());
                            match refresh.as_str() {
                                "rt-1" | "rt-2" => issued("rt-2"),
                                _ => json(
                                    StatusCode::BAD_REQUEST,
                                    serde_json::json!({
                                        "error": "invalid_grant",
                                        "error_description": "the refresh token has expired"
                                    }),
                                ),
                            }
                        }
                        _ => json(
                            StatusCode::BAD_REQUEST,
                            serde_json::json!({"error": "unsupported_grant_type"}),
                        ),
                    }
                }
            });
            let app = axum::Router::new()
                .route("/device", device)
                .route("/token", token);
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    port
}

/// Run nudged with a deadline; a hung command fails the test instead of stalling it.
pub(crate) fn nudged(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(config)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nudged {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

#[test]
fn device_login_then_xoauth2_to_dovecot_then_a_revoked_token_says_sign_in_again() {
    let dovecot = Dovecot::start_with(|o| {
        o.tls = false;
        o.extra_config = "auth_failure_delay = 0\n".into();
    });
    dovecot.append(
        "olga",
        "INBOX",
        b"From: a@example.org\r\nSubject: x\r\n\r\nhi\r\n",
    );
    let seen = Arc::new(Mutex::new(Seen::default()));
    let auth_port = start_auth_server(seen.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nudged.toml");
    std::fs::write(dir.path().join("client-secret"), "s3cret-client\n").unwrap();
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"state/nudged.db\"\n\n[[source]]\nname = \"work\"\nkind = \"imap\"\n\
             host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"olga\"\nfolders = [\"INBOX\"]\n\n\
             [source.oauth2]\nclient_id = \"nudged-test\"\nclient_secret_file = \"client-secret\"\n\
             token_url = \"http://127.0.0.1:{auth_port}/token\"\n\
             device_auth_url = \"http://127.0.0.1:{auth_port}/device\"\n\
             scopes = [\"imap\", \"offline_access\"]\n",
            dovecot.imap_port()
        ),
    )
    .unwrap();

    // Before signing in, check says what to do.
    let (code, out, err) = nudged(&config, &["check"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("nudged auth login work"), "{out}{err}");

    let (code, out, err) = nudged(&config, &["auth", "login", "work"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains("WDJB-MJHT") && err.contains(&format!("127.0.0.1:{auth_port}/verify")),
        "{err}"
    );
    assert!(out.contains("Signed in"), "{out}");
    assert_eq!(
        seen.lock().unwrap().pending_sent,
        1,
        "the pending answer was never asked for"
    );
    let store = dir.path().join("state/oauth2/work.refresh-token");
    let mode = std::fs::metadata(&store).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // login proved the token with a refresh, and the provider rotated it: the new one is kept.
    assert_eq!(std::fs::read_to_string(&store).unwrap(), "rt-2");

    let (code, out, err) = nudged(&config, &["check"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("[ok  ] source \"work\": logged in"), "{out}");
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.refresh_grants,
            ["rt-1", "rt-2"],
            "one refresh per command"
        );
        assert!(seen.client_ids.iter().all(|id| id == "nudged-test"));
    }
    assert!(
        dovecot.log().to_lowercase().contains("xoauth2")
            || dovecot.log().contains("Login: user=<olga>"),
        "{}",
        dovecot.log()
    );

    let (code, out, err) = nudged(&config, &["auth", "status"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("[ok  ] work"), "{out}");

    // An expired or revoked refresh token: a clear "sign in again", and the log-in is
    // not retried in a loop (check fails once, promptly).
    std::fs::write(&store, "rt-revoked").unwrap();
    let (code, out, err) = nudged(&config, &["check"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("expired or was revoked") && out.contains("run `nudged auth login work`"),
        "{out}"
    );
    let (code, out, err) = nudged(&config, &["auth", "status"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("run `nudged auth login work`"), "{out}");
    assert!(!out.contains("s3cret-client") && !err.contains("s3cret-client"));
}

/// GET `url` (http://127.0.0.1:PORT/…) the way a browser coming back would; returns the body.
fn browser_get(url: &reqwest::Url) -> String {
    let port = url.port().unwrap();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    reply
}

#[test]
fn browser_login_comes_back_to_loopback_with_pkce_and_the_right_state() {
    use base64::Engine;
    use sha2::Digest;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let auth_port = start_auth_server(seen.clone());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nudged.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"state/nudged.db\"\n\n[[source]]\nname = \"gmail\"\nkind = \"imap\"\n\
             host = \"127.0.0.1\"\ntls = \"none\"\nusername = \"olga\"\n\n\
             [source.oauth2]\nclient_id = \"nudged-test\"\n\
             token_url = \"http://127.0.0.1:{auth_port}/token\"\n\
             auth_url = \"http://127.0.0.1:{auth_port}/authorize\"\n\
             scopes = [\"https://mail.google.com/\"]\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .args(["auth", "login", "gmail"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, printed) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line);
        }
    });
    let prefix = format!("http://127.0.0.1:{auth_port}/authorize?");
    let authorize = loop {
        let line = printed
            .recv_timeout(Duration::from_secs(30))
            .expect("nudged printed no sign-in address within 30 s");
        if let Some(at) = line.find(&prefix) {
            break reqwest::Url::parse(line[at..].trim()).unwrap();
        }
    };
    let param = |key: &str| {
        authorize
            .query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("{key} missing from {authorize}"))
    };
    assert_eq!(param("code_challenge_method"), "S256");
    assert_eq!(param("response_type"), "code");
    assert_eq!(param("scope"), "https://mail.google.com/");
    let redirect = reqwest::Url::parse(&param("redirect_uri")).unwrap();
    assert_eq!(redirect.host_str(), Some("127.0.0.1"), "{redirect}");

    // A return with someone else's state is not taken.
    let mut forged = redirect.clone();
    forged.set_query(Some("code=code-evil&state=not-ours"));
    assert!(browser_get(&forged).contains("not the answer"));
    let mut back = redirect.clone();
    back.query_pairs_mut()
        .append_pair("code", "code-1")
        .append_pair("state", &param("state"));
    assert!(browser_get(&back).contains("Signed in"));

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "auth login did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{out}");
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.code_grants.len(),
        1,
        "the forged code reached the token endpoint"
    );
    let (code, verifier, redirect_uri) = &seen.code_grants[0];
    assert_eq!(code, "code-1");
    assert_eq!(redirect_uri, redirect.as_str());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    assert_eq!(
        challenge,
        param("code_challenge"),
        "the verifier does not match the challenge"
    );
    let store = dir.path().join("state/oauth2/gmail.refresh-token");
    assert_eq!(std::fs::read_to_string(store).unwrap(), "rt-2");
}
