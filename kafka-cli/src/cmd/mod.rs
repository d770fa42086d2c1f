//! Subcommands, one module per noun. Each module has `Args` (clap) and
//! `fn run(Args) -> anyhow::Result<ExitCode>`; adding one is one line in [`commands!`].

mod bench;
mod bench_consume;
mod config;
mod config_file;
mod consume;
mod decode;
mod groups;
mod metadata;
mod produce;
mod topics;

use std::process::ExitCode;

/// Declares the subcommand enum and its dispatch from one line per subcommand.
macro_rules! commands {
    ($($(#[$doc:meta])* $variant:ident => $module:ident,)*) => {
        /// The subcommands.
        #[derive(Debug, clap::Subcommand)]
        pub enum Command {
            $($(#[$doc])* $variant($module::Args),)*
        }

        /// Runs a subcommand.
        pub fn run(command: Command) -> anyhow::Result<ExitCode> {
            match command {
                $(Command::$variant(args) => $module::run(args),)*
            }
        }
    };
}

commands! {
    /// Produce records read from stdin, one per line.
    Produce => produce,
    /// List, create, delete and describe topics.
    Topics => topics,
    /// Show cluster metadata: brokers, controller, topics.
    Metadata => metadata,
    /// Benchmarks against a live cluster.
    Bench => bench,
    Consume => consume,
    Groups => groups,
    BenchConsume => bench_consume,
    /// Decode captured Kafka traffic (pcap/pcapng) or a log segment.
    Decode => decode,
}

/// Whether the error is a write to a closed pipe (`| head`), which ends the program quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A multi-threaded tokio runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
