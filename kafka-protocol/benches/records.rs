//! Record batch benchmarks: decode-and-iterate and build of 1,000,000 records of 100 bytes
//! (100 batches of 10,000 records per iteration), uncompressed, lz4 and zstd, against the
//! crates.io `kafka-protocol` crate (dev-dependency `upstream-kafka-protocol`) on the same
//! batches in the same process; plus CRC32C and uncompressed decode in GB/s next to a plain
//! memcpy of the same bytes.
//!
//! Run: `cargo bench -p kafka-protocol@0.1.0 --bench records -- --warm-up-time 1 --measurement-time 3`
//! (`@0.1.0`: the upstream dev-dependency shares our package name). Results and the machine
//! are in docs/benchmarks.md.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kafka_protocol::record::{BatchIter, Compression, DecodeOptions, RecordBatchBuilder};
use upstream_kafka_protocol::records as up;

const RECORDS: usize = 1_000_000;
const PER_BATCH: usize = 10_000;
const VALUE_LEN: usize = 100;
const T0: i64 = 1_700_000_000_000;

/// 1,000,000 values of 100 bytes: words from a small vocabulary picked by a xorshift, so the
/// codecs compress them about as well as typical JSON-ish payloads (2-3x), not trivially.
fn values() -> Vec<Bytes> {
    const WORDS: [&str; 16] = [
        "order",
        "id",
        "\"status\":",
        "shipped",
        "42",
        "user",
        "{\"ts\":",
        "1700000000",
        "null",
        "true",
        "amount",
        "EUR",
        ",",
        "}",
        "item-",
        "warehouse",
    ];
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..RECORDS)
        .map(|_| {
            let mut v = Vec::with_capacity(VALUE_LEN + 16);
            while v.len() < VALUE_LEN {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                v.extend_from_slice(WORDS[(s % 16) as usize].as_bytes());
                if s & 0x30 == 0 {
                    v.extend_from_slice(&s.to_le_bytes()[..3]);
                }
            }
            v.truncate(VALUE_LEN);
            Bytes::from(v)
        })
        .collect()
}

fn ours_build(values: &[Bytes], codec: Compression, b: &mut RecordBatchBuilder) -> Vec<Bytes> {
    b.set_compression(codec)
        .set_max_batch_size(usize::MAX)
        .set_base_sequence(0);
    let mut out = Vec::with_capacity(RECORDS / PER_BATCH);
    for (i, chunk) in values.chunks(PER_BATCH).enumerate() {
        b.set_base_offset((i * PER_BATCH) as i64);
        for (j, v) in chunk.iter().enumerate() {
            let _ = b.append(T0 + j as i64, None, Some(v), &[]).unwrap();
        }
        out.push(b.build().unwrap());
    }
    out
}

fn up_codec(codec: Compression) -> up::Compression {
    match codec {
        Compression::None => up::Compression::None,
        Compression::Lz4 => up::Compression::Lz4,
        Compression::Zstd => up::Compression::Zstd,
        Compression::Gzip => up::Compression::Gzip,
        Compression::Snappy => up::Compression::Snappy,
    }
}

fn up_records(values: &[Bytes]) -> Vec<up::Record> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| up::Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: up::TimestampType::Creation,
            offset: i as i64,
            // Upstream starts a new batch when offset - sequence changes.
            sequence: (i % PER_BATCH) as i32,
            timestamp: T0 + (i % PER_BATCH) as i64,
            key: None,
            value: Some(v.clone()),
            headers: Default::default(),
        })
        .collect()
}

fn up_build(records: &[up::Record], codec: Compression) -> Vec<Bytes> {
    let opts = up::RecordEncodeOptions {
        version: 2,
        compression: up_codec(codec),
    };
    records
        .chunks(PER_BATCH)
        .map(|chunk| {
            let mut buf = BytesMut::new();
            up::RecordBatchEncoder::encode(&mut buf, chunk.iter(), &opts).unwrap();
            buf.freeze()
        })
        .collect()
}

/// Decodes every batch and touches every record: offset, timestamp and value length.
fn ours_decode(blob: &Bytes) -> u64 {
    let opts = DecodeOptions::default();
    let mut acc = 0u64;
    for batch in BatchIter::with_options(blob.clone(), opts) {
        for r in batch.unwrap().records_with(&opts).unwrap() {
            let r = r.unwrap();
            acc = acc.wrapping_add(r.offset as u64 ^ r.timestamp as u64);
            acc = acc.wrapping_add(r.value.map_or(0, |v| v.len() as u64));
        }
    }
    acc
}

fn up_decode(blob: &Bytes) -> u64 {
    let mut buf = blob.clone();
    let mut acc = 0u64;
    for set in up::RecordBatchDecoder::decode_all(&mut buf).unwrap() {
        for r in set.records {
            acc = acc.wrapping_add(r.offset as u64 ^ r.timestamp as u64);
            acc = acc.wrapping_add(r.value.map_or(0, |v| v.len() as u64));
        }
    }
    acc
}

fn concat(batches: &[Bytes]) -> Bytes {
    batches.concat().into()
}

fn records(c: &mut Criterion) {
    let values = values();
    let upstream_records = up_records(&values);
    let mut builder = RecordBatchBuilder::new(Compression::None);
    for codec in [Compression::None, Compression::Lz4, Compression::Zstd] {
        // The same bytes for both decoders: batches built by upstream's encoder, which both
        // read (ours is checked against them below).
        let blob = concat(&up_build(&upstream_records, codec));
        assert_eq!(ours_decode(&blob), up_decode(&blob), "decoders disagree");
        let ours_blob = concat(&ours_build(&values, codec, &mut builder));
        assert_eq!(up_decode(&ours_blob), up_decode(&blob), "builders disagree");

        let mut g = c.benchmark_group(format!("decode_iterate/{}", codec.name()));
        g.sample_size(10)
            .throughput(Throughput::Elements(RECORDS as u64));
        g.bench_function("ours", |b| {
            b.iter(|| black_box(ours_decode(black_box(&blob))))
        });
        g.bench_function("upstream", |b| {
            b.iter(|| black_box(up_decode(black_box(&blob))))
        });
        g.finish();

        let mut g = c.benchmark_group(format!("build/{}", codec.name()));
        g.sample_size(10)
            .throughput(Throughput::Elements(RECORDS as u64));
        g.bench_function("ours", |b| {
            b.iter(|| black_box(ours_build(black_box(&values), codec, &mut builder)))
        });
        g.bench_function("upstream", |b| {
            b.iter(|| black_box(up_build(black_box(&upstream_records), codec)))
        });
        g.finish();
    }

    // GB/s on the uncompressed blob: a plain memcpy (the ceiling), CRC32C, and our decode.
    let blob = concat(&ours_build(&values, Compression::None, &mut builder));
    let mut g = c.benchmark_group("bytes");
    g.sample_size(10)
        .throughput(Throughput::Bytes(blob.len() as u64));
    // The destination is allocated and faulted in once, outside the timing.
    let mut dst = vec![1u8; blob.len()];
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(black_box(&blob));
            black_box(&dst);
        })
    });
    g.bench_function("crc32c", |b| {
        b.iter(|| black_box(crc32c::crc32c(black_box(&blob))))
    });
    g.bench_function("decode_iterate_uncompressed_ours", |b| {
        b.iter(|| black_box(ours_decode(black_box(&blob))))
    });
    g.bench_function("decode_iterate_uncompressed_upstream", |b| {
        b.iter(|| black_box(up_decode(black_box(&blob))))
    });
    g.finish();
}

criterion_group!(benches, records);
criterion_main!(benches);
