//! `kafka-cli decode`: decode the Kafka traffic of a pcap / pcapng capture, or a Kafka log
//! segment file. Output, JSON schema and exit codes: `docs/decode.md`.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use kafka_cli::capture::{
    CaptureError, CaptureEvent, CaptureOptions, CaptureReader, PortSelection,
};
use kafka_cli::decode::{
    write_batch, write_dump_log, DecodedFrame, Filter, Filters, FrameDecoder, JsonWriter,
    SegmentError, SegmentReader, Stats, SummaryWriter,
};
use kafka_protocol::record::DecodeOptions;

/// Problems reported one by one on stderr before only being counted.
const MAX_REPORTED: u64 = 20;
/// Output buffer size.
const OUT_BUFFER: usize = 256 << 10;

/// Arguments of `decode`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Capture file (pcap or pcapng), Kafka log segment (`*.log`), or `-` for stdin.
    #[arg(value_name = "FILE", default_value = "-")]
    input: String,
    /// Kafka server port; repeat or separate with commas for several. `auto` recognises Kafka
    /// connections on any port.
    #[arg(short, long = "port", value_name = "PORT|auto", default_value = "9092")]
    ports: Vec<String>,
    /// Show the full decoded message under each summary line.
    #[arg(short, long)]
    verbose: bool,
    /// JSON Lines: one object per frame (schema in docs/decode.md).
    #[arg(long, conflicts_with = "verbose")]
    json: bool,
    /// Print statistics (counts, bytes, latency, error codes) instead of frames.
    #[arg(long)]
    stats: bool,
    /// Show only matching frames: api=NAME|KEY, topic=NAME, corr=ID, stream=N,
    /// dir=request|response. Repeat to require several.
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    filters: Vec<Filter>,
    /// Read FILE as a Kafka log segment (implied by a `.log` extension).
    #[arg(long)]
    log_segment: bool,
    /// With the one-line summary and --stats: decompress and read every record, as -v and
    /// --json do, so that the exit code reports any record that does not decode. Without it
    /// they check record batches only (framing, header, checksum: the CRC32C of a v2 batch
    /// covers its records as stored) and take record counts from the batch headers.
    #[arg(long)]
    check_records: bool,
    /// Do not verify record batch checksums (forensics on damaged data).
    #[arg(long)]
    no_crc: bool,
    /// No notices on stderr about skipped streams and undecodable frames (the final verdict
    /// is still printed).
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let record_opts = if args.no_crc {
        DecodeOptions::without_crc()
    } else {
        DecodeOptions::default()
    };
    let input = open_input(&args.input)?;
    let segment = args.log_segment
        || Path::new(&args.input)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("log"));
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(OUT_BUFFER, stdout);
    let failed = if segment {
        if !args.filters.is_empty() {
            bail!("--filter applies to captures, not to log segments");
        }
        decode_segment(&args, input, record_opts, &mut out)?
    } else {
        decode_capture(&args, input, record_opts, &mut out)?
    };
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn open_input(path: &str) -> anyhow::Result<Box<dyn Read>> {
    if path == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
    Ok(Box::new(file))
}

fn port_selection(ports: &[String]) -> anyhow::Result<PortSelection> {
    let mut list = Vec::new();
    for p in ports {
        match p.parse::<PortSelection>()? {
            PortSelection::Auto if ports.len() == 1 => return Ok(PortSelection::Auto),
            PortSelection::Auto => bail!("--port auto cannot be combined with port numbers"),
            PortSelection::Ports(ps) => list.extend(ps),
        }
    }
    Ok(PortSelection::Ports(list))
}

/// Counts what went wrong, for the exit code and the final message.
#[derive(Debug, Default)]
struct Problems {
    frames: u64,
    failed_frames: u64,
    capture: u64,
    not_kafka: u64,
    reported: u64,
    quiet: bool,
}

impl Problems {
    fn report(&mut self, what: std::fmt::Arguments<'_>) {
        self.reported += 1;
        if self.quiet {
            return;
        }
        if self.reported <= MAX_REPORTED {
            eprintln!("kafka-cli decode: {what}");
        } else if self.reported == MAX_REPORTED + 1 {
            eprintln!("kafka-cli decode: further problems are only counted");
        }
    }
}

fn decode_capture(
    args: &Args,
    input: Box<dyn Read>,
    record_opts: DecodeOptions,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let ports = port_selection(&args.ports)?;
    let mut reader = match CaptureReader::new(input, CaptureOptions::with_ports(ports.clone())) {
        Ok(r) => r,
        Err(e @ (CaptureError::UnknownFormat { .. } | CaptureError::TooShort { .. })) => {
            bail!(
                "{}: {e} (for a Kafka log segment use --log-segment)",
                args.input
            )
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", args.input)),
    };
    let mut decoder = FrameDecoder::with_record_options(record_opts);
    decoder.set_count_records_only(args.stats || !(args.json || args.verbose));
    decoder.set_batches_only(!args.check_records);
    let mut summary = SummaryWriter::new();
    let mut json = JsonWriter::default();
    let mut stats = Stats::default();
    let filters = Filters(args.filters.clone());
    let needs_digest = args.stats || filters.needs_digest();
    let mut p = Problems {
        quiet: args.quiet,
        ..Problems::default()
    };
    while let Some(event) = reader.next() {
        let event = match event {
            Ok(ev) => ev,
            Err(CaptureError::Io(e)) => {
                return Err(e).with_context(|| format!("reading {}", args.input))
            }
            Err(e) => {
                p.capture += 1;
                p.report(format_args!("{e}; decoding stopped there"));
                continue;
            }
        };
        match event {
            CaptureEvent::Frame(frame) => {
                p.frames += 1;
                let number = p.frames;
                let d = decoder.decode(&frame);
                if d.is_request() && !d.expects_response {
                    if let Some(corr) = d.correlation_id {
                        reader.forget_response(&frame.stream, corr);
                    }
                }
                if let Some(e) = d.error {
                    p.failed_frames += 1;
                    p.report(format_args!(
                        "frame {number} ({} {} at stream offset {}): {}",
                        frame.stream,
                        frame.direction,
                        frame.offset + e.frame_offset,
                        e.reason
                    ));
                }
                if needs_digest {
                    summary.compute_digest(&d);
                }
                if !filters.matches(&d, summary.digest()) {
                    continue;
                }
                if args.stats {
                    stats.add(&d, summary.digest());
                } else {
                    write_frame(args, out, &mut summary, &mut json, number, &d, needs_digest)?;
                }
            }
            CaptureEvent::StreamClosed { stream, .. } => decoder.close_stream(stream.index),
            CaptureEvent::StreamOpened { .. } => {}
            CaptureEvent::NotKafka { .. } => {
                p.not_kafka += 1;
                if !args.quiet {
                    eprintln!("kafka-cli decode: {event}; skipped");
                }
            }
            CaptureEvent::Gap { .. }
            | CaptureEvent::Skipped { .. }
            | CaptureEvent::Malformed { .. } => {
                p.capture += 1;
                p.report(format_args!("{event}"));
            }
        }
    }
    if args.stats {
        stats.write(out)?;
    }
    out.flush()?;
    if p.frames == 0 && p.capture == 0 {
        if !args.quiet {
            let hint = match &ports {
                PortSelection::Auto => String::new(),
                PortSelection::Ports(ps) => format!(
                    " on port{} {} (try --port auto)",
                    if ps.len() == 1 { "" } else { "s" },
                    ps.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
                ),
            };
            eprintln!("kafka-cli decode: no Kafka frames found{hint}");
        }
        return Ok(false);
    }
    if p.failed_frames > 0 || p.capture > 0 {
        eprintln!(
            "kafka-cli decode: {} of {} frames did not decode completely; {} capture problems (gaps, skipped bytes, malformed packets)",
            p.failed_frames, p.frames, p.capture
        );
        return Ok(true);
    }
    Ok(false)
}

fn write_frame(
    args: &Args,
    out: &mut impl Write,
    summary: &mut SummaryWriter,
    json: &mut JsonWriter,
    number: u64,
    d: &DecodedFrame<'_>,
    digest_ready: bool,
) -> io::Result<()> {
    if args.json {
        json.write_frame(out, number, d)
    } else if args.verbose {
        summary.write_verbose(out, number, d, digest_ready)
    } else {
        summary.write_line(out, number, d, digest_ready)
    }
}

/// Segment totals for `--stats`.
#[derive(Debug, Default)]
struct SegmentStats {
    batches: u64,
    records: u64,
    control_batches: u64,
    bytes: u64,
    codecs: std::collections::BTreeMap<&'static str, u64>,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
}

fn decode_segment(
    args: &Args,
    input: Box<dyn Read>,
    record_opts: DecodeOptions,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let reader = SegmentReader::with_options(BufReader::with_capacity(1 << 20, input), record_opts);
    let mut failed = 0u64;
    let mut batches = 0u64;
    let mut stats = SegmentStats::default();
    if !args.json && !args.stats {
        writeln!(out, "Dumping {}", args.input)?;
        let base = Path::new(&args.input)
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<i64>().ok());
        if let Some(base) = base {
            writeln!(out, "Log starting offset: {base}")?;
        }
    }
    for item in reader {
        let batch = match item {
            Ok(b) => b,
            Err(e) => {
                failed += 1;
                if let SegmentError::Io(io) = e {
                    return Err(io).with_context(|| format!("reading {}", args.input));
                }
                eprintln!("kafka-cli decode: {}: {e}", args.input);
                match e {
                    SegmentError::Batch {
                        partial: Some(p), ..
                    } => *p,
                    _ => continue,
                }
            }
        };
        batches += 1;
        if args.stats {
            stats.batches += 1;
            stats.records += batch.count as u64;
            stats.control_batches += u64::from(batch.is_control());
            stats.bytes += batch.batch.size() as u64;
            *stats
                .codecs
                .entry(batch.batch.compression().name())
                .or_default() += 1;
            stats.first_offset.get_or_insert(match &batch.batch {
                kafka_protocol::record::Batch::V2(b) => b.base_offset,
                kafka_protocol::record::Batch::Legacy(b) => b.offset,
            });
            stats.last_offset = Some(batch.batch.last_offset());
        } else if args.json {
            write_batch(out, &batch)?;
            out.write_all(b"\n")?;
        } else {
            write_dump_log(out, &batch)?;
        }
    }
    if args.stats {
        writeln!(
            out,
            "batches: {} ({} control), records: {}, bytes: {}, offsets: {}..{}",
            stats.batches,
            stats.control_batches,
            stats.records,
            stats.bytes,
            stats.first_offset.map_or("-".into(), |o| o.to_string()),
            stats.last_offset.map_or("-".into(), |o| o.to_string()),
        )?;
        for (codec, n) in &stats.codecs {
            writeln!(out, "codec {codec}: {n} batches")?;
        }
    }
    out.flush()?;
    if failed > 0 {
        eprintln!(
            "kafka-cli decode: {failed} problems in {}; {batches} batches decoded",
            args.input
        );
    }
    Ok(failed > 0)
}
