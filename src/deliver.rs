//! Deliver: hand a finished message to its transport. The first cut has the `file`
//! transport (an .eml per digest in `digest.file_dir`), written atomically so a crash
//! never leaves half a message behind.

use std::io::Write;

use anyhow::{Context, Result, bail};

use crate::config::{Config, TransportKind};

/// Deliver `message`; returns where it went, for the user.
pub fn deliver(config: &Config, message: &[u8]) -> Result<String> {
    let digest = config
        .digest
        .as_ref()
        .context("no [digest] section is configured")?;
    match digest.transport {
        TransportKind::File => {
            let dir = digest
                .file_dir
                .as_ref()
                .context("digest.file_dir is not set")?;
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create digest.file_dir {}", dir.display()))?;
            let name = format!("digest-{}.eml", message_key(message));
            let path = dir.join(&name);
            let mut tmp = tempfile_in(dir)?;
            tmp.1.write_all(message)?;
            tmp.1.sync_all()?;
            std::fs::rename(&tmp.0, &path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path.display().to_string())
        }
        TransportKind::Smtp | TransportKind::Sendmail => bail!(
            "digest.transport = {:?} is not available in this build yet; use \"file\"",
            digest.transport
        ),
    }
}

/// A file name part that is the same for the same message (so a resend overwrites).
fn message_key(message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(message)[..8])
}

fn tempfile_in(dir: &std::path::Path) -> Result<(std::path::PathBuf, std::fs::File)> {
    let path = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    Ok((path, file))
}
