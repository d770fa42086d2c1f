//! The producer against the real broker, checked with the Java console consumer and the Java
//! partitioner.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kafka_client::admin::{Admin, NewTopic, OffsetSpec};
use kafka_client::producer::{Producer, ProducerRecord};
use kafka_client::{Acks, Compression, KafkaError, ProducerConfig};
use kafka_protocol::ErrorCode;

use crate::common;

async fn create(topic: &str, partitions: i32) -> Admin {
    let admin = Admin::new(common::client().await);
    admin
        .create_topic(NewTopic::new(topic).partitions(partitions))
        .await
        .unwrap();
    admin
}

/// Every codec with every acks setting: all records come back through the Java consumer, in
/// order per partition, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_and_acks_reads_back_in_java() {
    common::broker();
    let prefix = common::unique_topic("codecs");
    let per_topic = 500usize;
    let mut topics = Vec::new();
    for codec in Compression::ALL {
        for acks in [Acks::None, Acks::Leader, Acks::All] {
            let topic = format!("{prefix}-{}-{}", codec.name(), acks.wire());
            create(&topic, 3).await;
            topics.push((topic, codec, acks));
        }
    }
    for (topic, codec, acks) in &topics {
        let config = ProducerConfig::new(common::BOOTSTRAP)
            .compression(*codec)
            .acks(*acks)
            .linger(Duration::from_millis(5))
            .batch_size(4096);
        let producer = Producer::connect(config).await.unwrap();
        assert_eq!(producer.config().enable_idempotence, *acks == Acks::All);
        let mut deliveries = Vec::new();
        for i in 0..per_topic {
            let mut r = ProducerRecord::new(topic.clone(), format!("{topic}#{i}"));
            if i % 3 != 0 {
                r = r.key(format!("key-{}", i % 17));
            }
            deliveries.push(producer.send(r).await.unwrap());
        }
        let mut offsets = HashMap::<i32, Vec<i64>>::new();
        for d in deliveries {
            let m = d.await.unwrap();
            offsets.entry(m.partition).or_default().push(m.offset);
        }
        if *acks != Acks::None {
            for offs in offsets.values() {
                assert!(
                    offs.windows(2).all(|w| w[1] == w[0] + 1),
                    "{topic}: {offs:?}"
                );
            }
        }
        producer.close().await;
    }
    let got = common::java_consume(&format!("{prefix}-.*"), per_topic * topics.len());
    assert_eq!(
        got.len(),
        per_topic * topics.len(),
        "Java read back everything"
    );
    // Per topic and partition, the sequence numbers in the values increase: in order, no
    // duplicates; and every record is there once.
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut last: HashMap<(String, i32), usize> = HashMap::new();
    for c in &got {
        let (topic, n) = c.value.rsplit_once('#').unwrap();
        let n: usize = n.parse().unwrap();
        if let Some(prev) = last.insert((topic.to_owned(), c.partition), n) {
            assert!(n > prev, "{topic}-{}: {n} after {prev}", c.partition);
        }
        let expect_key = if !n.is_multiple_of(3) {
            format!("key-{}", n % 17)
        } else {
            "null".into()
        };
        assert_eq!(c.key, expect_key);
        seen.entry(topic.to_owned()).or_default().push(n);
    }
    for (topic, _, _) in &topics {
        let mut v = seen.remove(topic).unwrap_or_default();
        v.sort_unstable();
        assert_eq!(v, (0..per_topic).collect::<Vec<_>>(), "{topic}");
    }
    // The same data through the project's own decoder: the batches carry the codec asked for,
    // and each partition holds what Java read, at the same offsets.
    let client = common::client().await;
    for (topic, codec, _) in &topics {
        let mut total = 0;
        for partition in 0..3 {
            let (records, codecs) = common::rust_fetch_partition(&client, topic, partition).await;
            assert!(codecs.iter().all(|c| c == codec), "{topic}: {codecs:?}");
            let java: Vec<(i64, String)> = got
                .iter()
                .filter(|c| c.partition == partition && c.value.starts_with(&format!("{topic}#")))
                .map(|c| (c.offset, c.value.clone()))
                .collect();
            let ours: Vec<(i64, String)> = records
                .iter()
                .map(|(o, _, v)| (*o, String::from_utf8(v.clone().unwrap().to_vec()).unwrap()))
                .collect();
            assert_eq!(ours, java, "{topic}-{partition}");
            total += ours.len();
        }
        assert_eq!(total, per_topic, "{topic}");
    }
}

#[tokio::test]
async fn keyed_records_land_where_java_puts_them() {
    let topic = common::unique_topic("keyed");
    create(&topic, 7).await;
    let producer = Producer::connect(ProducerConfig::new(common::broker()))
        .await
        .unwrap();
    let keys: Vec<String> = (0..200).map(|i| format!("user-{i}-{}", i * 7919)).collect();
    let mut deliveries = Vec::new();
    for k in &keys {
        deliveries.push(
            producer
                .send(ProducerRecord::new(topic.clone(), "v").key(k.clone()))
                .await
                .unwrap(),
        );
    }
    let mut ours = Vec::new();
    for d in deliveries {
        ours.push(d.await.unwrap().partition);
    }
    let java = common::java_partitions(&keys, 7);
    assert_eq!(ours, java);
    assert!(ours.iter().collect::<std::collections::HashSet<_>>().len() == 7);
    producer.close().await;
}

#[tokio::test]
async fn null_keys_spread_over_partitions_and_flush_delivers() {
    let topic = common::unique_topic("sticky");
    let admin = create(&topic, 4).await;
    let config = ProducerConfig::new(common::broker())
        .batch_size(1024)
        .linger(Duration::from_secs(60));
    let producer = Producer::connect(config).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..400 {
        deliveries.push(
            producer
                .send(ProducerRecord::new(
                    topic.clone(),
                    format!("value-{i:04}-padding-padding"),
                ))
                .await
                .unwrap(),
        );
    }
    // linger.ms is a minute: only flush sends them now.
    let start = Instant::now();
    producer.flush().await;
    assert!(start.elapsed() < Duration::from_secs(10));
    let mut per = HashMap::<i32, usize>::new();
    for d in deliveries {
        *per.entry(d.await.unwrap().partition).or_default() += 1;
    }
    assert!(
        per.len() >= 3,
        "sticky partitioner moved on after batch.size: {per:?}"
    );
    let latest = admin
        .list_offsets(
            &topic,
            &[
                (0, OffsetSpec::Latest),
                (1, OffsetSpec::Latest),
                (2, OffsetSpec::Latest),
                (3, OffsetSpec::Latest),
            ],
        )
        .await
        .unwrap();
    assert_eq!(latest.iter().map(|o| o.offset).sum::<i64>(), 400);
    // Delete records and see the log start move.
    let lw = admin
        .delete_records(&topic, &[(0, latest[0].offset)])
        .await
        .unwrap();
    assert_eq!(lw[0].1, latest[0].offset);
    producer.close().await;
}

#[tokio::test]
async fn bad_input_fails_clearly_and_in_time() {
    common::broker();
    // Unknown topic with auto-creation off: an error naming the topic within max.block.ms.
    let mut config = ProducerConfig::new(common::BOOTSTRAP).max_block(Duration::from_secs(2));
    config.client.allow_auto_create_topics = false;
    let producer = Producer::connect(config).await.unwrap();
    let missing = common::unique_topic("no-such-topic");
    let start = Instant::now();
    let err = producer
        .send(ProducerRecord::new(missing.clone(), "x"))
        .await
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        err.code(),
        Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
        "{err}"
    );
    assert!(err.to_string().contains(&missing), "{err}");

    // A record over max.request.size: refused at once, naming the limit.
    let topic = common::unique_topic("too-large");
    create(&topic, 1).await;
    let big = vec![b'x'; 2 * 1024 * 1024];
    let err = producer
        .send(ProducerRecord::new(topic.clone(), big))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            KafkaError::RecordTooLarge {
                property: "max.request.size",
                ..
            }
        ),
        "{err}"
    );

    // Raise max.request.size past the broker's message.max.bytes (1 MiB): the broker refuses.
    let config = ProducerConfig::new(common::BOOTSTRAP).max_request_size(4 * 1024 * 1024);
    let p2 = Producer::connect(config).await.unwrap();
    let err = p2
        .send(ProducerRecord::new(topic.clone(), vec![b'y'; 1_500_000]))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::MESSAGE_TOO_LARGE), "{err}");
    // A partition that does not exist.
    let err = producer
        .send(ProducerRecord::new(topic.clone(), "x").partition(5))
        .await
        .unwrap_err();
    assert!(matches!(err, KafkaError::InvalidArgument(_)), "{err}");

    // A wrong property is a config error that names it.
    let err = ProducerConfig::from_properties([
        ("bootstrap.servers", common::BOOTSTRAP),
        ("lingerms", "5"),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("lingerms"), "{err}");

    // Unreachable bootstrap: the producer fails within default.api.timeout.ms.
    let mut config = ProducerConfig::new("127.0.0.1:1");
    config.client.default_api_timeout = Duration::from_secs(1);
    let start = Instant::now();
    let err = Producer::connect(config).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    producer.close().await;
    p2.close().await;
}

#[tokio::test]
async fn full_buffer_blocks_then_fails_after_max_block() {
    let topic = common::unique_topic("buffer");
    create(&topic, 1).await;
    // Three 5 kB records fill buffer.memory (16 kB) while their batch lingers for a minute.
    let config = ProducerConfig::new(common::broker())
        .buffer_memory(16_384)
        .batch_size(16_384)
        .linger(Duration::from_secs(60))
        .max_block(Duration::from_millis(500));
    let producer = Producer::connect(config).await.unwrap();
    let mut deliveries = Vec::new();
    for _ in 0..3 {
        deliveries.push(
            producer
                .send(ProducerRecord::new(topic.clone(), vec![b'z'; 5000]))
                .await
                .unwrap(),
        );
    }
    let start = Instant::now();
    let err = producer
        .send(ProducerRecord::new(topic.clone(), vec![b'z'; 5000]))
        .await
        .unwrap_err();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(matches!(err, KafkaError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("buffer.memory"), "{err}");
    // flush sends the lingering batch and gives the memory back.
    producer.flush().await;
    for d in deliveries {
        d.await.unwrap();
    }
    let d = producer
        .send(ProducerRecord::new(topic.clone(), vec![b'z'; 5000]))
        .await
        .unwrap();
    // close delivers what lingers, without waiting for linger.ms.
    let start = Instant::now();
    producer.close().await;
    assert!(start.elapsed() < Duration::from_secs(10));
    d.await.unwrap();
    // After close, sends fail at once.
    let err = producer
        .send(ProducerRecord::new(topic.clone(), "late"))
        .await
        .unwrap_err();
    assert!(matches!(err, KafkaError::Closed), "{err}");
}

/// `try_send` queues a copy of what needs no wait and refuses, handing the callback back, what
/// would: a topic whose metadata is not at hand yet, a full buffer; a record too large fails
/// outright.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_send_queues_without_waiting_and_hands_back_what_would_wait() {
    use kafka_client::producer::TrySendError;
    use std::sync::{Arc, Mutex};
    let topic = common::unique_topic("trysend");
    let admin = create(&topic, 1).await;
    let config = ProducerConfig::new(common::broker())
        .buffer_memory(16_384)
        .batch_size(16_384)
        .linger(Duration::from_secs(60));
    let producer = Producer::connect(config).await.unwrap();
    let record = |i: u8| ProducerRecord::new(topic.clone(), vec![i; 5000]);
    // The topic was never looked up: refused, nothing queued.
    assert!(matches!(
        producer.try_send(&record(0)),
        Err(TrySendError::WouldBlock(()))
    ));
    let d0 = producer.send(record(0)).await.unwrap();
    // Now known: two more fit the 16 kB buffer (one record, sent twice), the fourth would wait
    // for memory.
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let callback = |i: u8| {
        let delivered = delivered.clone();
        move |r: kafka_client::Result<kafka_client::producer::RecordMetadata>| {
            let r = r
                .map(|m| (m.offset, m.partition))
                .map_err(|e| e.to_string());
            delivered.lock().unwrap().push((i, r))
        }
    };
    let again = record(1);
    for i in 1..3 {
        if let Err(e) = producer.try_send_with_callback(&again, callback(i)) {
            panic!("record {i}: {e}");
        }
    }
    let back_callback = match producer.try_send_with_callback(&record(3), callback(3)) {
        Err(TrySendError::WouldBlock(f)) => f,
        Err(e) => panic!("expected WouldBlock, got {e}"),
        Ok(()) => panic!("a full buffer queued a record"),
    };
    // Too large for buffer.memory: an error, not a wait.
    match producer.try_send(&ProducerRecord::new(topic.clone(), vec![0u8; 20_000])) {
        Err(TrySendError::Failed(KafkaError::RecordTooLarge { property, .. })) => {
            assert_eq!(property, "buffer.memory")
        }
        other => panic!("expected RecordTooLarge, got {other:?}"),
    }
    // Nothing was called back yet (linger is a minute); flush delivers 0..3 in order.
    assert!(delivered.lock().unwrap().is_empty());
    producer.flush().await;
    assert_eq!(d0.await.unwrap().offset, 0);
    assert_eq!(
        *delivered.lock().unwrap(),
        [(1, Ok((1, 0))), (2, Ok((2, 0)))]
    );
    // The memory is back: the handed-back callback goes through with the record.
    if let Err(e) = producer.try_send_with_callback(&record(3), back_callback) {
        panic!("handed-back callback: {e}");
    }
    producer.flush().await;
    assert_eq!(
        *delivered.lock().unwrap(),
        [(1, Ok((1, 0))), (2, Ok((2, 0))), (3, Ok((3, 0)))]
    );
    // What was written: the borrowed record twice, as given.
    let end = admin
        .list_offsets(&topic, &[(0, OffsetSpec::Latest)])
        .await
        .unwrap();
    assert_eq!(end[0].offset, 4);
    producer.close().await;
    assert!(matches!(
        producer.try_send(&record(4)),
        Err(TrySendError::Failed(KafkaError::Closed))
    ));
}

/// A custom partitioner chooses for `send` and `try_send` alike; returning `None` falls back to
/// the built-in choice (murmur2 for keyed records); a partition the topic lacks is an error for
/// `send` and a refusal for `try_send`; a record's own partition wins over the partitioner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_partitioner_chooses_for_send_and_try_send() {
    use kafka_client::metadata::TopicInfo;
    use kafka_client::producer::{keyed_partition, Partitioner, TrySendError};

    /// Values starting with a digit go to that partition; others are left to the built-in
    /// choice.
    #[derive(Debug)]
    struct ByFirstDigit;
    impl Partitioner for ByFirstDigit {
        fn partition(&self, _: &TopicInfo, _: Option<&[u8]>, value: Option<&[u8]>) -> Option<i32> {
            let first = *value?.first()?;
            first.is_ascii_digit().then(|| i32::from(first - b'0'))
        }
    }

    let topic = common::unique_topic("partitioner");
    create(&topic, 3).await;
    let config = ProducerConfig::new(common::broker());
    let producer = Producer::with_client(
        common::client().await,
        config,
        Some(std::sync::Arc::new(ByFirstDigit)),
    )
    .unwrap();
    let partition_of =
        |d: kafka_client::producer::DeliveryFuture| async move { d.await.unwrap().partition };
    // The first send looks the topic up (slow path), the next ones take the fast path.
    let d = producer
        .send(ProducerRecord::new(topic.clone(), "2-a"))
        .await
        .unwrap();
    assert_eq!(partition_of(d).await, 2);
    let d = producer
        .send(ProducerRecord::new(topic.clone(), "1-b"))
        .await
        .unwrap();
    assert_eq!(partition_of(d).await, 1);
    let d = match producer.try_send(&ProducerRecord::new(topic.clone(), "0-c")) {
        Ok(d) => d,
        Err(e) => panic!("try_send: {e}"),
    };
    assert_eq!(partition_of(d).await, 0);
    // No opinion: a keyed record goes where murmur2 puts it.
    let info = common::client()
        .await
        .topic(&topic, Duration::from_secs(10))
        .await
        .unwrap();
    let keyed = ProducerRecord::new(topic.clone(), "x").key("some-key");
    let d = producer.send(keyed.clone()).await.unwrap();
    assert_eq!(partition_of(d).await, keyed_partition(&info, b"some-key"));
    let d = match producer.try_send(&keyed) {
        Ok(d) => d,
        Err(e) => panic!("try_send: {e}"),
    };
    assert_eq!(partition_of(d).await, keyed_partition(&info, b"some-key"));
    // The record's own partition wins.
    let d = producer
        .send(ProducerRecord::new(topic.clone(), "2-d").partition(1))
        .await
        .unwrap();
    assert_eq!(partition_of(d).await, 1);
    // Partition 7 of 3: refused without waiting, an error when sent.
    let beyond = ProducerRecord::new(topic.clone(), "7-e");
    assert!(matches!(
        producer.try_send(&beyond),
        Err(TrySendError::WouldBlock(()))
    ));
    let err = producer.send(beyond).await.unwrap_err();
    assert!(matches!(err, KafkaError::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("partition 7"), "{err}");
    producer.close().await;
}
