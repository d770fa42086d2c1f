//! `kafka-cli`: a thin clap dispatcher over `cmd/<noun>.rs`.
//!
//! Exit codes, as ripgrep: 0 success, 1 the command ran but something it did failed (records
//! not delivered, a topic not created), 2 an error stopped it (bad arguments, no cluster). A
//! closed stdout (`kafka-cli ... | head`) ends the program quietly with 0.
#![forbid(unsafe_code)]

mod cmd;

use std::process::ExitCode;

use clap::Parser;

/// Command line tool for Apache Kafka.
#[derive(Debug, Parser)]
#[command(name = "kafka-cli", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cmd::run(cli.command) {
        Ok(code) => code,
        Err(e) if cmd::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
