//! Interop both ways with the live Java oracle (`tools/java-oracle`, kafka-clients 4.3.1):
//! batches Rust builds with each codec and magic are read and CRC-validated (`ensureValid`) by
//! Java's record classes with identical records, and batches Java builds are read by Rust with
//! identical records.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use bytes::Bytes;
use serde_json::{json, Value};

use super::support::{check_against_json, hex, record_json, unhex};
use crate::record::{
    Compression, Header, LegacyMessageSetBuilder, Record, RecordBatchBuilder, NO_TIMESTAMP,
};

struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Oracle {
    fn start() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let status = Command::new("bash")
            .arg(root.join("tools/java-oracle/build.sh"))
            .status()
            .expect("run tools/java-oracle/build.sh (needs java and maven)");
        assert!(status.success(), "java oracle build failed");
        let cache = root.join(".cache/java-oracle");
        let classpath = format!(
            "{}:{}/*",
            cache.join("oracle.jar").display(),
            cache.join("lib-4.3.1").display()
        );
        let mut child = Command::new("java")
            .args(["-cp", &classpath, "kafkars.oracle.Oracle"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start java oracle");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            stdout,
        }
    }

    fn ask(&mut self, command: &str) -> Result<String, String> {
        writeln!(self.stdin, "{command}").expect("write to oracle");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read from oracle");
        let line = line.trim_end().to_owned();
        match line.strip_prefix("ok") {
            Some(rest) => Ok(rest.trim_start().to_owned()),
            None => Err(line),
        }
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// Records exercising null vs empty, duplicate headers and a value spanning several
/// compression blocks.
fn sample_records(magic: i8, base_offset: i64) -> Vec<Record> {
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 13) as u8 + b'a').collect();
    type Spec<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Vec<Header>);
    let specs: Vec<Spec<'_>> = vec![
        (Some(b"k0"), Some(b"v0"), vec![Header::new("h", Some("x"))]),
        (
            None,
            Some(b""),
            vec![
                Header::new("dup", Some("1")),
                Header::new("dup", None::<Bytes>),
                Header::new("e", Some("")),
            ],
        ),
        (Some(b""), None, vec![]),
        (Some(b"big"), Some(&big), vec![]),
    ];
    specs
        .into_iter()
        .enumerate()
        .map(|(i, (k, v, h))| Record {
            offset: base_offset + i as i64,
            timestamp: if magic == 0 {
                NO_TIMESTAMP
            } else {
                1_700_000_000_000 + i as i64 * 7 - 3
            },
            timestamp_delta: 0,
            attributes: 0,
            sequence: -1,
            key: k.map(Bytes::copy_from_slice),
            value: v.map(Bytes::copy_from_slice),
            headers: if magic == 2 { h } else { vec![] },
        })
        .collect()
}

fn rust_build(magic: i8, codec: Compression, records: &[Record]) -> Bytes {
    if magic == 2 {
        let mut b = RecordBatchBuilder::new(codec);
        b.set_base_offset(records[0].offset)
            .set_producer(9, 2)
            .set_base_sequence(11)
            .set_partition_leader_epoch(4);
        for r in records {
            let _ = b
                .append(
                    r.timestamp,
                    r.key.as_deref(),
                    r.value.as_deref(),
                    &r.headers,
                )
                .unwrap();
        }
        b.build().unwrap()
    } else {
        let mut b = LegacyMessageSetBuilder::new(magic, codec).unwrap();
        b.set_base_offset(records[0].offset);
        for r in records {
            let _ = b
                .append(r.timestamp, r.key.as_deref(), r.value.as_deref())
                .unwrap();
        }
        b.build().unwrap()
    }
}

#[test]
fn java_reads_rust_batches_and_rust_reads_java_batches() {
    let mut oracle = Oracle::start();
    for magic in [0i8, 1, 2] {
        for codec in Compression::ALL {
            if magic < 2 && codec == Compression::Zstd {
                continue;
            }
            let at = format!("magic {magic} {}", codec.name());
            let records = sample_records(magic, 100);
            // Rust -> Java: Java validates the CRC and reads the same records.
            let built = rust_build(magic, codec, &records);
            let json = oracle
                .ask(&format!("records-read {}", hex(&built)))
                .unwrap_or_else(|e| panic!("{at}: Java rejected Rust's batch: {e}"));
            let java_view: Value = serde_json::from_str(&json).unwrap();
            check_against_json(&at, built.clone(), &java_view);
            let java_records: Vec<Value> = java_view
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|b| b["records"].as_array().unwrap().clone())
                .collect();
            let ours: Vec<Value> = records.iter().map(record_json).collect();
            assert_eq!(java_records, ours, "{at}: Java's view of Rust's batch");

            // Java -> Rust.
            let recs_json = Value::Array(ours.clone()).to_string();
            let opts = if magic == 2 {
                json!({"producer_id": 9, "producer_epoch": 2, "base_sequence": 11,
                       "partition_leader_epoch": 4})
                .to_string()
            } else {
                String::new()
            };
            let java_hex = oracle
                .ask(&format!(
                    "records-build {magic} {} 100 {recs_json} {opts}",
                    codec.name()
                ))
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            let java_bytes = Bytes::from(unhex(&java_hex));
            check_against_json(
                &format!("{at} (Java-built)"),
                java_bytes.clone(),
                &java_view_of(&mut oracle, &java_bytes),
            );
            let decoded: Vec<Value> = crate::record::BatchIter::new(java_bytes.clone())
                .flat_map(|b| {
                    b.unwrap()
                        .records()
                        .unwrap()
                        .map(|r| record_json(&r.unwrap()))
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(decoded, ours, "{at}: Rust's view of Java's batch");
            if codec == Compression::None {
                assert_eq!(
                    built, java_bytes,
                    "{at}: uncompressed bytes differ from Java's"
                );
            }
        }
    }
}

fn java_view_of(oracle: &mut Oracle, data: &[u8]) -> Value {
    let json = oracle
        .ask(&format!("records-read {}", hex(data)))
        .expect("Java reads its own batch");
    serde_json::from_str(&json).unwrap()
}
