//! The plain consumer against the real broker: everything the Java producer wrote (each
//! codec, headers, null values, committed and aborted transactions) is read back exactly;
//! read_committed hides the aborted; seeks, timestamps and bad input behave.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use kafka_client::admin::{Admin, NewTopic};
use kafka_client::consumer::{Consumer, ConsumerError, ConsumerRecord, OffsetSpec, TopicPartition};

use crate::common::{broker, client, java_classpath, repo, unique_topic};

// The group tests live beside this file; one module line in main.rs covers both.
#[path = "consumer_assignors.rs"]
mod assignors;
#[path = "consumer_group.rs"]
mod group;

/// A tiny Java producer (compiled once per test run): plain or transactional records with
/// keys, headers and every tenth value null, spread over partitions by index.
const PRODUCE_JAVA: &str = r#"
import org.apache.kafka.clients.producer.*;
import java.util.*;
public class Produce {
  public static void main(String[] a) throws Exception {
    String bootstrap = a[0], topic = a[1], compression = a[2], mode = a[3];
    int n = Integer.parseInt(a[4]), parts = Integer.parseInt(a[5]);
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("compression.type", compression);
    p.put("linger.ms", "5");
    p.put("batch.size", "4096");
    p.put("key.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    p.put("value.serializer", "org.apache.kafka.common.serialization.StringSerializer");
    if (mode.equals("txn")) p.put("transactional.id", "txn-" + topic);
    try (KafkaProducer<String, String> pr = new KafkaProducer<>(p)) {
      if (mode.equals("txn")) {
        pr.initTransactions();
        for (int t = 0; t < 3; t++) {
          pr.beginTransaction();
          for (int i = 0; i < n; i++) pr.send(rec(topic, i % parts, (t == 1 ? "a" : "c") + t + "-" + i, i));
          pr.flush();
          if (t == 1) pr.abortTransaction(); else pr.commitTransaction();
        }
      } else {
        for (int i = 0; i < n; i++) pr.send(rec(topic, i % parts, "p-" + i, i));
        pr.flush();
      }
    }
  }
  static ProducerRecord<String, String> rec(String topic, int partition, String id, int i) {
    String value = i % 10 == 9 ? null : "v-" + id + "-" + "x".repeat(i % 50);
    ProducerRecord<String, String> r = new ProducerRecord<>(topic, partition, "k-" + id, value);
    r.headers().add("h", id.getBytes());
    return r;
  }
}
"#;

/// The value the Java program writes for record `i` with id `id`.
fn expected_value(id: &str, i: usize) -> Option<String> {
    (i % 10 != 9).then(|| format!("v-{id}-{}", "x".repeat(i % 50)))
}

fn java_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo().join("target/consumer-it-java");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Produce.java"), PRODUCE_JAVA).unwrap();
        let out = Command::new("javac")
            .args(["-cp", &java_classpath(), "-d"])
            .arg(&dir)
            .arg(dir.join("Produce.java"))
            .output()
            .expect("run javac");
        assert!(
            out.status.success(),
            "javac: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// Runs the Java producer.
fn java_produce(topic: &str, compression: &str, mode: &str, n: usize, partitions: i32) {
    let cp = format!("{}:{}", java_dir().display(), java_classpath());
    let out = Command::new("java")
        .args(["-cp", &cp, "Produce", broker(), topic, compression, mode])
        .arg(n.to_string())
        .arg(partitions.to_string())
        .output()
        .expect("run the Java producer");
    assert!(
        out.status.success(),
        "Java producer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn create_topic(name: &str, partitions: i32) {
    let admin = Admin::new(client().await);
    admin
        .create_topic(NewTopic::new(name).partitions(partitions))
        .await
        .expect("create topic");
}

async fn consumer(props: &[(&str, &str)]) -> Consumer {
    let mut all = vec![
        ("bootstrap.servers", broker()),
        ("auto.offset.reset", "earliest"),
    ];
    all.extend_from_slice(props);
    Consumer::from_properties(all).await.expect("consumer")
}

/// Reads until `n` records came or `within` passed.
async fn read(c: &mut Consumer, n: usize, within: Duration) -> Vec<ConsumerRecord> {
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, c.next()).await {
            Ok(Some(Ok(r))) => out.push(r),
            Ok(Some(Err(e))) => panic!("consumer error: {e}"),
            Ok(None) => break,
            Err(_) => break,
        }
    }
    out
}

/// Per partition: (key, value, header) in offset order, offsets strictly increasing.
fn by_partition(
    records: &[ConsumerRecord],
) -> BTreeMap<i32, Vec<(String, Option<String>, String)>> {
    let mut out: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    for r in records {
        if let Some(prev) = last.insert(r.partition, r.offset) {
            assert!(
                r.offset > prev,
                "offsets go backwards in partition {}",
                r.partition
            );
        }
        let key = String::from_utf8(r.key.clone().unwrap().to_vec()).unwrap();
        let value = r
            .value
            .as_ref()
            .map(|v| String::from_utf8(v.to_vec()).unwrap());
        assert_eq!(r.headers.len(), 1);
        let h = String::from_utf8(r.headers[0].value.clone().unwrap().to_vec()).unwrap();
        out.entry(r.partition).or_default().push((key, value, h));
    }
    out
}

fn expected(
    ids: &[(String, usize)],
    partitions: i32,
) -> BTreeMap<i32, Vec<(String, Option<String>, String)>> {
    let mut out: BTreeMap<i32, Vec<_>> = BTreeMap::new();
    for (id, i) in ids {
        out.entry(*i as i32 % partitions).or_default().push((
            format!("k-{id}"),
            expected_value(id, *i),
            id.clone(),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_back_what_java_wrote_with_each_codec() {
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = unique_topic(&format!("consume-{codec}"));
        create_topic(&topic, 3).await;
        let n = 2000;
        java_produce(&topic, codec, "plain", n, 3);
        let mut c = consumer(&[]).await;
        c.assign_topic(&topic).await.unwrap();
        let got = read(&mut c, n, Duration::from_secs(30)).await;
        assert_eq!(got.len(), n, "{codec}: records read");
        let ids: Vec<(String, usize)> = (0..n).map(|i| (format!("p-{i}"), i)).collect();
        assert_eq!(by_partition(&got), expected(&ids, 3), "{codec}: content");
        // Nothing more arrives, and the consumer knows it is at the end.
        assert!(read(&mut c, 1, Duration::from_millis(700)).await.is_empty());
        assert!(c.at_end(), "{codec}: at end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_hides_aborted_transactions() {
    for codec in ["none", "lz4"] {
        let topic = unique_topic(&format!("consume-txn-{codec}"));
        create_topic(&topic, 2).await;
        let n = 300;
        java_produce(&topic, codec, "txn", n, 2);
        let committed: Vec<(String, usize)> = (0..n)
            .map(|i| (format!("c0-{i}"), i))
            .chain((0..n).map(|i| (format!("c2-{i}"), i)))
            .collect();
        let everything: Vec<(String, usize)> = (0..n)
            .map(|i| (format!("c0-{i}"), i))
            .chain((0..n).map(|i| (format!("a1-{i}"), i)))
            .chain((0..n).map(|i| (format!("c2-{i}"), i)))
            .collect();
        // Per partition, expected order is transaction by transaction (each partition gets
        // its share of every transaction in order).
        let order = |ids: &[(String, usize)]| {
            let mut e = expected(ids, 2);
            for list in e.values_mut() {
                list.sort_by_key(|(k, _, _)| {
                    let id = &k[2..];
                    let t: usize = id[1..2].parse().unwrap();
                    let i: usize = id[3..].parse().unwrap();
                    (t, i)
                });
            }
            e
        };

        let mut rc = consumer(&[("isolation.level", "read_committed")]).await;
        rc.assign_topic(&topic).await.unwrap();
        let got = read(&mut rc, 2 * n, Duration::from_secs(30)).await;
        assert_eq!(got.len(), 2 * n, "{codec}: committed records");
        assert_eq!(
            by_partition(&got),
            order(&committed),
            "{codec}: committed content"
        );
        assert!(
            read(&mut rc, 1, Duration::from_millis(700))
                .await
                .is_empty(),
            "{codec}: aborted leaked"
        );
        assert!(rc.at_end());
        // Past the last commit marker: the position is after every control record.
        for p in 0..2 {
            let tp = TopicPartition::new(topic.as_str(), p);
            let end = rc.end_offsets(std::slice::from_ref(&tp)).await.unwrap()[&tp];
            assert_eq!(rc.position(&tp), Some(end));
        }

        let mut ru = consumer(&[("isolation.level", "read_uncommitted")]).await;
        ru.assign_topic(&topic).await.unwrap();
        let got = read(&mut ru, 3 * n, Duration::from_secs(30)).await;
        assert_eq!(
            got.len(),
            3 * n,
            "{codec}: all data records, no control records"
        );
        assert_eq!(
            by_partition(&got),
            order(&everything),
            "{codec}: uncommitted content"
        );
        assert!(read(&mut ru, 1, Duration::from_millis(700))
            .await
            .is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_performance_volume_with_lz4_is_read_completely() {
    let topic = unique_topic("consume-perf");
    create_topic(&topic, 2).await;
    let n = 100_000;
    let out = Command::new("java")
        .args([
            "-cp",
            &java_classpath(),
            "org.apache.kafka.tools.ProducerPerformance",
        ])
        .args([
            "--topic",
            &topic,
            "--num-records",
            &n.to_string(),
            "--record-size",
            "100",
        ])
        .args(["--throughput", "-1", "--producer-props"])
        .arg(format!("bootstrap.servers={}", broker()))
        .args(["compression.type=lz4", "linger.ms=5"])
        .output()
        .expect("ProducerPerformance");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut c = consumer(&[]).await;
    c.assign_topic(&topic).await.unwrap();
    let got = read(&mut c, n, Duration::from_secs(60)).await;
    assert_eq!(got.len(), n);
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    for r in &got {
        let want = next.entry(r.partition).or_insert(0);
        assert_eq!(r.offset, *want, "contiguous offsets");
        *want += 1;
        assert_eq!(r.value.as_ref().map(|v| v.len()), Some(100));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seek_by_offset_and_timestamp_and_pause() {
    let topic = unique_topic("consume-seek");
    create_topic(&topic, 1).await;
    java_produce(&topic, "none", "plain", 100, 1);
    let tp = TopicPartition::new(topic.as_str(), 0);
    let mut c = consumer(&[]).await;
    c.assign([tp.clone()]).unwrap();
    c.seek(&tp, 90).unwrap();
    let got = read(&mut c, 10, Duration::from_secs(20)).await;
    assert_eq!(
        got.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (90..100).collect::<Vec<_>>()
    );
    // Timestamps: the record at offset 40's timestamp finds offset 40 (or an earlier record
    // with the same millisecond).
    c.seek(&tp, 40).unwrap();
    let r40 = read(&mut c, 1, Duration::from_secs(20)).await.remove(0);
    let found = c
        .offsets_for_times(&[(tp.clone(), r40.timestamp)])
        .await
        .unwrap();
    let off = found[&tp].unwrap().offset;
    assert!(off <= 40);
    c.seek_to(&tp, OffsetSpec::Timestamp(r40.timestamp))
        .unwrap();
    let again = read(&mut c, 1, Duration::from_secs(20)).await.remove(0);
    assert_eq!(again.offset, off);
    // A timestamp after everything: no offset; seeking there lands at the end.
    let future = r40.timestamp + 3_600_000;
    assert!(c.offsets_for_times(&[(tp.clone(), future)]).await.unwrap()[&tp].is_none());
    c.seek_to(&tp, OffsetSpec::Timestamp(future)).unwrap();
    assert!(read(&mut c, 1, Duration::from_millis(800)).await.is_empty());
    assert_eq!(c.position(&tp), Some(100));
    // Pause holds records back; resume releases them.
    c.seek(&tp, 0).unwrap();
    c.pause(&tp).unwrap();
    assert!(read(&mut c, 1, Duration::from_millis(800)).await.is_empty());
    c.resume(&tp).unwrap();
    assert_eq!(read(&mut c, 1, Duration::from_secs(20)).await[0].offset, 0);
    // Beginning and end.
    assert_eq!(
        c.beginning_offsets(std::slice::from_ref(&tp))
            .await
            .unwrap()[&tp],
        0
    );
    assert_eq!(
        c.end_offsets(std::slice::from_ref(&tp)).await.unwrap()[&tp],
        100
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_offsets_follow_the_reset_policy() {
    let topic = unique_topic("consume-oor");
    create_topic(&topic, 1).await;
    java_produce(&topic, "none", "plain", 20, 1);
    let tp = TopicPartition::new(topic.as_str(), 0);
    // earliest: back to 0.
    let mut c = consumer(&[("auto.offset.reset", "earliest")]).await;
    c.assign([tp.clone()]).unwrap();
    c.seek(&tp, 1000).unwrap();
    assert_eq!(read(&mut c, 1, Duration::from_secs(20)).await[0].offset, 0);
    // latest: to the end, nothing read.
    let mut c = consumer(&[("auto.offset.reset", "latest")]).await;
    c.assign([tp.clone()]).unwrap();
    c.seek(&tp, 1000).unwrap();
    assert!(read(&mut c, 1, Duration::from_secs(2)).await.is_empty());
    assert_eq!(c.position(&tp), Some(20));
    // none: an error naming the partition and offset, promptly.
    let mut c = consumer(&[("auto.offset.reset", "none")]).await;
    c.assign([tp.clone()]).unwrap();
    match tokio::time::timeout(Duration::from_secs(10), c.next()).await {
        Ok(Some(Err(ConsumerError::NoOffsetForPartition(p)))) => assert_eq!(p, tp),
        other => panic!("expected NoOffsetForPartition, got {other:?}"),
    }
    c.seek(&tp, 1000).unwrap();
    match tokio::time::timeout(Duration::from_secs(10), c.next()).await {
        Ok(Some(Err(ConsumerError::OffsetOutOfRange {
            offset: 1000,
            partition,
        }))) => assert_eq!(partition, tp),
        other => panic!("expected OffsetOutOfRange, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_topic_mid_consume_is_reported() {
    let topic = unique_topic("consume-deleted");
    create_topic(&topic, 1).await;
    java_produce(&topic, "none", "plain", 10, 1);
    let mut c = consumer(&[("metadata.max.age.ms", "500")]).await;
    c.assign_topic(&topic).await.unwrap();
    assert_eq!(read(&mut c, 10, Duration::from_secs(20)).await.len(), 10);
    Admin::new(client().await)
        .delete_topic(&topic)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, c.next()).await {
            Ok(Some(Err(ConsumerError::UnknownTopic(t)))) => {
                assert!(t.starts_with(&topic));
                break;
            }
            Ok(Some(Err(other))) => eprintln!("meanwhile: {other}"),
            Ok(Some(Ok(r))) => panic!("record after deletion: {r:?}"),
            Ok(None) | Err(_) => panic!("no error within 30 s after the topic was deleted"),
        }
    }
    assert!(
        c.assignment().is_empty(),
        "the deleted topic's partitions are dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_is_an_error_not_a_hang() {
    let mut c = consumer(&[("default.api.timeout.ms", "3000")]).await;
    let started = Instant::now();
    let err = c
        .assign_topic(&unique_topic("no-such-topic"))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        err.to_string().contains("UNKNOWN_TOPIC_OR_PARTITION"),
        "{err}"
    );
}
