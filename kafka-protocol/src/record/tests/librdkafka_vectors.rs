//! Batches written by librdkafka 2.16.0 (PyPI `confluent-kafka` 2.16.1) with every codec to a
//! local Kafka 4.3.1 broker and copied from the partition's log segment (see
//! testdata/README.md). `librdkafka-expected.json` is what Java's record classes read from
//! them; Rust must read the same, and the records must be the ones the Java vectors hold (the
//! same records were produced), which shows librdkafka wrote what it was asked to.

use bytes::Bytes;
use serde_json::Value;

use super::support::{check_against_json, expected_record};
use crate::record::Compression;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/record/testdata");

fn json(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{DIR}/{name}")).expect("json");
    serde_json::from_str(&text).expect("valid json")
}

#[test]
fn librdkafka_batches_decode_to_the_records_java_reads() {
    let rdk = json("librdkafka-expected.json");
    let java = json("java-expected.json");
    let names: Vec<String> = Compression::ALL
        .iter()
        .map(|c| c.name().to_owned())
        .chain(["idem-lz4".to_owned()])
        .collect();
    for c in names {
        let name = format!("librdkafka-v2-{c}");
        let data = Bytes::from(std::fs::read(format!("{DIR}/{name}.bin")).expect("vector"));
        let want = &rdk[&name];
        check_against_json(&name, data, want);
        assert_eq!(want[0]["compression"], c.trim_start_matches("idem-"));
        // Same records as Java wrote, at base offset 0 instead of 1000.
        let java_name = format!("java-v2-{}", c.trim_start_matches("idem-"));
        let ours: Vec<_> = want[0]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(expected_record)
            .collect();
        let theirs: Vec<_> = java[&java_name][0]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut e = expected_record(r);
                e.0 -= 1000;
                e
            })
            .collect();
        assert_eq!(ours, theirs, "{name}");
    }
    // The idempotent producer's fields.
    let idem = &rdk["librdkafka-v2-idem-lz4"][0];
    assert_eq!(idem["producer_id"], 0);
    assert_eq!(idem["base_sequence"], 0);
}
