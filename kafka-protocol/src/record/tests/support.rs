//! Helpers shared by the record tests: the JSON record format of the Java oracle and of the
//! committed vectors, and comparison against decoded batches.

use bytes::Bytes;
use serde_json::Value;

use crate::record::{Batch, DecodeOptions, Header, Record, Records};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The large compressible value of the Java vectors, `pattern:N` in their JSON.
pub fn pattern(n: usize) -> Vec<u8> {
    let text = b"lorem ipsum dolor ";
    (0..n)
        .map(|i| text[i % 18].wrapping_add((i / 1000 % 3) as u8))
        .collect()
}

/// A JSON byte string: null, hex, or `pattern:N`.
pub fn json_bytes(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(match s.strip_prefix("pattern:") {
            Some(n) => pattern(n.parse().expect("pattern length")),
            None => unhex(s),
        }),
        other => panic!("not a byte string: {other}"),
    }
}

/// Bytes as JSON, the way `json_bytes` reads them.
pub fn bytes_json(b: Option<&[u8]>) -> Value {
    match b {
        None => Value::Null,
        Some(b) => Value::String(hex(b)),
    }
}

/// A record in the oracle's JSON shape.
pub fn record_json(r: &Record) -> Value {
    serde_json::json!({
        "offset": r.offset,
        "timestamp": r.timestamp,
        "key": bytes_json(r.key.as_deref()),
        "value": bytes_json(r.value.as_deref()),
        "headers": r.headers.iter().map(|h| serde_json::json!([
            String::from_utf8(h.key.to_vec()).expect("utf8 key"),
            bytes_json(h.value.as_deref()),
        ])).collect::<Vec<_>>(),
    })
}

/// The fields of a JSON record as (offset, timestamp, key, value, headers).
pub type Expected = (i64, i64, Option<Vec<u8>>, Option<Vec<u8>>, Vec<Header>);

pub fn expected_record(v: &Value) -> Expected {
    let headers = v["headers"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    Header::new(
                        h[0].as_str().expect("header key").to_owned(),
                        json_bytes(&h[1]),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (
        v["offset"].as_i64().expect("offset"),
        v["timestamp"].as_i64().unwrap_or(-1),
        json_bytes(&v["key"]),
        json_bytes(&v["value"]),
        headers,
    )
}

pub fn actual_record(r: &Record) -> Expected {
    (
        r.offset,
        r.timestamp,
        r.key.as_deref().map(<[u8]>::to_vec),
        r.value.as_deref().map(<[u8]>::to_vec),
        r.headers.clone(),
    )
}

/// Decodes `data` and checks every batch and record against a JSON list of batches in the
/// shape Java's record classes report (see testdata/README.md). `field` picks the names of
/// the two JSON dialects (committed vectors vs the oracle's `records-read`).
pub fn check_against_json(name: &str, data: Bytes, batches: &Value) {
    let decoded =
        Records::decode(data, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(decoded.truncated.is_none(), "{name}: truncated tail");
    let want = batches.as_array().expect("batch list");
    assert_eq!(decoded.batches.len(), want.len(), "{name}: batch count");
    for (i, (b, w)) in decoded.batches.iter().zip(want).enumerate() {
        let at = format!("{name} batch {i}");
        assert_eq!(i64::from(b.magic()), w["magic"].as_i64().unwrap(), "{at}");
        assert_eq!(b.last_offset(), w["last_offset"].as_i64().unwrap(), "{at}");
        assert_eq!(
            b.compression().name(),
            w["compression"].as_str().unwrap(),
            "{at}"
        );
        // Null size and crc mean "not compared" (Rust-built batches checked against Java's
        // JSON: the compressors differ).
        let size = w.get("size").or(w.get("size_in_bytes")).unwrap();
        if let Some(size) = size.as_u64() {
            assert_eq!(b.size() as u64, size, "{at}");
        }
        let crc = w["crc"].as_u64();
        let (ts_type, max_ts, pid, epoch, seq, ple, txn, ctrl, stored_crc) = match b {
            Batch::V2(v) => (
                v.timestamp_type(),
                v.max_timestamp,
                v.producer_id,
                v.producer_epoch,
                v.base_sequence,
                v.partition_leader_epoch,
                v.is_transactional(),
                v.is_control(),
                v.crc,
            ),
            Batch::Legacy(l) => (
                l.timestamp_type(),
                l.timestamp,
                -1,
                -1,
                -1,
                -1,
                false,
                false,
                l.crc,
            ),
        };
        if let Some(crc) = crc {
            assert_eq!(u64::from(stored_crc), crc, "{at}");
        }
        let tt = w["timestamp_type"].as_str().unwrap();
        let tt_ok = tt == ts_type.name()
            || matches!(
                (tt, ts_type),
                ("create", crate::record::TimestampType::CreateTime)
                    | ("append", crate::record::TimestampType::LogAppendTime)
                    | ("none", crate::record::TimestampType::NoTimestamp)
            );
        assert!(tt_ok, "{at}: timestamp type {tt} vs {ts_type:?}");
        assert_eq!(max_ts, w["max_timestamp"].as_i64().unwrap(), "{at}");
        assert_eq!(pid, w["producer_id"].as_i64().unwrap(), "{at}");
        assert_eq!(
            i64::from(epoch),
            w["producer_epoch"].as_i64().unwrap(),
            "{at}"
        );
        assert_eq!(i64::from(seq), w["base_sequence"].as_i64().unwrap(), "{at}");
        assert_eq!(
            i64::from(ple),
            w["partition_leader_epoch"].as_i64().unwrap(),
            "{at}"
        );
        let jtxn = w
            .get("transactional")
            .or(w.get("is_transactional"))
            .unwrap();
        let jctrl = w.get("control").or(w.get("is_control")).unwrap();
        assert_eq!(txn, jtxn.as_bool().unwrap(), "{at}");
        assert_eq!(ctrl, jctrl.as_bool().unwrap(), "{at}");
        let records: Vec<Record> = b
            .records()
            .unwrap_or_else(|e| panic!("{at}: {e}"))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{at}: {e}"));
        let want_records = w["records"].as_array().unwrap();
        assert_eq!(records.len(), want_records.len(), "{at}: record count");
        for (j, (r, wr)) in records.iter().zip(want_records).enumerate() {
            assert_eq!(actual_record(r), expected_record(wr), "{at} record {j}");
        }
    }
}
