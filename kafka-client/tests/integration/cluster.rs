//! Three-node failover: SIGKILL the partition leader while producing 200,000 records with
//! acks=all and idempotence; none may be lost or duplicated, and order per partition holds.
//!
//! Runs only with `KAFKA_RS_CLUSTER_TESTS=1`: it starts three more JVM brokers (about 1.5 GB of
//! heap and 15-25 s of startup on a 2-core machine) and takes a minute or more, too heavy for
//! every `cargo test`. It runs its cluster with `KAFKA_PORT_OFFSET=600` (ports 19692, 29692,
//! 39692, own run dir) so that it never disturbs the single-node broker other tests share, and
//! stops that cluster at the end.
//!
//! `KAFKA_RS_CLUSTER_TESTS=1 cargo test -p kafka-client --test integration cluster:: -- --nocapture`

use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_client::admin::{Admin, NewTopic};
use kafka_client::producer::{Producer, ProducerRecord};
use kafka_client::{Acks, Client, ClientConfig, ProducerConfig};

use crate::common;

const OFFSET: &str = "600";
const BOOTSTRAP: &str = "127.0.0.1:19692,127.0.0.1:29692,127.0.0.1:39692";
const RECORDS: usize = 200_000;
const PARTITIONS: i32 = 3;

fn kafka(args: &[&str]) {
    let out = Command::new(common::repo().join("scripts/kafka"))
        .args(args)
        .env("KAFKA_PORT_OFFSET", OFFSET)
        .output()
        .expect("scripts/kafka");
    assert!(
        out.status.success(),
        "scripts/kafka {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stops the cluster even if the test fails.
struct Down;
impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new(common::repo().join("scripts/kafka"))
            .arg("down")
            .env("KAFKA_PORT_OFFSET", OFFSET)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_leader_while_producing_loses_and_duplicates_nothing() {
    if std::env::var("KAFKA_RS_CLUSTER_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set KAFKA_RS_CLUSTER_TESTS=1 to run the three-node failover test");
        return;
    }
    kafka(&["up", "--nodes", "3"]);
    let _down = Down;

    let client = Client::connect(ClientConfig::new(BOOTSTRAP)).await.unwrap();
    let admin = Admin::new(client.clone());
    let topic = common::unique_topic("failover");
    admin
        .create_topic(
            NewTopic::new(&topic)
                .partitions(PARTITIONS)
                .replication_factor(3),
        )
        .await
        .unwrap();
    let info = client.topic(&topic, Duration::from_secs(30)).await.unwrap();
    let victim = info.partition(0).unwrap().leader;
    assert!((1..=3).contains(&victim));

    let config = ProducerConfig::new(BOOTSTRAP)
        .acks(Acks::All)
        .linger(Duration::from_millis(5))
        .delivery_timeout(Duration::from_secs(180));
    let producer = Producer::connect(config).await.unwrap();
    assert!(producer.config().enable_idempotence);

    let acked = Arc::new(AtomicU64::new(0));
    let mut deliveries = Vec::with_capacity(RECORDS);
    let mut killed_at = None;
    let start = Instant::now();
    for i in 0..RECORDS {
        let rec = ProducerRecord::new(topic.clone(), format!("{i}")).key(format!("k{}", i % 1000));
        let d = producer.send(rec).await.unwrap();
        let a = acked.clone();
        deliveries.push(tokio::spawn(async move {
            let r = d.await;
            a.fetch_add(1, Ordering::Relaxed);
            r
        }));
        if killed_at.is_none() && i == RECORDS / 4 {
            // Mid-stream, with batches in flight: SIGKILL the leader of partition 0.
            let v = victim.to_string();
            tokio::task::spawn_blocking(move || kafka(&["kill-node", &v]))
                .await
                .unwrap();
            killed_at = Some(i);
            eprintln!(
                "killed node {victim} after {i} sends ({:?})",
                start.elapsed()
            );
        }
    }
    let mut by_index = vec![None; RECORDS];
    let mut failures = Vec::new();
    for (i, d) in deliveries.into_iter().enumerate() {
        match d.await.unwrap() {
            Ok(m) => by_index[i] = Some((m.partition, m.offset)),
            Err(e) => failures.push((i, e.to_string())),
        }
    }
    producer.close().await;
    eprintln!("produced {RECORDS} in {:?}", start.elapsed());
    assert!(
        failures.is_empty(),
        "{} failed, first: {:?}",
        failures.len(),
        failures.first()
    );

    // Reported offsets are distinct per partition.
    let mut seen = std::collections::HashSet::new();
    for (p, o) in by_index.iter().flatten() {
        assert!(*o >= 0);
        assert!(seen.insert((*p, *o)), "offset {p}/{o} reported twice");
    }
    // Read everything back with the Java consumer from the two surviving brokers.
    let got = tokio::task::spawn_blocking({
        let topic = topic.clone();
        move || common::java_consume_from(BOOTSTRAP, &topic, RECORDS + 1, 10_000)
    })
    .await
    .unwrap();
    assert_eq!(got.len(), RECORDS, "exactly every record once in the log");
    let mut last: HashMap<i32, usize> = HashMap::new();
    let mut count = vec![0u8; RECORDS];
    for c in &got {
        let i: usize = c.value.parse().unwrap();
        count[i] += 1;
        assert_eq!(
            by_index[i],
            Some((c.partition, c.offset)),
            "record {i} where the producer said"
        );
        if let Some(prev) = last.insert(c.partition, i) {
            assert!(i > prev, "partition {}: {i} after {prev}", c.partition);
        }
    }
    assert!(count.iter().all(|c| *c == 1), "every record exactly once");
}
