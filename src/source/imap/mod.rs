//! IMAP source: connect and log in ([`connect`]), sync a folder batch by batch with the
//! cursor committed alongside the results ([`sync`]), and watch it with IDLE or polling,
//! reconnecting through the one backoff policy ([`watch`]). The protocol code hands raw
//! messages to [`crate::ingest`]; what they mean is decided there.

mod batch;
mod commit;
pub mod connect;
pub mod folders;
pub mod oauth;
mod pipelined;
mod stream;
pub mod sync;
pub mod watch;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_imap::types::Capability;
use futures_util::TryStreamExt;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::classify::RuleSet;
use crate::classify::prefilter::Prefilter;
use crate::clock::Clock;
use crate::config::{Config, SourceConfig};
use crate::source::SourceReport;
use crate::store::Db;

pub use connect::ConnectError;

/// How long LOGOUT may take before the connection is simply dropped.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a folder holds, and so what happens to its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderRole {
    /// Incoming mail: notifications are classified and logged.
    Notifications,
    /// The user's own mail: recipients and date close follow-ups.
    Sent,
}

/// Test hooks into a sync pass; empty in the daemon.
#[derive(Clone, Default)]
pub struct Hooks {
    /// Called with (folder, UIDs) after the header look and before bodies are fetched.
    #[allow(clippy::type_complexity)]
    pub between_fetches: Option<Arc<dyn Fn(&str, &[u32]) + Send + Sync>>,
}

/// Everything a folder sync needs, shared by every task of the daemon.
pub struct SyncContext {
    pub store: Db,
    pub config: Arc<Config>,
    pub rules: Arc<RuleSet>,
    pub prefilter: Arc<Prefilter>,
    pub clock: Clock,
    pub shutdown: CancellationToken,
    pub hooks: Hooks,
}

/// The folders of a source and what each is for.
pub fn folders(source: &SourceConfig) -> Vec<(String, FolderRole)> {
    let mut folders: Vec<(String, FolderRole)> = source
        .folders
        .clone()
        .unwrap_or_else(|| vec!["INBOX".to_string()])
        .into_iter()
        .map(|f| (f, FolderRole::Notifications))
        .collect();
    if let Some(sent) = &source.sent_folder {
        folders.push((sent.clone(), FolderRole::Sent));
    }
    folders
}

/// One pass over every folder of a source on one connection (`run --once`).
pub async fn sync_source_once(ctx: &SyncContext, source: &SourceConfig) -> Result<SourceReport> {
    let mut report = SourceReport::new(&source.name);
    let mut connected = connect::connect(source)
        .await
        .with_context(|| format!("source {:?}", source.name))?;
    let condstore = connected.capabilities.has_str("CONDSTORE");
    for (folder, role) in folders(source) {
        if ctx.shutdown.is_cancelled() {
            break;
        }
        let synced = sync::sync_folder(
            &mut connected.session,
            ctx,
            source,
            &folder,
            role,
            condstore,
            &mut None,
            &mut report,
        )
        .await;
        if let Err(err) = synced {
            report.errors.push(format!("{folder}: {err:#}"));
        }
    }
    logout(connected.session).await;
    Ok(report)
}

pub async fn logout(mut session: connect::Session) {
    let _ = tokio::time::timeout(LOGOUT_TIMEOUT, session.logout()).await;
}

/// What `nudged check` reports for one IMAP source.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub source: String,
    pub capabilities: Vec<String>,
    /// Each configured folder (and the Sent folder) and whether the server has it.
    pub folders: Vec<(String, bool)>,
    pub idle: bool,
}

/// Connect, log in, list the configured folders and the server's capabilities.
pub async fn check_source(source: &SourceConfig) -> Result<CheckReport> {
    let mut connected = connect::connect(source)
        .await
        .with_context(|| format!("source {:?}", source.name))?;
    let mut capabilities: Vec<String> = connected
        .capabilities
        .iter()
        .map(|c| match c {
            Capability::Imap4rev1 => "IMAP4rev1".to_string(),
            Capability::Auth(mech) => format!("AUTH={mech}"),
            Capability::Atom(atom) => atom.to_string(),
        })
        .collect();
    capabilities.sort();
    let names: Vec<String> = connected
        .session
        .list(Some(""), Some("*"))
        .await
        .context("LIST failed")?
        .map_ok(|name| name.name().to_string())
        .try_collect()
        .await
        .context("LIST failed")?;
    let folders = folders(source)
        .into_iter()
        .map(|(folder, _)| {
            let exists = names.iter().any(|n| {
                n == &folder
                    || (folder.eq_ignore_ascii_case("INBOX") && n.eq_ignore_ascii_case("INBOX"))
            });
            (folder, exists)
        })
        .collect();
    let idle = connected.capabilities.has_str("IDLE");
    logout(connected.session).await;
    Ok(CheckReport {
        source: source.name.clone(),
        capabilities,
        folders,
        idle,
    })
}
