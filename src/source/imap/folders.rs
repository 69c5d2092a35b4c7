//! The folders an account has, with the special-use attributes of RFC 6154, so that
//! `nudged init` can pick the Sent folder the server itself marks instead of guessing.

use anyhow::{Context, Result};
use async_imap::types::NameAttribute;
use futures_util::TryStreamExt;

use super::connect::{self, ConnectError};
use crate::config::SourceConfig;

#[derive(Debug, Clone)]
pub struct Folder {
    pub name: String,
    /// The server marks it `\Sent`.
    pub sent: bool,
}

/// Log in and LIST every folder. A refused log-in stays a [`ConnectError::Auth`].
pub async fn list_folders(source: &SourceConfig) -> Result<Vec<Folder>, ConnectError> {
    let mut connected = connect::connect(source).await?;
    let folders: Vec<Folder> = connected
        .session
        .list(Some(""), Some("*"))
        .await
        .context("LIST failed")?
        .map_ok(|name| Folder {
            name: name.name().to_string(),
            sent: name.attributes().contains(&NameAttribute::Sent),
        })
        .try_collect()
        .await
        .context("LIST failed")?;
    super::logout(connected.session).await;
    Ok(folders)
}
