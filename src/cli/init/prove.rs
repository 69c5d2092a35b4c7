//! `nudged init`'s proof that the answers work: a log-in to the IMAP server that also
//! lists the folders (to pick the Sent one), and an SMTP log-in; nothing is written
//! unless both pass.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};

use super::Answers;
use super::providers::Preset;
use crate::config::Config;
use crate::source::imap::ConnectError;

/// How long the test log-in may take.
const LOGIN_DEADLINE: Duration = Duration::from_secs(30);

/// Log in with the answers; a refused password ends `init` before anything is written.
/// Returns the Sent folder to use: the one the server marks `\Sent`, else a known name.
pub async fn prove_imap(
    config: &Config,
    answers: &Answers,
    preset: &Preset,
) -> Result<Option<String>> {
    let source = config
        .sources
        .first()
        .context("no source in the generated config")?;
    let at = format!("{}:{}", answers.imap.host, answers.imap.port);
    eprintln!("Logging in to {at} as {}…", answers.username);
    let listed = tokio::time::timeout(
        LOGIN_DEADLINE,
        crate::source::imap::folders::list_folders(source),
    )
    .await;
    let folders = match listed {
        Err(_) => bail!(
            "{at} did not answer within {} s: check --imap-host, --imap-port and --tls. Nothing was written.",
            LOGIN_DEADLINE.as_secs()
        ),
        Ok(Err(ConnectError::Auth(why))) => bail!(
            "{at} refused the log-in for {}: {why}\nCheck the user name and the password. {}\nNothing was written.",
            answers.username,
            preset.password_hint
        ),
        Ok(Err(ConnectError::Other(err))) => bail!(
            "cannot log in to {at}: {err:#}\nCheck --imap-host, --imap-port and --tls. Nothing was written."
        ),
        Ok(Ok(folders)) => folders,
    };
    let sent = folders
        .iter()
        .find(|f| f.sent)
        .or_else(|| folders.iter().find(|f| f.name == preset.sent_folder))
        .or_else(|| {
            [
                "Sent",
                "Sent Items",
                "Sent Messages",
                "INBOX.Sent",
                "[Gmail]/Sent Mail",
            ]
            .iter()
            .find_map(|name| folders.iter().find(|f| f.name == *name))
        })
        .map(|f| f.name.clone());
    match &sent {
        Some(name) => eprintln!(
            "Logged in; {} folders; Sent folder: {name:?}",
            folders.len()
        ),
        None => eprintln!(
            "Logged in; {} folders; no Sent folder found (replies you send will not close tasks until you set sent_folder)",
            folders.len()
        ),
    }
    Ok(sent)
}

pub async fn prove_smtp(config: &Config) -> Result<()> {
    let Some(smtp) = config.smtp.clone() else {
        return Ok(());
    };
    eprintln!("Logging in to smtp://{}…", smtp.host);
    crate::digest::deliver::check_smtp(&smtp)
        .await
        .map_err(|err| anyhow!("{err:#}\nNothing was written."))?;
    Ok(())
}
