//! `nudged check`: validate everything that can be checked before running — the
//! config, the database, every source, the mail server, the web address — and say for
//! each what is wrong and how to fix it. Network checks are added by the modules that
//! own the protocols; this module collects and prints.

use serde::Serialize;

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct CheckItem {
    pub what: String,
    pub ok: bool,
    pub detail: String,
    /// How to fix it, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl CheckItem {
    pub fn pass(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(
        what: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            what: what.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The checklist as a person reads it.
pub fn render(items: &[CheckItem]) -> String {
    let mut out = String::new();
    for item in items {
        let mark = if item.ok { "ok  " } else { "FAIL" };
        out.push_str(&format!("[{mark}] {}: {}\n", item.what, item.detail));
        if let Some(fix) = &item.fix {
            out.push_str(&format!("       fix: {fix}\n"));
        }
    }
    let failed = items.iter().filter(|i| !i.ok).count();
    if failed == 0 {
        out.push_str("Everything checks out.\n");
    } else {
        out.push_str(&format!("{failed} problem(s) found.\n"));
    }
    out
}

/// Whether `listen` can be bound now (nothing else is using the port).
pub fn check_listen(listen: &str) -> CheckItem {
    match std::net::TcpListener::bind(listen) {
        Ok(_) => CheckItem::pass("web", format!("{listen} is free")),
        Err(err) => CheckItem::fail(
            "web",
            format!("cannot listen on {listen}: {err}"),
            "stop whatever uses that port (is nudged already running?) or change [web] listen",
        ),
    }
}

/// Run every check for `config` (already parsed and validated, else we would not be
/// here): the database, each source, the SMTP server, the web address.
pub async fn run_checks(config: &crate::config::Config) -> Vec<CheckItem> {
    use crate::config::{SourceKind, TransportKind};
    let mut items = vec![CheckItem::pass(
        "config",
        config
            .path
            .as_ref()
            .map_or("valid".to_string(), |p| format!("{} is valid", p.display())),
    )];
    let db = config.store_path();
    items.push(match crate::store::Store::open(&db) {
        Ok(store) => match store.integrity_check() {
            Ok(check) if check == "ok" => {
                CheckItem::pass("database", format!("{} opens, integrity ok", db.display()))
            }
            Ok(check) => CheckItem::fail(
                "database",
                format!("{}: integrity check says {check}", db.display()),
                "restore the latest `nudged backup`",
            ),
            Err(err) => CheckItem::fail(
                "database",
                format!("{err:#}"),
                "check the file and its permissions",
            ),
        },
        Err(err) => CheckItem::fail(
            "database",
            format!("{err:#}"),
            "check [store] path and that nudged may write to its folder",
        ),
    });
    for source in &config.sources {
        let what = format!("source {:?}", source.name);
        match source.kind {
            SourceKind::Maildir => {
                let path = source.path.clone().unwrap_or_default();
                items.push(if path.join("cur").is_dir() || path.join("new").is_dir() {
                    CheckItem::pass(what, format!("{} is a Maildir", path.display()))
                } else {
                    CheckItem::fail(
                        what,
                        format!("{} has no cur/ or new/ folder", path.display()),
                        "point path at the folder that holds cur/, new/ and tmp/",
                    )
                });
            }
            SourceKind::Imap => {
                let host = source.host.clone().unwrap_or_default();
                match tokio::time::timeout(
                    std::time::Duration::from_secs(30),
                    crate::source::imap::check_source(source),
                )
                .await
                {
                    Ok(Ok(report)) => {
                        items.push(CheckItem::pass(
                            what.clone(),
                            format!(
                                "logged in to {host}{}",
                                if report.idle {
                                    ", IDLE offered"
                                } else {
                                    ", no IDLE (will poll)"
                                }
                            ),
                        ));
                        for (folder, exists) in report.folders {
                            items.push(if exists {
                                CheckItem::pass(format!("{what} folder {folder:?}"), "exists")
                            } else {
                                CheckItem::fail(
                                    format!("{what} folder {folder:?}"),
                                    "not on the server",
                                    "fix folders / sent_folder (names are case-sensitive; Gmail's is \"[Gmail]/Sent Mail\")",
                                )
                            });
                        }
                    }
                    Ok(Err(err)) => items.push(CheckItem::fail(
                        what,
                        format!("{err:#}"),
                        imap_fix(&format!("{err:#}")),
                    )),
                    Err(_) => items.push(CheckItem::fail(
                        what,
                        format!("{host} did not answer within 30 s"),
                        "check host, port and that a firewall lets nudged out",
                    )),
                }
            }
        }
    }
    if let Some(digest) = &config.digest
        && digest.transport == TransportKind::Smtp
        && let Some(smtp) = config.smtp.clone()
    {
        let checked = tokio::task::spawn_blocking(move || crate::deliver::check_smtp(&smtp)).await;
        items.push(match checked {
            Ok(Ok(at)) => CheckItem::pass("smtp", format!("logged in to {at}")),
            Ok(Err(err)) => CheckItem::fail(
                "smtp",
                format!("{err:#}"),
                "see the message above; the digest cannot be sent until this works",
            ),
            Err(err) => CheckItem::fail(
                "smtp",
                format!("the check crashed: {err}"),
                "report this as a bug",
            ),
        });
    }
    items.extend(crate::calendar::reach::check_lists(config).await);
    if let Some(web) = &config.web {
        items.push(check_listen(&web.listen));
    }
    items
}

/// What to do about an IMAP failure, from the words of its error.
fn imap_fix(error: &str) -> &'static str {
    let lower = error.to_ascii_lowercase();
    if lower.contains("auth") || lower.contains("login") || lower.contains("credentials") {
        "check username and the password in password_file / password_command (Gmail and Fastmail need an app password)"
    } else if lower.contains("certificate") || lower.contains("tls") {
        "check tls and port (993 = implicit, 143 = starttls); for a private CA set ca_file"
    } else if lower.contains("refused")
        || lower.contains("resolve")
        || lower.contains("dns")
        || lower.contains("lookup")
    {
        "check host and port, and that the server is up"
    } else if lower.contains("secret") || lower.contains("password_command") {
        "check password_file / password_command"
    } else {
        "see the message; `RUST_LOG=nudged=debug nudged check` shows more"
    }
}
