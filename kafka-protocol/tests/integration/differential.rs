//! Differential test against the Java reference (kafka-clients), for every API key, every
//! version, request and response, plus the request and response headers:
//! (a) random messages encoded by Rust are read and re-written by Java to the same bytes;
//! (b) messages encoded by Java (defaults and populated) are decoded and re-encoded by Rust to
//!     the same bytes.
//! Versions that kafka-clients 4.3.1 still defines are checked against it; older ones (removed
//! from Kafka 4 by KIP-896) against kafka-clients 3.9.1.

use bytes::{Bytes, BytesMut};
use kafka_protocol::codec::Reader;
use kafka_protocol::generated::{RequestHeader, ResponseHeader};
use kafka_protocol::message::Message;
use kafka_protocol::{ApiKey, RequestBody, ResponseBody};

use crate::oracle::{hex, unhex, Oracle};
use crate::random;

const RUST_SAMPLES: u64 = 8;
const JAVA_SEEDS: u64 = 5;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Request,
    Response,
    RequestHeader,
    ResponseHeader,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::RequestHeader => "request_header",
            Kind::ResponseHeader => "response_header",
        }
    }
}

fn rust_random(kind: Kind, key: ApiKey, version: i16, seed: u64) -> Result<Bytes, String> {
    let data = random::bytes(
        seed ^ ((key.0 as u64) << 32) ^ ((version as u64) << 48),
        16 * 1024,
    );
    let mut u = arbitrary::Unstructured::new(&data);
    let mut w = BytesMut::new();
    use kafka_protocol::arbitrary_support::ArbitraryVersioned;
    let encoded = match kind {
        Kind::Request => RequestBody::arbitrary_for(key, &mut u, version)
            .map_err(|e| e.to_string())?
            .encode(&mut w, version),
        Kind::Response => ResponseBody::arbitrary_for(key, &mut u, version)
            .map_err(|e| e.to_string())?
            .encode(&mut w, version),
        Kind::RequestHeader => RequestHeader::arbitrary_versioned(&mut u, version)
            .map_err(|e| e.to_string())?
            .encode(&mut w, version),
        Kind::ResponseHeader => ResponseHeader::arbitrary_versioned(&mut u, version)
            .map_err(|e| e.to_string())?
            .encode(&mut w, version),
    };
    encoded.map_err(|e| format!("rust encode: {e}"))?;
    Ok(w.freeze())
}

/// Decodes with Rust (the whole input must be used) and encodes again.
fn rust_reencode(kind: Kind, key: ApiKey, version: i16, input: &Bytes) -> Result<Bytes, String> {
    let mut r = Reader::from_bytes(input);
    let mut w = BytesMut::new();
    let result = match kind {
        Kind::Request => RequestBody::decode(key, &mut r, version)
            .map_err(|e| format!("rust decode: {e}"))?
            .encode(&mut w, version),
        Kind::Response => ResponseBody::decode(key, &mut r, version)
            .map_err(|e| format!("rust decode: {e}"))?
            .encode(&mut w, version),
        Kind::RequestHeader => RequestHeader::decode(&mut r, version)
            .map_err(|e| format!("rust decode: {e}"))?
            .encode(&mut w, version),
        Kind::ResponseHeader => ResponseHeader::decode(&mut r, version)
            .map_err(|e| format!("rust decode: {e}"))?
            .encode(&mut w, version),
    };
    r.finish().map_err(|e| format!("rust decode: {e}"))?;
    result.map_err(|e| format!("rust encode: {e}"))?;
    Ok(w.freeze())
}

/// Checks one (kind, key, version) pair both ways; returns the failures.
fn prove_pair(oracle: &mut Oracle, kind: Kind, key: ApiKey, version: i16) -> Vec<String> {
    let mut failures = Vec::new();
    let label = format!(
        "{} {} v{version} [{}]",
        key,
        kind.word(),
        oracle.kafka_version
    );
    // (a) Rust writes, Java reads and writes back.
    for seed in 0..RUST_SAMPLES {
        match rust_random(kind, key, version, seed) {
            Err(e) => failures.push(format!("{label} seed {seed}: {e}")),
            Ok(bytes) => {
                let cmd = format!(
                    "roundtrip {} {} {version} {}",
                    key.0,
                    kind.word(),
                    hex(&bytes)
                );
                match oracle.ask_ok(&cmd) {
                    Ok(back) if back == hex(&bytes) => {}
                    Ok(back) => failures.push(format!(
                        "{label} seed {seed}: java re-encoded differently\n  rust {}\n  java {back}",
                        hex(&bytes)
                    )),
                    Err(e) => failures.push(format!(
                        "{label} seed {seed}: java could not read rust's bytes: {e}\n  rust {}",
                        hex(&bytes)
                    )),
                }
            }
        }
    }
    // (b) Java writes, Rust reads and writes back.
    let mut modes = vec![("default".to_string(), 0)];
    modes.extend((0..JAVA_SEEDS).map(|s| ("populated".to_string(), s)));
    for (mode, seed) in modes {
        let cmd = format!("sample {} {} {version} {seed} {mode}", key.0, kind.word());
        match oracle.ask_ok(&cmd) {
            Err(e) => failures.push(format!("{label} {mode} {seed}: java sample failed: {e}")),
            Ok(java_hex) => {
                let input = Bytes::from(unhex(&java_hex));
                match rust_reencode(kind, key, version, &input) {
                    Ok(out) if out == input => {}
                    Ok(out) => failures.push(format!(
                        "{label} {mode} {seed}: rust re-encoded differently\n  java {java_hex}\n  rust {}",
                        hex(&out)
                    )),
                    Err(e) => {
                        failures.push(format!("{label} {mode} {seed}: {e}\n  java {java_hex}"))
                    }
                }
            }
        }
    }
    failures
}

#[test]
fn every_message_version_matches_the_java_reference() {
    let mut current = Oracle::start("4.3.1");
    let mut legacy = Oracle::start("3.9.1");
    let mut proven = 0usize;
    let mut proven_current = 0usize;
    let mut failures = Vec::new();
    for key in ApiKey::all() {
        let info = key.info().expect("known key");
        for version in info.lowest..=info.highest {
            let in_current = info.current_lowest >= 0 && version >= info.current_lowest;
            let oracle = if in_current {
                &mut current
            } else {
                &mut legacy
            };
            for kind in [Kind::Request, Kind::Response] {
                let f = prove_pair(oracle, kind, key, version);
                if f.is_empty() {
                    proven += 1;
                    if in_current {
                        proven_current += 1;
                    }
                }
                failures.extend(f);
            }
        }
    }
    // Headers: request v0-2 (v0 only in 3.9.1), response v0-1.
    let mut headers = 0;
    for (kind, versions) in [
        (Kind::RequestHeader, 0..=2i16),
        (Kind::ResponseHeader, 0..=1i16),
    ] {
        for version in versions {
            let oracle = if kind == Kind::RequestHeader && version == 0 {
                &mut legacy
            } else {
                &mut current
            };
            let f = prove_pair(oracle, kind, ApiKey(0), version);
            if f.is_empty() {
                headers += 1;
            }
            failures.extend(f);
        }
    }
    println!(
        "differential: proven {proven} message-version pairs ({proven_current} defined by kafka-clients 4.3.1, {} older ones against 3.9.1) and {headers} header versions; {} failures",
        proven - proven_current,
        failures.len()
    );
    if !failures.is_empty() {
        for f in failures.iter().take(40) {
            eprintln!("{f}");
        }
        panic!("{} differential failures", failures.len());
    }
    assert_eq!(
        proven_current, 604,
        "every pair kafka-clients 4.3.1 defines"
    );
    assert_eq!(headers, 5);
}
