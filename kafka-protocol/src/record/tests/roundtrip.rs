//! Property tests: random records (null and empty keys and values, many headers with duplicate
//! keys, large values) round trip through the builders and the decoder for every codec and
//! magic, and the maximum batch size is respected.

use bytes::Bytes;
use proptest::prelude::*;

use crate::record::{
    AppendResult, BatchIter, Compression, DecodeOptions, Header, LegacyMessageSetBuilder,
    RecordBatchBuilder, Records,
};

#[derive(Debug, Clone)]
struct Rec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<Header>,
}

fn bytes_strategy(max: usize) -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        2 => Just(None),
        2 => Just(Some(Vec::new())),
        6 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        // Large, compressible or not, up to `max` (several compression blocks).
        1 => (0..max, any::<bool>()).prop_map(|(n, compressible)| Some(
            (0..n).map(|i| if compressible { (i % 7) as u8 } else { (i * 7919 % 251) as u8 }).collect()
        )),
    ]
}

fn header_strategy() -> impl Strategy<Value = Header> {
    // A small key alphabet makes duplicate keys common.
    (
        prop_oneof![Just(""), Just("a"), Just("b"), Just("trace-id"), Just("é")],
        bytes_strategy(300),
    )
        .prop_map(|(k, v)| Header::new(k, v))
}

fn rec_strategy() -> impl Strategy<Value = Rec> {
    (
        prop_oneof![Just(-1i64), 0i64..(1 << 45), Just(i64::MAX), Just(0)],
        bytes_strategy(200_000),
        bytes_strategy(200_000),
        proptest::collection::vec(header_strategy(), 0..12),
    )
        .prop_map(|(timestamp, key, value, headers)| Rec {
            timestamp,
            key,
            value,
            headers,
        })
}

fn check_v2(recs: &[Rec], codec: Compression, base: i64) {
    let mut b = RecordBatchBuilder::new(codec);
    b.set_base_offset(base).set_max_batch_size(usize::MAX);
    for r in recs {
        let res = b
            .append(
                r.timestamp,
                r.key.as_deref(),
                r.value.as_deref(),
                &r.headers,
            )
            .unwrap();
        assert_eq!(res, AppendResult::Appended);
    }
    let data = b.build().unwrap();
    let decoded = Records::decode(data, &DecodeOptions::default()).unwrap();
    assert_eq!(decoded.batches.len(), 1);
    let got: Vec<_> = decoded.batches[0]
        .records()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got.len(), recs.len());
    for (i, (g, r)) in got.iter().zip(recs).enumerate() {
        assert_eq!(g.offset, base + i as i64);
        assert_eq!(g.timestamp, r.timestamp, "{codec:?}");
        assert_eq!(g.key.as_deref(), r.key.as_deref(), "{codec:?}");
        assert_eq!(g.value.as_deref(), r.value.as_deref(), "{codec:?}");
        assert_eq!(g.headers, r.headers, "{codec:?}");
    }
}

fn check_legacy(recs: &[Rec], magic: i8, codec: Compression, base: i64) {
    let mut b = LegacyMessageSetBuilder::new(magic, codec).unwrap();
    b.set_base_offset(base).set_max_size(usize::MAX);
    for r in recs {
        let res = b.append(r.timestamp, r.key.as_deref(), r.value.as_deref());
        assert_eq!(res.unwrap(), AppendResult::Appended);
    }
    let data = b.build().unwrap();
    let got: Vec<_> = BatchIter::new(data)
        .flat_map(|b| {
            b.unwrap()
                .records()
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(got.len(), recs.len());
    for (i, (g, r)) in got.iter().zip(recs).enumerate() {
        assert_eq!(g.offset, base + i as i64, "magic {magic} {codec:?}");
        let ts = if magic == 0 { -1 } else { r.timestamp };
        assert_eq!(g.timestamp, ts);
        assert_eq!(g.key.as_deref(), r.key.as_deref());
        assert_eq!(g.value.as_deref(), r.value.as_deref());
        assert!(g.headers.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn v2_records_round_trip_for_every_codec(
        recs in proptest::collection::vec(rec_strategy(), 1..20),
        base in prop_oneof![Just(0i64), 0i64..(1 << 40)],
    ) {
        for codec in Compression::ALL {
            check_v2(&recs, codec, base);
        }
    }

    #[test]
    fn legacy_records_round_trip_for_every_codec(
        recs in proptest::collection::vec(rec_strategy(), 1..20),
        base in prop_oneof![Just(0i64), 1i64..(1 << 40)],
    ) {
        for magic in [0i8, 1] {
            for codec in &Compression::ALL[..4] {
                check_legacy(&recs, magic, *codec, base);
            }
        }
    }

    #[test]
    fn max_batch_size_is_respected(
        sizes in proptest::collection::vec(0usize..3000, 1..60),
        max in 61usize..20_000,
        codec in proptest::sample::select(Compression::ALL.to_vec()),
    ) {
        let mut b = RecordBatchBuilder::new(Compression::None);
        b.set_compression(codec).set_max_batch_size(max);
        let mut batches = Vec::new();
        let mut pending: Vec<Vec<u8>> = Vec::new();
        let mut uncompressed_sizes = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let value = vec![i as u8; *n];
            match b.append(i as i64, None, Some(&value), &[]).unwrap() {
                AppendResult::Appended => pending.push(value),
                AppendResult::Full => {
                    prop_assert!(!pending.is_empty(), "Full on the first record");
                    uncompressed_sizes.push((b.estimated_size(), pending.len()));
                    batches.push(b.build().unwrap());
                    pending.clear();
                    prop_assert_eq!(b.append(i as i64, None, Some(&value), &[]).unwrap(), AppendResult::Appended);
                    pending.push(value);
                }
            }
        }
        uncompressed_sizes.push((b.estimated_size(), pending.len()));
        batches.push(b.build().unwrap());
        for (size, count) in &uncompressed_sizes {
            prop_assert!(*size <= max || *count == 1, "{} > {} with {} records", size, max, count);
        }
        let mut all = Vec::new();
        for data in batches {
            if codec == Compression::None {
                prop_assert!(data.len() <= max || Records::decode(data.clone(), &DecodeOptions::default()).unwrap().batches.len() == 1);
            }
            for batch in BatchIter::new(data) {
                for r in batch.unwrap().records().unwrap() {
                    all.push(r.unwrap().value.unwrap());
                }
            }
        }
        prop_assert_eq!(all.len(), sizes.len());
        for (i, (v, n)) in all.iter().zip(&sizes).enumerate() {
            prop_assert_eq!(v.len(), *n);
            prop_assert!(v.iter().all(|b| *b == i as u8));
        }
    }
}

#[test]
fn builder_reuse_keeps_settings_and_resets_records() {
    let mut b = RecordBatchBuilder::new(Compression::Zstd);
    b.set_producer(5, 1).set_base_sequence(10);
    let _ = b.append(1, Some(b"a"), None, &[]).unwrap();
    let first = b.build().unwrap();
    assert!(b.is_empty());
    b.set_base_sequence(11);
    let _ = b.append(2, Some(b"b"), None, &[]).unwrap();
    let second = b.build().unwrap();
    let mut it = BatchIter::new([first, second].concat().into());
    for (seq, key) in [(10, "a"), (11, "b")] {
        let batch = it.next().unwrap().unwrap();
        let rec = batch.records().unwrap().next().unwrap().unwrap();
        assert_eq!(rec.sequence, seq);
        assert_eq!(rec.key, Some(Bytes::from(key)));
    }
    assert!(it.next().is_none());
}

#[test]
fn empty_batches_are_valid() {
    let mut b = RecordBatchBuilder::new(Compression::None);
    let data = b.build().unwrap();
    assert_eq!(data.len(), 61);
    let batch = BatchIter::new(data).next().unwrap().unwrap();
    assert_eq!(batch.records().unwrap().count(), 0);
    let mut l = LegacyMessageSetBuilder::new(1, Compression::Gzip).unwrap();
    assert!(l.build().unwrap().is_empty());
}
