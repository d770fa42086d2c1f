//! Replays every captured fixture of `fixtures/manifest.json`: real clients (Java 4.3 and 2.8,
//! librdkafka, kcat, franz-go, kafka-python) talking to a real Kafka 4.3.1 broker, recorded by
//! `tools/capture/capture.sh`.
//!
//! For every capture: read the pcapng, reassemble each TCP connection to the broker port in
//! sequence order, split both directions into frames with [`FrameDecoder`], decode every request
//! completely as the broker reads it ([`frame::decode_request_frame`]) and re-encode it to the
//! same bytes, pair every response with its request by correlation id ([`Correlator`]), decode
//! it completely and re-encode it to the same bytes. What the broker tolerates is tolerated and
//! tabulated: an ApiVersions request above the known versions (header decoded, body kept as
//! bytes, answer read as v0, KIP-511) and bytes after a complete request body (kept and written
//! back).
//! Every record batch of Produce requests and Fetch / ShareFetch responses is decoded too: its
//! header re-encodes to the same bytes, its records decode, and rebuilt from those records it
//! comes out identical (uncompressed) or with identical records (compressed: codecs may compress
//! differently). Frame counts must equal the manifest's reference counts, which come from the
//! independent counter `tools/capture/count_frames.py`.
//!
//! Frames the codec cannot handle yet are listed in [`KNOWN_GAPS`] with what the real client sent;
//! they are reported on every run, the test fails on any other failure, and on a listed gap that no
//! longer occurs (so the list shrinks as the codec is fixed). `FIXTURES_STRICT=1` fails on listed
//! gaps too.
//!
//! The (api key, version) pairs seen in requests are tabulated in `fixtures/COVERAGE.md`:
//! `UPDATE_COVERAGE=1 cargo test -p kafka-protocol@0.1.0 --test integration fixtures` rewrites it,
//! otherwise the test fails when the committed table is not current.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use kafka_protocol::frame::{self, Correlator, FrameDecoder, RequestFrameBody};
use kafka_protocol::record::{
    Batch, Compression, DecodeOptions, Record, RecordBatch, RecordBatchBuilder, Records,
};
use kafka_protocol::{ApiKey, RequestBody, ResponseBody};
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapNGSlice};

/// Known codec gaps found by the fixtures: (capture file name prefix, substring of the failure,
/// what happens on the wire). Each must match at least one failure.
/// Empty since franz-go's ApiVersions v5 (KIP-511) and librdkafka's trailing request bytes are
/// read as the broker reads them (see `frame::decode_request_frame`).
const KNOWN_GAPS: &[(&str, &str, &str)] = &[];

/// `fixtures/`, or `FIXTURES_DIR` (e.g. a fresh `CAPTURE_OUT` of tools/capture/capture.sh).
fn fixtures_dir() -> PathBuf {
    std::env::var_os("FIXTURES_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures"),
        PathBuf::from,
    )
}

// ------------------------------------------------------------------ manifest

struct Entry {
    file: String,
    client: String,
    client_version: String,
    scenario: String,
    port: u16,
    request_frames: usize,
    response_frames: usize,
    requests: BTreeMap<(i16, i16), usize>,
    responses: BTreeMap<(i16, i16), usize>,
    unanswered: BTreeMap<(i16, i16), usize>,
}

fn counts(v: &serde_json::Value) -> BTreeMap<(i16, i16), usize> {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            (
                (
                    c["api_key"].as_i64().expect("api_key") as i16,
                    c["api_version"].as_i64().expect("api_version") as i16,
                ),
                c["count"].as_u64().expect("count") as usize,
            )
        })
        .collect()
}

fn manifest() -> Vec<Entry> {
    let path = fixtures_dir().join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&text).expect("manifest.json is JSON");
    doc["captures"]
        .as_array()
        .expect("captures")
        .iter()
        .map(|e| Entry {
            file: e["file"].as_str().expect("file").to_owned(),
            client: e["client"].as_str().expect("client").to_owned(),
            client_version: e["client_version"]
                .as_str()
                .expect("client_version")
                .to_owned(),
            scenario: e["scenario"].as_str().expect("scenario").to_owned(),
            port: e["broker_port"].as_u64().expect("broker_port") as u16,
            request_frames: e["request_frames"].as_u64().expect("request_frames") as usize,
            response_frames: e["response_frames"].as_u64().expect("response_frames") as usize,
            requests: counts(&e["requests"]),
            responses: counts(&e["responses"]),
            unanswered: counts(&e["unanswered_requests"]),
        })
        .collect()
}

// ------------------------------------------------------------------ packets

/// A TCP segment between a client and the broker.
struct Segment {
    /// (client address, client port): the connection.
    conn: (Vec<u8>, u16),
    to_broker: bool,
    seq: u32,
    syn: bool,
    payload: Vec<u8>,
}

/// The TCP segments of a pcapng capture (Ethernet, as Linux loopback captures are, or raw IP).
fn segments(data: &[u8], port: u16) -> Vec<Segment> {
    let mut linktypes = Vec::new();
    let mut out = Vec::new();
    for block in PcapNGSlice::from_slice(data).expect("pcapng file") {
        let block = block.expect("pcapng block");
        let (if_id, pkt) = match block {
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                linktypes.push(idb.linktype.0);
                continue;
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                linktypes.clear();
                continue;
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => (
                epb.if_id as usize,
                &epb.data[..(epb.caplen as usize).min(epb.data.len())],
            ),
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                (0, &spb.data[..(spb.origlen as usize).min(spb.data.len())])
            }
            _ => continue,
        };
        let ip = match linktypes[if_id] {
            1 => {
                // Ethernet: the loopback interface has zero MAC addresses and a real EtherType.
                let ethertype = u16::from_be_bytes([pkt[12], pkt[13]]);
                assert!(
                    ethertype == 0x0800 || ethertype == 0x86dd,
                    "EtherType {ethertype:#x}"
                );
                &pkt[14..]
            }
            101 | 228 | 229 => pkt,
            other => panic!("unsupported link type {other}"),
        };
        let (src, dst, tcp) = match ip[0] >> 4 {
            4 => {
                let ihl = usize::from(ip[0] & 0x0f) * 4;
                let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
                if ip[9] != 6 {
                    continue;
                }
                (ip[12..16].to_vec(), ip[16..20].to_vec(), &ip[ihl..total])
            }
            6 => {
                let len = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
                if ip[6] != 6 {
                    continue;
                }
                (ip[8..24].to_vec(), ip[24..40].to_vec(), &ip[40..40 + len])
            }
            v => panic!("IP version {v}"),
        };
        let sport = u16::from_be_bytes([tcp[0], tcp[1]]);
        let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
        let seq = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
        let data_offset = usize::from(tcp[12] >> 4) * 4;
        let syn = tcp[13] & 0x02 != 0;
        let payload = tcp[data_offset..].to_vec();
        let (conn, to_broker) = if dport == port {
            ((src, sport), true)
        } else if sport == port {
            ((dst, dport), false)
        } else {
            continue;
        };
        out.push(Segment {
            conn,
            to_broker,
            seq,
            syn,
            payload,
        });
    }
    out
}

/// Minimal in-order reassembly of one direction: retransmitted bytes are dropped, segments that
/// arrive early wait for the gap to fill.
#[derive(Default)]
struct Reassembler {
    next: Option<u32>,
    early: BTreeMap<u32, Vec<u8>>,
    buf: BytesMut,
}

impl Reassembler {
    fn push(&mut self, seq: u32, syn: bool, payload: &[u8]) {
        let mut seq = seq;
        if syn {
            seq = seq.wrapping_add(1);
            self.next = Some(seq);
        }
        if payload.is_empty() {
            return;
        }
        // A connection opened before the capture started begins at its first segment.
        let next = *self.next.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next);
        if ahead != 0 && ahead < 0x8000_0000 {
            self.early.insert(seq, payload.to_vec());
            return;
        }
        let skip = next.wrapping_sub(seq) as usize; // retransmitted prefix
        if skip < payload.len() {
            self.buf.extend_from_slice(&payload[skip..]);
            self.next = Some(next.wrapping_add((payload.len() - skip) as u32));
        }
        while let Some((&s, _)) = self.early.iter().find(|(&s, _)| {
            let a = s.wrapping_sub(self.next.unwrap_or(s));
            a == 0 || a >= 0x8000_0000
        }) {
            let p = self.early.remove(&s).expect("present");
            self.push(s, false, &p);
        }
    }
}

// ------------------------------------------------------------------ replay

#[derive(Default)]
struct Conn {
    up: Reassembler,
    down: Reassembler,
    correlator: Correlator,
    /// The same requests as the correlator, to list those never answered.
    waiting: HashMap<i32, (i16, i16)>,
}

#[derive(Default)]
struct Report {
    requests: BTreeMap<(i16, i16), usize>,
    responses: BTreeMap<(i16, i16), usize>,
    /// Requests without a response: Produce with acks=0, and requests still in flight when the
    /// client closed the connection.
    unanswered: BTreeMap<(i16, i16), usize>,
    /// Requests that did not decode or re-encode.
    bad_requests: BTreeMap<(i16, i16), usize>,
    /// Requests read only thanks to the broker's tolerances, by (key, version) and which one.
    tolerated: BTreeMap<((i16, i16), &'static str), usize>,
    /// (key, version) pairs sent by the broker to itself (inter-broker requests on its own listener).
    internal: BTreeSet<(i16, i16)>,
    /// (key, version) pairs sent by the capture's client.
    external: BTreeSet<(i16, i16)>,
    request_frames: usize,
    response_frames: usize,
    /// Produce with acks=0: no response expected.
    acks0: usize,
    batches: BTreeMap<&'static str, usize>,
    records: usize,
    failures: Vec<String>,
}

fn hex_head(b: &[u8], n: usize) -> String {
    b.iter()
        .take(n)
        .map(|x| format!("{x:02x}"))
        .collect::<String>()
        + if b.len() > n { "…" } else { "" }
}

fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    format!(
        "lengths {} vs {}, first difference at byte {at}: original {} re-encoded {}",
        a.len(),
        b.len(),
        hex_head(&a[at.min(a.len())..], 16),
        hex_head(&b[at.min(b.len())..], 16)
    )
}

fn codec_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => "zstd",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

fn same_records(a: &[Record], b: &[Record]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.offset == y.offset
                && x.timestamp == y.timestamp
                && x.timestamp_delta == y.timestamp_delta
                && x.key == y.key
                && x.value == y.value
                && x.headers == y.headers
        })
}

/// Decodes every batch of a `records` field: header round trip, records, rebuild.
fn check_records(data: &Bytes, what: &str, report: &mut Report) {
    let opts = DecodeOptions::default();
    let records = match Records::decode(data.clone(), &opts) {
        Ok(r) => r,
        Err(e) => {
            report
                .failures
                .push(format!("{what}: records do not decode: {e}"));
            return;
        }
    };
    for (i, batch) in records.batches.iter().enumerate() {
        let what = format!("{what}, batch {i}");
        let Batch::V2(b) = batch else {
            // magic 0/1 (not seen from a 4.x broker): the records must decode
            *report.batches.entry("legacy").or_default() += 1;
            match batch.records().map(|it| it.collect::<Result<Vec<_>, _>>()) {
                Ok(Ok(rs)) => report.records += rs.len(),
                Ok(Err(e)) | Err(e) => report.failures.push(format!("{what}: legacy records: {e}")),
            }
            continue;
        };
        *report
            .batches
            .entry(codec_name(b.compression()))
            .or_default() += 1;
        let mut out = BytesMut::new();
        b.encode(&mut out);
        if out[..] != b.as_bytes()[..] {
            report.failures.push(format!(
                "{what}: batch does not re-encode: {}",
                first_difference(b.as_bytes(), &out)
            ));
        }
        let recs = match b.records().map(|it| it.collect::<Result<Vec<_>, _>>()) {
            Ok(Ok(r)) => r,
            Ok(Err(e)) | Err(e) => {
                report.failures.push(format!("{what}: records: {e}"));
                continue;
            }
        };
        if recs.len() != b.records_count as usize {
            report.failures.push(format!(
                "{what}: {} records decoded, batch says {}",
                recs.len(),
                b.records_count
            ));
        }
        report.records += recs.len();
        if b.is_control() {
            match b.control_records(&opts) {
                Ok(it) => {
                    for c in it {
                        if let Err(e) = c {
                            report.failures.push(format!("{what}: control record: {e}"));
                        }
                    }
                }
                Err(e) => report
                    .failures
                    .push(format!("{what}: control records: {e}")),
            }
            continue;
        }
        // Rebuild the batch from its records.
        let mut builder = RecordBatchBuilder::for_batch(b);
        for r in &recs {
            if let Err(e) = builder.append_record(r) {
                report.failures.push(format!("{what}: rebuild: {e}"));
                continue;
            }
        }
        let rebuilt = match builder.build() {
            Ok(x) => x,
            Err(e) => {
                report.failures.push(format!("{what}: rebuild: {e}"));
                continue;
            }
        };
        if b.compression() == Compression::None {
            if rebuilt[..] != b.as_bytes()[..] {
                report.failures.push(format!(
                    "{what}: uncompressed batch rebuilt from its records differs: {}",
                    first_difference(b.as_bytes(), &rebuilt)
                ));
            }
        } else {
            let again = RecordBatch::decode(rebuilt, &opts)
                .and_then(|x| x.records().and_then(|it| it.collect::<Result<Vec<_>, _>>()));
            match again {
                Ok(r2) if same_records(&recs, &r2) => {}
                Ok(_) => report.failures.push(format!(
                    "{what}: {} batch rebuilt from its records has different records",
                    codec_name(b.compression())
                )),
                Err(e) => report
                    .failures
                    .push(format!("{what}: rebuilt batch does not decode: {e}")),
            }
        }
    }
}

fn records_of_request(body: &RequestBody) -> Vec<(String, Bytes)> {
    let mut out = Vec::new();
    if let RequestBody::Produce(p) = body {
        for t in &p.topic_data {
            for part in &t.partition_data {
                if let Some(r) = &part.records {
                    out.push((format!("{}-{}", t.name, part.index), r.clone()));
                }
            }
        }
    }
    out
}

fn records_of_response(body: &ResponseBody) -> Vec<(String, Bytes)> {
    let mut out = Vec::new();
    match body {
        ResponseBody::Fetch(f) => {
            for t in &f.responses {
                for part in &t.partitions {
                    if let Some(r) = &part.records {
                        out.push((
                            format!("{}{}-{}", t.topic, t.topic_id, part.partition_index),
                            r.clone(),
                        ));
                    }
                }
            }
        }
        ResponseBody::ShareFetch(f) => {
            for t in &f.responses {
                for part in &t.partitions {
                    if let Some(r) = &part.records {
                        out.push((
                            format!("{}-{}", t.topic_id, part.partition_index),
                            r.clone(),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// Client ids of the requests a single-node broker sends to its own listener: transaction markers,
/// KIP-890 AddPartitionsToTxn verification, the share-group state persister, partition metadata.
const BROKER_CLIENT_IDS: &[&str] = &[
    "broker-",
    "AddPartitionsManager-",
    "Persister-",
    "NetworkPartitionMetadataClient-",
];

fn api(key: i16, version: i16) -> String {
    format!(
        "{}({key}) v{version}",
        ApiKey(key).name().unwrap_or("Unknown")
    )
}

fn on_request(frame: Bytes, conn: &mut Conn, where_: &str, report: &mut Report) {
    report.request_frames += 1;
    let (key, version) = frame::peek_request_key(&frame)
        .map(|(k, v)| (k.0, v))
        .unwrap_or((-1, -1));
    *report.requests.entry((key, version)).or_default() += 1;
    let what = format!("{where_} request {}", api(key, version));
    let decoded = match frame::decode_request_frame(&frame) {
        Ok(x) => x,
        Err(e) => {
            *report.bad_requests.entry((key, version)).or_default() += 1;
            report.failures.push(format!(
                "{what}: does not decode: {e} (frame of {} bytes: {})",
                frame.len(),
                hex_head(&frame, 48)
            ));
            // still expect its response, so that pairing goes on
            if conn.correlator.record_request_frame(&frame).is_some() {
                let corr = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                conn.waiting.insert(corr, (key, version));
            }
            return;
        }
    };
    let header = &decoded.header;
    let what = format!("{what} correlation id {}", header.correlation_id);
    let internal = header
        .client_id
        .as_deref()
        .is_some_and(|c| BROKER_CLIENT_IDS.iter().any(|p| c.starts_with(p)));
    if internal {
        report.internal.insert((key, version));
    } else {
        report.external.insert((key, version));
    }
    if !decoded.trailing.is_empty() {
        *report
            .tolerated
            .entry((
                (key, version),
                "bytes after the body (ignored by the broker), kept and written back",
            ))
            .or_default() += 1;
    }
    let body = match &decoded.body {
        RequestFrameBody::Decoded(body) => Some(body),
        RequestFrameBody::UnsupportedVersion(_) if ApiKey(key) == ApiKey::API_VERSIONS => {
            *report
                .tolerated
                .entry((
                    (key, version),
                    "above the known versions: body kept as bytes, answer read as v0 (KIP-511)",
                ))
                .or_default() += 1;
            None
        }
        RequestFrameBody::UnsupportedVersion(raw) => {
            // The broker would fail to parse it and close the connection.
            *report.bad_requests.entry((key, version)).or_default() += 1;
            report.failures.push(format!(
                "{what}: version above the known range, body of {} bytes not decoded",
                raw.len()
            ));
            None
        }
    };
    let mut out = BytesMut::new();
    match frame::encode_request_frame(&mut out, &decoded) {
        Ok(()) if out[4..] == frame[..] => {}
        Ok(()) => {
            *report.bad_requests.entry((key, version)).or_default() += 1;
            report.failures.push(format!(
                "{what}: re-encodes differently: {}",
                first_difference(&frame, &out[4..])
            ));
        }
        Err(e) => {
            *report.bad_requests.entry((key, version)).or_default() += 1;
            report
                .failures
                .push(format!("{what}: does not re-encode: {e}"));
        }
    }
    if let Some(body) = body {
        for (tp, records) in records_of_request(body) {
            check_records(&records, &format!("{what} {tp}"), report);
        }
    }
    if matches!(body, Some(RequestBody::Produce(p)) if p.acks == 0) {
        report.acks0 += 1;
        *report.unanswered.entry((key, version)).or_default() += 1;
    } else {
        conn.correlator
            .record_request(header.correlation_id, ApiKey(key), version);
        conn.waiting.insert(header.correlation_id, (key, version));
    }
}

fn on_response(frame: Bytes, conn: &mut Conn, where_: &str, report: &mut Report) {
    report.response_frames += 1;
    let corr = frame::peek_correlation_id(&frame);
    if let Some(c) = corr {
        conn.waiting.remove(&c);
    }
    let Some(pending) = corr.and_then(|c| conn.correlator.take(c)) else {
        report.failures.push(format!(
            "{where_} response with correlation id {corr:?} pairs with no request"
        ));
        return;
    };
    let (key, version) = (pending.api_key.0, pending.version);
    *report.responses.entry((key, version)).or_default() += 1;
    let what = format!(
        "{where_} response {} correlation id {}",
        api(key, version),
        corr.unwrap_or(-1)
    );
    // `version` is the request's; the codec reads the KIP-511 answer to an ApiVersions request
    // above the known versions in the v0 layout (`frame::response_version`).
    let (header, body) = match frame::decode_response(&frame, pending.api_key, version) {
        Ok(x) => x,
        Err(e) => {
            report.failures.push(format!(
                "{what}: does not decode: {e} (frame of {} bytes: {})",
                frame.len(),
                hex_head(&frame, 48)
            ));
            return;
        }
    };
    let mut out = BytesMut::new();
    match frame::encode_response_body(&mut out, &header, pending.api_key, version, &body) {
        Ok(()) if out[4..] == frame[..] => {}
        Ok(()) => report.failures.push(format!(
            "{what}: re-encodes differently: {}",
            first_difference(&frame, &out[4..])
        )),
        Err(e) => report
            .failures
            .push(format!("{what}: does not re-encode: {e}")),
    }
    for (tp, records) in records_of_response(&body) {
        check_records(&records, &format!("{what} {tp}"), report);
    }
}

fn replay(entry: &Entry) -> Report {
    let path = fixtures_dir().join(&entry.file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let decoder = FrameDecoder::default();
    let mut conns: HashMap<(Vec<u8>, u16), Conn> = HashMap::new();
    let mut report = Report::default();
    // Packet order keeps every request ahead of its response.
    for seg in segments(&data, entry.port) {
        let where_ = format!("{} [client port {}]", entry.file, seg.conn.1);
        let conn = conns.entry(seg.conn.clone()).or_default();
        let dir = if seg.to_broker {
            &mut conn.up
        } else {
            &mut conn.down
        };
        dir.push(seg.seq, seg.syn, &seg.payload);
        loop {
            let dir = if seg.to_broker {
                &mut conn.up
            } else {
                &mut conn.down
            };
            let frame = match decoder.decode(&mut dir.buf) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => {
                    report
                        .failures
                        .push(format!("{where_}: bad frame size: {e}"));
                    dir.buf.clear();
                    break;
                }
            };
            if seg.to_broker {
                on_request(frame, conn, &where_, &mut report);
            } else {
                on_response(frame, conn, &where_, &mut report);
            }
        }
    }
    for ((_, port), conn) in &conns {
        let where_ = format!("{} [client port {port}]", entry.file);
        if !conn.up.buf.is_empty() || !conn.down.buf.is_empty() {
            report.failures.push(format!(
                "{where_}: {} / {} bytes left after the last whole request / response frame",
                conn.up.buf.len(),
                conn.down.buf.len()
            ));
        }
        if !conn.up.early.is_empty() || !conn.down.early.is_empty() {
            report
                .failures
                .push(format!("{where_}: segments after a gap in the stream"));
        }
        // In flight when the connection closed: counted, and compared with the manifest.
        for kv in conn.waiting.values() {
            *report.unanswered.entry(*kv).or_default() += 1;
        }
        if conn.correlator.outstanding() != conn.waiting.len() {
            report.failures.push(format!(
                "{where_}: the correlator holds {} request(s), {} expected",
                conn.correlator.outstanding(),
                conn.waiting.len()
            ));
        }
    }
    report
}

// ------------------------------------------------------------------ coverage table

fn coverage(entries: &[Entry], reports: &[Report]) -> String {
    // (key, version) -> (requests, clients)
    let mut seen: BTreeMap<(i16, i16), (usize, BTreeSet<&str>)> = BTreeMap::new();
    let mut bad: BTreeMap<(i16, i16), usize> = BTreeMap::new();
    // ((key, version), tolerance) -> (requests, clients)
    type Tolerated<'a> = BTreeMap<((i16, i16), &'a str), (usize, BTreeSet<&'a str>)>;
    let mut tolerated = Tolerated::new();
    let mut batches: BTreeMap<&str, usize> = BTreeMap::new();
    let (mut records, mut reqs, mut resps) = (0, 0, 0);
    for (e, r) in entries.iter().zip(reports) {
        for (&kv, &n) in &r.requests {
            let s = seen.entry(kv).or_default();
            s.0 += n;
            // a frame that did not decode is the client's
            if r.external.contains(&kv) || !r.internal.contains(&kv) {
                s.1.insert(e.client.as_str());
            }
            if r.internal.contains(&kv) {
                s.1.insert("broker (internal)");
            }
        }
        for (&k, &n) in &r.batches {
            *batches.entry(k).or_default() += n;
        }
        for (&kv, &n) in &r.bad_requests {
            *bad.entry(kv).or_default() += n;
        }
        for (&k, &n) in &r.tolerated {
            let t = tolerated.entry(k).or_default();
            t.0 += n;
            t.1.insert(e.client.as_str());
        }
        records += r.records;
        reqs += r.request_frames;
        resps += r.response_frames;
    }
    let mut s = String::new();
    s.push_str("# Fixture coverage\n\n");
    s.push_str(
        "Generated by `kafka-protocol/tests/integration/fixtures.rs` from the captures in \
         `fixtures/manifest.json`\n(`UPDATE_COVERAGE=1 cargo test -p kafka-protocol@0.1.0 --test integration fixtures`).\n\
         Requests and their responses decode completely and re-encode to the same bytes, except those\n\
         counted under \"not decoded\": known codec gaps, listed in `KNOWN_GAPS` of that test.\n\n",
    );
    let _ = writeln!(
        s,
        "{} captures, {reqs} request frames, {resps} response frames, {} (api key, version) pairs in requests, \
         {} API keys.\n",
        entries.len(),
        seen.len(),
        seen.keys().map(|k| k.0).collect::<BTreeSet<_>>().len()
    );
    s.push_str("## Clients\n\n| client | version | captures |\n| --- | --- | --- |\n");
    let mut clients: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for e in entries {
        let sc = clients
            .entry((e.client.as_str(), e.client_version.as_str()))
            .or_default();
        if !sc.contains(&e.scenario.as_str()) {
            sc.push(e.scenario.as_str());
        }
    }
    for ((c, v), sc) in &clients {
        let _ = writeln!(s, "| {c} | {v} | {} |", sc.join(", "));
    }
    s.push_str(
        "\n\"broker (internal)\": requests the single-node broker sends to its own listener during a \
         capture (WriteTxnMarkers, AddPartitionsToTxn verification, share-group state).\n",
    );
    s.push_str("\n## Requests by API key and version\n\n| key | API | version | requests | not decoded | clients |\n| ---: | --- | ---: | ---: | ---: | --- |\n");
    for (&(k, v), (n, cl)) in &seen {
        let _ = writeln!(
            s,
            "| {k} | {} | {v} | {n} | {} | {} |",
            ApiKey(k).name().unwrap_or("Unknown"),
            bad.get(&(k, v)).map_or(String::new(), ToString::to_string),
            cl.iter().copied().collect::<Vec<_>>().join(", ")
        );
    }
    s.push_str(
        "\n## Read as the broker reads them\n\nRequests that decode only with the Java broker's \
         tolerances (`frame::decode_request_frame`), and still re-encode to the same bytes.\n\n\
         | key | API | version | requests | what | clients |\n| ---: | --- | ---: | ---: | --- | --- |\n",
    );
    for (&((k, v), what), (n, cl)) in &tolerated {
        let _ = writeln!(
            s,
            "| {k} | {} | {v} | {n} | {what} | {} |",
            ApiKey(k).name().unwrap_or("Unknown"),
            cl.iter().copied().collect::<Vec<_>>().join(", ")
        );
    }
    s.push_str("\n## Record batches (Produce requests, Fetch and ShareFetch responses)\n\n| codec | batches |\n| --- | ---: |\n");
    for (k, n) in &batches {
        let _ = writeln!(s, "| {k} | {n} |");
    }
    let _ = writeln!(s, "\n{records} records in those batches.");
    s
}

// ------------------------------------------------------------------ the test

#[test]
fn every_fixture_replays() {
    let entries = manifest();
    assert!(
        !entries.is_empty(),
        "fixtures/manifest.json lists no captures"
    );
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    for e in &entries {
        let r = replay(e);
        let mut problems = r.failures.clone();
        if r.requests != e.requests {
            problems.push(format!(
                "{}: request counts differ from the manifest: decoded {:?}, manifest {:?}",
                e.file, r.requests, e.requests
            ));
        }
        if r.responses != e.responses {
            problems.push(format!(
                "{}: response counts differ from the manifest: decoded {:?}, manifest {:?}",
                e.file, r.responses, e.responses
            ));
        }
        if r.unanswered != e.unanswered {
            problems.push(format!(
                "{}: unanswered requests differ from the manifest: decoded {:?}, manifest {:?}",
                e.file, r.unanswered, e.unanswered
            ));
        }
        if r.request_frames != e.request_frames || r.response_frames != e.response_frames {
            problems.push(format!(
                "{}: {} request / {} response frames, manifest says {} / {}",
                e.file, r.request_frames, r.response_frames, e.request_frames, e.response_frames
            ));
        }
        eprintln!(
            "{:45} {:5} requests {:5} responses {:4} batches {:5} records{}{}",
            e.file,
            r.request_frames,
            r.response_frames,
            r.batches.values().sum::<usize>(),
            r.records,
            if r.acks0 > 0 {
                format!(", {} acks=0 produce", r.acks0)
            } else {
                String::new()
            },
            if problems.is_empty() {
                String::new()
            } else {
                format!(", {} PROBLEMS", problems.len())
            }
        );
        failures.extend(problems);
        reports.push(r);
    }
    let table = coverage(&entries, &reports);
    let path = fixtures_dir().join("COVERAGE.md");
    if std::env::var_os("UPDATE_COVERAGE").is_some_and(|v| v == "1") {
        std::fs::write(&path, &table).expect("write fixtures/COVERAGE.md");
    } else {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != table {
            failures.push(
                "fixtures/COVERAGE.md is not current: run UPDATE_COVERAGE=1 cargo test -p kafka-protocol@0.1.0 \
                 --test integration fixtures"
                    .to_owned(),
            );
        }
    }
    // Split off the known gaps.
    let strict = std::env::var_os("FIXTURES_STRICT").is_some_and(|v| v == "1");
    let mut hits = vec![0usize; KNOWN_GAPS.len()];
    let mut unknown = Vec::new();
    for f in failures {
        match KNOWN_GAPS
            .iter()
            .position(|(file, what, _)| f.starts_with(file) && f.contains(what))
        {
            Some(i) => {
                hits[i] += 1;
                if hits[i] <= 2 {
                    eprintln!("KNOWN GAP {f}");
                }
            }
            None => unknown.push(f),
        }
    }
    for ((file, what, why), n) in KNOWN_GAPS.iter().zip(&hits) {
        eprintln!("known gap: {n} failure(s) in {file}* matching \"{what}\": {why}");
        if *n == 0 {
            unknown.push(format!(
                "known gap \"{what}\" in {file}* no longer occurs: remove it from KNOWN_GAPS"
            ));
        } else if strict {
            unknown.push(format!(
                "{n} failure(s) of known gap \"{what}\" (FIXTURES_STRICT=1)"
            ));
        }
    }
    if !unknown.is_empty() {
        for f in unknown.iter().take(200) {
            eprintln!("FAIL {f}");
        }
        panic!(
            "{} fixture failure(s); first: {}",
            unknown.len(),
            unknown[0]
        );
    }
}
