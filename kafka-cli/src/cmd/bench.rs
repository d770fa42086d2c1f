//! `kafka-cli bench produce`: throughput and latency of the producer.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use bytes::Bytes;
use kafka_client::admin::{Admin, NewTopic};
use kafka_client::producer::{Producer, ProducerRecord, RecordMetadata, TrySendError};
use kafka_client::Acks;
use kafka_protocol::ErrorCode;

use super::config::ConnectArgs;

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Produce N records of S bytes as fast as possible.
    Produce(ProduceArgs),
}

#[derive(Debug, clap::Args)]
struct ProduceArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Topic (created with --partitions if missing).
    #[arg(short = 't', long, default_value = "kafka-cli-bench")]
    topic: String,
    /// Number of records.
    #[arg(short = 'n', long, default_value_t = 1_000_000)]
    records: u64,
    /// Value size in bytes.
    #[arg(short = 's', long = "record-size", default_value_t = 100)]
    record_size: usize,
    /// Compression: none, gzip, snappy, lz4, zstd.
    #[arg(short = 'z', long = "compression", default_value = "none")]
    compression: String,
    /// Acknowledgements: 0, 1 or all.
    #[arg(long, default_value = "1")]
    acks: String,
    /// Partitions of the topic, if it is created.
    #[arg(short = 'p', long, default_value_t = 1)]
    partitions: i32,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Print the result as one JSON line on stdout.
    #[arg(long)]
    json: bool,
    /// Tokio worker threads: 0 runs the sending loop and the producer's I/O on the calling
    /// thread (a current-thread runtime); N > 0 uses a multi-threaded runtime with N workers.
    #[arg(long = "worker-threads", default_value_t = 0)]
    worker_threads: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Produce(a) => produce(a),
    }
}

/// Latencies above this many milliseconds count in the last bucket (longer than the default
/// `delivery.timeout.ms`, after which records fail instead).
const LATENCY_BUCKETS: usize = 300_000;

/// Filled by delivery callbacks.
#[derive(Debug)]
struct Stats {
    /// Records by delivery latency in ms: from the record's create timestamp, taken when `send`
    /// appended it, to its callback (the resolution of ProducerPerformance's latencies). Using
    /// the timestamp the producer writes anyway keeps the callback a plain function: no boxed
    /// closure, and no clock read, per record.
    latency_ms: Vec<AtomicU32>,
    /// Wall clock in ms as last read, and callbacks since: the records of a batch complete
    /// together, so reading the clock every 16th callback changes no latency by more than the
    /// time 16 callbacks take.
    clock_ms: AtomicI64,
    since_clock: AtomicU32,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

static STATS: OnceLock<Stats> = OnceLock::new();

fn on_delivery(r: kafka_client::Result<RecordMetadata>) {
    let Some(s) = STATS.get() else { return };
    match r {
        Ok(m) => {
            // Callbacks run one at a time on the producer's I/O task: a load and a store
            // instead of locked read-modify-writes.
            let n = s.since_clock.load(Ordering::Relaxed);
            s.since_clock.store(n.wrapping_add(1), Ordering::Relaxed);
            let now = if n % 16 == 0 {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                s.clock_ms.store(now, Ordering::Relaxed);
                now
            } else {
                s.clock_ms.load(Ordering::Relaxed)
            };
            let ms = (now - m.timestamp).clamp(0, LATENCY_BUCKETS as i64 - 1) as usize;
            let bucket = &s.latency_ms[ms];
            bucket.store(bucket.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        Err(e) => {
            s.failed.fetch_add(1, Ordering::Relaxed);
            let mut f = s.first_error.lock().unwrap_or_else(|e| e.into_inner());
            if f.is_none() {
                *f = Some(e.to_string());
            }
        }
    }
}

/// The `q` quantile (0..=1) in ms of a latency histogram, 0 when empty.
fn quantile(hist: &[u32], q: f64) -> f64 {
    let total: u64 = hist.iter().map(|&n| u64::from(n)).sum();
    if total == 0 {
        return 0.0;
    }
    let rank = ((total - 1) as f64 * q).round() as u64;
    let mut seen = 0u64;
    for (ms, &n) in hist.iter().enumerate() {
        seen += u64::from(n);
        if seen > rank {
            return ms as f64;
        }
    }
    (hist.len() - 1) as f64
}

fn produce(args: ProduceArgs) -> anyhow::Result<ExitCode> {
    let mut config = args.connect.producer_config()?;
    config.set("compression.type", &args.compression)?;
    config.set("acks", &args.acks)?;
    if Acks::parse(&args.acks) != Some(Acks::All) && !config.idempotence_explicit {
        config.enable_idempotence = false;
    }
    // The sending loop and the producer's I/O task share one thread by default: on a
    // multi-threaded runtime every batch hand-over and response crosses threads, and the
    // wake-ups (futex, eventfd) cost a fifth of the CPU time of the run.
    let rt = match args.worker_threads {
        0 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()?,
    };
    rt.block_on(async move {
        let producer = Producer::connect(config).await.context("connecting")?;
        let admin = Admin::new(producer.client().clone());
        match admin
            .create_topic(NewTopic::new(&args.topic).partitions(args.partitions))
            .await
        {
            Ok(()) => {}
            Err(e) if e.code() == Some(ErrorCode::TOPIC_ALREADY_EXISTS) => {}
            Err(e) => return Err(e).context("creating the topic"),
        }
        // Varied but compressible payload, like ProducerPerformance's random letters. One
        // buffer for the whole run, as ProducerPerformance sends one byte[] and the librdkafka
        // driver one C buffer: static, so that cloning the record (when a send must wait) is a
        // pointer copy as theirs is. The producer copies the value into its batch.
        let payload = Bytes::from_static(
            (0..args.record_size)
                .map(|i| b'a' + ((i * 7 + i / 13) % 26) as u8)
                .collect::<Vec<u8>>()
                .leak(),
        );
        let stats = STATS.get_or_init(|| Stats {
            latency_ms: (0..LATENCY_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            clock_ms: AtomicI64::new(0),
            since_clock: AtomicU32::new(0),
            failed: AtomicU64::new(0),
            first_error: Mutex::new(None),
        });
        let bar = if args.quiet || args.json {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::new(args.records);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} records {per_sec} eta {eta}",
                )
                .expect("static template"),
            );
            b
        };
        let topic: std::sync::Arc<str> = args.topic.as_str().into();
        // One record, sent a million times: `try_send_with_callback` copies it into a batch
        // (as librdkafka copies a message given RD_KAFKA_MSG_F_COPY), and only a send that has
        // to wait takes a record of its own.
        let rec = ProducerRecord::new(topic, payload);
        let start = Instant::now();
        for i in 0..args.records {
            // Queued without waiting when it can be (as the librdkafka driver calls
            // rd_kafka_produce and polls only on QUEUE_FULL); `send_with_callback` waits for
            // buffer memory or metadata when it cannot.
            match producer.try_send_with_callback(&rec, on_delivery) {
                Ok(()) => {
                    // This loop must let the producer's I/O task run on the one thread it
                    // shares with it: count against tokio's cooperative budget (one unit per
                    // 8 records, as `send` does), which yields when it runs out.
                    if i % 8 == 7 {
                        tokio::task::consume_budget().await;
                    }
                }
                Err(TrySendError::WouldBlock(callback)) => {
                    producer.send_with_callback(rec.clone(), callback).await?
                }
                Err(TrySendError::Failed(e)) => return Err(e.into()),
            }
            if i % 4096 == 0 {
                bar.set_position(i);
            }
        }
        producer.flush().await;
        let elapsed = start.elapsed();
        bar.finish_and_clear();
        producer.close_timeout(Duration::from_secs(30)).await;
        let hist: Vec<u32> = stats
            .latency_ms
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .collect();
        let pct = |q: f64| quantile(&hist, q);
        let secs = elapsed.as_secs_f64();
        let rps = args.records as f64 / secs;
        let mbps = rps * args.record_size as f64 / (1024.0 * 1024.0);
        let failed = stats.failed.load(Ordering::Relaxed);
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "records": args.records, "record_size": args.record_size,
                    "compression": args.compression, "acks": args.acks, "partitions": args.partitions,
                    "seconds": secs, "records_per_sec": rps, "mb_per_sec": mbps,
                    "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
                    "failed": failed,
                })
            );
        } else {
            eprintln!(
                "{} records of {} B in {secs:.2} s: {rps:.0} records/s, {mbps:.2} MB/s; latency ms p50 {:.1} p99 {:.1} max {:.1}",
                args.records,
                args.record_size,
                pct(0.5),
                pct(0.99),
                pct(1.0)
            );
        }
        if failed > 0 {
            let first = stats.first_error.lock().expect("stats lock").clone();
            eprintln!("{failed} records failed; first error: {}", first.unwrap_or_default());
            return Ok(ExitCode::from(1));
        }
        Ok(ExitCode::SUCCESS)
    })
}
