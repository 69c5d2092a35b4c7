//! The command line: argument definitions and dispatch. Each command lives in its own
//! file and returns an error; this module maps errors to exit codes:
//! 0 ok, 1 runtime failure, 2 bad configuration or usage.

mod classify;
mod digest;
mod listings;
mod run;
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
    /// List contacts with their identities on each platform
    Contacts,
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
    /// Preview or send the digest
    Digest {
        /// Print the digest that would be sent now
        #[arg(long, required_unless_present = "send_now")]
        preview: bool,
        /// Send a digest now, whatever the schedule says
        #[arg(long, conflicts_with = "preview")]
        send_now: bool,
    },
    /// Write the open follow-ups as an iCalendar file
    Ics {
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
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
    init_logging(matches!(cli.command, Command::Run { .. }));
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("nudged: {err:#}");
            if err.downcast_ref::<ConfigError>().is_some()
                || err.downcast_ref::<UsageError>().is_some()
            {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn init_logging(daemon: bool) {
    let default = if daemon { "nudged=info" } else { "nudged=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default))
        // async-imap traces every command it sends, LOGIN and AUTHENTICATE included, and
        // every message it receives: never let those through, whatever RUST_LOG says.
        .add_directive("async_imap=info".parse().expect("a valid directive"))
        .add_directive("imap_proto=info".parse().expect("a valid directive"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
        Command::Contacts => listings::contacts(&ctx),
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
        Command::Digest { preview, send_now } => digest::digest(&ctx, preview, send_now),
        Command::Ics { out } => digest::ics(&ctx, out.as_deref()),
    }
}

/// Print a value as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
