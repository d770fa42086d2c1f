//! `kafka-cli metadata`: brokers, controller and topics.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use kafka_client::Client;

use super::config::ConnectArgs;

/// Arguments of `metadata`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Only these topics (default: all).
    #[arg(short = 't', long = "topic")]
    topics: Vec<String>,
    /// One JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.connect.client_config()?;
    super::runtime()?.block_on(async move {
        let client = Client::connect(config).await.context("connecting")?;
        let wanted = (!args.topics.is_empty()).then_some(args.topics.as_slice());
        let cluster = client.refresh_metadata(wanted).await?;
        let mut topics: Vec<_> = cluster.topics.values().collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = std::io::stdout().lock();
        if args.json {
            let v = serde_json::json!({
                "cluster_id": cluster.cluster_id,
                "controller_id": cluster.controller_id,
                "brokers": cluster.brokers.values().map(|b| serde_json::json!({
                    "node_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack,
                })).collect::<Vec<_>>(),
                "topics": topics.iter().map(|t| serde_json::json!({
                    "name": t.name,
                    "id": t.id.to_string(),
                    "internal": t.is_internal,
                    "partitions": t.partitions.iter().map(|p| serde_json::json!({
                        "partition": p.partition, "leader": p.leader, "leader_epoch": p.leader_epoch,
                        "replicas": p.replicas, "isr": p.isr,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "errors": cluster.topic_errors.iter().map(|(t, c)| (t.clone(), serde_json::json!(c.to_string()))).collect::<serde_json::Map<_, _>>(),
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(
                out,
                "cluster {} controller {}",
                cluster.cluster_id.as_deref().unwrap_or("?"),
                cluster.controller_id
            )?;
            for b in cluster.brokers.values() {
                writeln!(
                    out,
                    "broker {} {}{}",
                    b.node_id,
                    b.addr(),
                    b.rack.as_deref().map(|r| format!(" rack {r}")).unwrap_or_default()
                )?;
            }
            for t in topics {
                let leaders: Vec<String> = t.partitions.iter().map(|p| p.leader.to_string()).collect();
                writeln!(
                    out,
                    "topic {} partitions {} leaders [{}]{}",
                    t.name,
                    t.partitions.len(),
                    leaders.join(","),
                    if t.is_internal { " internal" } else { "" }
                )?;
            }
            for (t, code) in &cluster.topic_errors {
                writeln!(out, "topic {t} error {code}")?;
            }
        }
        let failed = wanted.is_some() && !cluster.topic_errors.is_empty();
        Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
    })
}
