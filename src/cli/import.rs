//! `nudged import vcard FILE.vcf`, `nudged import linkedin Connections.csv`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

use super::{Context, print_json};
use crate::import::{ImportReport, linkedin, read_text, vcard};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// An address book in vCard 3.0 or 4.0 format
    Vcard {
        #[arg(value_name = "FILE.vcf")]
        file: PathBuf,
    },
    /// LinkedIn's Connections.csv from "Get a copy of your data"
    Linkedin {
        #[arg(value_name = "Connections.csv")]
        file: PathBuf,
    },
}

pub fn import(ctx: &Context, command: ImportCommand) -> Result<()> {
    let mut report = ImportReport::default();
    let records = match &command {
        ImportCommand::Vcard { file } => vcard::parse(&read_text(file)?, &mut report),
        ImportCommand::Linkedin { file } => linkedin::parse(&read_text(file)?, &mut report)?,
    };
    let mut store = ctx.open_store()?;
    store.import_contacts(&records, &mut report, ctx.clock.now().timestamp())?;
    if ctx.json {
        return print_json(&report);
    }
    println!(
        "{} added, {} merged into known contacts, {} skipped.",
        report.added, report.merged, report.skipped
    );
    for record in report.records.iter().filter(|r| r.outcome != "added") {
        println!(
            "  {:<7} {}{}",
            record.outcome,
            record.name,
            record
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
