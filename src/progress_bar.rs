//! A progress line for long jobs (a first backfill, an import) when a person watches a
//! terminal: "INBOX backfill  12,500/100,000  12%". Under systemd, or when stderr is a
//! file or pipe, it prints nothing; the usual log lines say what happened.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Jobs smaller than this finish before a bar would help.
const WORTH_SHOWING: usize = 500;
const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct ProgressBar {
    label: String,
    total: usize,
    done: usize,
    last_draw: Option<Instant>,
    enabled: bool,
}

impl ProgressBar {
    pub fn new(label: impl Into<String>, total: usize) -> Self {
        let enabled = total >= WORTH_SHOWING
            && std::io::stderr().is_terminal()
            && !crate::service::logging::under_journald();
        Self {
            label: label.into(),
            total,
            done: 0,
            last_draw: None,
            enabled,
        }
    }

    pub fn advance(&mut self, n: usize) {
        self.done = (self.done + n).min(self.total);
        if self.enabled && self.last_draw.is_none_or(|at| at.elapsed() >= REDRAW_EVERY) {
            self.draw();
            self.last_draw = Some(Instant::now());
        }
    }

    fn draw(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{}", line(&self.label, self.done, self.total));
        let _ = err.flush();
    }
}

impl Drop for ProgressBar {
    /// End the line so the next log line starts clean.
    fn drop(&mut self) {
        if self.enabled && self.last_draw.is_some() {
            self.draw();
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// "INBOX backfill  12,500/100,000  12%"
fn line(label: &str, done: usize, total: usize) -> String {
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    format!(
        "{label}  {}/{}  {percent:>3}%",
        grouped(done),
        grouped(total)
    )
}

fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_a_person_writes_it() {
        assert_eq!(
            line("INBOX backfill", 12_500, 100_000),
            "INBOX backfill  12,500/100,000   12%"
        );
        assert_eq!(line("import", 0, 0), "import  0/0  100%");
    }

    #[test]
    fn silent_when_not_a_terminal_or_small() {
        // Under `cargo test` stderr is captured, not a terminal.
        assert!(!ProgressBar::new("x", 100_000).enabled);
        assert!(!ProgressBar::new("x", 10).enabled);
    }
}
