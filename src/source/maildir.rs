//! Maildir source: reads `new/` and `cur/` of each configured folder. A message is known
//! by the unique part of its file name (before `:2,`), which survives the mail client
//! moving it from new/ to cur/ or changing its flags, so a re-run adds nothing.
//! Files are only read, never moved or renamed: the user's mail client owns them.
//! In the daemon ([`sync_maildir_db`]) files are read and classified on the blocking
//! pool and only the results go to the writer, a batch per transaction.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::store::Transaction;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use super::SourceReport;
use crate::classify::RuleSet;
use crate::config::{Config, SourceConfig};
use crate::ingest::{Classified, Ingest};
use crate::store::{Db, Store, sync_state};

/// Larger files are recorded as seen without being classified: no notification is 25 MB.
const MAX_MESSAGE_BYTES: u64 = 25 * 1024 * 1024;

/// Messages read and classified per write: bounds memory on a first read of a big
/// Maildir and keeps each transaction short.
const BATCH: usize = 200;

/// One folder of a source: its name in the config and where it is.
struct Folder {
    name: String,
    dir: PathBuf,
}

fn folders(source: &SourceConfig) -> Result<Vec<Folder>> {
    let root = source
        .path
        .as_deref()
        .context("a maildir source needs a path")?;
    let names = source
        .folders
        .clone()
        .unwrap_or_else(|| vec![".".to_string()]);
    Ok(names
        .into_iter()
        .map(|name| {
            let dir = if name == "." || name.eq_ignore_ascii_case("INBOX") {
                root.to_path_buf()
            } else {
                root.join(&name)
            };
            Folder { name, dir }
        })
        .collect())
}

/// A message file as read: classified, or why not.
enum Loaded {
    Message(Box<Classified>),
    TooLarge,
    /// Moved by the mail client between listing and reading: the next pass finds it.
    Vanished,
    Unreadable(String),
}

fn load(file: &Path, ingest: &Ingest<'_>) -> Loaded {
    match read_message(file) {
        Ok(Some(raw)) => Loaded::Message(Box::new(ingest.classify(raw))),
        Ok(None) => Loaded::TooLarge,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Loaded::Vanished,
        Err(err) => Loaded::Unreadable(format!("{}: {err}", file.display())),
    }
}

/// Inside `tx`: log what `loaded` holds and mark its file seen (unless it is to be
/// read again next pass).
fn record(
    tx: &Transaction<'_>,
    ingest: &Ingest<'_>,
    source: &str,
    folder: &str,
    (file, key, loaded): (PathBuf, String, Loaded),
    report: &mut SourceReport,
) -> Result<()> {
    let now = ingest.now.timestamp();
    match loaded {
        Loaded::Message(classified) => {
            let ingested = ingest.record(tx, *classified)?;
            sync_state::mark_maildir_seen(tx, source, folder, &key, now)?;
            report.count(&ingested);
        }
        Loaded::TooLarge => {
            sync_state::mark_maildir_seen(tx, source, folder, &key, now)?;
            report
                .errors
                .push(format!("{}: larger than 25 MB, skipped", file.display()));
        }
        Loaded::Vanished => {}
        Loaded::Unreadable(error) => report.errors.push(error),
    }
    Ok(())
}

fn check_is_maildir(dir: &Path, source: &str) -> Result<()> {
    if !dir.join("cur").is_dir() && !dir.join("new").is_dir() {
        anyhow::bail!(
            "{} is not a Maildir (it has no cur/ or new/ folder); check `path` of source {source:?}",
            dir.display()
        );
    }
    Ok(())
}

/// Message files of `dir` with their keys, oldest first.
fn keyed_messages(dir: &Path) -> Result<Vec<(PathBuf, String)>> {
    Ok(list_messages(dir)?
        .into_iter()
        .filter_map(|file| file_key(&file).map(|key| (file, key)))
        .collect())
}

/// One pass over every folder of a Maildir source, on a connection of the caller's
/// (tests, tools): one transaction per message.
pub fn sync_maildir(
    store: &mut Store,
    ingest: &Ingest<'_>,
    source: &SourceConfig,
) -> Result<SourceReport> {
    let mut report = SourceReport::new(&source.name);
    for folder in folders(source)? {
        check_is_maildir(&folder.dir, &source.name)?;
        for (file, key) in keyed_messages(&folder.dir)? {
            if store.maildir_seen(&source.name, &folder.name, &key)? {
                continue;
            }
            let loaded = load(&file, ingest);
            store.write(|tx| {
                record(
                    tx,
                    ingest,
                    &source.name,
                    &folder.name,
                    (file, key, loaded),
                    &mut report,
                )
            })?;
        }
    }
    Ok(report)
}

/// One pass over every folder of a Maildir source in the daemon: listing, reading and
/// classifying on the blocking pool, which files are new from a read connection, and
/// the results to the writer a batch at a time.
pub async fn sync_maildir_db(
    db: &Db,
    config: &Arc<Config>,
    rules: &Arc<RuleSet>,
    now: DateTime<Utc>,
    source: &SourceConfig,
) -> Result<SourceReport> {
    let mut report = SourceReport::new(&source.name);
    for folder in folders(source)? {
        let (dir, name) = (folder.dir.clone(), source.name.clone());
        let files = tokio::task::spawn_blocking(move || {
            check_is_maildir(&dir, &name)?;
            keyed_messages(&dir)
        })
        .await
        .context("listing a Maildir panicked")??;
        let (name, folder_name) = (source.name.clone(), folder.name.clone());
        let new: Vec<(PathBuf, String)> = db
            .read(move |store| {
                let mut new = Vec::new();
                for (file, key) in files {
                    if !store.maildir_seen(&name, &folder_name, &key)? {
                        new.push((file, key));
                    }
                }
                Ok(new)
            })
            .await?;
        let mut pending = new.into_iter().peekable();
        while pending.peek().is_some() {
            let batch: Vec<(PathBuf, String)> = pending.by_ref().take(BATCH).collect();
            let (read_config, read_rules) = (Arc::clone(config), Arc::clone(rules));
            let loaded = tokio::task::spawn_blocking(move || {
                let ingest = Ingest {
                    rules: &read_rules,
                    config: &read_config,
                    now,
                };
                batch
                    .into_iter()
                    .map(|(file, key)| {
                        let loaded = load(&file, &ingest);
                        (file, key, loaded)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .context("reading Maildir messages panicked")?;
            let (write_config, write_rules) = (Arc::clone(config), Arc::clone(rules));
            let (name, folder_name) = (source.name.clone(), folder.name.clone());
            let part = db
                .write(move |store| {
                    store.write(|tx| {
                        let ingest = Ingest {
                            rules: &write_rules,
                            config: &write_config,
                            now,
                        };
                        let mut part = SourceReport::new(&name);
                        for item in loaded {
                            record(tx, &ingest, &name, &folder_name, item, &mut part)?;
                        }
                        Ok(part)
                    })
                })
                .await?;
            report.absorb(part);
        }
    }
    Ok(report)
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
