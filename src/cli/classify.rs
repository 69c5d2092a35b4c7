//! `nudged classify FILE… [--explain] [--json]`: what the classifier makes of each
//! message, and with `--explain` why — the conditions of the rule that matched, or
//! for a miss the rules that came closest and what failed them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Context, UsageError, print_json};
use crate::classify::{Classification, Kind, RuleSet, classify, classify_explained};

/// Larger files are refused: no notification is 25 MB.
const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;

/// Read one message file: a regular file, not followed through a symlink (O_NOFOLLOW),
/// opened without blocking (a FIFO would wait for a writer forever) and at most 25 MB.
fn read_message_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read as _};
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|err| {
            if err.raw_os_error() == Some(libc::ELOOP) {
                Error::other("it is a symbolic link; name the file it points to")
            } else {
                err
            }
        })?;
    let meta = file.metadata()?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file; classify reads .eml files"),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "it is larger than 25 MB; no notification is that big",
        ));
    }
    let mut raw = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut raw)?;
    Ok(raw)
}

pub fn classify_files(ctx: &Context, files: &[PathBuf], explain: bool) -> Result<()> {
    let rules =
        RuleSet::with_user_config(&ctx.config.platforms, &ctx.config.rules).map_err(UsageError)?;
    let trust = &ctx.config.trust;
    let mut results = Vec::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut unreadable = 0;
    for file in files {
        // One unreadable file is reported, not the end of the run.
        let raw = match read_message_file(file) {
            Ok(raw) => raw,
            Err(err) => {
                unreadable += 1;
                let error = format!("cannot read {}: {err}", file.display());
                if ctx.json {
                    results.push(serde_json::json!({ "file": file, "error": error }));
                } else {
                    eprintln!("{error}");
                }
                continue;
            }
        };
        let result = if explain {
            classify_explained(&raw, &rules, trust)
        } else {
            let mut result = classify(&raw, &rules, trust);
            result.explanation.clear();
            result
        };
        *counts.entry(outcome(&result)).or_default() += 1;
        if ctx.json {
            results.push(serde_json::json!({
                "file": file,
                "notification": result.kind.is_logged(),
                "result": result,
            }));
        } else {
            print_human(file, &result);
        }
    }
    if ctx.json {
        print_json(&results)?;
    } else if files.len() > 1 {
        let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!("{} message(s): {}", files.len(), summary.join(", "));
    }
    if unreadable > 0 {
        anyhow::bail!("{unreadable} file(s) could not be read");
    }
    Ok(())
}

/// The bucket a message falls in, for the summary line: noise is counted on purpose.
fn outcome(c: &Classification) -> &'static str {
    match c.kind {
        Kind::None => "not notifications",
        Kind::Noise => "noise",
        Kind::UnknownTemplate => "unknown templates",
        _ => "interactions",
    }
}

fn print_human(file: &Path, c: &Classification) {
    println!("{}", file.display());
    println!("  platform: {}", c.platform.as_deref().unwrap_or("-"));
    println!("  kind:     {}", c.kind);
    if let Some(actor) = &c.actor {
        let mut parts = Vec::new();
        parts.extend(actor.name.clone());
        parts.extend(actor.handle.as_ref().map(|h| format!("({h})")));
        parts.extend(actor.email.as_ref().map(|e| format!("<{e}>")));
        parts.extend(actor.profile_url.clone());
        println!("  actor:    {}", parts.join(" "));
    }
    if let Some(at) = c.occurred_at {
        println!("  when:     {}", at.to_rfc3339());
    }
    println!("  subject:  {}", c.subject);
    if !c.snippet.is_empty() {
        println!("  snippet:  {}", c.snippet);
    }
    if let Some(link) = &c.link {
        println!("  link:     {link}");
    }
    if let Some(template) = &c.template {
        println!("  template: {template}");
    }
    println!("  rule:     {}", c.rule.as_deref().unwrap_or("-"));
    if let Some(reason) = &c.reason {
        println!("  reason:   {reason}");
    }
    println!("  trust:    {}", c.trust.as_str());
    for line in &c.explanation {
        println!("  why:      {line}");
    }
}
