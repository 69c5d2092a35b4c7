//! Where the link-signing key lives and how it is read: a 0600 file beside the
//! database, made on first use, watched by the web server so a rotation needs no
//! restart. The daemon reads it with [`load_key`], never inside a database write.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::store::{Db, Store};

const KEY_SETTING: &str = "link_signing_key";

/// Where the signing key of the database at `db` lives: beside it, `NAME.db.link-key`.
/// `None` for an in-memory database, whose key stays in it.
pub fn key_path(db: &Path) -> Option<PathBuf> {
    if db.as_os_str() == ":memory:" {
        return None;
    }
    let mut name = db.file_name()?.to_os_string();
    name.push(".link-key");
    Some(db.with_file_name(name))
}

/// The key that signs links; made once, with 256 random bits. A key an older nudged
/// kept in the database moves to the key file (so its links keep working) and leaves
/// the database. For a connection of the caller's own (CLI commands, tests); the daemon
/// uses [`load_key`], which keeps the file out of its writer.
pub fn signing_key(store: &mut Store) -> Result<Vec<u8>> {
    let Some(path) = key_path(store.path()) else {
        return in_memory_key(store);
    };
    let stored = stored_key(store)?;
    let moved = stored.is_some();
    let key = key_from_file(&path, stored)?;
    if moved {
        store.delete_setting(KEY_SETTING)?;
    }
    Ok(key)
}

/// [`signing_key`] for the daemon's database: the key file is read (or made) on the
/// blocking pool, outside any write; only moving an older key out of the database is a
/// write, and that is SQL alone.
pub async fn load_key(db: &Db) -> Result<Vec<u8>> {
    let Some(path) = key_path(db.path()) else {
        return db.write(in_memory_key).await;
    };
    let stored = db.read(stored_key).await?;
    let moved = stored.is_some();
    let key = tokio::task::spawn_blocking(move || key_from_file(&path, stored))
        .await
        .context("reading the link key panicked")??;
    if moved {
        db.write(|store| store.delete_setting(KEY_SETTING)).await?;
    }
    Ok(key)
}

/// A key an older nudged kept in the database, if any.
fn stored_key(store: &Store) -> Result<Option<Vec<u8>>> {
    Ok(store
        .setting(KEY_SETTING)?
        .and_then(|text| hex::decode(text).ok())
        .filter(|key| key.len() >= 32))
}

/// An in-memory database has no file beside it: its key stays in it (SQL only).
fn in_memory_key(store: &mut Store) -> Result<Vec<u8>> {
    if let Some(key) = stored_key(store)? {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    store.set_setting(KEY_SETTING, &hex::encode(key))?;
    Ok(key.to_vec())
}

/// The key in `path`; without one, `stored` (an older database's key) or a new one
/// becomes the file. File I/O only, no database.
fn key_from_file(path: &Path, stored: Option<Vec<u8>>) -> Result<Vec<u8>> {
    if let Some(key) = read_key_file(path)? {
        return Ok(key);
    }
    let key = stored.unwrap_or_else(|| rand::random::<[u8; 32]>().to_vec());
    create_key_file(path, &key)
}

/// Replace the signing key: every link made with the old one is refused from now on
/// (a running server notices the new file at its next request).
pub fn rotate_key(store: &mut Store) -> Result<PathBuf> {
    let path = key_path(store.path()).context("an in-memory database has no key file")?;
    let key: [u8; 32] = rand::random();
    write_key_file(&path, &key)?;
    store.delete_setting(KEY_SETTING)?;
    Ok(path)
}

/// The key in `path`, or `None` if there is no such file. A damaged file is an error
/// that says how to fix it, not a silent new key.
fn read_key_file(path: &Path) -> Result<Option<Vec<u8>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => {
            return Err(err)
                .with_context(|| format!("cannot read the link key {}", path.display()));
        }
    };
    match hex::decode(text.trim()) {
        Ok(key) if key.len() >= 32 => Ok(Some(key)),
        _ => anyhow::bail!(
            "the link key {} is damaged; `nudged links --rotate` makes a new one \
             (links in earlier digests then stop working)",
            path.display()
        ),
    }
}

/// Write the key to a 0600 temp file, then rename it over `path`: a reader sees the
/// old key or the new one, never half of one.
fn write_key_file(path: &Path, key: &[u8]) -> Result<()> {
    let tmp = write_temp(path, key)?;
    std::fs::rename(&tmp, path).map_err(|err| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(err).context(format!("cannot write the link key {}", path.display()))
    })
}

/// The first key: like [`write_key_file`], but an existing file is never replaced. When
/// two starts race (the web server and a digest, or a CLI command beside the daemon),
/// the first file wins and both sign with it.
fn create_key_file(path: &Path, key: &[u8]) -> Result<Vec<u8>> {
    let tmp = write_temp(path, key)?;
    let linked = std::fs::hard_link(&tmp, path);
    let result = match linked {
        Ok(()) => Ok(key.to_vec()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => read_key_file(path)
            .and_then(|key| {
                key.with_context(|| format!("the link key {} vanished", path.display()))
            }),
        // A file system without hard links: the plain rename.
        Err(_) => std::fs::rename(&tmp, path)
            .map(|()| key.to_vec())
            .with_context(|| format!("cannot write the link key {}", path.display())),
    };
    let _ = std::fs::remove_file(&tmp);
    result
}

/// The key in a new 0600 file beside `path`, on disk before it is returned; its name is
/// this process's and random, so concurrent writers never share one.
fn write_temp(path: &Path, key: &[u8]) -> Result<PathBuf> {
    use std::io::Write as _;
    let mut tmp_name = path.as_os_str().to_os_string();
    tmp_name.push(format!(
        ".{}-{:08x}.tmp",
        std::process::id(),
        rand::random::<u32>()
    ));
    let tmp = PathBuf::from(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
        file.sync_all()
    });
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err).with_context(|| format!("cannot write the link key {}", path.display()));
    }
    Ok(tmp)
}

/// The key as the web server holds it: read at start, read again when the file changes
/// (after `nudged links --rotate`), so a rotation takes effect without a restart.
pub struct LiveKey {
    path: Option<PathBuf>,
    current: Mutex<(Option<SystemTime>, Vec<u8>)>,
}

impl LiveKey {
    /// Watch the key file of the database at `db`, starting from `key` (from
    /// [`load_key`] or [`signing_key`]).
    pub fn new(db: &Path, key: Vec<u8>) -> Self {
        let path = key_path(db);
        let modified = path.as_deref().and_then(modified);
        Self {
            path,
            current: Mutex::new((modified, key)),
        }
    }

    /// The key now. A file that cannot be read keeps the last good key and logs why.
    pub fn current(&self) -> Vec<u8> {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(path) = &self.path {
            let now = modified(path);
            if now != current.0 {
                match read_key_file(path) {
                    Ok(Some(key)) => *current = (now, key),
                    Ok(None) => tracing::warn!("web: the link key {} is gone", path.display()),
                    Err(err) => tracing::warn!("web: {err:#}"),
                }
            }
        }
        current.1.clone()
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::*;
    use crate::web::links::{Action, LinkError, sign_path, verify};

    #[test]
    fn the_key_lives_in_a_private_file_and_rotation_refuses_old_links() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nudged.db");
        let mut store = Store::open(&db).unwrap();
        // A key an older nudged kept in the database moves out and keeps working.
        store
            .set_setting(KEY_SETTING, &hex::encode([9u8; 32]))
            .unwrap();
        assert_eq!(signing_key(&mut store).unwrap(), vec![9u8; 32]);
        assert_eq!(store.setting(KEY_SETTING).unwrap(), None);
        let path = key_path(&db).unwrap();
        assert_eq!(path, dir.path().join("nudged.db.link-key"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(signing_key(&mut store).unwrap(), vec![9u8; 32]);

        let live = LiveKey::new(&db, signing_key(&mut store).unwrap());
        let now = Utc::now();
        let old = sign_path(&live.current(), Action::Done, 3, now + Duration::days(1));
        let parts: Vec<&str> = old.trim_start_matches("/a/").split('/').collect();
        // Let the file's mtime move on coarse file systems.
        std::thread::sleep(std::time::Duration::from_millis(20));
        rotate_key(&mut store).unwrap();
        let new_key = signing_key(&mut store).unwrap();
        assert_ne!(new_key, vec![9u8; 32]);
        assert_eq!(live.current(), new_key);
        assert_eq!(
            verify(&live.current(), parts[0], parts[1], parts[2], parts[3], now),
            Err(LinkError::BadSignature)
        );

        std::fs::write(&path, "not hex\n").unwrap();
        let err = signing_key(&mut store).unwrap_err().to_string();
        assert!(err.contains("links --rotate"), "{err}");
    }

    #[tokio::test]
    async fn the_daemon_reads_the_key_beside_a_busy_writer_and_racing_starts_agree() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("nudged.db")).unwrap();
        // The writer is held up; making and reading the key file must not need it.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel();
        let writer = db.clone();
        let busy = tokio::spawn(async move {
            writer
                .write(move |_| {
                    let _ = started.send(());
                    let _ = held.recv_timeout(std::time::Duration::from_secs(10));
                    Ok(())
                })
                .await
        });
        running.await.unwrap();
        let starts: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { load_key(&db).await })
            })
            .collect();
        let mut keys = Vec::new();
        for start in starts {
            let key = tokio::time::timeout(std::time::Duration::from_secs(5), start)
                .await
                .expect("the key is read without the writer")
                .unwrap()
                .unwrap();
            keys.push(key);
        }
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        let on_disk = read_key_file(&key_path(db.path()).unwrap())
            .unwrap()
            .unwrap();
        assert!(keys.iter().all(|key| *key == on_disk), "one key for all");
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(leftovers, 0, "no temp files left behind");
    }

    #[tokio::test]
    async fn the_daemon_moves_an_older_databases_key_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("nudged.db")).unwrap();
        db.write(|s| s.set_setting(KEY_SETTING, &hex::encode([5u8; 32])))
            .await
            .unwrap();
        assert_eq!(load_key(&db).await.unwrap(), vec![5u8; 32]);
        assert_eq!(db.read(|s| s.setting(KEY_SETTING)).await.unwrap(), None);
        let path = key_path(db.path()).unwrap();
        assert_eq!(read_key_file(&path).unwrap(), Some(vec![5u8; 32]));
        assert_eq!(load_key(&db).await.unwrap(), vec![5u8; 32]);
    }
}
