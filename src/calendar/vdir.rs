//! A vdir (vdirsyncer's storage layout) as a task list: one `.ics` per item, named by
//! UID, written to a temp file and renamed into place; `displayname` and `color` files
//! beside them. The ETag is the file's mtime, inode and size, as vdirsyncer does, so an
//! edit by khal, todoman or a sync shows as a change.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::caldav::{Listing, WriteResult};
use crate::store::CalendarCursor;

#[derive(Clone)]
pub struct VdirCollection {
    dir: PathBuf,
}

impl VdirCollection {
    /// Open the folder, creating it and its `displayname` / `color` files as needed.
    pub fn open(dir: &Path, display_name: &str, color: Option<&str>) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the vdir {}", dir.display()))?;
        let vdir = Self {
            dir: dir.to_path_buf(),
        };
        vdir.write_meta("displayname", display_name)?;
        if let Some(color) = color {
            vdir.write_meta("color", color)?;
        }
        Ok(vdir)
    }

    fn write_meta(&self, name: &str, value: &str) -> Result<()> {
        let path = self.dir.join(name);
        if std::fs::read_to_string(&path).is_ok_and(|v| v.trim() == value) {
            return Ok(());
        }
        write_atomically(&path, value.as_bytes())
    }

    /// Every item with its ETag (a folder listing costs no request).
    pub fn pull(&self, cursor: &CalendarCursor) -> Result<Listing> {
        let mut changed = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read the vdir {}", self.dir.display()))?;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.ends_with(".ics") {
                continue;
            }
            if let Ok(meta) = entry.metadata() {
                changed.push((name, Some(etag_of(&meta))));
            }
        }
        Ok(Listing {
            changed,
            removed: Vec::new(),
            complete: true,
            cursor: CalendarCursor {
                collection_url: Some(self.dir.display().to_string()),
                ..cursor.clone()
            },
        })
    }

    pub fn fetch(&self, names: &[String]) -> Result<Vec<(String, Option<String>, String)>> {
        let mut out = Vec::new();
        for name in names {
            if let Some((etag, text)) = self.get(name)? {
                out.push((name.clone(), etag, text));
            }
        }
        Ok(out)
    }

    pub fn get(&self, name: &str) -> Result<Option<(Option<String>, String)>> {
        let path = self.item_path(name)?;
        match std::fs::read(&path) {
            Ok(bytes) => {
                let etag = std::fs::metadata(&path).ok().map(|m| etag_of(&m));
                Ok(Some((etag, String::from_utf8_lossy(&bytes).into_owned())))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Write an item if it still has `etag` (or, with `None`, does not exist yet).
    pub fn put(&self, name: &str, text: &str, etag: Option<&str>) -> Result<WriteResult> {
        let path = self.item_path(name)?;
        if current_etag(&path).as_deref() != etag {
            return Ok(WriteResult::Conflict);
        }
        write_atomically(&path, text.as_bytes())?;
        Ok(WriteResult::Stored {
            etag: current_etag(&path),
        })
    }

    pub fn delete(&self, name: &str, etag: Option<&str>) -> Result<WriteResult> {
        let path = self.item_path(name)?;
        match current_etag(&path) {
            None => Ok(WriteResult::Stored { etag: None }),
            Some(now) if etag.is_some_and(|e| e != now) => Ok(WriteResult::Conflict),
            Some(_) => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
                Ok(WriteResult::Stored { etag: None })
            }
        }
    }

    /// Names come from the listing or from our UIDs; anything with a path in it is not ours.
    fn item_path(&self, name: &str) -> Result<PathBuf> {
        anyhow::ensure!(
            !name.contains('/') && !name.starts_with('.'),
            "not an item name: {name:?}"
        );
        Ok(self.dir.join(name))
    }
}

fn current_etag(path: &Path) -> Option<String> {
    std::fs::metadata(path).ok().map(|m| etag_of(&m))
}

fn etag_of(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    format!(
        "{}.{:09};{};{}",
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino(),
        meta.len()
    )
}

/// Temp file in the same folder, flushed, then renamed: a reader sees the old item or the
/// new one, never half of one.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_writes_refuse_a_changed_item() {
        let dir = tempfile::tempdir().unwrap();
        let vdir = VdirCollection::open(dir.path(), "nudged", Some("#3a87ad")).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("displayname")).unwrap(),
            "nudged"
        );
        let WriteResult::Stored { etag } = vdir.put("a.ics", "one", None).unwrap() else {
            panic!("first write refused");
        };
        assert_eq!(
            vdir.put("a.ics", "again", None).unwrap(),
            WriteResult::Conflict
        );
        assert_eq!(
            vdir.put("a.ics", "x", Some("stale")).unwrap(),
            WriteResult::Conflict
        );
        assert!(matches!(
            vdir.put("a.ics", "two", etag.as_deref()).unwrap(),
            WriteResult::Stored { .. }
        ));
        let listing = vdir.pull(&CalendarCursor::default()).unwrap();
        assert_eq!(listing.changed.len(), 1);
        assert!(vdir.get("../x").is_err());
    }
}
