//! The hostile inputs of the allocation-bound test: lying counts and lengths, nested arrays,
//! dense messages, and decompression bombs for every codec.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::codec::Reader;
use kafka_protocol::frame::FrameDecoder;
use kafka_protocol::generated::metadata_response::{
    MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::generated::MetadataResponse;
use kafka_protocol::message::Message;
use kafka_protocol::record::{
    Compression, DecodeOptions, LegacyMessageSetBuilder, RecordBatchBuilder, Records,
};
use kafka_protocol::{ApiKey, DecodeErrorKind, RequestBody, ResponseBody};

/// One hostile input and how it is decoded.
pub struct Case {
    /// The case's name (`KAFKA_ALLOC_CASE`).
    pub name: &'static str,
    /// Builds the input (not measured).
    pub input: fn() -> Bytes,
    /// Decodes it (measured); the outcome does not matter, only the memory.
    pub decode: fn(&Bytes),
    /// The decompression cap the decode uses, 0 if none applies.
    pub cap: usize,
}

/// Decompression cap of the bomb cases.
const CAP: usize = 2 << 20;
/// Plain bytes behind each bomb: 16 times the cap.
const BOMB: usize = 32 << 20;
/// Plain bytes of one repeated piece of a bomb.
const UNIT: usize = 1 << 20;
/// Maximum frame size of the framing case.
const FRAME_MAX: usize = 16 << 20;
/// Padding that makes a lying count look plausible to the "count <= bytes left" check.
const PAD: usize = 1 << 20;

fn varint(w: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        w.put_u8(v as u8 | 0x80);
        v >>= 7;
    }
    w.put_u8(v as u8);
}

fn request(key: ApiKey, version: i16) -> impl Fn(&Bytes) {
    move |b| {
        let _ = RequestBody::decode(key, &mut Reader::from_bytes(b), version);
    }
}

fn response(key: ApiKey, version: i16) -> impl Fn(&Bytes) {
    move |b| {
        let _ = ResponseBody::decode(key, &mut Reader::from_bytes(b), version);
    }
}

fn records(cap: usize) -> impl Fn(&Bytes) {
    move |b| {
        let opts = DecodeOptions {
            verify_crc: true,
            max_decompressed: cap,
        };
        let Ok(records) = Records::decode(b.clone(), &opts) else {
            return;
        };
        for batch in &records.batches {
            if let Ok(it) = batch.records_with(&opts) {
                it.for_each(drop);
            }
        }
    }
}

/// A v2 batch (or a legacy wrapper message) whose compressed payload expands to `BOMB` bytes:
/// the payload of a batch holding one record of `UNIT` zero bytes, repeated (every codec here
/// reads concatenated streams: gzip members, LZ4 frames, zstd frames, xerial chunks), so that
/// the bomb is cheap to build even in a debug build.
fn bomb(magic: i8, codec: Compression) -> Bytes {
    let zeros = vec![0u8; UNIT];
    let times = BOMB / UNIT;
    if magic == 2 {
        let mut b = RecordBatchBuilder::new(codec);
        b.set_max_batch_size(usize::MAX);
        let _ = b.append(0, None, Some(&zeros), &[]).expect("append");
        let one = b.build().expect("build");
        let mut v = BytesMut::from(&one[..61]);
        for _ in 0..times {
            v.extend_from_slice(&one[61..]);
        }
        let len = (v.len() - 12) as i32;
        v[8..12].copy_from_slice(&len.to_be_bytes());
        let crc = crc32c::crc32c(&v[21..]);
        v[17..21].copy_from_slice(&crc.to_be_bytes());
        return v.freeze();
    }
    let mut b = LegacyMessageSetBuilder::new(magic, codec).expect("builder");
    b.set_max_size(usize::MAX);
    let _ = b.append(0, None, Some(&zeros)).expect("append");
    let one = b.build().expect("build");
    // offset, size, crc, magic, attributes, [timestamp], key (null), value length, value.
    let value_at = if magic == 1 { 34 } else { 26 };
    let mut v = BytesMut::from(&one[..value_at - 4]);
    let value = &one[value_at..];
    v.put_i32((value.len() * times) as i32);
    for _ in 0..times {
        v.extend_from_slice(value);
    }
    let size = (v.len() - 12) as i32;
    v[8..12].copy_from_slice(&size.to_be_bytes());
    let crc = crc32fast::hash(&v[16..]);
    v[12..16].copy_from_slice(&crc.to_be_bytes());
    v.freeze()
}

/// Decodes a bomb, which must stop at the cap.
fn bomb_decode(b: &Bytes) {
    let opts = DecodeOptions {
        verify_crc: true,
        max_decompressed: CAP,
    };
    let records = Records::decode(b.clone(), &opts).expect("the bomb's batch decodes");
    let batch = records.batches.first().expect("one batch");
    match batch.records_with(&opts) {
        Err(e) => assert_eq!(
            e.kind(),
            &DecodeErrorKind::DecompressedTooLarge { cap: CAP },
            "{e}"
        ),
        Ok(_) => panic!("a bomb of {BOMB} bytes decompressed under a cap of {CAP}"),
    }
}

macro_rules! bomb_case {
    ($name:literal, $magic:expr, $codec:expr) => {
        Case {
            name: $name,
            input: || bomb($magic, $codec),
            decode: bomb_decode,
            cap: CAP,
        }
    };
}

/// Every case.
pub const ALL: &[Case] = &[
    // Metadata v1 topics: an int32 count of 2^31-1 with 1 MiB behind it.
    Case {
        name: "array_count_i32_max",
        input: || {
            let mut w = BytesMut::new();
            w.put_i32(i32::MAX);
            w.put_bytes(0, PAD);
            w.freeze()
        },
        decode: |b| request(ApiKey::METADATA, 1)(b),
        cap: 0,
    },
    // Metadata v12 topics: a compact count of 2^32-2 with 1 MiB behind it.
    Case {
        name: "compact_count_u32_max",
        input: || {
            let mut w = BytesMut::new();
            varint(&mut w, u64::from(u32::MAX));
            w.put_bytes(0, PAD);
            w.freeze()
        },
        decode: |b| request(ApiKey::METADATA, 12)(b),
        cap: 0,
    },
    // SaslAuthenticate v0 auth bytes: an int32 length of 2 GiB - 1, then 1 MiB.
    Case {
        name: "bytes_2gib",
        input: || {
            let mut w = BytesMut::new();
            w.put_i32(i32::MAX);
            w.put_bytes(0, PAD);
            w.freeze()
        },
        decode: |b| request(ApiKey::SASL_AUTHENTICATE, 0)(b),
        cap: 0,
    },
    // Metadata v12: one topic whose compact name claims 2 GiB.
    Case {
        name: "compact_string_2gib",
        input: || {
            let mut w = BytesMut::new();
            varint(&mut w, 2); // one topic
            w.put_bytes(0, 16); // topic id
            varint(&mut w, (2u64 << 30) + 1); // name: 2 GiB
            w.put_bytes(b'a', PAD);
            w.freeze()
        },
        decode: |b| request(ApiKey::METADATA, 12)(b),
        cap: 0,
    },
    // Metadata v12 response: every array level claims as many elements as bytes are left, then
    // the input runs out in the innermost one.
    Case {
        name: "nested_arrays",
        input: || {
            let mut w = BytesMut::new();
            w.put_i32(0); // throttle
            varint(&mut w, 1); // no brokers
            varint(&mut w, 0); // null cluster id
            w.put_i32(0); // controller
            varint(&mut w, PAD as u64); // topics
            w.put_i16(0);
            varint(&mut w, 0); // null name
            w.put_bytes(0, 16);
            w.put_u8(0);
            varint(&mut w, PAD as u64); // partitions
            w.put_i16(0);
            w.put_i32(0);
            w.put_i32(0);
            w.put_i32(0);
            varint(&mut w, (PAD / 4) as u64); // replica nodes
            w.put_bytes(0, PAD);
            w.freeze()
        },
        decode: |b| response(ApiKey::METADATA, 12)(b),
        cap: 0,
    },
    // A valid Metadata v12 response of 20 000 topics with one partition each: the densest
    // memory per wire byte among common messages.
    Case {
        name: "dense_metadata_response",
        input: || {
            let topic = MetadataResponseTopic {
                partitions: vec![MetadataResponsePartition::default()],
                ..Default::default()
            };
            let m = MetadataResponse {
                topics: vec![topic; 20_000],
                ..Default::default()
            };
            m.encode_to_bytes(12).expect("encode")
        },
        decode: |b| response(ApiKey::METADATA, 12)(b),
        cap: 0,
    },
    // A frame size prefix at the decoder's maximum (16 MiB here): the frame decoder reserves
    // room for the frame it waits for, so its maximum is a cap like the decompression cap.
    Case {
        name: "frame_prefix_at_max",
        input: || Bytes::from((FRAME_MAX as u32).to_be_bytes().to_vec()),
        decode: |b| {
            let mut buf = BytesMut::from(&b[..]);
            let _ = FrameDecoder::new(FRAME_MAX).decode(&mut buf);
        },
        cap: FRAME_MAX,
    },
    // A v2 batch claiming 2^31-1 records whose first record claims a 2 GiB key and a header
    // count of 2^31-1.
    Case {
        name: "record_counts_and_lengths",
        input: || {
            let mut b = RecordBatchBuilder::new(Compression::None);
            let _ = b
                .append(0, Some(b"k"), Some(&vec![0u8; PAD]), &[])
                .expect("append");
            let mut v = BytesMut::from(&b.build().expect("build")[..]);
            v[57..61].copy_from_slice(&i32::MAX.to_be_bytes()); // records count
                                                                // The record: length varint, attributes, timestamp delta, offset delta, key length.
            let mut r = BytesMut::new();
            varint(&mut r, (PAD as u64) << 1);
            r.put_u8(0);
            r.put_u8(0);
            r.put_u8(0);
            varint(&mut r, (u64::from(u32::MAX) - 1) & 0xffff_fffe); // key: 2 GiB (zigzag)
            v[61..61 + r.len()].copy_from_slice(&r);
            let crc = crc32c::crc32c(&v[21..]);
            v[17..21].copy_from_slice(&crc.to_be_bytes());
            v.freeze()
        },
        decode: |b| records(DecodeOptions::DEFAULT_MAX_DECOMPRESSED)(b),
        cap: 0,
    },
    bomb_case!("bomb_gzip_v2", 2, Compression::Gzip),
    bomb_case!("bomb_snappy_v2", 2, Compression::Snappy),
    bomb_case!("bomb_lz4_v2", 2, Compression::Lz4),
    bomb_case!("bomb_zstd_v2", 2, Compression::Zstd),
    bomb_case!("bomb_gzip_v1", 1, Compression::Gzip),
    bomb_case!("bomb_snappy_v1", 1, Compression::Snappy),
    bomb_case!("bomb_lz4_v1", 1, Compression::Lz4),
    bomb_case!("bomb_gzip_v0", 0, Compression::Gzip),
];
