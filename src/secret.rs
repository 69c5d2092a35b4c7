//! Secrets (passwords, OAuth tokens) in one wrapper whose Debug and Display print "***",
//! so a secret cannot reach a log line or an error message by accident. They come from a
//! file (systemd credentials) or a command's output, never from the command line.

use std::fmt;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::child::{ChildError, run_with_deadline};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The file's contents without the trailing newline editors and `echo` add.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the secret file {}; check the path and that nudged may read it",
                path.display()
            )
        })?;
        let value = text.trim_end_matches(['\r', '\n']);
        if value.is_empty() {
            bail!("the secret file {} is empty", path.display());
        }
        Ok(Self(value.to_string()))
    }

    /// The first line a shell command prints (`pass show mail` prints the password
    /// first). The command's stderr passes through; its stdout is never logged. A
    /// command that has not finished by [`PASSWORD_COMMAND_DEADLINE`] is killed (its
    /// whole process group) and reported, so a hung keyring delays only its caller.
    pub async fn from_command(command: &str) -> Result<Self> {
        Self::from_command_within(command, PASSWORD_COMMAND_DEADLINE).await
    }

    async fn from_command_within(command: &str, deadline: Duration) -> Result<Self> {
        let mut child = tokio::process::Command::new("/bin/sh");
        child
            .arg("-c")
            .arg(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match run_with_deadline(child, None, deadline).await {
            Ok(output) => first_line(output),
            Err(ChildError::TimedOut) => bail!(
                "password_command did not finish within {}s and was stopped; check that it runs without a prompt",
                deadline.as_secs()
            ),
            Err(ChildError::Spawn(err) | ChildError::Stdin(err) | ChildError::Wait(err)) => {
                Err(err).context("cannot run password_command")
            }
        }
    }
}

/// How long `password_command` may take (a keyring that asks for a PIN never returns).
pub const PASSWORD_COMMAND_DEADLINE: Duration = Duration::from_secs(30);

fn first_line(output: Output) -> Result<Secret> {
    if !output.status.success() {
        bail!("password_command failed ({})", output.status);
    }
    let text = String::from_utf8(output.stdout)
        .context("password_command printed something that is not UTF-8")?;
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        bail!("password_command printed nothing");
    }
    Ok(Secret(first.to_string()))
}

/// The secret from exactly one of a command or a file.
pub async fn resolve_secret(
    password_command: Option<&str>,
    password_file: Option<&Path>,
) -> Result<Secret> {
    match (password_command, password_file) {
        (Some(_), Some(_)) => bail!("set password_command or password_file, not both"),
        (None, None) => bail!("no password_command or password_file is set"),
        (Some(command), None) => Secret::from_command(command).await,
        (None, Some(path)) => Secret::from_file(path),
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let secret = Secret::new("hunter2");
        assert_eq!(
            format!("{secret} {secret:?} {:?}", Some(&secret)),
            "*** *** Some(***)"
        );
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn file_loses_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "pw with space\n").unwrap();
        assert_eq!(Secret::from_file(&path).unwrap().expose(), "pw with space");
        std::fs::write(&path, "\n").unwrap();
        assert!(Secret::from_file(&path).is_err());
    }

    #[tokio::test]
    async fn command_first_line() {
        let secret = Secret::from_command("printf 'abc\\nuser: x\\n'")
            .await
            .unwrap();
        assert_eq!(secret.expose(), "abc");
        assert!(Secret::from_command("exit 3").await.is_err());
    }

    #[tokio::test]
    async fn a_hung_command_is_stopped_at_its_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let command = format!("sleep 600 & echo $! > {}; wait", pid_file.display());
        let started = std::time::Instant::now();
        let err = Secret::from_command_within(&command, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("did not finish"), "{err:#}");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The shell's child went with it: no sleeper is left behind.
        crate::child::assert_gone_within(&pid_file, Duration::from_secs(5)).await;
    }

    /// Alive and not a zombie (a container's init may never reap the orphan).

    #[tokio::test]
    async fn exactly_one_source() {
        assert!(
            resolve_secret(Some("echo x"), Some(Path::new("/x")))
                .await
                .is_err()
        );
        assert!(resolve_secret(None, None).await.is_err());
        assert_eq!(
            resolve_secret(Some("echo pw"), None)
                .await
                .unwrap()
                .expose(),
            "pw"
        );
    }
}
