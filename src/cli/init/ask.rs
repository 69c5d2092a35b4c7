//! Questions on a terminal for `nudged init`, answered by flags when it runs in a script:
//! with `--yes` or without a terminal nothing is asked, and a missing answer names the
//! flag that gives it.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::cli::UsageError;

pub struct Asker {
    interactive: bool,
}

impl Asker {
    pub fn new(yes: bool) -> Self {
        Self {
            interactive: !yes && std::io::stdin().is_terminal(),
        }
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// The flag's value, else the person's answer (or `default` on an empty line), else
    /// `default`; with none of these, a usage error naming `flag`.
    pub fn value(
        &self,
        given: Option<String>,
        question: &str,
        default: Option<String>,
        flag: &str,
    ) -> Result<String> {
        if let Some(value) = given {
            return Ok(value);
        }
        if self.interactive {
            loop {
                let answer = self.line(question, default.as_deref())?;
                match (answer.is_empty(), &default) {
                    (false, _) => return Ok(answer),
                    (true, Some(default)) => return Ok(default.clone()),
                    (true, None) => eprintln!("  (an answer is needed; or pass {flag})"),
                }
            }
        }
        default.ok_or_else(|| UsageError(format!("{question}: pass {flag}")).into())
    }

    /// A yes/no question; `--yes` and scripts take the default.
    pub fn confirm(&self, question: &str, default: bool) -> Result<bool> {
        if !self.interactive {
            return Ok(default);
        }
        let hint = if default { "Y/n" } else { "y/N" };
        let answer = self.line(&format!("{question} [{hint}]"), None)?;
        Ok(match answer.to_ascii_lowercase().as_str() {
            "" => default,
            "y" | "yes" => true,
            _ => false,
        })
    }

    fn line(&self, question: &str, default: Option<&str>) -> Result<String> {
        let mut err = std::io::stderr();
        match default {
            Some(default) if !default.is_empty() => write!(err, "{question} [{default}]: ")?,
            _ => write!(err, "{question}: ")?,
        }
        err.flush()?;
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            return Err(UsageError("no answer (end of input); nothing was written".into()).into());
        }
        Ok(answer.trim().to_string())
    }
}
