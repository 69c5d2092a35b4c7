//! Log output that fits where it goes: under systemd (stderr connected to the journal,
//! `JOURNAL_STREAM` set) lines carry a `<N>` priority prefix that journald maps to its
//! levels and no timestamp of their own (journald adds one); in a terminal, the usual
//! timestamped, coloured lines. `RUST_LOG` filters either way, except that protocol
//! crates never log below INFO: their traces carry passwords and mail.

use std::fmt;

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer as _, fmt as log_fmt};

/// Crates whose debug and trace output shows what goes over the wire: async-imap traces
/// every command it sends (LOGIN and AUTHENTICATE included) and every line it receives.
/// A crate name matches itself and its modules (`async_imap::imap_stream`).
const PROTOCOL_TARGETS: &[&str] = &[
    "async_imap",
    "imap_proto",
    "lettre",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "tokio_rustls",
    "mail_auth",
    "hickory_proto",
    "hickory_resolver",
];

/// Whether stderr goes to the systemd journal.
pub fn under_journald() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some_and(|v| !v.is_empty())
}

/// Install the global logger. `default_filter` applies when `RUST_LOG` is unset.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    // A second filter after RUST_LOG's, not a directive inside it: in an EnvFilter the
    // most specific directive wins, so `async_imap::imap_stream=trace` would beat any cap
    // on `async_imap`. This one looks at every target, whatever RUST_LOG says.
    let protocol_cap = filter_fn(allowed);
    let stderr = log_fmt::layer().with_writer(std::io::stderr);
    let _ = if under_journald() {
        let layer = stderr.with_ansi(false).event_format(JournalFormat);
        tracing_subscriber::registry()
            .with(layer.with_filter(filter).with_filter(protocol_cap))
            .try_init()
    } else {
        tracing_subscriber::registry()
            .with(stderr.with_filter(filter).with_filter(protocol_cap))
            .try_init()
    };
}

/// Whether an event or span may be logged at all: protocol crates only at INFO and above.
pub fn allowed(metadata: &Metadata<'_>) -> bool {
    *metadata.level() <= Level::INFO || !is_protocol_target(metadata.target())
}

fn is_protocol_target(target: &str) -> bool {
    PROTOCOL_TARGETS.iter().any(|crate_name| {
        target
            .strip_prefix(crate_name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// `<3>message key=value` — sd-daemon(3) priority prefixes.
struct JournalFormat;

fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

impl<S, N> FormatEvent<S, N> for JournalFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "<{}>", priority(event.metadata().level()))?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                write!(writer, "{}: ", span.name())?;
            }
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_targets_match_by_crate_and_module_only() {
        for target in [
            "async_imap",
            "async_imap::imap_stream",
            "imap_proto::parser::rfc3501",
            "lettre::transport::smtp",
        ] {
            assert!(is_protocol_target(target), "{target}");
        }
        for target in ["async_imapx", "nudged::source::imap", "log", "hyperion"] {
            assert!(!is_protocol_target(target), "{target}");
        }
    }
}
