//! `nudged classify FILE… [--explain]`: what the classifier makes of each message.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::{Context, UsageError, print_json};
use crate::classify::{RuleSet, classify};

pub fn classify_files(ctx: &Context, files: &[std::path::PathBuf], explain: bool) -> Result<()> {
    let rules =
        RuleSet::with_user_config(&ctx.config.platforms, &ctx.config.rules).map_err(UsageError)?;
    let mut results = Vec::new();
    for file in files {
        let raw = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let mut result = classify(&raw, &rules, &ctx.config.trust);
        if !explain {
            result.explanation.clear();
        }
        if ctx.json {
            results.push(serde_json::json!({ "file": file, "result": result }));
        } else {
            print_human(file, &result);
        }
    }
    if ctx.json {
        print_json(&results)?;
    }
    Ok(())
}

fn print_human(file: &Path, c: &crate::classify::Classification) {
    println!("{}", file.display());
    println!("  platform: {}", c.platform.as_deref().unwrap_or("-"));
    println!("  kind:     {}", c.kind);
    if let Some(actor) = &c.actor {
        let mut parts = Vec::new();
        parts.extend(actor.name.clone());
        parts.extend(actor.handle.as_ref().map(|h| format!("({h})")));
        parts.extend(actor.profile_url.clone());
        println!("  actor:    {}", parts.join(" "));
    }
    if let Some(at) = c.occurred_at {
        println!("  when:     {}", at.to_rfc3339());
    }
    println!("  subject:  {}", c.subject);
    if let Some(link) = &c.link {
        println!("  link:     {link}");
    }
    if let Some(template) = &c.template {
        println!("  template: {template}");
    }
    println!("  rule:     {}", c.rule.as_deref().unwrap_or("-"));
    println!("  trust:    {}", c.trust.as_str());
    for line in &c.explanation {
        println!("  why:      {line}");
    }
}
