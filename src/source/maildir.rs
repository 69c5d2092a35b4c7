//! Maildir source: reads `new/` and `cur/` of each configured folder. A message is known
//! by the unique part of its file name (before `:2,`), which survives the mail client
//! moving it from new/ to cur/ or changing its flags, so a re-run adds nothing.
//! Files are only read, never moved or renamed: the user's mail client owns them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::SourceReport;
use crate::config::SourceConfig;
use crate::pipeline::Ingest;
use crate::store::{Store, sync_state};

/// Larger files are recorded as seen without being classified: no notification is 25 MB.
const MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;

/// One pass over every folder of a Maildir source.
pub fn sync_maildir(
    store: &mut Store,
    ingest: &Ingest<'_>,
    source: &SourceConfig,
) -> Result<SourceReport> {
    let root = source
        .path
        .as_deref()
        .context("a maildir source needs a path")?;
    let folders = source
        .folders
        .clone()
        .unwrap_or_else(|| vec![".".to_string()]);
    let mut report = SourceReport::new(&source.name);
    for folder in &folders {
        let dir = if folder == "." || folder.eq_ignore_ascii_case("INBOX") {
            root.to_path_buf()
        } else {
            root.join(folder)
        };
        sync_folder(store, ingest, &source.name, folder, &dir, &mut report)?;
    }
    Ok(report)
}

fn sync_folder(
    store: &mut Store,
    ingest: &Ingest<'_>,
    source: &str,
    folder: &str,
    dir: &Path,
    report: &mut SourceReport,
) -> Result<()> {
    if !dir.join("cur").is_dir() && !dir.join("new").is_dir() {
        anyhow::bail!(
            "{} is not a Maildir (it has no cur/ or new/ folder); check `path` of source {source:?}",
            dir.display()
        );
    }
    for file in list_messages(dir)? {
        let Some(key) = file_key(&file) else { continue };
        if store.maildir_seen(source, folder, &key)? {
            continue;
        }
        let raw = match read_message(&file) {
            Ok(Some(raw)) => raw,
            Ok(None) => {
                store.write(|tx| {
                    sync_state::mark_maildir_seen(tx, source, folder, &key, ingest.now.timestamp())
                })?;
                report
                    .errors
                    .push(format!("{}: larger than 25 MB, skipped", file.display()));
                continue;
            }
            // Moved by the mail client between listing and reading: next pass finds it.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                report.errors.push(format!("{}: {err}", file.display()));
                continue;
            }
        };
        let ingested = store.write(|tx| {
            let ingested = ingest.message(tx, &raw)?;
            sync_state::mark_maildir_seen(tx, source, folder, &key, ingest.now.timestamp())?;
            Ok(ingested)
        })?;
        report.count(&ingested);
    }
    Ok(())
}

/// Message files of new/ and cur/, oldest name first (names start with a timestamp).
fn list_messages(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let path = dir.join(sub);
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err).with_context(|| format!("cannot list {}", path.display())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", path.display()))?;
            let name = entry.file_name();
            // Dot files are not messages (e.g. a .gitkeep or a client's index).
            if name.to_string_lossy().starts_with('.') || !entry.file_type()?.is_file() {
                continue;
            }
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// The unique part of a Maildir file name: everything before the info suffix, taken
/// from the name's raw bytes. A valid UTF-8 key is kept as it is; any other becomes `/`
/// and its bytes in hex, which no file name can collide with (names hold no `/`), so
/// two names differing only in invalid bytes stay two messages.
fn file_key(path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt as _;
    let name = path.file_name()?.as_bytes();
    // Some clients use '!' instead of ':' on file systems that forbid colons.
    let end = name
        .iter()
        .position(|&byte| byte == b':' || byte == b'!')
        .unwrap_or(name.len());
    let key = &name[..end];
    if key.is_empty() {
        return None;
    }
    Some(match std::str::from_utf8(key) {
        Ok(text) => text.to_string(),
        Err(_) => format!("/{}", hex::encode(key)),
    })
}

fn read_message(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    if std::fs::metadata(path)?.len() > MAX_MESSAGE_BYTES {
        return Ok(None);
    }
    std::fs::read(path).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_survives_flag_changes() {
        assert_eq!(
            file_key(Path::new("new/1700.M1P2.host")).as_deref(),
            Some("1700.M1P2.host")
        );
        assert_eq!(
            file_key(Path::new("cur/1700.M1P2.host:2,S")).as_deref(),
            Some("1700.M1P2.host")
        );
        assert_eq!(
            file_key(Path::new("cur/1700.M1P2.host!2,RS")).as_deref(),
            Some("1700.M1P2.host")
        );
    }

    #[test]
    fn names_differing_only_in_invalid_utf8_get_two_keys() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt as _;
        let one = Path::new(OsStr::from_bytes(b"new/1700.\xff.host:2,S"));
        let two = Path::new(OsStr::from_bytes(b"new/1700.\xfe.host:2,S"));
        let (one, two) = (file_key(one).unwrap(), file_key(two).unwrap());
        assert_ne!(one, two);
        assert_eq!(one, "/313730302eff2e686f7374");
        // The lossy form both would have had must not be what is stored.
        assert!(!one.contains('\u{fffd}'));
    }
}
