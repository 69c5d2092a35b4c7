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

/// `nudged check`: exit 0 when everything works, 1 when something does not (a broken
/// config never gets here: it exits 2 while loading).
pub fn check(ctx: &Context) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let items = runtime.block_on(crate::service::check::run_checks(&ctx.config));
    if ctx.json {
        print_json(&items)?;
    } else {
        print!("{}", crate::service::check::render(&items));
    }
    let failed = items.iter().filter(|i| !i.ok).count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
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
