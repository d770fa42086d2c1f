//! `kafka-cli bench consume`: read a topic from the beginning as fast as possible and report
//! records/s, MB/s, client CPU seconds and peak RSS (for comparing with Java's
//! `ConsumerPerformance` and librdkafka on the same topic).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use kafka_client::consumer::{Consumer, GroupConsumer, OffsetSpec, TopicPartition};

use super::config::ConnectArgs;

/// Consumer benchmark: read a topic as fast as possible (`bench consume`).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Topic to read.
    #[arg(short = 't', long)]
    topic: String,
    /// Records to read (default: everything up to the end offsets at start).
    #[arg(short = 'n', long)]
    records: Option<u64>,
    /// Read as a member of this group (committed offsets apply; auto.offset.reset=earliest).
    #[arg(short = 'G', long)]
    group: Option<String>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print the result as one JSON line on stdout.
    #[arg(long)]
    json: bool,
}

/// CPU seconds (user + system) of this process, from `/proc/self/stat` (Linux; `None`
/// elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture Rust targets.
    Some((utime + stime) / 100.0)
}

/// Peak resident set size in MiB, from `/proc/self/status` (`VmHWM`).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn properties(args: &Args) -> anyhow::Result<Vec<(String, String)>> {
    let mut props = vec![
        (
            "bootstrap.servers".to_string(),
            args.connect.bootstrap.clone(),
        ),
        ("client.id".to_string(), "kafka-cli-bench".to_string()),
        ("auto.offset.reset".to_string(), "earliest".to_string()),
    ];
    if let Some(g) = &args.group {
        props.push(("group.id".into(), g.clone()));
    }
    // -F file, then -X (TLS/SASL settings among them).
    props.extend(args.connect.properties()?);
    Ok(props)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let props = properties(&args)?;
    super::runtime()?.block_on(async move {
        let kv = || props.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        // The plain consumer also answers how much there is to read.
        let mut alone = Consumer::from_properties(kv()).await.context("connecting")?;
        let parts: Vec<TopicPartition> = alone.assign_topic(&args.topic).await.context("topic")?;
        let ends = alone.end_offsets(&parts).await?;
        let begins = alone.beginning_offsets(&parts).await?;
        let available: i64 = parts.iter().map(|tp| ends[tp] - begins[tp]).sum();
        let target = args.records.unwrap_or(available.max(0) as u64);
        if target == 0 {
            bail!("topic {} is empty", args.topic);
        }
        let mut group = match &args.group {
            Some(_) => {
                let mut g = GroupConsumer::from_properties(kv()).await.context("group consumer")?;
                g.subscribe(&[args.topic.as_str()]);
                Some(g)
            }
            None => {
                for tp in &parts {
                    alone.seek_to(tp, OffsetSpec::Earliest)?;
                }
                None
            }
        };
        let bar = if args.quiet || args.json {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(target);
            b.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} records {per_sec} eta {eta}")
                    .expect("static template"),
            );
            b
        };
        let cpu_before = cpu_seconds();
        let start = Instant::now();
        let mut count = 0u64;
        let mut bytes = 0u64;
        let idle_limit = Duration::from_secs(30);
        while count < target {
            // Drain what is fetched without a timer per record; wait only when empty.
            let next = match &mut group {
                Some(g) => g.try_next(),
                None => alone.try_next(),
            };
            let next = match next {
                Some(r) => Ok(Some(r)),
                None => match &mut group {
                    Some(g) => tokio::time::timeout(idle_limit, g.next()).await,
                    None => tokio::time::timeout(idle_limit, alone.next()).await,
                },
            };
            match next {
                Ok(Some(Ok(r))) => {
                    count += 1;
                    bytes += (r.key.as_ref().map_or(0, |k| k.len())
                        + r.value.as_ref().map_or(0, |v| v.len())) as u64;
                    if count.is_multiple_of(8192) {
                        bar.set_position(count);
                    }
                }
                Ok(Some(Err(e))) => bail!("after {count} records: {e}"),
                Ok(None) => break,
                Err(_) => bail!(
                    "no record for {} s after {count} records",
                    idle_limit.as_secs()
                ),
            }
        }
        let elapsed = start.elapsed();
        bar.finish_and_clear();
        let cpu = cpu_seconds().zip(cpu_before).map(|(a, b)| a - b);
        let rss = peak_rss_mib();
        let secs = elapsed.as_secs_f64();
        let rps = count as f64 / secs;
        let mbps = bytes as f64 / secs / (1024.0 * 1024.0);
        if args.json {
            use std::io::Write;
            writeln!(
                std::io::stdout().lock(),
                "{}",
                serde_json::json!({
                    "topic": args.topic, "records": count, "bytes": bytes, "seconds": secs,
                    "records_per_sec": rps, "mb_per_sec": mbps, "cpu_seconds": cpu, "peak_rss_mib": rss,
                })
            )?;
        } else {
            eprintln!(
                "{count} records ({:.1} MiB) in {secs:.2} s: {rps:.0} records/s, {mbps:.2} MB/s; cpu {} s, peak rss {} MiB",
                bytes as f64 / (1024.0 * 1024.0),
                cpu.map_or_else(|| "?".into(), |c| format!("{c:.2}")),
                rss.map_or_else(|| "?".into(), |r| format!("{r:.0}")),
            );
        }
        if let Some(g) = group {
            let _ = g.close(Duration::from_secs(10)).await;
        }
        Ok(ExitCode::SUCCESS)
    })
}
