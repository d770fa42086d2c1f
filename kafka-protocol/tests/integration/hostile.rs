//! Hostile input: truncated frames and lying length prefixes fail with typed errors, fast, and
//! without allocating what the prefix claims.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::codec::Reader;
use kafka_protocol::frame::decode_request;
use kafka_protocol::generated::{MetadataRequest, ProduceRequest};
use kafka_protocol::message::Message;
use kafka_protocol::{ApiKey, DecodeErrorKind, RequestBody, ResponseBody};

use crate::random;

/// Every strict prefix of a random message of every type and version is an error, never a panic
/// and never a success.
#[test]
fn every_prefix_of_every_message_is_an_error() {
    let mut prefixes = 0usize;
    for key in ApiKey::all() {
        let info = key.info().expect("known key");
        for version in info.lowest..=info.highest {
            let data = random::bytes(key.0 as u64 * 1000 + version as u64, 8192);
            let mut u = arbitrary::Unstructured::new(&data);
            let mut req = BytesMut::new();
            RequestBody::arbitrary_for(key, &mut u, version)
                .expect("arbitrary")
                .encode(&mut req, version)
                .expect("encode");
            let mut resp = BytesMut::new();
            ResponseBody::arbitrary_for(key, &mut u, version)
                .expect("arbitrary")
                .encode(&mut resp, version)
                .expect("encode");
            for len in 0..req.len() {
                let mut r = Reader::new(&req[..len]);
                let decoded = RequestBody::decode(key, &mut r, version).and_then(|_| r.finish());
                assert!(
                    decoded.is_err(),
                    "{key} request v{version} prefix {len} decoded"
                );
                prefixes += 1;
            }
            for len in 0..resp.len() {
                let mut r = Reader::new(&resp[..len]);
                let decoded = ResponseBody::decode(key, &mut r, version).and_then(|_| r.finish());
                assert!(
                    decoded.is_err(),
                    "{key} response v{version} prefix {len} decoded"
                );
                prefixes += 1;
            }
        }
    }
    println!("hostile: {prefixes} truncated messages rejected");
}

/// Random bytes never panic the decoder of any message at any version.
#[test]
fn random_bytes_never_panic() {
    for key in ApiKey::all() {
        let info = key.info().expect("known key");
        for version in info.lowest..=info.highest {
            for seed in 0..20u64 {
                let len = (seed as usize * 37) % 300;
                let data = random::bytes(seed ^ (key.0 as u64) << 20 ^ (version as u64) << 40, len);
                let _ = RequestBody::decode(key, &mut Reader::new(&data), version);
                let _ = ResponseBody::decode(key, &mut Reader::new(&data), version);
            }
        }
    }
}

fn request_frame(key: ApiKey, version: i16, body: &[u8]) -> Bytes {
    let mut w = BytesMut::new();
    w.put_i16(key.0);
    w.put_i16(version);
    w.put_i32(1);
    w.put_i16(-1); // null client id (header v1)
    w.put_slice(body);
    w.freeze()
}

/// A Produce request claiming 2^31-1 topics in a 20-byte frame fails at the count, before any
/// element is allocated.
#[test]
fn huge_array_count_fails_fast() {
    let mut body = BytesMut::new();
    body.put_i16(-1); // transactional id
    body.put_i16(1); // acks
    body.put_i32(1000); // timeout
    body.put_i32(i32::MAX); // topic count
    let frame = request_frame(ApiKey::PRODUCE, 3, &body);
    let start = std::time::Instant::now();
    let err = decode_request(&frame).unwrap_err();
    assert!(start.elapsed().as_millis() < 100, "decode took too long");
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::LengthExceedsInput {
            claimed: i32::MAX as u64,
            remaining: 0
        }
    );
    assert_eq!(err.offset(), frame.len());
    assert!(err.to_string().contains("ProduceRequest"), "{err}");
    // The same count in the compact (flexible) form: unsigned varint of 2^31.
    let mut body = BytesMut::new();
    body.put_u8(0); // null transactional id
    body.put_i16(1);
    body.put_i32(1000);
    body.put_slice(&[0x80, 0x80, 0x80, 0x80, 0x08]);
    let mut r = Reader::new(&body);
    let err = ProduceRequest::decode(&mut r, 9).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::LengthExceedsInput { .. }),
        "{err}"
    );
}

/// A Metadata request naming a topic of 2 GiB (compact string) fails at the length.
#[test]
fn huge_string_fails_fast() {
    let mut body = BytesMut::new();
    body.put_u8(2); // one topic (compact array: n + 1)
    body.put_slice(&[0u8; 16]); // topic id
    body.put_slice(&[0x81, 0x80, 0x80, 0x80, 0x08]); // name length 2^31 (+1)
    body.put_slice(b"abc");
    let mut r = Reader::new(&body);
    let err = MetadataRequest::decode(&mut r, 12).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::LengthExceedsInput { claimed, .. } if *claimed >= 1 << 31),
        "{err}"
    );
    // A non-flexible int16 string length can claim at most 32767: also refused against the
    // bytes left.
    let mut body = BytesMut::new();
    body.put_i32(1);
    body.put_i16(i16::MAX);
    let err = MetadataRequest::decode(&mut Reader::new(&body), 1).unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::LengthExceedsInput { .. }),
        "{err}"
    );
}

/// Unknown API keys and versions outside the known range are typed errors.
#[test]
fn unknown_keys_and_versions_are_typed_errors() {
    let frame = request_frame(ApiKey(9999), 0, &[]);
    assert_eq!(
        decode_request(&frame).unwrap_err().kind(),
        &DecodeErrorKind::UnknownApiKey(9999)
    );
    let frame = request_frame(ApiKey::METADATA, 99, &[]);
    assert!(matches!(
        decode_request(&frame).unwrap_err().kind(),
        DecodeErrorKind::UnsupportedVersion { .. }
    ));
}
