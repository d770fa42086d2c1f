//! Shared helpers: the broker, unique topic names, the Java tools.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use kafka_client::{Client, ClientConfig};

/// The single-node broker's bootstrap address.
pub const BOOTSTRAP: &str = "127.0.0.1:9092";

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Starts the single-node broker once per test binary (`up` is idempotent, and returns at once
/// when it already runs). If a three-node cluster runs instead, `up` refuses: then the
/// single-node tests cannot run, which is an error worth seeing.
pub fn broker() -> &'static str {
    static UP: OnceLock<()> = OnceLock::new();
    UP.get_or_init(|| {
        let out = Command::new(repo().join("scripts/kafka"))
            .arg("up")
            .output()
            .expect("run scripts/kafka up");
        assert!(
            out.status.success(),
            "scripts/kafka up failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
    BOOTSTRAP
}

/// A topic name no other test (or earlier run) uses.
pub fn unique_topic(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// A connected client to the single-node broker.
pub async fn client() -> Client {
    let config = ClientConfig::new(broker())
        .client_id("kafka-rs-it")
        .default_api_timeout(Duration::from_secs(30));
    Client::connect(config).await.expect("connect to broker")
}

/// Polls `check` until it returns `Some` or 10 s pass: metadata reaches brokers a moment after
/// the controller accepted a change (Java's admin client has the same lag).
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The Java classpath of the broker distribution (tools included).
pub fn java_classpath() -> String {
    let out = Command::new(repo().join("scripts/kafka"))
        .arg("java-classpath")
        .output()
        .expect("scripts/kafka java-classpath");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// One record as the Java console consumer printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub value: String,
}

/// Reads `expected` records of the topics matching `include` (a Java regex) from the
/// beginning with the Java `ConsoleConsumer`, so that what we wrote is checked by the reference
/// implementation's decoder.
pub fn java_consume(include: &str, expected: usize) -> Vec<Consumed> {
    java_consume_from(BOOTSTRAP, include, expected, 20_000)
}

/// As [`java_consume`], from any cluster, with a timeout for the consumer's idle wait.
pub fn java_consume_from(
    bootstrap: &str,
    include: &str,
    expected: usize,
    timeout_ms: u64,
) -> Vec<Consumed> {
    let out = Command::new("java")
        .args([
            "-cp",
            &java_classpath(),
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            bootstrap,
            "--include",
            include,
            "--from-beginning",
            "--max-messages",
            &expected.to_string(),
            "--timeout-ms",
            &timeout_ms.to_string(),
            "--formatter-property",
            "print.partition=true",
            "--formatter-property",
            "print.offset=true",
            "--formatter-property",
            "print.key=true",
            "--formatter-property",
            "key.separator=|",
        ])
        .output()
        .expect("run the Java console consumer");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter_map(|l| {
            // Partition:0|Offset:12|key|value
            let mut it = l.splitn(4, '|');
            let p = it.next()?.strip_prefix("Partition:")?.parse().ok()?;
            let o = it.next()?.strip_prefix("Offset:")?.parse().ok()?;
            Some(Consumed {
                partition: p,
                offset: o,
                key: it.next()?.to_owned(),
                value: it.next()?.to_owned(),
            })
        })
        .collect()
}

/// Java's partition for `key` among `n`, from the oracle (`murmur2 <hex> <n>`), for many keys
/// in one JVM.
pub fn java_partitions(keys: &[String], n: i32) -> Vec<i32> {
    use std::io::Write;
    let root = repo();
    let build = Command::new("bash")
        .arg(root.join("tools/java-oracle/build.sh"))
        .output()
        .expect("build the Java oracle");
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let cp = format!(
        "{}:{}/*",
        root.join(".cache/java-oracle/oracle.jar").display(),
        root.join(".cache/java-oracle/lib-4.3.1").display()
    );
    let mut child = Command::new("java")
        .args(["-cp", &cp, "kafkars.oracle.Oracle"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the oracle");
    let mut input = String::new();
    for k in keys {
        let hex: String = k.bytes().map(|b| format!("{b:02x}")).collect();
        input.push_str(&format!("murmur2 {hex} {n}\n"));
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("ok ").expect(l).parse().unwrap())
        .collect()
}

/// Reads a whole partition with raw Fetch requests and decodes it with the project's own record
/// decoder (`kafka_protocol::record`): `(offset, key, value)` per record and the compression of
/// every batch.
pub async fn rust_fetch_partition(
    client: &Client,
    topic: &str,
    partition: i32,
) -> (
    Vec<(i64, Option<bytes::Bytes>, Option<bytes::Bytes>)>,
    Vec<kafka_protocol::record::Compression>,
) {
    use kafka_protocol::generated::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::generated::FetchRequest;
    use kafka_protocol::record::{Batch, BatchIter};

    let info = client.topic(topic, Duration::from_secs(10)).await.unwrap();
    let leader = info.partition(partition).unwrap().leader;
    let mut offset = 0i64;
    let mut records = Vec::new();
    let mut codecs = Vec::new();
    loop {
        let resp = client
            .send_to_with(leader, |version| FetchRequest {
                replica_id: -1,
                max_wait_ms: 100,
                min_bytes: 1,
                max_bytes: 8 << 20,
                session_epoch: -1,
                topics: vec![FetchTopic {
                    // Fetch v13+ names topics by id (KIP-516).
                    topic: if version >= 13 {
                        Default::default()
                    } else {
                        topic.into()
                    },
                    topic_id: if version >= 13 {
                        info.id
                    } else {
                        Default::default()
                    },
                    partitions: vec![FetchPartition {
                        partition,
                        fetch_offset: offset,
                        partition_max_bytes: 4 << 20,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            })
            .await
            .unwrap();
        let p = &resp.responses[0].partitions[0];
        assert_eq!(p.error_code, 0, "fetch {topic}-{partition}");
        let hw = p.high_watermark;
        for batch in BatchIter::new(p.records.clone().unwrap_or_default()) {
            let Batch::V2(b) = batch.unwrap() else {
                panic!("legacy batch")
            };
            codecs.push(b.compression());
            for r in b.records().unwrap() {
                let r = r.unwrap();
                if r.offset >= offset {
                    records.push((r.offset, r.key.clone(), r.value.clone()));
                }
            }
            offset = offset.max(b.next_offset());
        }
        if offset >= hw {
            return (records, codecs);
        }
    }
}
