//! `kafka-cli produce`: one record per stdin line.

use std::io::BufRead;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use kafka_client::producer::{Producer, ProducerRecord};
use kafka_client::Acks;

use super::config::{split_kv, ConnectArgs};

/// Arguments of `produce`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Topic to produce to.
    #[arg(short = 't', long)]
    topic: String,
    /// Split each line into key and value at the first DELIM.
    #[arg(short = 'K', long = "key-delimiter", value_name = "DELIM")]
    key_delimiter: Option<String>,
    /// Header added to every record (repeatable).
    #[arg(short = 'H', long = "header", value_name = "KEY=VALUE")]
    headers: Vec<String>,
    /// Fixed partition (default: the partitioner decides).
    #[arg(short = 'p', long)]
    partition: Option<i32>,
    /// Compression: none, gzip, snappy, lz4, zstd.
    #[arg(short = 'z', long = "compression")]
    compression: Option<String>,
    /// Acknowledgements: 0, 1 or all.
    #[arg(long)]
    acks: Option<String>,
}

/// What the delivery callbacks saw.
#[derive(Debug, Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = args.connect.producer_config()?;
    if let Some(z) = &args.compression {
        config.set("compression.type", z)?;
    }
    if let Some(a) = &args.acks {
        config.set("acks", a)?;
        if Acks::parse(a) != Some(Acks::All) && !config.idempotence_explicit {
            // As in Java: acks other than all turns the default idempotence off.
            config.enable_idempotence = false;
        }
    }
    let headers: Vec<(Bytes, Bytes)> = args
        .headers
        .iter()
        .map(|h| {
            split_kv(h).map(|(k, v)| {
                (
                    Bytes::copy_from_slice(k.as_bytes()),
                    Bytes::copy_from_slice(v.as_bytes()),
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let rt = super::runtime()?;
    rt.block_on(async move {
        let producer = Producer::connect(config).await.context("connecting")?;
        let tally = Arc::new(Tally::default());
        let start = Instant::now();
        let mut bytes = 0u64;
        let mut count = 0u64;
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        let mut line = Vec::new();
        // One name for every record: each clones the pointer.
        let topic: Arc<str> = args.topic.as_str().into();
        loop {
            line.clear();
            // Read on this thread: stdin is blocking, and records must be queued in order.
            let n = tokio::task::block_in_place(|| lock.read_until(b'\n', &mut line))?;
            if n == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            let (key, value) = match &args.key_delimiter {
                Some(d) => match find(&line, d.as_bytes()) {
                    Some(i) => (Some(Bytes::copy_from_slice(&line[..i])), Bytes::copy_from_slice(&line[i + d.len()..])),
                    None => (None, Bytes::copy_from_slice(&line)),
                },
                None => (None, Bytes::copy_from_slice(&line)),
            };
            bytes += value.len() as u64;
            let mut rec = ProducerRecord {
                topic: topic.clone(),
                partition: args.partition,
                key,
                value: Some(value),
                headers: Vec::new(),
                timestamp: None,
            };
            for (k, v) in &headers {
                rec = rec.header(k.clone(), v.clone());
            }
            let t = tally.clone();
            producer
                .send_with_callback(rec, move |r| match r {
                    Ok(_) => {
                        t.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        t.failed.fetch_add(1, Ordering::Relaxed);
                        let mut first = t.first_error.lock().expect("tally lock");
                        if first.is_none() {
                            *first = Some(e.to_string());
                        }
                    }
                })
                .await
                .with_context(|| format!("queueing record {}", count + 1))?;
            count += 1;
        }
        producer.close().await;
        let secs = start.elapsed().as_secs_f64();
        let ok = tally.ok.load(Ordering::Relaxed);
        let failed = tally.failed.load(Ordering::Relaxed);
        eprintln!(
            "produced {ok} of {count} records ({bytes} value bytes) to {} in {secs:.2} s ({:.0} records/s)",
            args.topic,
            count as f64 / secs.max(1e-9)
        );
        if failed > 0 || ok < count {
            let first = tally.first_error.lock().expect("tally lock").clone();
            eprintln!(
                "{} records failed; first error: {}",
                count - ok,
                first.unwrap_or_else(|| "closed before delivery".into())
            );
            return Ok(ExitCode::from(1));
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
