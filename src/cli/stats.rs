//! `nudged stats`: what each platform gave back, and which platforms sent mail in a
//! template no rule understands (a changed template to fix in config).

use anyhow::Result;

use super::{Context, print_json};
use crate::digest::stats::roi_report;

pub fn stats(ctx: &Context) -> Result<()> {
    let store = ctx.open_store()?;
    let report = roi_report(&store, ctx.clock.now())?;
    if ctx.json {
        return print_json(&report);
    }
    for window in &report.windows {
        println!("Last {} days", window.days);
        if window.platforms.is_empty() {
            println!("  nothing logged");
        }
        println!(
            "  {:<14} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>9}",
            "platform", "inter.", "people", "done", "missed", "noise", "unknown", "response"
        );
        for p in &window.platforms {
            let response = p
                .median_response_secs
                .map(|s| format!("{:.1}h", s as f64 / 3600.0))
                .unwrap_or_else(|| "-".into());
            println!(
                "  {:<14} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>9}{}",
                p.platform,
                p.interactions,
                p.people,
                p.tasks_done,
                p.tasks_missed,
                p.noise,
                p.unknown_templates,
                response,
                if p.noise_only { "  only noise" } else { "" }
            );
        }
        // A platform that changed its template is the one figure that needs a person.
        for p in window.platforms.iter().filter(|p| p.unknown_templates > 0) {
            println!(
                "  {} mail(s) from {} in a template no rule covers: see `nudged interactions --all`",
                p.unknown_templates, p.platform
            );
        }
    }
    Ok(())
}
