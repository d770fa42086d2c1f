//! Hostile input: truncation at every offset, lying length fields, corrupt checksums,
//! decompression bombs for every codec, and random bytes. Errors, never panics, bounded memory.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use crate::error::DecodeErrorKind;
use crate::record::{
    Batch, BatchIter, Compression, ControlRecord, DecodeOptions, Header, LegacyMessageSetBuilder,
    RecordBatch, RecordBatchBuilder, Records,
};

fn v2(codec: Compression) -> Bytes {
    let mut b = RecordBatchBuilder::new(codec);
    b.set_producer(1, 1).set_base_sequence(0).set_base_offset(7);
    for i in 0..4u8 {
        let headers = [
            Header::new("h", Some(vec![i; 3])),
            Header::new("h", None::<Bytes>),
        ];
        let key = (i != 1).then_some(&b"key"[..]);
        let _ = b
            .append(1000 + i64::from(i), key, Some(&[i; 40]), &headers)
            .unwrap();
    }
    b.build().unwrap()
}

fn legacy(magic: i8, codec: Compression) -> Bytes {
    let mut b = LegacyMessageSetBuilder::new(magic, codec).unwrap();
    b.set_base_offset(3);
    for i in 0..3u8 {
        let _ = b.append(1000, Some(b"k"), Some(&[i; 30])).unwrap();
    }
    b.build().unwrap()
}

fn control() -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.set_control(true)
        .set_transactional(true)
        .set_producer(1, 0);
    let _ = b
        .append_control(5, &ControlRecord::end_transaction(true, 3))
        .unwrap();
    b.build().unwrap()
}

fn samples() -> Vec<(String, Bytes)> {
    let mut out = vec![("control".to_owned(), control())];
    for codec in Compression::ALL {
        out.push((format!("v2 {}", codec.name()), v2(codec)));
    }
    for magic in [0, 1] {
        for codec in &Compression::ALL[..4] {
            out.push((format!("v{magic} {}", codec.name()), legacy(magic, *codec)));
        }
    }
    out
}

/// Reads everything there is to read; returns the number of records or the first error.
fn drain(data: Bytes, opts: &DecodeOptions) -> Result<usize, crate::DecodeError> {
    let mut n = 0;
    for batch in BatchIter::with_options(data, *opts) {
        let batch = batch?;
        if let Batch::V2(b) = &batch {
            if b.is_control() {
                for c in b.control_records(opts)? {
                    c?;
                }
            }
        }
        // Checking without slicing (`check_rest`) must agree with iterating: same count, same
        // error.
        let (checked, check_error) = batch.records_with(opts)?.check_rest();
        let mut iterated = 0;
        for r in batch.records_with(opts)? {
            match r {
                Ok(_) => iterated += 1,
                Err(e) => {
                    assert_eq!((checked, check_error), (iterated, Some(e.clone())));
                    return Err(e);
                }
            }
        }
        assert_eq!((checked, check_error), (iterated, None));
        n += iterated;
    }
    Ok(n)
}

#[test]
fn truncation_at_every_offset_is_a_tail_not_an_error() {
    for (name, data) in samples() {
        // Two copies back to back: cutting inside the second leaves the first intact.
        let blob: Bytes = [data.clone(), data.clone()].concat().into();
        let first_len = data.len();
        let full = drain(blob.clone(), &DecodeOptions::default()).unwrap();
        // Where each batch of the blob ends.
        let mut ends = vec![0];
        for b in BatchIter::new(blob.clone()) {
            ends.push(ends.last().unwrap() + b.unwrap().size());
        }
        assert_eq!(*ends.last().unwrap(), blob.len());
        for cut in 0..blob.len() {
            let mut it = BatchIter::new(blob.slice(..cut));
            let batches: Vec<_> = it.by_ref().collect::<Result<_, _>>().unwrap();
            let complete = ends.iter().filter(|e| **e <= cut).count() - 1;
            assert_eq!(batches.len(), complete, "{name} cut {cut}");
            if ends.contains(&cut) {
                assert!(it.truncated().is_none(), "{name} cut {cut}");
            } else {
                let tail = it.truncated().unwrap_or_else(|| panic!("{name} cut {cut}"));
                assert_eq!(tail.position, ends[complete]);
                assert_eq!(tail.position + tail.bytes.len(), cut);
            }
            // A single batch decoded on its own from a prefix is an error, not a panic.
            if cut < first_len {
                assert!(RecordBatch::decode(blob.slice(..cut), &DecodeOptions::default()).is_err());
            }
            // Whatever came through decodes fully.
            for b in batches {
                for r in b.records().unwrap() {
                    r.unwrap();
                }
            }
        }
        assert!(full > 0);
    }
}

#[test]
fn every_byte_mutated_gives_errors_not_panics() {
    for (name, data) in samples() {
        for pos in 0..data.len() {
            for val in [0x00u8, 0xff, 0x7f, 0x80, 0x01] {
                let mut m = data.to_vec();
                if m[pos] == val {
                    continue;
                }
                m[pos] = val;
                let m = Bytes::from(m);
                // With checksums off every structural check is reached.
                let _ = drain(m.clone(), &DecodeOptions::without_crc());
                // With checksums on, a change anywhere the checksum covers is caught.
                let covered = if name.starts_with("v2") || name == "control" {
                    pos >= 21
                } else {
                    pos >= 16
                };
                if covered && !name.starts_with("v0 n") && !name.starts_with("v1 n") {
                    let r = drain(m, &DecodeOptions::default());
                    assert!(r.is_err(), "{name} byte {pos} = {val:#x} went unnoticed");
                }
            }
        }
    }
}

#[test]
fn corrupt_crc_is_a_typed_error_unless_disabled() {
    let data = v2(Compression::Lz4);
    let mut m = data.to_vec();
    let last = m.len() - 1;
    m[last] ^= 0x55;
    let err = RecordBatch::decode(Bytes::from(m.clone()), &DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::CrcMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.offset(), 17);
    // Forensics: the header decodes without the check (the payload itself may be damaged).
    assert!(RecordBatch::decode(Bytes::from(m), &DecodeOptions::without_crc()).is_ok());
    // The stored CRC field itself.
    let mut m = data.to_vec();
    m[18] ^= 1;
    let err = drain(Bytes::from(m), &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::CrcMismatch { .. }));
    // Legacy CRC32, inside a blob: the offset is the blob's.
    let l = legacy(1, Compression::None);
    let mut m = [v2(Compression::None), l].concat();
    let at = m.len() - 1;
    m[at] ^= 1;
    let err = drain(Bytes::from(m), &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), DecodeErrorKind::CrcMismatch { .. }));
}

#[test]
fn lying_lengths_are_errors() {
    let data = v2(Compression::None);
    // batchLength smaller than the header, negative, and larger than the input.
    for claimed in [0i32, 48, -1, i32::MIN] {
        let mut m = data.to_vec();
        m[8..12].copy_from_slice(&claimed.to_be_bytes());
        let r = drain(Bytes::from(m), &DecodeOptions::without_crc());
        assert!(r.is_err(), "batch length {claimed}");
    }
    let mut m = data.to_vec();
    m[8..12].copy_from_slice(&i32::MAX.to_be_bytes());
    let mut it = BatchIter::new(Bytes::from(m));
    assert!(
        it.next().is_none(),
        "a length past the end is a truncated tail"
    );
    assert!(it.truncated().is_some());
    // recordsCount: more records than bytes, fewer than written, negative.
    for count in [1_000_000i32, 1, -5] {
        let mut m = data.to_vec();
        m[57..61].copy_from_slice(&count.to_be_bytes());
        let r = drain(Bytes::from(m), &DecodeOptions::without_crc());
        assert!(r.is_err(), "count {count}");
    }
    // A record length varint claiming 2 GiB.
    let mut m = data[..61].to_vec();
    m.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
    let len = (m.len() - 12) as i32;
    m[8..12].copy_from_slice(&len.to_be_bytes());
    m[57..61].copy_from_slice(&1i32.to_be_bytes());
    let err = drain(Bytes::from(m), &DecodeOptions::without_crc()).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::LengthExceedsInput { .. }),
        "{err}"
    );
    // A legacy size below the minimum and an unknown magic.
    let mut m = legacy(0, Compression::None).to_vec();
    m[8..12].copy_from_slice(&13i32.to_be_bytes());
    assert!(drain(Bytes::from(m), &DecodeOptions::without_crc()).is_err());
    let mut m = data.to_vec();
    m[16] = 3;
    assert!(drain(Bytes::from(m), &DecodeOptions::without_crc()).is_err());
}

/// A v2 batch whose payload is `payload`, compressed with `codec`, claiming `count` records.
fn v2_with_payload(codec: Compression, payload: &[u8], count: i32) -> Bytes {
    let mut m = BytesMut::new();
    m.put_i64(0);
    m.put_i32((49 + payload.len()) as i32);
    m.put_i32(0);
    m.put_i8(2);
    m.put_u32(0);
    m.put_i16(i16::from(codec.id()));
    m.put_i32(count - 1);
    m.put_i64(0);
    m.put_i64(0);
    m.put_i64(-1);
    m.put_i16(-1);
    m.put_i32(-1);
    m.put_i32(count);
    m.put_slice(payload);
    let crc = crc32c::crc32c(&m[21..]);
    m[17..21].copy_from_slice(&crc.to_be_bytes());
    m.freeze()
}

#[test]
fn decompression_bombs_fail_quickly_for_every_codec() {
    const CAP: usize = 1 << 20;
    let opts = DecodeOptions {
        verify_crc: true,
        max_decompressed: CAP,
    };
    // One record whose value is 8 MiB of zeros: more than the cap for every codec.
    let zeros = vec![0u8; 8 << 20];
    for codec in &Compression::ALL[1..] {
        let mut b = RecordBatchBuilder::new(*codec);
        b.set_max_batch_size(usize::MAX);
        let _ = b.append(0, None, Some(&zeros), &[]).unwrap();
        let bomb = b.build().unwrap();
        let started = Instant::now();
        let batch = RecordBatch::decode(bomb.clone(), &opts).unwrap();
        let err = batch.records_with(&opts).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::DecompressedTooLarge { cap: CAP },
            "{codec:?}: {} bytes",
            bomb.len()
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{codec:?} took too long"
        );
        // The same through a legacy wrapper.
        if *codec != Compression::Zstd {
            let mut l = LegacyMessageSetBuilder::new(1, *codec).unwrap();
            l.set_max_size(usize::MAX);
            let _ = l.append(0, None, Some(&zeros)).unwrap();
            let err = drain(l.build().unwrap(), &opts).unwrap_err();
            assert_eq!(
                err.kind(),
                &DecodeErrorKind::DecompressedTooLarge { cap: CAP }
            );
        }
    }
    // Declared sizes are not trusted: a snappy block claiming 4 GiB in five bytes, and an
    // xerial stream whose block claims it.
    let raw_claim = [0xff, 0xff, 0xff, 0xff, 0x0f];
    let mut xerial = b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01".to_vec();
    xerial.extend_from_slice(&5i32.to_be_bytes());
    xerial.extend_from_slice(&raw_claim);
    for payload in [&raw_claim[..], &xerial] {
        let bomb = v2_with_payload(Compression::Snappy, payload, 1);
        let err = drain(bomb, &opts).unwrap_err();
        assert_eq!(
            err.kind(),
            &DecodeErrorKind::DecompressedTooLarge { cap: CAP }
        );
    }
    // An LZ4 frame declaring a content size of 2^63 holds an empty block list: no allocation.
    let mut lz4 = vec![0x04, 0x22, 0x4d, 0x18, 0x68, 0x40];
    lz4.extend_from_slice(&(1u64 << 63).to_le_bytes());
    let hc = (twox_hash::XxHash32::oneshot(0, &lz4[4..]) >> 8) as u8;
    lz4.push(hc);
    lz4.extend_from_slice(&[0, 0, 0, 0]);
    let err = drain(v2_with_payload(Compression::Lz4, &lz4, 1), &opts).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::UnexpectedEof { .. }),
        "{err}"
    );
    // zstd, hand-made: 1000 RLE blocks of 128 KiB each (125 MiB) in about 4 KiB, with no
    // content size in the frame header; and a single-segment frame claiming 1 TiB.
    let mut z = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38];
    for i in 0..1000u32 {
        let last = u32::from(i == 999);
        let header = (131_072u32 << 3) | (1 << 1) | last;
        z.extend_from_slice(&header.to_le_bytes()[..3]);
        z.push(b'z');
    }
    assert!(z.len() < 5000);
    let started = Instant::now();
    let err = drain(v2_with_payload(Compression::Zstd, &z, 1), &opts).unwrap_err();
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::DecompressedTooLarge { cap: CAP }
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let mut z = vec![0x28, 0xb5, 0x2f, 0xfd, 0xe0];
    z.extend_from_slice(&(1u64 << 40).to_le_bytes());
    z.extend_from_slice(&[0x03, 0x00, 0x00]); // an empty last raw block
    let err = drain(v2_with_payload(Compression::Zstd, &z, 1), &opts).unwrap_err();
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::DecompressedTooLarge { cap: CAP }
    );
}

#[test]
fn unknown_codec_and_garbage_payloads_are_errors() {
    let mut m = v2(Compression::None).to_vec();
    m[22] |= 0x05; // codec id 5
    let m = Bytes::from(m);
    assert!(RecordBatch::decode(m, &DecodeOptions::without_crc()).is_err());
    for codec in &Compression::ALL[1..] {
        let bad = v2_with_payload(*codec, b"this is not compressed data at all", 1);
        assert!(drain(bad, &DecodeOptions::default()).is_err(), "{codec:?}");
    }
}

#[test]
fn records_blob_reports_tail_position_and_base_offset() {
    let a = v2(Compression::None);
    let b = v2(Compression::Zstd);
    let blob: Bytes = [a.clone(), b.slice(..30)].concat().into();
    let r = Records::decode(blob, &DecodeOptions::default()).unwrap();
    assert_eq!(r.batches.len(), 1);
    let tail = r.truncated.unwrap();
    assert_eq!(tail.position, a.len());
    assert_eq!(tail.bytes.len(), 30);
    assert_eq!(tail.base_offset, Some(7));
    let r = Records::decode(b.slice(..5), &DecodeOptions::default()).unwrap();
    assert_eq!(r.truncated.unwrap().base_offset, None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = drain(Bytes::from(data), &DecodeOptions::without_crc());
    }

    #[test]
    fn random_payloads_behind_valid_headers_never_panic(
        codec in proptest::sample::select(Compression::ALL.to_vec()),
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        count in -2i32..10,
    ) {
        let _ = drain(v2_with_payload(codec, &payload, count), &DecodeOptions::default());
    }
}

#[test]
fn extreme_offsets_do_not_overflow() {
    // A magic 1 wrapper at i64::MAX whose inner offsets are negative, and a v2 batch at
    // i64::MAX: offsets wrap as Java's long arithmetic does, nothing panics.
    let mut b = LegacyMessageSetBuilder::new(1, Compression::Gzip).unwrap();
    b.set_base_offset(-5);
    let _ = b.append(0, None, Some(b"x")).unwrap();
    let mut wrapper = b.build().unwrap().to_vec();
    wrapper[..8].copy_from_slice(&i64::MAX.to_be_bytes());
    let _ = drain(Bytes::from(wrapper), &DecodeOptions::without_crc());
    let mut v = RecordBatchBuilder::new(Compression::None);
    v.set_base_offset(i64::MAX);
    let _ = v.append(i64::MIN, None, None, &[]).unwrap();
    let _ = v.append(i64::MAX, None, None, &[]).unwrap();
    assert_eq!(
        drain(v.build().unwrap(), &DecodeOptions::default()).unwrap(),
        2
    );
}
