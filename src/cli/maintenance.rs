//! Operating nudged: `backup`, `completions`, `man`.

use std::path::Path;

use anyhow::Result;
use clap::CommandFactory;

use super::{Cli, Context, UsageError, print_json};

pub fn backup(ctx: &Context, file: &Path, force: bool) -> Result<()> {
    if file.exists() && !force {
        return Err(UsageError(format!(
            "{} exists; pass --force to replace it",
            file.display()
        ))
        .into());
    }
    let store = ctx.open_store()?;
    let pages = store.backup_to(file)?;
    if ctx.json {
        return print_json(&serde_json::json!({ "file": file, "pages": pages }));
    }
    println!(
        "Backed up {} to {} ({pages} pages)",
        store.path().display(),
        file.display()
    );
    Ok(())
}

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "nudged", &mut std::io::stdout());
    Ok(())
}

pub fn man_page() -> Result<()> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(())
}
