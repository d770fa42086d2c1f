//! Decodes one benchmark message many times with our codec or the crates.io `kafka-protocol`
//! crate, for instruction counting under `valgrind --tool=callgrind`, which gives the same count on
//! every run whatever else the machine is doing (wall-clock benchmarks on a shared 2-core machine
//! do not). `tools/bench-codec.sh` runs it for every message and both codecs.
//!
//! Usage: `instruction_count <ours|upstream> <metadata|produce|fetch> <iterations> [encode]`

use bytes::Bytes;
use kafka_protocol::codec::{Reader, Uuid};
use kafka_protocol::generated::{fetch_response, metadata_response, produce_request};
use kafka_protocol::generated::{FetchResponse, MetadataResponse, ProduceRequest};
use kafka_protocol::message::Message;
use upstream_kafka_protocol::protocol::{Decodable as _, Encodable as _};

fn metadata() -> Bytes {
    let topics = (0..10)
        .map(|t| metadata_response::MetadataResponseTopic {
            name: Some(format!("orders-events-{t}")),
            topic_id: Uuid::from_halves(t, t * 7 + 1),
            partitions: (0..100)
                .map(|p| metadata_response::MetadataResponsePartition {
                    partition_index: p,
                    leader_id: p % 3 + 1,
                    leader_epoch: 17,
                    replica_nodes: vec![1, 2, 3],
                    isr_nodes: vec![1, 2, 3],
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
                topic: format!("events-{t}"),
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
        [_, c, m, i] => (c, m, i, false),
        [_, c, m, i, e] if e == "encode" => (c, m, i, true),
        _ => {
            eprintln!(
                "usage: instruction_count <ours|upstream> <metadata|produce|fetch> <iterations> [encode]"
            );
            std::process::exit(2);
        }
    };
    let iterations: usize = iterations.parse().expect("iterations");
    let (bytes, version) = match message.as_str() {
        "metadata" => (metadata(), 12),
        "produce" => (produce(), 9),
        "fetch" => (fetch(), 12),
        other => panic!("unknown message {other}"),
    };
    if encode {
        encode_loop(codec, message, &bytes, version, iterations);
        return;
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
