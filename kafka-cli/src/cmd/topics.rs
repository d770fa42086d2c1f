//! `kafka-cli topics list|create|delete|describe`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use kafka_client::admin::{Admin, NewTopic};
use kafka_client::Client;

use super::config::{split_kv, ConnectArgs};

/// Arguments of `topics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Topic names, one per line.
    List {
        /// Include internal topics (`__consumer_offsets`, ...).
        #[arg(long)]
        internal: bool,
    },
    /// Create topics.
    Create {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
        /// Partitions (default: the broker's num.partitions).
        #[arg(short = 'p', long, default_value_t = -1)]
        partitions: i32,
        /// Replication factor (default: the broker's default.replication.factor).
        #[arg(short = 'r', long = "replication-factor", default_value_t = -1)]
        replication_factor: i16,
        /// Topic config (repeatable), e.g. `-c retention.ms=60000`.
        #[arg(short = 'c', long = "config", value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// Delete topics.
    Delete {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Partitions, leaders, replicas and in-sync replicas.
    Describe {
        /// Topic names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.connect.client_config()?;
    super::runtime()?.block_on(async move {
        let admin = Admin::new(Client::connect(config).await.context("connecting")?);
        let mut out = std::io::stdout().lock();
        match args.action {
            Action::List { internal } => {
                for t in admin.list_topics(internal).await? {
                    writeln!(out, "{t}")?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Action::Create {
                names,
                partitions,
                replication_factor,
                configs,
            } => {
                let mut topics = Vec::new();
                for n in names {
                    let mut t = NewTopic::new(n)
                        .partitions(partitions)
                        .replication_factor(replication_factor);
                    for c in &configs {
                        let (k, v) = split_kv(c)?;
                        t = t.config(k, v);
                    }
                    topics.push(t);
                }
                report(admin.create_topics(&topics, false).await?, "created")
            }
            Action::Delete { names } => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                report(admin.delete_topics(&refs).await?, "deleted")
            }
            Action::Describe { names } => {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                for t in admin.describe_topics(&refs).await? {
                    writeln!(
                        out,
                        "topic {} id {} partitions {}{}",
                        t.name,
                        t.id,
                        t.partitions.len(),
                        if t.is_internal { " internal" } else { "" }
                    )?;
                    for p in &t.partitions {
                        writeln!(
                            out,
                            "  partition {} leader {} epoch {} replicas {:?} isr {:?}",
                            p.partition, p.leader, p.leader_epoch, p.replicas, p.isr
                        )?;
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// Prints per-topic results; exit 1 if any failed.
fn report(
    results: Vec<(String, kafka_client::Result<()>)>,
    verb: &str,
) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for (name, r) in results {
        match r {
            Ok(()) => eprintln!("{verb} {name}"),
            Err(e) => {
                failed = true;
                eprintln!("{name}: {e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
