//! Builds the fuzz corpus from real traffic: every capture under `fixtures/` (and the capture
//! reader's own test captures) is read with `kafka-cli`'s capture reader, and its frames, record
//! batches and the files themselves become inputs of the targets, in each target's input layout.
//!
//! ```text
//! make-corpus [--root DIR] [--out DIR] [--seeds DIR]
//! ```
//!
//! `--out` (default `fuzz/corpus`) gets everything, one file per distinct input named by its
//! hash; `--seeds` also writes the small, varied subset that is committed (`fuzz/seeds`): one
//! frame per (API key, version, direction), one record blob per (magic, codec, control) kind,
//! the smallest captures.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kafka_cli::capture::{CaptureEvent, CaptureOptions, CaptureReader, PortSelection};
use kafka_fuzz_checks::corpus::{self, Corpus};
use kafka_protocol::frame::{self, Correlator};
use kafka_protocol::fuzzing::selector_bytes;
use kafka_protocol::record::BatchIter;
use kafka_protocol::{ApiKey, RequestBody, ResponseBody};

fn files(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, exts, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
        {
            out.push(path);
        }
    }
}

/// Frames of one capture, as (direction is request, api key, version, frame).
fn frames(data: &[u8]) -> Vec<(bool, ApiKey, i16, Bytes)> {
    let mut out = Vec::new();
    for ports in [PortSelection::Ports(vec![9092, 9192]), PortSelection::Auto] {
        let Ok(reader) = CaptureReader::new(data, CaptureOptions::with_ports(ports)) else {
            return out;
        };
        let mut correlators: HashMap<u64, Correlator> = HashMap::new();
        for event in reader {
            let Ok(CaptureEvent::Frame(f)) = event else {
                continue;
            };
            let c = correlators.entry(f.stream.index).or_default();
            if f.direction.is_request() {
                if let Some(p) = c.record_request_frame(&f.bytes) {
                    out.push((true, p.api_key, p.version, f.bytes));
                }
            } else if let Some(p) = f.correlation_id().and_then(|id| c.take(id)) {
                out.push((false, p.api_key, p.version, f.bytes));
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}

fn records_of(request: bool, key: ApiKey, version: i16, frame: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    if request {
        if let Ok((_, RequestBody::Produce(p))) = frame::decode_request(frame) {
            for t in &p.topic_data {
                out.extend(t.partition_data.iter().filter_map(|d| d.records.clone()));
            }
        }
        return out;
    }
    match frame::decode_response(frame, key, version) {
        Ok((_, ResponseBody::Fetch(f))) => {
            for t in &f.responses {
                out.extend(t.partitions.iter().filter_map(|d| d.records.clone()));
            }
        }
        Ok((_, ResponseBody::ShareFetch(f))) => {
            for t in &f.responses {
                out.extend(t.partitions.iter().filter_map(|d| d.records.clone()));
            }
        }
        _ => {}
    }
    out.retain(|r| !r.is_empty());
    out
}

/// What kind of records blob this is, for picking varied seeds.
fn blob_kind(blob: &Bytes) -> String {
    match BatchIter::new(blob.clone()).next() {
        Some(Ok(b)) => format!("m{}-{:?}-c{}", b.magic(), b.compression(), b.is_control()),
        _ => "other".into(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut root = PathBuf::from(".");
    let mut out = None;
    let mut seeds = None;
    while let Some(a) = args.next() {
        let value = args.next().map(PathBuf::from);
        match (a.as_str(), value) {
            ("--root", Some(v)) => root = v,
            ("--out", Some(v)) => out = Some(v),
            ("--seeds", Some(v)) => seeds = Some(v),
            _ => {
                eprintln!("usage: make-corpus [--root DIR] [--out DIR] [--seeds DIR]");
                std::process::exit(2);
            }
        }
    }
    let out = out.unwrap_or_else(|| root.join("fuzz/corpus"));
    let mut all = Corpus::default();
    let mut picked = Corpus::default();

    let mut captures = Vec::new();
    files(&root.join("fixtures"), &["pcap", "pcapng"], &mut captures);
    files(
        &root.join("kafka-cli/src/capture/testdata"),
        &["pcap", "pcapng"],
        &mut captures,
    );
    let mut by_size: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut seen_pairs = BTreeMap::new();
    let mut blobs: Vec<Bytes> = Vec::new();
    for path in &captures {
        let Ok(data) = std::fs::read(path) else {
            eprintln!("make-corpus: cannot read {}", path.display());
            continue;
        };
        let frames = frames(&data);
        eprintln!("{}: {} frames", path.display(), frames.len());
        for flags in [0u8, 1, 2, 3] {
            all.add("capture_decode", corpus::prefixed(&[flags], &data));
        }
        by_size.push((data.len(), data));
        for (request, key, version, frame) in frames {
            let Some(sel) = selector_bytes(key, version) else {
                continue;
            };
            let (target, input) = if request {
                (
                    "request_frame",
                    corpus::prefixed(&sel, frame.get(4..).unwrap_or(&[])),
                )
            } else {
                ("response_frame", corpus::prefixed(&sel, &frame))
            };
            if seen_pairs.insert((target, key.0, version), ()).is_none() {
                picked.add(target, input.clone());
            }
            all.add(target, input);
            blobs.extend(records_of(request, key, version, &frame));
        }
    }
    let mut testdata = Vec::new();
    files(
        &root.join("kafka-protocol/src/record/testdata"),
        &["bin"],
        &mut testdata,
    );
    for path in &testdata {
        if let Ok(data) = std::fs::read(path) {
            blobs.push(Bytes::from(data));
        }
    }
    let mut kinds = BTreeMap::new();
    for blob in &blobs {
        for input in corpus::record_inputs(blob) {
            all.add("record_batches", input);
        }
        for input in corpus::fetch_inputs(blob) {
            all.add("client_fetch", input);
        }
        let kind = blob_kind(blob);
        let n = kinds.entry(kind).or_insert(0usize);
        if *n < 2 {
            *n += 1;
            for input in corpus::record_inputs(blob) {
                picked.add("record_batches", input);
            }
            if let Some(input) = corpus::fetch_inputs(blob).into_iter().next() {
                picked.add("client_fetch", input);
            }
        }
    }
    by_size.sort();
    for (_, data) in by_size.iter().take(3) {
        picked.add("capture_decode", corpus::prefixed(&[0], data));
    }
    for (target, inputs) in corpus::random_inputs() {
        for input in inputs {
            picked.add(target, input.clone());
            all.add(target, input);
        }
    }
    report("corpus", &out, all.write(&out));
    if let Some(seeds) = seeds {
        report("seeds", &seeds, picked.write(&seeds));
    }
}

fn report(what: &str, dir: &Path, result: std::io::Result<BTreeMap<String, (usize, usize)>>) {
    match result {
        Ok(counts) => {
            for (target, (files, bytes)) in counts {
                println!(
                    "{what} {}/{target}: {files} files, {bytes} bytes",
                    dir.display()
                );
            }
        }
        Err(e) => {
            eprintln!("make-corpus: writing {}: {e}", dir.display());
            std::process::exit(1);
        }
    }
}
