//! Turning real data into inputs of the fuzz targets (each target has its own input layout),
//! and writing a corpus directory.

use std::collections::BTreeMap;
use std::path::Path;

use bytes::{Bytes, BytesMut};
use kafka_protocol::generated::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::generated::FetchResponse;
use kafka_protocol::Message;

use crate::fetch::{fetch_version, TOPIC_ID};

/// Inputs by target, deduplicated.
#[derive(Debug, Default)]
pub struct Corpus {
    inputs: BTreeMap<&'static str, BTreeMap<u64, Vec<u8>>>,
}

/// FNV-1a, for stable file names.
pub fn hash(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Corpus {
    /// Adds an input of `target`.
    pub fn add(&mut self, target: &'static str, input: Vec<u8>) {
        self.inputs
            .entry(target)
            .or_default()
            .insert(hash(&input), input);
    }

    /// Writes `dir/<target>/<hash>`; returns (files, bytes) per target.
    pub fn write(&self, dir: &Path) -> std::io::Result<BTreeMap<String, (usize, usize)>> {
        let mut counts = BTreeMap::new();
        for (target, inputs) in &self.inputs {
            let sub = dir.join(target);
            std::fs::create_dir_all(&sub)?;
            for (h, input) in inputs {
                std::fs::write(sub.join(format!("{h:016x}")), input)?;
            }
            counts.insert(
                (*target).to_owned(),
                (inputs.len(), inputs.values().map(Vec::len).sum()),
            );
        }
        Ok(counts)
    }
}

/// `prefix` followed by `data`.
pub fn prefixed(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(prefix.len() + data.len());
    v.extend_from_slice(prefix);
    v.extend_from_slice(data);
    v
}

/// `record_batches` inputs for a records blob: CRC checked and not, 1 MiB cap.
pub fn record_inputs(blob: &[u8]) -> Vec<Vec<u8>> {
    vec![prefixed(&[0b110], blob), prefixed(&[0b111], blob)]
}

/// `client_fetch` inputs: a Fetch response carrying `blob` for partition 0 of the fetcher's
/// topic, at a few versions (the selector maps onto the versions the fetcher allows).
pub fn fetch_inputs(blob: &Bytes) -> Vec<Vec<u8>> {
    let newest = kafka_protocol::ApiKey::FETCH
        .info()
        .map_or(12, |i| i.current_highest);
    let mut out = Vec::new();
    for selector in [0u8, 4, 7, 8, 9, 11, 12, 13, 14] {
        let version = fetch_version(selector, newest);
        let resp = FetchResponse {
            responses: vec![FetchableTopicResponse {
                topic: if version < 13 {
                    "t".into()
                } else {
                    Default::default()
                },
                topic_id: TOPIC_ID,
                partitions: vec![PartitionData {
                    partition_index: 0,
                    high_watermark: 1 << 20,
                    last_stable_offset: 1 << 20,
                    log_start_offset: 0,
                    records: Some(blob.clone()),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut w = BytesMut::new();
        if resp.encode(&mut w, version).is_ok() {
            out.push(prefixed(&[0, selector, 0], &w));
        }
    }
    out
}

/// A few inputs of random bytes for the targets whose input is not data from the wire.
pub fn random_inputs() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut inputs = |n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| (0..64 << (i % 6)).map(|_| next() as u8).collect())
            .collect()
    };
    vec![
        ("structured_request", inputs(12)),
        ("structured_response", inputs(12)),
        ("client_conn", inputs(12)),
    ]
}
