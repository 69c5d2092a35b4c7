//! Passwords from `password_command` or `password_file`, held in a type that never
//! prints them: Debug and Display show "***", so a secret that ends up in a log line or
//! an error message stays a secret.

use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// A password or token. Read it with [`Secret::expose`], only where it is handed over.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
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

/// The secret from exactly one of a command (run with `sh -c`, first line of its
/// output) or a file (e.g. a systemd credential; a trailing newline is dropped).
pub fn resolve_secret(
    password_command: Option<&str>,
    password_file: Option<&Path>,
) -> Result<Secret> {
    let raw = match (password_command, password_file) {
        (Some(_), Some(_)) => bail!("set password_command or password_file, not both"),
        (None, None) => bail!("no password_command or password_file is set"),
        (Some(command), None) => run_command(command)?,
        (None, Some(path)) => std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read password_file {}; check the path and that nudged may read it",
                path.display()
            )
        })?,
    };
    // Tools like `pass` print the secret on the first line and metadata after it.
    let secret = raw.lines().next().unwrap_or_default().to_string();
    if secret.is_empty() {
        bail!("the password_command or password_file gave an empty password");
    }
    Ok(Secret(secret))
}

fn run_command(command: &str) -> Result<String> {
    let output = Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("cannot run password_command {command:?}"))?;
    if !output.status.success() {
        // stderr is the command's own complaint; stdout could hold the secret, so never show it.
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "password_command {command:?} failed ({}): {}",
            output.status,
            stderr.trim()
        );
    }
    String::from_utf8(output.stdout).context("password_command printed something that is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn from_command_and_file() {
        let secret = resolve_secret(Some("printf 'pw1\\nmeta: x\\n'"), None).unwrap();
        assert_eq!(secret.expose(), "pw1");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "pw2\r\n").unwrap();
        assert_eq!(resolve_secret(None, Some(&file)).unwrap().expose(), "pw2");
        let err = resolve_secret(Some("echo nope >&2; exit 3"), None).unwrap_err();
        assert!(format!("{err:#}").contains("nope"), "{err:#}");
        assert!(resolve_secret(None, Some(&dir.path().join("missing"))).is_err());
    }
}
