//! Random, valid Kafka messages of every API key and version, for fuzzing your own parser or
//! broker structure-aware (the `arbitrary` feature).
//!
//! ```text
//! cargo run -p kafka-protocol --features arbitrary --example random_messages -- [OPTIONS]
//!
//!   --out DIR     write one size-prefixed frame per file into DIR (a corpus for your fuzzer)
//!                 instead of printing hex lines
//!   --count N     messages per API key, version and direction (default 1)
//!   --seed S      seed of the generator (default 1); the same seed gives the same frames
//!   --key NAME    only this API key (name like `Produce`, or number)
//! ```
//!
//! Each message comes from [`RequestBody::arbitrary_for`] / [`ResponseBody::arbitrary_for`]:
//! fields a version lacks keep their defaults, nulls appear only where the version allows them,
//! unknown tagged fields only in flexible versions, so every frame is one a correct peer must
//! accept. The entropy here is a small PRNG; under a fuzzer, pass the fuzzer's bytes to
//! [`arbitrary::Unstructured::new`] instead, as `fuzz/fuzz_targets/structured_request.rs` does.

use std::io::Write;
use std::path::PathBuf;

use arbitrary::Unstructured;
use bytes::BytesMut;
use kafka_protocol::arbitrary_support::ArbitraryVersioned;
use kafka_protocol::frame::{encode_request_body, encode_response_body};
use kafka_protocol::generated::{RequestHeader, ResponseHeader};
use kafka_protocol::{ApiKey, RequestBody, ResponseBody};

/// xorshift64*: enough entropy for `arbitrary`, reproducible from a seed.
fn entropy(seed: u64, len: usize) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            (s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

/// A whole request frame (size prefix included) of `key` at `version`.
fn request_frame(
    u: &mut Unstructured<'_>,
    key: ApiKey,
    version: i16,
) -> arbitrary::Result<BytesMut> {
    let mut header = RequestHeader::arbitrary_versioned(u, key.request_header_version(version))?;
    header.request_api_key = key.0;
    header.request_api_version = version;
    let body = RequestBody::arbitrary_for(key, u, version)?;
    let mut w = BytesMut::new();
    encode_request_body(&mut w, &header, &body).map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(w)
}

/// A whole response frame of `key` at `version`.
fn response_frame(
    u: &mut Unstructured<'_>,
    key: ApiKey,
    version: i16,
) -> arbitrary::Result<BytesMut> {
    let header = ResponseHeader::arbitrary_versioned(u, key.response_header_version(version))?;
    let body = ResponseBody::arbitrary_for(key, u, version)?;
    let mut w = BytesMut::new();
    encode_response_body(&mut w, &header, key, version, &body)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(w)
}

struct Options {
    out: Option<PathBuf>,
    count: u64,
    seed: u64,
    key: Option<ApiKey>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        out: None,
        count: 1,
        seed: 1,
        key: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--out" => o.out = Some(PathBuf::from(value)),
            "--count" => o.count = value.parse().map_err(|e| format!("--count: {e}"))?,
            "--seed" => o.seed = value.parse().map_err(|e| format!("--seed: {e}"))?,
            "--key" => {
                o.key = Some(ApiKey::from_name(&value).ok_or(format!("unknown API key {value}"))?)
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options().map_err(|e| format!("random_messages: {e} (see the example's doc)"))?;
    if let Some(dir) = &o.out {
        std::fs::create_dir_all(dir)?;
    }
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut written = 0usize;
    for key in ApiKey::all().filter(|k| o.key.is_none_or(|only| only == *k)) {
        let Some(info) = key.info() else { continue };
        for version in info.lowest..=info.highest {
            for n in 0..o.count {
                let seed = o.seed
                    ^ (u64::from(key.0 as u16) << 32)
                    ^ (u64::from(version as u16) << 16)
                    ^ n;
                let data = entropy(seed, 4096);
                let mut u = Unstructured::new(&data);
                for (direction, frame) in [
                    ("request", request_frame(&mut u, key, version)),
                    ("response", response_frame(&mut u, key, version)),
                ] {
                    let frame = frame.map_err(|e| format!("{key} v{version} {direction}: {e}"))?;
                    match &o.out {
                        Some(dir) => {
                            let name = format!("{}-v{version}-{direction}-{n}.bin", info.name);
                            std::fs::write(dir.join(name), &frame)?;
                        }
                        None => {
                            write!(stdout, "{} v{version} {direction} ", info.name)?;
                            for b in &frame[..] {
                                write!(stdout, "{b:02x}")?;
                            }
                            writeln!(stdout)?;
                        }
                    }
                    written += 1;
                }
            }
        }
    }
    if let Some(dir) = &o.out {
        eprintln!("random_messages: {written} frames in {}", dir.display());
    }
    Ok(())
}
