//! Decode and encode throughput of whole messages, ours against the crates.io `kafka-protocol`
//! crate on the same bytes in the same process: a Metadata response with 1,000 partitions, a
//! Produce request and a Fetch response.
//!
//! Encode is measured twice for ours: `encode` into one contiguous buffer (what upstream does),
//! and `encode_chunked` into a chunked [`Writer`] that references long `records` fields instead of
//! copying them (for a vectored write; upstream has no such mode).
//!
//! Run: `cargo bench -p kafka-protocol@0.1.0 --bench messages`.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use kafka_protocol::codec::{Reader, Uuid, Writer, DEFAULT_MIN_REFERENCE};
use kafka_protocol::generated::{fetch_response, metadata_response, produce_request};
use kafka_protocol::generated::{FetchResponse, MetadataResponse, ProduceRequest};
use kafka_protocol::message::Message;
use upstream_kafka_protocol::protocol::{Decodable as _, Encodable as _};

const METADATA_VERSION: i16 = 12;
const PRODUCE_VERSION: i16 = 9;
const FETCH_VERSION: i16 = 12;

fn metadata_response() -> Bytes {
    let brokers = (1..=3)
        .map(|id| metadata_response::MetadataResponseBroker {
            node_id: id,
            host: format!("broker-{id}.kafka.internal").into(),
            port: 9092,
            rack: Some(format!("rack-{id}").into()),
            ..Default::default()
        })
        .collect();
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
                    offline_replicas: Default::default(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        })
        .collect();
    MetadataResponse {
        brokers,
        cluster_id: Some("kafka-rs-bench-cluster".into()),
        controller_id: 1,
        topics,
        ..Default::default()
    }
    .encode_to_bytes(METADATA_VERSION)
    .expect("encode")
}

fn records_blob(seed: u8) -> Bytes {
    Bytes::from(vec![seed; 16 * 1024])
}

fn produce_request() -> Bytes {
    ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topic_data: vec![produce_request::TopicProduceData {
            name: "orders".into(),
            partition_data: (0..10)
                .map(|p| produce_request::PartitionProduceData {
                    index: p,
                    records: Some(records_blob(p as u8)),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }],
        ..Default::default()
    }
    .encode_to_bytes(PRODUCE_VERSION)
    .expect("encode")
}

fn fetch_response() -> Bytes {
    FetchResponse {
        session_id: 42,
        responses: (0..5)
            .map(|t| fetch_response::FetchableTopicResponse {
                topic: format!("events-{t}").into(),
                partitions: (0..10)
                    .map(|p| fetch_response::PartitionData {
                        partition_index: p,
                        high_watermark: 1_000_000,
                        last_stable_offset: 1_000_000,
                        log_start_offset: 0,
                        records: Some(records_blob(p as u8)),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
    .encode_to_bytes(FETCH_VERSION)
    .expect("encode")
}

macro_rules! compare {
    ($c:expr, $label:literal, $bytes:expr, $version:expr, $ours:ty, $theirs:ty) => {{
        let bytes: Bytes = $bytes;
        // Both decoders must agree that the bytes are a valid message, and both encoders must
        // give the same bytes back, or the comparison would be meaningless.
        let ours = <$ours>::decode_exact(&bytes, $version).expect("ours decodes");
        let theirs = <$theirs>::decode(&mut bytes.clone(), $version).expect("upstream decodes");
        let mut w = BytesMut::new();
        theirs.encode(&mut w, $version).expect("upstream encodes");
        assert_eq!(&w[..], &bytes[..], "upstream re-encodes the same bytes");

        let mut g = $c.benchmark_group($label);
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("decode/ours", |b| {
            b.iter(|| {
                let mut r = Reader::from_bytes(&bytes);
                black_box(<$ours>::decode(&mut r, $version).expect("decode"))
            })
        });
        g.bench_function("decode/upstream", |b| {
            b.iter(|| {
                let mut buf = bytes.clone();
                black_box(<$theirs>::decode(&mut buf, $version).expect("decode"))
            })
        });
        let mut out = BytesMut::with_capacity(bytes.len() * 2);
        g.bench_function("encode/ours", |b| {
            b.iter(|| {
                out.clear();
                ours.encode(&mut out, $version).expect("encode");
                black_box(out.len())
            })
        });
        // Chunked: the same bytes as a list of chunks for a vectored write, long records
        // fields referenced instead of copied (upstream has no such mode).
        let mut chunked = Writer::chunked(DEFAULT_MIN_REFERENCE);
        ours.encode_to(&mut chunked, $version)
            .expect("chunked encode");
        assert_eq!(
            chunked.to_bytes(),
            bytes,
            "chunked encode gives the same bytes"
        );
        g.bench_function("encode_chunked/ours", |b| {
            b.iter(|| {
                chunked.reset();
                ours.encode_to(&mut chunked, $version).expect("encode");
                black_box(chunked.chunk_count())
            })
        });
        g.bench_function("encode/upstream", |b| {
            b.iter(|| {
                out.clear();
                theirs.encode(&mut out, $version).expect("encode");
                black_box(out.len())
            })
        });
        g.finish();
    }};
}

fn benches(c: &mut Criterion) {
    compare!(
        c,
        "metadata_response_1000_partitions",
        metadata_response(),
        METADATA_VERSION,
        MetadataResponse,
        upstream_kafka_protocol::messages::MetadataResponse
    );
    compare!(
        c,
        "produce_request_10x16KiB",
        produce_request(),
        PRODUCE_VERSION,
        ProduceRequest,
        upstream_kafka_protocol::messages::ProduceRequest
    );
    compare!(
        c,
        "fetch_response_50x16KiB",
        fetch_response(),
        FETCH_VERSION,
        FetchResponse,
        upstream_kafka_protocol::messages::FetchResponse
    );
}

criterion_group! {
    name = messages;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(messages);
