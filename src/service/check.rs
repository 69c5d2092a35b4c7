//! `nudged check`: validate everything that can be checked before running — the
//! config, the database, every source, the mail server, the web address — and say for
//! each what is wrong and how to fix it. Network checks are added by the modules that
//! own the protocols; this module collects and prints.

pub use super::checklist::{CheckItem, render};

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
    if config.sources.is_empty() {
        items.push(CheckItem::fail(
            "sources",
            "none configured: nudged would read no mail",
            "add a [[source]] (kind = \"imap\" or \"maildir\"); config.sample.toml shows both",
        ));
    }
    items.extend(check_database(&config.store_path()));
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
        let checked = crate::digest::deliver::check_smtp(&smtp).await;
        items.push(match checked {
            Ok(at) => CheckItem::pass("smtp", format!("logged in to {at}")),
            Err(err) => CheckItem::fail(
                "smtp",
                format!("{err:#}"),
                "see the message above; the digest cannot be sent until this works",
            ),
        });
    }
    items.extend(crate::calendar::reach::check_lists(config).await);
    if let Some(web) = &config.web {
        items.push(check_listen(&web.listen));
    }
    items
}

/// Bytes the disk probe writes and removes: enough to fail on a full disk, where
/// SQLite's own small writes could still land in its cache.
const PROBE_BYTES: usize = 1024 * 1024;

/// The database opens, is intact and takes a write (rolled back), and its folder has
/// room. A database that does not exist yet is not created: only its folder is probed.
pub fn check_database(db: &std::path::Path) -> Vec<CheckItem> {
    let mut items = Vec::new();
    let folder = db
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !db.exists() {
        let nearest = folder.ancestors().find(|dir| dir.is_dir());
        items.push(match nearest {
            Some(dir) => match probe_disk(dir) {
                Ok(()) => CheckItem::pass(
                    "database",
                    format!(
                        "{} does not exist yet; `nudged run` creates it ({} takes writes)",
                        db.display(),
                        dir.display()
                    ),
                ),
                Err(err) => CheckItem::fail(
                    "database",
                    format!("{} cannot be created: {err}", db.display()),
                    "free disk space or make the folder writable for nudged, or change [store] path",
                ),
            },
            None => CheckItem::fail(
                "database",
                format!("no folder on the way to {} exists", db.display()),
                "check [store] path",
            ),
        });
        return items;
    }
    let opened = crate::store::Store::open(db);
    let mut store = match opened {
        Ok(store) => store,
        Err(err) => {
            items.push(CheckItem::fail(
                "database",
                format!("{err:#}"),
                "check [store] path, free disk space in its folder and that nudged may write there",
            ));
            return items;
        }
    };
    let written = store
        .probe_write()
        .map_err(|err| format!("{err:#}"))
        .and_then(|()| probe_disk(folder).map_err(|err| err.to_string()));
    items.push(match (store.integrity_check(), written) {
        (Ok(check), Ok(())) if check == "ok" => CheckItem::pass(
            "database",
            format!("{} opens, integrity ok, takes writes", db.display()),
        ),
        (Ok(check), Ok(())) => CheckItem::fail(
            "database",
            format!("{}: integrity check says {check}", db.display()),
            "restore the latest `nudged backup`",
        ),
        (Err(err), _) => CheckItem::fail(
            "database",
            format!("{err:#}"),
            "check the file and its permissions",
        ),
        (Ok(_), Err(err)) => CheckItem::fail(
            "database",
            format!("{} cannot be written: {err}", db.display()),
            "free disk space in its folder (nudged stops logging mail when the disk is full) \
             and check its permissions",
        ),
    });
    items
}

/// Write, sync and remove a 1 MiB file in `dir`.
fn probe_disk(dir: &std::path::Path) -> std::io::Result<()> {
    use std::io::Write as _;
    let path = dir.join(format!(".nudged-check-{}", std::process::id()));
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&vec![0u8; PROBE_BYTES])?;
        file.sync_all()
    });
    let _ = std::fs::remove_file(&path);
    written
}

/// What to do about an IMAP failure, from the words of its error.
fn imap_fix(error: &str) -> &'static str {
    let lower = error.to_ascii_lowercase();
    if lower.contains("nudged auth login") {
        "sign in again with `nudged auth login` and the source's name"
    } else if lower.contains("auth") || lower.contains("login") || lower.contains("credentials") {
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
