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

/// Records stored per transaction.
const IMPORT_CHUNK: usize = 500;

pub fn import(ctx: &Context, command: ImportCommand) -> Result<()> {
    let mut report = ImportReport::default();
    let records = match &command {
        ImportCommand::Vcard { file } => vcard::parse(&read_text(file)?, &mut report),
        ImportCommand::Linkedin { file } => linkedin::parse(&read_text(file)?, &mut report)?,
    };
    let mut store = ctx.open_store()?;
    // A transaction per chunk keeps the daemon's write lock waits short on a big
    // address book; importing is idempotent, so an interrupted import is finished by
    // running it again.
    let mut bar = crate::progress_bar::ProgressBar::new("import", records.len());
    for chunk in records.chunks(IMPORT_CHUNK) {
        store.import_contacts(chunk, &mut report, ctx.clock.now().timestamp())?;
        bar.advance(chunk.len());
    }
    drop(bar);
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
