//! `capture_decode`: a pcap or pcapng file through the path of `kafka-cli decode`: the capture
//! reader (link, IP, TCP reassembly, Kafka framing), the decoder (`kafka_cli::decode`: pairing,
//! full decode, records, the Debug tree), and a renderer (one-line summaries, verbose tree,
//! JSON Lines, or statistics) writing to nowhere.
//!
//! Input layout: `[flags, capture file...]`. Flag bit 0 selects automatic Kafka detection
//! instead of the port list (9092, 9192); bit 1 small reader limits (so that the bounded
//! buffers overflow on small inputs) instead of the defaults; bits 2-3 the output (lines,
//! verbose, JSON, statistics); bit 4 turns CRC checks off.
//!
//! Properties: nothing panics and the reader ends; frames lie within the configured maximum;
//! every frame that the codec decodes re-encodes to the same bytes (the checks of
//! `kafka_protocol::fuzzing`, with responses paired by correlation id per connection).

use std::collections::HashMap;
use std::io;

use kafka_cli::capture::{CaptureEvent, CaptureOptions, CaptureReader, PortSelection};
use kafka_cli::decode::{DecodedFrame, FrameDecoder, JsonWriter, Stats, SummaryWriter};
use kafka_protocol::frame::Correlator;
use kafka_protocol::fuzzing::{check_request, check_response, Outcome, Verdict, Violation};
use kafka_protocol::record::DecodeOptions;

const CHECK: &str = "capture_decode";
/// More events than this from one input means the reader does not make progress.
const MAX_EVENTS: usize = 1 << 20;

fn options(flags: u8) -> CaptureOptions {
    let ports = if flags & 1 == 1 {
        PortSelection::Auto
    } else {
        PortSelection::Ports(vec![9092, 9192])
    };
    if flags & 2 == 0 {
        return CaptureOptions::with_ports(ports);
    }
    CaptureOptions {
        ports,
        max_frame_len: 1 << 20,
        max_frame_buffer: 64 << 10,
        max_out_of_order_bytes: 16 << 10,
        max_resync_scan: 64 << 10,
        max_streams: 4,
        max_outstanding_requests: 8,
        detect_max_bytes: 16 << 10,
        detect_max_segments: 4,
        max_ip_fragments: 4,
        read_buffer: 4 << 10,
    }
}

/// The renderers of `kafka-cli decode`, writing to nowhere.
struct Output {
    mode: u8,
    summary: SummaryWriter,
    json: JsonWriter,
    stats: Stats,
    number: u64,
}

impl Output {
    fn frame(&mut self, d: &DecodedFrame<'_>) -> io::Result<()> {
        self.number += 1;
        self.summary.compute_digest(d);
        let sink = &mut io::sink();
        match self.mode {
            0 => self.summary.write_line(sink, self.number, d, true),
            1 => self.summary.write_verbose(sink, self.number, d, true),
            2 => self.json.write_frame(sink, self.number, d),
            _ => {
                self.stats.add(d, self.summary.digest());
                Ok(())
            }
        }
    }
}

/// The capture decodes without a panic, and every Kafka frame in it round-trips.
pub fn capture_decode(data: &[u8]) -> Outcome {
    let Some((flags, file)) = data.split_first() else {
        return Ok(Verdict::Rejected);
    };
    let opts = options(*flags);
    let max_frame = opts.max_frame_buffer.min(opts.max_frame_len as usize);
    let Ok(mut reader) = CaptureReader::new(file, opts) else {
        return Ok(Verdict::Rejected);
    };
    let record_opts = if flags & 16 == 0 {
        DecodeOptions::default()
    } else {
        DecodeOptions::without_crc()
    };
    let mut decoder = FrameDecoder::with_record_options(record_opts);
    let mut out = Output {
        mode: (flags >> 2) & 3,
        summary: SummaryWriter::new(),
        json: JsonWriter::default(),
        stats: Stats::default(),
        number: 0,
    };
    let mut correlators: HashMap<u64, Correlator> = HashMap::new();
    let mut verdict = Verdict::Rejected;
    let mut events = 0usize;
    while let Some(event) = reader.next() {
        events += 1;
        if events > MAX_EVENTS {
            return Err(Violation::new(
                CHECK,
                format!("more than {MAX_EVENTS} events from {} bytes", file.len()),
            ));
        }
        let frame = match event {
            Ok(CaptureEvent::Frame(frame)) => frame,
            Ok(CaptureEvent::StreamClosed { stream, .. }) => {
                decoder.close_stream(stream.index);
                continue;
            }
            _ => continue,
        };
        if frame.bytes.len() > max_frame {
            return Err(Violation::new(
                CHECK,
                format!(
                    "frame of {} bytes above the maximum {max_frame}",
                    frame.bytes.len()
                ),
            ));
        }
        let d = decoder.decode(&frame);
        if d.is_request() && !d.expects_response {
            if let Some(id) = d.correlation_id {
                reader.forget_response(&frame.stream, id);
            }
        }
        // Writing to a sink cannot fail.
        let _ = out.frame(&d);
        let correlator = correlators.entry(frame.stream.index).or_default();
        let outcome = if frame.direction.is_request() {
            correlator.record_request_frame(&frame.bytes);
            check_request(&frame.bytes)
        } else {
            match frame.correlation_id().and_then(|id| correlator.take(id)) {
                Some(p) => check_response(&frame.bytes, p.api_key, p.version),
                None => Ok(Verdict::Rejected),
            }
        };
        if outcome? != Verdict::Rejected {
            verdict = Verdict::Accepted;
        }
    }
    let _ = out.stats.write(&mut io::sink());
    Ok(verdict)
}
