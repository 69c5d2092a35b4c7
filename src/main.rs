//! nudged — turns social-network notification emails into a relationship log,
//! follow-ups and a daily digest. This file only hands over to the library's CLI.

fn main() -> std::process::ExitCode {
    nudged::cli::main()
}
