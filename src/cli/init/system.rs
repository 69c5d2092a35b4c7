//! `sudo nudged init` for the system service: the unit runs as the fixed `nudged` user
//! (packaging/deb/nudged.sysusers), so the config and every secret file it names must be
//! readable by that user's group, the database must live where the service looks, and
//! the closing `check` runs as that user — what it passes, the service can run.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use super::{Answers, PasswordFrom};
use crate::cli::UsageError;

/// Where the system unit's config lives (`ExecStart=… --config /etc/nudged/config.toml`).
const SYSTEM_CONFIG_DIR: &str = "/etc/nudged";
/// How long the closing `check` (itself bounded per server) may take as a whole.
const CHECK_DEADLINE: Duration = Duration::from_secs(300);

/// The user the service runs as, when `init` writes a config for it.
pub struct ServiceAccount {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// `StateDirectory=` of the unit: the database and the OAuth tokens.
    pub state_dir: PathBuf,
}

/// A config for the system service is one written by root into /etc/nudged, or into a
/// folder whose group is the service user's; only then, and only if that user exists.
pub fn service_account(config: &Path, user: &str, state_dir: &Path) -> Option<ServiceAccount> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let (uid, gid) = passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        match fields.as_slice() {
            [name, _, uid, gid, ..] if *name == user => {
                Some((uid.parse().ok()?, gid.parse().ok()?))
            }
            _ => None,
        }
    })?;
    let dir = config.parent().filter(|d| !d.as_os_str().is_empty())?;
    let for_service = dir == Path::new(SYSTEM_CONFIG_DIR)
        || std::fs::metadata(dir).is_ok_and(|meta| meta.gid() == gid);
    for_service.then(|| ServiceAccount {
        name: user.to_string(),
        uid,
        gid,
        state_dir: state_dir.to_path_buf(),
    })
}

impl ServiceAccount {
    /// Every file the config names must be readable by the service. Secret files next to
    /// the config and owned by root are made 0640 root:GROUP (what /etc/nudged is for);
    /// a file elsewhere the service cannot read stops `init` before anything is written.
    pub fn share_files(&self, config: &Path, answers: &Answers) -> Result<()> {
        let dir = config.parent().unwrap_or(Path::new("."));
        let password = |from: &Option<PasswordFrom>| match from {
            Some(PasswordFrom::File(path)) => Some(path.clone()),
            _ => None,
        };
        let files = [
            password(&answers.password),
            answers.smtp.as_ref().and_then(|(_, _, p)| password(p)),
            answers.oauth.as_ref().and_then(|(_, _, file)| file.clone()),
            answers.ca_file.clone(),
        ];
        // Every file is judged before any is changed: a refusal leaves them all as they were.
        let mut hand_over = Vec::new();
        for file in files.into_iter().flatten() {
            let meta = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if self.can_read(&meta) && self.can_reach(&file) {
                continue;
            }
            let beside = file.parent().is_some_and(|parent| parent == dir);
            if beside && meta.uid() == 0 {
                hand_over.push(file);
                continue;
            }
            return Err(UsageError(format!(
                "the service runs as user {user}, which cannot read {file}: put it in {dir} (init makes it 0640 root:{user}) or give group {user} read access. Nothing was written.",
                user = self.name,
                file = file.display(),
                dir = dir.display()
            ))
            .into());
        }
        for file in hand_over {
            std::os::unix::fs::chown(&file, Some(0), Some(self.gid))
                .with_context(|| format!("cannot change the group of {}", file.display()))?;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640))
                .with_context(|| format!("cannot change the mode of {}", file.display()))?;
            eprintln!(
                "{} is now 0640 root:{} (the service reads it as user {}).",
                file.display(),
                self.name,
                self.name
            );
        }
        Ok(())
    }

    fn can_read(&self, meta: &std::fs::Metadata) -> bool {
        self.allowed(meta, 0o4)
    }

    /// Every folder on the way to `file` lets the service through: a 0644 CA file in
    /// root's 0700 home is as unreadable to it as a 0600 secret.
    fn can_reach(&self, file: &Path) -> bool {
        let Ok(file) = std::path::absolute(file) else {
            return false;
        };
        file.ancestors()
            .skip(1)
            .all(|dir| std::fs::metadata(dir).is_ok_and(|meta| self.allowed(&meta, 0o1)))
    }

    /// Whether the owner, group or other bits of `meta` grant `bit` (4 read, 1 search)
    /// to the service's user, judged by its own user and primary group.
    fn allowed(&self, meta: &std::fs::Metadata, bit: u32) -> bool {
        let mode = meta.mode();
        (meta.uid() == self.uid && mode & (bit << 6) != 0)
            || (meta.gid() == self.gid && mode & (bit << 3) != 0)
            || mode & bit != 0
    }

    /// The config is root's to change and the service's to read: 0640 root:GROUP. The
    /// state directory exists and is the service user's (systemd would make it at the
    /// first start; the closing `check` and `auth login` need it before).
    pub fn hand_over(&self, config: &Path) -> Result<()> {
        std::os::unix::fs::chown(config, Some(0), Some(self.gid))
            .with_context(|| format!("cannot change the group of {}", config.display()))?;
        std::fs::set_permissions(config, std::fs::Permissions::from_mode(0o640))
            .with_context(|| format!("cannot change the mode of {}", config.display()))?;
        if !self.state_dir.exists() {
            std::fs::create_dir_all(&self.state_dir)
                .with_context(|| format!("cannot create {}", self.state_dir.display()))?;
            std::fs::set_permissions(&self.state_dir, std::fs::Permissions::from_mode(0o700))?;
            std::os::unix::fs::chown(&self.state_dir, Some(self.uid), Some(self.gid))?;
        }
        Ok(())
    }

    /// `nudged check` as the service's user: proves it can read the config and the
    /// secrets, reach every server and open the database (created as that user).
    pub async fn check_as_service(&self, config: &Path) -> Result<()> {
        let exe = std::env::current_exe().context("cannot find the nudged binary")?;
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("--config")
            .arg(config)
            .arg("check")
            .uid(self.uid)
            .gid(self.gid)
            .env("HOME", &self.state_dir)
            .current_dir("/")
            .kill_on_drop(true);
        let status = tokio::time::timeout(CHECK_DEADLINE, command.status())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "`nudged check` did not finish within {} s",
                    CHECK_DEADLINE.as_secs()
                )
            })?
            .context("cannot run `nudged check`")?;
        if !status.success() {
            bail!(
                "the config was written, but `nudged check` as user {} found problems (above)",
                self.name
            );
        }
        Ok(())
    }
}
