//! Decodes one benchmark message many times with our codec or the crates.io `kafka-protocol`
//! crate, for instruction counting under `valgrind --tool=callgrind`, which gives the same count on
//! every run whatever else the machine is doing (wall-clock benchmarks on a shared 2-core machine
//! do not). `tools/bench-codec.sh` runs it for every message and both codecs.
//!
//! `records`: decode and iterate 100,000 uncompressed records of 100 bytes (10 batches), as in
//! the `decode_iterate` benchmark of `benches/records.rs`.
//!
//! Usage: `instruction_count <ours|upstream> <metadata|produce|fetch|records> <iterations> [encode|encode-chunked]`
//! (`encode-chunked`: ours only, into a chunked `Writer` that references records fields.)

use bytes::Bytes;
use kafka_protocol::codec::{Reader, Uuid, Writer, DEFAULT_MIN_REFERENCE};
use kafka_protocol::generated::{fetch_response, metadata_response, produce_request};
use kafka_protocol::generated::{FetchResponse, MetadataResponse, ProduceRequest};
use kafka_protocol::message::Message;
use upstream_kafka_protocol::protocol::{Decodable as _, Encodable as _};

fn metadata() -> Bytes {
    let topics = (0..10)
        .map(|t| metadata_response::MetadataResponseTopic {
            name: Some(format!("orders-events-{t}").into()),
            topic_id: Uuid::from_halves(t, t * 7 + 1),
            partitions: (0..100)
                .map(|p| metadata_response::MetadataResponsePartition {
                    partition_index: p,
                    leader_id: p % 3 + 1,
                    leader_epoch: 17,
                    replica_nodes: vec![1, 2, 3].into(),
                    isr_nodes: vec![1, 2, 3].into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    MetadataResponse {
        topics,
        ..Default::default()
    }
    .encode_to_bytes(12)
    .expect("encode")
}

fn produce() -> Bytes {
    ProduceRequest {
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: "orders".into(),
            partition_data: (0..10)
                .map(|p| produce_request::PartitionProduceData {
                    index: p,
                    records: Some(Bytes::from(vec![p as u8; 16 * 1024])),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_bytes(9)
    .expect("encode")
}

fn fetch() -> Bytes {
    FetchResponse {
        session_id: 42,
        responses: (0..5)
            .map(|t| fetch_response::FetchableTopicResponse {
                topic: format!("events-{t}").into(),
                partitions: (0..10)
                    .map(|p| fetch_response::PartitionData {
                        partition_index: p,
                        high_watermark: 1_000_000,
                        records: Some(Bytes::from(vec![p as u8; 16 * 1024])),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .encode_to_bytes(12)
    .expect("encode")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (codec, message, iterations, encode) = match args.as_slice() {
        [_, c, m, i] => (c, m, i, None),
        [_, c, m, i, e] if e == "encode" || e == "encode-chunked" => (c, m, i, Some(e.as_str())),
        _ => {
            eprintln!(
                "usage: instruction_count <ours|upstream> <metadata|produce|fetch> <iterations> [encode|encode-chunked]"
            );
            std::process::exit(2);
        }
    };
    let iterations: usize = iterations.parse().expect("iterations");
    let (bytes, version) = match message.as_str() {
        "metadata" => (metadata(), 12),
        "produce" => (produce(), 9),
        "fetch" => (fetch(), 12),
        // Record batches, not a message: decode and iterate (no version).
        "records" => (records_blob(), 2),
        other => panic!("unknown message {other}"),
    };
    match encode {
        Some("encode") => return encode_loop(codec, message, &bytes, version, iterations),
        Some(_) => return encode_chunked_loop(message, &bytes, version, iterations),
        None => {}
    }
    for _ in 0..iterations {
        match (codec.as_str(), message.as_str()) {
            ("ours", "metadata") => {
                std::hint::black_box(
                    MetadataResponse::decode(&mut Reader::from_bytes(&bytes), version)
                        .expect("decode"),
                );
            }
            ("ours", "produce") => {
                std::hint::black_box(
                    ProduceRequest::decode(&mut Reader::from_bytes(&bytes), version)
                        .expect("decode"),
                );
            }
            ("ours", "fetch") => {
                std::hint::black_box(
                    FetchResponse::decode(&mut Reader::from_bytes(&bytes), version)
                        .expect("decode"),
                );
            }
            ("upstream", "metadata") => {
                std::hint::black_box(
                    upstream_kafka_protocol::messages::MetadataResponse::decode(
                        &mut bytes.clone(),
                        version,
                    )
                    .expect("decode"),
                );
            }
            ("upstream", "produce") => {
                std::hint::black_box(
                    upstream_kafka_protocol::messages::ProduceRequest::decode(
                        &mut bytes.clone(),
                        version,
                    )
                    .expect("decode"),
                );
            }
            ("upstream", "fetch") => {
                std::hint::black_box(
                    upstream_kafka_protocol::messages::FetchResponse::decode(
                        &mut bytes.clone(),
                        version,
                    )
                    .expect("decode"),
                );
            }
            ("ours", "records") => {
                std::hint::black_box(ours_records(&bytes));
            }
            ("upstream", "records") => {
                std::hint::black_box(upstream_records(&bytes));
            }
            other => panic!("unknown choice {other:?}"),
        }
    }
}

/// Encodes a decoded message `iterations` times into a reused buffer.
fn encode_loop(codec: &str, message: &str, bytes: &Bytes, version: i16, iterations: usize) {
    let mut out = bytes::BytesMut::with_capacity(bytes.len() * 2);
    macro_rules! run {
        ($value:expr) => {{
            let value = $value;
            for _ in 0..iterations {
                out.clear();
                value.encode(&mut out, version).expect("encode");
                std::hint::black_box(out.len());
            }
        }};
    }
    match (codec, message) {
        ("ours", "metadata") => {
            run!(MetadataResponse::decode(&mut Reader::from_bytes(bytes), version).expect("decode"))
        }
        ("ours", "produce") => {
            run!(ProduceRequest::decode(&mut Reader::from_bytes(bytes), version).expect("decode"))
        }
        ("ours", "fetch") => {
            run!(FetchResponse::decode(&mut Reader::from_bytes(bytes), version).expect("decode"))
        }
        ("upstream", "metadata") => {
            run!(upstream_kafka_protocol::messages::MetadataResponse::decode(
                &mut bytes.clone(),
                version
            )
            .expect("decode"))
        }
        ("upstream", "produce") => run!(upstream_kafka_protocol::messages::ProduceRequest::decode(
            &mut bytes.clone(),
            version
        )
        .expect("decode")),
        ("upstream", "fetch") => run!(upstream_kafka_protocol::messages::FetchResponse::decode(
            &mut bytes.clone(),
            version
        )
        .expect("decode")),
        other => panic!("unknown choice {other:?}"),
    }
}

/// Encodes a decoded message of ours `iterations` times into a reused chunked writer.
fn encode_chunked_loop(message: &str, bytes: &Bytes, version: i16, iterations: usize) {
    let mut w = Writer::chunked(DEFAULT_MIN_REFERENCE);
    macro_rules! run {
        ($ty:ty) => {{
            let value = <$ty>::decode(&mut Reader::from_bytes(bytes), version).expect("decode");
            for _ in 0..iterations {
                w.reset();
                value.encode_to(&mut w, version).expect("encode");
                std::hint::black_box(w.chunk_count());
            }
        }};
    }
    match message {
        "metadata" => run!(MetadataResponse),
        "produce" => run!(ProduceRequest),
        "fetch" => run!(FetchResponse),
        other => panic!("unknown message {other}"),
    }
}

/// 10 uncompressed v2 batches of 10,000 records with 100-byte values, null keys, no headers.
fn records_blob() -> Bytes {
    use kafka_protocol::record::{Compression, RecordBatchBuilder};
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.set_max_batch_size(usize::MAX).set_base_sequence(0);
    let mut blob = Vec::new();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for batch in 0..10 {
        b.set_base_offset(batch * 10_000);
        for j in 0..10_000 {
            let value: Vec<u8> = (0..100)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    b'a' + (s % 26) as u8
                })
                .collect();
            let _ = b
                .append(1_700_000_000_000 + j, None, Some(&value), &[])
                .expect("append");
        }
        blob.extend_from_slice(&b.build().expect("build"));
    }
    Bytes::from(blob)
}

/// Decodes every batch (CRC checked) and touches every record, as the records benchmark does.
/// Not inlined, so that a profile shows the decode apart from building the blob.
#[inline(never)]
fn ours_records(blob: &Bytes) -> u64 {
    use kafka_protocol::record::{BatchIter, DecodeOptions};
    let opts = DecodeOptions::default();
    let mut acc = 0u64;
    for batch in BatchIter::with_options(blob.clone(), opts) {
        for r in batch.expect("batch").records_with(&opts).expect("records") {
            let r = r.expect("record");
            acc = acc.wrapping_add(r.offset as u64 ^ r.timestamp as u64);
            acc = acc.wrapping_add(r.value.map_or(0, |v| v.len() as u64));
        }
    }
    acc
}

#[inline(never)]
fn upstream_records(blob: &Bytes) -> u64 {
    let mut buf = blob.clone();
    let mut acc = 0u64;
    for set in
        upstream_kafka_protocol::records::RecordBatchDecoder::decode_all(&mut buf).expect("decode")
    {
        for r in set.records {
            acc = acc.wrapping_add(r.offset as u64 ^ r.timestamp as u64);
            acc = acc.wrapping_add(r.value.map_or(0, |v| v.len() as u64));
        }
    }
    acc
}
