//! `--stats`: counts per API key and version, bytes, request-to-response latency, error codes.

use std::collections::BTreeMap;
use std::io::{self, Write};

use kafka_protocol::{ApiKey, ErrorCode};

use super::decoder::DecodedFrame;
use super::digest::Digest;

/// Counters of one (API key, version).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApiCounts {
    /// Request frames.
    pub requests: u64,
    /// Response frames.
    pub responses: u64,
    /// Bytes of request frames, length prefixes included.
    pub request_bytes: u64,
    /// Bytes of response frames.
    pub response_bytes: u64,
    /// Frames that did not decode completely.
    pub failed: u64,
}

/// Accumulated statistics of a run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Frames seen.
    pub frames: u64,
    /// Frames that did not decode completely.
    pub failed: u64,
    /// Bytes of all frames, length prefixes included.
    pub bytes: u64,
    /// Frames whose API is unknown (unpaired responses, short frames).
    pub unknown_api: u64,
    /// Per (API key, version).
    pub apis: BTreeMap<(i16, i16), ApiCounts>,
    /// Latencies in nanoseconds per API key.
    pub latencies: BTreeMap<i16, Vec<i64>>,
    /// Occurrences of each non-zero error code per API key.
    pub errors: BTreeMap<(i16, i16), u64>,
    /// Record batches in record data.
    pub batches: u64,
    /// Records in record data.
    pub records: u64,
}

impl Stats {
    /// Counts one frame; `digest` must have been computed for it.
    pub fn add(&mut self, f: &DecodedFrame<'_>, digest: &Digest) {
        let len = f.frame.bytes.len() as u64 + 4;
        self.frames += 1;
        self.bytes += len;
        let failed = f.error.is_some();
        self.failed += u64::from(failed);
        self.batches += digest.batches as u64;
        self.records += digest.records as u64;
        let (Some(key), Some(version)) = (f.api_key, f.api_version) else {
            self.unknown_api += 1;
            return;
        };
        let c = self.apis.entry((key.0, version)).or_default();
        c.failed += u64::from(failed);
        if f.is_request() {
            c.requests += 1;
            c.request_bytes += len;
        } else {
            c.responses += 1;
            c.response_bytes += len;
            if let Some(ns) = f.latency_ns {
                self.latencies.entry(key.0).or_default().push(ns);
            }
        }
        for &(code, n) in &digest.errors {
            *self.errors.entry((key.0, code)).or_default() += u64::from(n);
        }
    }

    /// Writes the report.
    pub fn write(&mut self, w: &mut impl Write) -> io::Result<()> {
        writeln!(
            w,
            "frames: {} ({} bytes), decoded: {}, failed: {}, unpaired or unknown: {}",
            self.frames,
            self.bytes,
            self.frames - self.failed,
            self.failed,
            self.unknown_api
        )?;
        writeln!(
            w,
            "record data: {} records in {} batches",
            self.records, self.batches
        )?;
        writeln!(w)?;
        writeln!(
            w,
            "{:<28} {:>3} {:>9} {:>9} {:>12} {:>12} {:>6}",
            "api", "ver", "requests", "responses", "req bytes", "resp bytes", "failed"
        )?;
        for (&(key, version), c) in &self.apis {
            writeln!(
                w,
                "{:<28} {:>3} {:>9} {:>9} {:>12} {:>12} {:>6}",
                api_label(key),
                version,
                c.requests,
                c.responses,
                c.request_bytes,
                c.response_bytes,
                c.failed
            )?;
        }
        if !self.latencies.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "{:<28} {:>9} {:>10} {:>10} {:>10} {:>10}",
                "latency (ms)", "count", "min", "p50", "p99", "max"
            )?;
            for (&key, lat) in &mut self.latencies {
                lat.sort_unstable();
                writeln!(
                    w,
                    "{:<28} {:>9} {:>10} {:>10} {:>10} {:>10}",
                    api_label(key),
                    lat.len(),
                    ms(lat[0]),
                    ms(percentile(lat, 50)),
                    ms(percentile(lat, 99)),
                    ms(lat[lat.len() - 1])
                )?;
            }
        }
        if !self.errors.is_empty() {
            writeln!(w)?;
            writeln!(
                w,
                "{:<28} {:>5} {:<40} {:>7}",
                "error codes", "code", "name", "count"
            )?;
            for (&(key, code), n) in &self.errors {
                writeln!(
                    w,
                    "{:<28} {:>5} {:<40} {:>7}",
                    api_label(key),
                    code,
                    ErrorCode(code).name().unwrap_or("?"),
                    n
                )?;
            }
        }
        Ok(())
    }
}

fn api_label(key: i16) -> String {
    match ApiKey(key).name() {
        Some(n) => n.to_owned(),
        None => format!("ApiKey({key})"),
    }
}

/// Nearest-rank percentile of sorted, non-empty data.
fn percentile(sorted: &[i64], p: usize) -> i64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

fn ms(ns: i64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let data: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&data, 50), 50);
        assert_eq!(percentile(&data, 99), 99);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(percentile(&[1, 2], 50), 1);
        assert_eq!(ms(1_234_567), "1.235");
    }
}
