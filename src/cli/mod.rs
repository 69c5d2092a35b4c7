//! The command line: argument definitions and dispatch. Each command lives in its own
//! file and returns an error; this module maps errors to exit codes:
//! 0 ok, 1 runtime failure, 2 bad configuration or usage.

mod auth;
mod classify;
mod contacts;
mod digest;
mod feed;
mod import;
mod init;
mod listings;
mod maintenance;
mod run;
mod stats;
mod tasks;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::clock::Clock;
use crate::config::{Config, ConfigError, default_config_path};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "nudged",
    version,
    about = "Turns social-network notification emails into a relationship log, follow-ups and a daily digest",
    long_about = "nudged watches your inbox for the notification emails LinkedIn, GitHub, Mastodon, \
                  Facebook, X, Reddit, Meetup and blogs already send, logs who reached out, plans \
                  follow-ups (reply within a day; thank, call and meet a new connection) and sends \
                  one digest email every morning.\n\n\
                  Exit status: 0 ok, 1 runtime failure, 2 bad configuration or usage."
)]
pub struct Cli {
    /// Config file [default: $NUDGED_CONFIG, ~/.config/nudged/config.toml, /etc/nudged/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print data as JSON for scripts
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Watch every source, plan follow-ups and send the daily digest
    Run {
        /// Do one full pass (read every source, plan, send a due digest) and exit
        #[arg(long)]
        once: bool,
    },
    /// Show what the classifier makes of email files
    Classify {
        /// Raw messages (.eml)
        #[arg(required = true, value_name = "FILE.eml")]
        files: Vec<PathBuf>,
        /// Say which rule matched and why, or which came closest
        #[arg(long)]
        explain: bool,
    },
    /// List logged interactions, newest first
    Interactions {
        /// Include noise and unknown templates
        #[arg(long)]
        all: bool,
        /// How many to show
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// List follow-up tasks that are open or snoozed
    Followups {
        /// Only those due now
        #[arg(long)]
        due: bool,
        /// Include done, skipped and expired tasks
        #[arg(long, conflicts_with = "due")]
        all: bool,
    },
    /// List contacts with their identities on each platform; merge, show, tier
    Contacts {
        #[command(subcommand)]
        action: Option<contacts::ContactsCommand>,
    },
    /// Mark a task done
    Done {
        /// Task id, as shown by `nudged followups`
        id: i64,
    },
    /// Postpone a task
    Snooze {
        id: i64,
        /// How long, e.g. 1d, 48h, 1w
        duration: String,
    },
    /// Skip a task (it will not come back)
    Skip { id: i64 },
    /// Log that you met someone in person; starts the meeting sequence
    Met {
        /// The person's name
        name: String,
        /// Their email address
        #[arg(long)]
        email: Option<String>,
        /// Their LinkedIn profile URL
        #[arg(long, value_name = "URL")]
        linkedin: Option<String>,
        /// Where you met
        #[arg(long, value_name = "PLACE")]
        at: Option<String>,
        /// Anything worth remembering
        #[arg(long)]
        note: Option<String>,
    },
    /// Log a call, email, meeting or message you had with someone
    Log {
        /// The person's name (or contact id)
        name: String,
        #[arg(long, value_enum)]
        kind: tasks::LogKind,
        /// Anything worth remembering
        #[arg(long)]
        note: Option<String>,
        /// Their email address
        #[arg(long)]
        email: Option<String>,
    },
    /// Import contacts from an address book or a network export (idempotent)
    Import {
        #[command(subcommand)]
        format: import::ImportCommand,
    },
    /// What each platform gave back in the last 30 and 90 days
    Stats,
    /// Preview or send the digest
    Digest {
        /// Print the digest that would be sent now
        #[arg(long, required_unless_present = "send_now")]
        preview: bool,
        /// Send a digest now, whatever the schedule says
        #[arg(long, conflicts_with = "preview")]
        send_now: bool,
        /// With --preview: print the whole message (headers, MIME parts), not only its text
        #[arg(long, requires = "preview")]
        raw: bool,
    },
    /// Write the open follow-ups as an iCalendar file
    Ics {
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Copy the database to FILE safely while nudged runs (SQLite online backup)
    Backup {
        /// Where to write the copy
        file: PathBuf,
        /// Replace FILE if it exists
        #[arg(long)]
        force: bool,
    },
    /// Validate the config, resolve every secret, log in to every server and say what is wrong
    Check,
    /// Write a working config: find the servers, log in to test, pick the Sent folder
    Init(Box<init::InitArgs>),
    /// Sign in to an OAuth provider (Microsoft 365, Gmail) and check the stored tokens
    Auth {
        #[command(subcommand)]
        action: auth::AuthCommand,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) generated from this command line
    Man,
    /// Make the secret calendar feed URL (shown once; only its hash is kept)
    FeedUrl {
        /// Replace the URL; the old one stops working
        #[arg(long)]
        rotate: bool,
    },
    /// Show where the key that signs one-click links is kept (a 0600 file beside the database)
    Links {
        /// Make a new key: links in earlier digests stop working (refused as not valid)
        #[arg(long)]
        rotate: bool,
    },
}

/// An error that means "fix your configuration or command line" (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// What every command gets: the config, a clock and the output format.
pub struct Context {
    pub config: Config,
    pub clock: Clock,
    pub json: bool,
}

impl Context {
    pub fn open_store(&self) -> anyhow::Result<Store> {
        Store::open(&self.config.store_path())
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.only_prints() {
        restore_sigpipe();
    }
    let daemon = matches!(cli.command, Command::Run { .. });
    crate::service::logging::init(if daemon { "nudged=info" } else { "nudged=warn" });
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nudged: {err:#}");
            if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<UsageError>().is_some()
                || err.downcast_ref::<crate::store::LookupError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

impl Command {
    /// Commands that read the database or files and print, and never open a network
    /// connection: for these a closed stdout may end the process like any Unix tool.
    /// Never the daemon: with SIGPIPE at its default, a mail server closing a socket
    /// would kill nudged silently instead of failing one write.
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Command::Classify { .. }
                | Command::Interactions { .. }
                | Command::Followups { .. }
                | Command::Contacts { .. }
                | Command::Stats
                | Command::Ics { .. }
                | Command::Completions { .. }
                | Command::Man
        )
    }
}

/// `nudged interactions | head` should end quietly like any Unix tool. Rust ignores
/// SIGPIPE, which turns a closed pipe into a panic in `println!`; restore the default
/// (only for [`Command::only_prints`] commands).
fn restore_sigpipe() {
    // SAFETY: called in main before any thread exists; SIG_DFL is a valid disposition
    // for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn load_config(explicit: Option<&Path>, required: bool) -> anyhow::Result<Config> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(default_config_path);
    if !required && explicit.is_none() && !path.exists() {
        return Ok(Config::empty());
    }
    if !path.exists() {
        return Err(ConfigError {
            file: Some(path.clone()),
            line_col: None,
            message: "no such config file; copy config.sample.toml there or pass --config FILE"
                .into(),
        }
        .into());
    }
    Ok(Config::load(&path)?)
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    // Commands that print something about nudged itself need no config at all.
    match &cli.command {
        Command::Completions { shell } => return maintenance::completions(*shell),
        Command::Man => return maintenance::man_page(),
        _ => {}
    }
    // `init` writes the config, so it cannot need one.
    let cli = match cli {
        Cli {
            command: Command::Init(args),
            config,
            ..
        } => return init::init(config.as_deref(), *args),
        cli => cli,
    };
    // `classify` works without a config (built-in rules only).
    let needs_config = !matches!(cli.command, Command::Classify { .. });
    let ctx = Context {
        config: load_config(cli.config.as_deref(), needs_config)?,
        clock: Clock::from_env().map_err(|e| UsageError(format!("{e:#}")))?,
        json: cli.json,
    };
    match cli.command {
        Command::Run { once } => run::run(&ctx, once),
        Command::Classify { files, explain } => classify::classify_files(&ctx, &files, explain),
        Command::Interactions { all, limit } => listings::interactions(&ctx, all, limit),
        Command::Followups { due, all } => listings::followups(&ctx, due, all),
        Command::Contacts { action: None } => listings::contacts(&ctx),
        Command::Contacts {
            action: Some(action),
        } => contacts::contacts(&ctx, action),
        Command::Done { id } => tasks::done(&ctx, id),
        Command::Snooze { id, duration } => tasks::snooze(&ctx, id, &duration),
        Command::Skip { id } => tasks::skip(&ctx, id),
        Command::Met {
            name,
            email,
            linkedin,
            at,
            note,
        } => tasks::met(&ctx, &name, email, linkedin, at, note),
        Command::Log {
            name,
            kind,
            note,
            email,
        } => tasks::log(&ctx, &name, kind, note, email),
        Command::Import { format } => import::import(&ctx, format),
        Command::Stats => stats::stats(&ctx),
        Command::Digest {
            preview,
            send_now,
            raw,
        } => digest::digest(&ctx, preview, send_now, raw),
        Command::Ics { out } => digest::ics(&ctx, out.as_deref()),
        Command::Backup { file, force } => maintenance::backup(&ctx, &file, force),
        Command::Check => maintenance::check(&ctx),
        Command::Auth { action } => auth::auth(&ctx, action),
        Command::Completions { .. } | Command::Man | Command::Init(_) => Ok(()),
        Command::FeedUrl { rotate } => feed::feed_url(&ctx, rotate),
        Command::Links { rotate } => feed::links(&ctx, rotate),
    }
}

/// Print a value as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
