//! Group consumers against the real broker, alone and mixed with Java consumers: classic
//! protocol with range and cooperative-sticky, the KIP-848 consumer protocol, SIGKILL of a
//! member, restart from committed offsets, and bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_client::admin::{Admin, NewTopic};
use kafka_client::consumer::group::wire;
use kafka_client::consumer::{ConsumerError, GroupConsumer, TopicPartition};
use kafka_client::producer::{Producer, ProducerRecord};
use kafka_client::ProducerConfig;
use kafka_protocol::generated::{ConsumerGroupDescribeRequest, DescribeGroupsRequest};

use crate::common::{broker, client, java_classpath, unique_topic};

async fn create_topic(name: &str, partitions: i32) {
    Admin::new(client().await)
        .create_topic(NewTopic::new(name).partitions(partitions))
        .await
        .expect("create topic");
}

/// Writes `n` records `prefix-i` round-robin over `partitions` with our producer.
async fn produce(topic: &str, partitions: i32, prefix: &str, n: usize) {
    let p = Producer::connect(ProducerConfig::new(broker()))
        .await
        .expect("producer");
    let mut acks = Vec::new();
    for i in 0..n {
        let r =
            ProducerRecord::new(topic, format!("{prefix}-{i}")).partition((i as i32) % partitions);
        acks.push(p.send(r).await.expect("send"));
    }
    p.flush().await;
    for a in acks {
        a.await.expect("delivered");
    }
}

async fn member(group: &str, topic: &str, extra: &[(&str, &str)]) -> GroupConsumer {
    let mut props = vec![
        ("bootstrap.servers", broker()),
        ("group.id", group),
        ("auto.offset.reset", "earliest"),
        ("session.timeout.ms", "10000"),
        ("heartbeat.interval.ms", "1000"),
        ("auto.commit.interval.ms", "500"),
    ];
    props.extend_from_slice(extra);
    let mut c = GroupConsumer::from_properties(props)
        .await
        .expect("group consumer");
    c.subscribe(&[topic]);
    c
}

/// (partition, offset, value) of consumed records.
type Seen = Vec<(i32, i64, String)>;

/// Polls every consumer for `d`, collecting records per consumer.
async fn pump(members: &mut [&mut GroupConsumer], seen: &mut [Seen], d: Duration) {
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        for (i, m) in members.iter_mut().enumerate() {
            match tokio::time::timeout(Duration::from_millis(20), m.next()).await {
                Ok(Some(Ok(r))) => seen[i].push((
                    r.partition,
                    r.offset,
                    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned(),
                )),
                Ok(Some(Err(e))) => panic!("member {i}: {e}"),
                Ok(None) => panic!("member {i} ended"),
                Err(_) => {}
            }
        }
    }
}

/// Polls until `check` holds (all members polled meanwhile) or `within` passes.
async fn pump_until(
    members: &mut [&mut GroupConsumer],
    seen: &mut [Seen],
    within: Duration,
    mut check: impl FnMut(&[&mut GroupConsumer], &[Seen]) -> bool,
) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        pump(members, seen, Duration::from_millis(200)).await;
        if check(members, seen) {
            return true;
        }
    }
    false
}

fn assert_exactly_once(all: &[&Seen], expected: &BTreeSet<String>) {
    let mut values = BTreeMap::new();
    for s in all {
        for (p, o, v) in s.iter() {
            if let Some(prev) = values.insert(v.clone(), (*p, *o)) {
                panic!("{v} delivered twice (at {prev:?} and {:?})", (p, o));
            }
        }
    }
    let got: BTreeSet<String> = values.into_keys().collect();
    let missing: Vec<&String> = expected.difference(&got).take(5).collect();
    assert!(missing.is_empty(), "missing records, e.g. {missing:?}");
}

/// Members the coordinator lists for `group` (classic or KIP-848).
async fn group_members(group: &str, consumer_protocol: bool) -> usize {
    let c = client().await;
    let resp = c
        .send_any_with(|v| wire::find_coordinator(group, v))
        .await
        .unwrap();
    let node = wire::parse_find_coordinator(&resp, group).unwrap().node;
    if consumer_protocol {
        let d = c
            .send_to(
                node,
                &ConsumerGroupDescribeRequest {
                    group_ids: vec![group.into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        d.groups[0].members.len()
    } else {
        let d = c
            .send_to(
                node,
                &DescribeGroupsRequest {
                    groups: vec![group.into()],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        d.groups[0].members.len()
    }
}

fn values(prefix: &str, n: usize) -> BTreeSet<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_of_our_members_split_partitions_range_and_cooperative_sticky() {
    for assignor in ["range", "cooperative-sticky"] {
        let topic = unique_topic(&format!("group-ours-{assignor}"));
        let group = unique_topic("g");
        create_topic(&topic, 4).await;
        let extra = [("partition.assignment.strategy", assignor)];
        let mut a = member(&group, &topic, &extra).await;
        let mut b = member(&group, &topic, &extra).await;
        let mut seen = vec![Vec::new(), Vec::new()];
        let split = pump_until(
            &mut [&mut a, &mut b],
            &mut seen,
            Duration::from_secs(40),
            |m, _| m[0].assignment().len() == 2 && m[1].assignment().len() == 2,
        )
        .await;
        assert!(
            split,
            "{assignor}: partitions not split 2/2: {:?} / {:?}",
            a.assignment(),
            b.assignment()
        );
        let owned: BTreeSet<TopicPartition> =
            a.assignment().into_iter().chain(b.assignment()).collect();
        assert_eq!(owned.len(), 4, "{assignor}: disjoint");
        produce(&topic, 4, "r", 400).await;
        let expected = values("r", 400);
        let done = pump_until(
            &mut [&mut a, &mut b],
            &mut seen,
            Duration::from_secs(30),
            |_, s| s[0].len() + s[1].len() >= 400,
        )
        .await;
        assert!(
            done,
            "{assignor}: only {} + {} records",
            seen[0].len(),
            seen[1].len()
        );
        assert_exactly_once(&[&seen[0], &seen[1]], &expected);
        assert!(
            !seen[0].is_empty() && !seen[1].is_empty(),
            "{assignor}: both members read"
        );
        a.close(Duration::from_secs(10)).await.unwrap();
        b.close(Duration::from_secs(10)).await.unwrap();
    }
}

/// A Java `ConsoleConsumer` in a group, its printed records collected by a thread.
struct JavaMember {
    child: Child,
    seen: Arc<Mutex<Seen>>,
}

impl JavaMember {
    fn start(group: &str, topic: &str, props: &[&str]) -> Self {
        let mut cmd = Command::new("java");
        cmd.args([
            "-cp",
            &java_classpath(),
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
        ])
        .args([
            "--bootstrap-server",
            broker(),
            "--topic",
            topic,
            "--group",
            group,
            "--from-beginning",
        ])
        .args(["--formatter-property", "print.partition=true"])
        .args(["--formatter-property", "print.offset=true"])
        .args(["--formatter-property", "key.separator=|"]);
        for p in props {
            cmd.args(["--consumer-property", p]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the Java console consumer");
        let out = child.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                // Partition:0|Offset:12|value
                let mut it = line.splitn(3, '|');
                let p = it
                    .next()
                    .and_then(|s| s.strip_prefix("Partition:"))
                    .and_then(|s| s.parse().ok());
                let o = it
                    .next()
                    .and_then(|s| s.strip_prefix("Offset:"))
                    .and_then(|s| s.parse().ok());
                if let (Some(p), Some(o), Some(v)) = (p, o, it.next()) {
                    sink.lock().unwrap().push((p, o, v.to_owned()));
                }
            }
        });
        Self { child, seen }
    }

    fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }

    /// SIGKILL: no LeaveGroup, no final commit.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL the Java consumer");
        let _ = self.child.wait();
    }
}

impl Drop for JavaMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls ours until it has owned exactly `n` partitions for two seconds in a row.
async fn settle(ours: &mut GroupConsumer, seen: &mut Seen, n: usize, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut since: Option<Instant> = None;
    while Instant::now() < deadline {
        let mut s = [std::mem::take(seen)];
        pump(&mut [&mut *ours], &mut s, Duration::from_millis(200)).await;
        *seen = std::mem::take(&mut s[0]);
        if ours.assignment().len() == n {
            let t = *since.get_or_insert_with(Instant::now);
            if t.elapsed() >= Duration::from_secs(2) {
                return true;
            }
        } else {
            since = None;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_classic_group_with_java_and_sigkill_failover() {
    for (ours_assignor, java_assignor) in [
        ("range", "org.apache.kafka.clients.consumer.RangeAssignor"),
        (
            "cooperative-sticky",
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
        ),
    ] {
        let topic = unique_topic(&format!("group-mixed-{ours_assignor}"));
        let group = unique_topic("gm");
        create_topic(&topic, 4).await;
        let strategy = format!("partition.assignment.strategy={java_assignor}");
        let mut java = JavaMember::start(
            &group,
            &topic,
            &[
                &strategy,
                "session.timeout.ms=6000",
                "heartbeat.interval.ms=1000",
                "auto.commit.interval.ms=300",
            ],
        );
        let mut ours = member(
            &group,
            &topic,
            &[("partition.assignment.strategy", ours_assignor)],
        )
        .await;
        let mut mine: Seen = Vec::new();
        assert!(
            settle(&mut ours, &mut mine, 2, Duration::from_secs(60)).await,
            "{ours_assignor}: no stable 2/2 split with the Java member (ours: {:?})",
            ours.assignment()
        );
        produce(&topic, 4, "r", 400).await;
        let expected = values("r", 400);
        let deadline = Instant::now() + Duration::from_secs(30);
        while mine.len() + java.seen().len() < 400 && Instant::now() < deadline {
            let mut s = [std::mem::take(&mut mine)];
            pump(&mut [&mut ours], &mut s, Duration::from_millis(200)).await;
            mine = std::mem::take(&mut s[0]);
        }
        let theirs = java.seen();
        assert!(
            !mine.is_empty() && !theirs.is_empty(),
            "{ours_assignor}: both members read ({} / {})",
            mine.len(),
            theirs.len()
        );
        // While stable: each record exactly once across the two members.
        assert_exactly_once(&[&mine, &theirs], &expected);
        let java_parts: BTreeSet<i32> = theirs.iter().map(|(p, _, _)| *p).collect();
        let our_parts: BTreeSet<i32> = mine.iter().map(|(p, _, _)| *p).collect();
        assert!(
            java_parts.is_disjoint(&our_parts),
            "{ours_assignor}: partitions shared"
        );

        // Give the Java member time to auto-commit, then SIGKILL it: its partitions must move
        // to us and continue from its committed offsets, nothing lost.
        tokio::time::sleep(Duration::from_secs(1)).await;
        java.kill();
        let before_kill = java.seen();
        produce(&topic, 4, "s", 400).await;
        let mut after: Seen = Vec::new();
        let ok = pump_until(
            &mut [&mut ours],
            std::slice::from_mut(&mut after),
            Duration::from_secs(60),
            |m, s| {
                m[0].assignment().len() == 4
                    && values("s", 400).is_subset(&s[0].iter().map(|(_, _, v)| v.clone()).collect())
            },
        )
        .await;
        assert!(
            ok,
            "{ours_assignor}: after SIGKILL we own {:?} and read {} of 400",
            ours.assignment(),
            after.len()
        );
        let mut everything: BTreeSet<String> = mine
            .iter()
            .chain(&before_kill)
            .chain(&after)
            .map(|(_, _, v)| v.clone())
            .collect();
        let mut all_expected = expected.clone();
        all_expected.extend(values("s", 400));
        everything.retain(|v| all_expected.contains(v));
        assert_eq!(
            everything, all_expected,
            "{ours_assignor}: records lost after SIGKILL"
        );
        ours.close(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_consumer_protocol_group_with_java() {
    let topic = unique_topic("group-kip848");
    let group = unique_topic("gk");
    create_topic(&topic, 4).await;
    let java = JavaMember::start(
        &group,
        &topic,
        &["group.protocol=consumer", "auto.commit.interval.ms=300"],
    );
    let mut ours = member(&group, &topic, &[("group.protocol", "consumer")]).await;
    let mut mine: Seen = Vec::new();
    assert!(
        settle(&mut ours, &mut mine, 2, Duration::from_secs(90)).await,
        "no stable 2/2 split under KIP-848 (ours: {:?})",
        ours.assignment()
    );
    produce(&topic, 4, "r", 400).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while mine.len() + java.seen().len() < 400 && Instant::now() < deadline {
        let mut s = [std::mem::take(&mut mine)];
        pump(&mut [&mut ours], &mut s, Duration::from_millis(200)).await;
        mine = std::mem::take(&mut s[0]);
    }
    let theirs = java.seen();
    assert!(
        !mine.is_empty() && !theirs.is_empty(),
        "both members read ({} / {})",
        mine.len(),
        theirs.len()
    );
    assert_exactly_once(&[&mine, &theirs], &values("r", 400));
    assert!(ours.generation() > 0, "member epoch");
    ours.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_member_resumes_from_committed_offsets() {
    for protocol in ["classic", "consumer"] {
        let topic = unique_topic(&format!("group-restart-{protocol}"));
        let group = unique_topic("gr");
        create_topic(&topic, 2).await;
        produce(&topic, 2, "a", 100).await;
        let extra = [
            ("group.protocol", protocol),
            ("enable.auto.commit", "false"),
        ];
        let mut first = member(&group, &topic, &extra).await;
        let mut seen = vec![Vec::new()];
        assert!(
            pump_until(
                &mut [&mut first],
                &mut seen,
                Duration::from_secs(60),
                |_, s| s[0].len() >= 100
            )
            .await
        );
        first.commit_sync().await.expect("commit");
        assert_eq!(group_members(&group, protocol == "consumer").await, 1);
        first.close(Duration::from_secs(10)).await.unwrap();
        // A dynamic member leaves at once (LeaveGroup / epoch -1), no session timeout wait.
        assert_eq!(
            group_members(&group, protocol == "consumer").await,
            0,
            "{protocol}: left the group"
        );
        produce(&topic, 2, "b", 50).await;
        let mut second = member(&group, &topic, &extra).await;
        let mut seen2 = vec![Vec::new()];
        assert!(
            pump_until(
                &mut [&mut second],
                &mut seen2,
                Duration::from_secs(60),
                |_, s| s[0].len() >= 50
            )
            .await
        );
        pump(&mut [&mut second], &mut seen2, Duration::from_secs(1)).await;
        let got: BTreeSet<String> = seen2[0].iter().map(|(_, _, v)| v.clone()).collect();
        assert_eq!(
            got,
            values("b", 50),
            "{protocol}: resumed exactly after the commit"
        );
        assert_eq!(seen2[0].len(), 50, "{protocol}: no duplicates");
        second.close(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_cluster_and_bad_group_config_fail_clearly() {
    let started = Instant::now();
    let err = GroupConsumer::from_properties([
        ("bootstrap.servers", "127.0.0.1:1"),
        ("group.id", "g"),
        ("default.api.timeout.ms", "2000"),
    ])
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");
    assert!(
        matches!(err, ConsumerError::Timeout(_) | ConsumerError::Client(_)),
        "{err}"
    );
    let err = GroupConsumer::from_properties([("bootstrap.servers", broker())])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("group.id"), "{err}");
    let err = GroupConsumer::from_properties([
        ("bootstrap.servers", broker()),
        ("group.id", "g"),
        ("group.protocol", "bogus"),
    ])
    .await
    .unwrap_err();
    assert!(err.to_string().contains("group.protocol"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_member_restart_keeps_its_partitions_without_a_rebalance() {
    let topic = unique_topic("group-static");
    let group = unique_topic("gs");
    create_topic(&topic, 4).await;
    let stat = [
        ("group.instance.id", "static-a"),
        ("partition.assignment.strategy", "range"),
    ];
    let dynamic = [("partition.assignment.strategy", "range")];
    let mut a = member(&group, &topic, &stat).await;
    let mut b = member(&group, &topic, &dynamic).await;
    let mut seen = vec![Vec::new(), Vec::new()];
    assert!(
        pump_until(
            &mut [&mut a, &mut b],
            &mut seen,
            Duration::from_secs(60),
            |m, _| { m[0].assignment().len() == 2 && m[1].assignment().len() == 2 }
        )
        .await,
        "no 2/2 split"
    );
    let a_parts = a.assignment();
    let b_generation = b.generation();
    // KIP-345: a static member does not leave on close...
    a.close(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        group_members(&group, false).await,
        2,
        "static member still in the group"
    );
    // ...and coming back with the same instance id within the session timeout gets its
    // partitions back without a rebalance: the other member keeps its generation.
    let mut a2 = member(&group, &topic, &stat).await;
    let mut seen2 = vec![Vec::new(), Vec::new()];
    assert!(
        pump_until(
            &mut [&mut a2, &mut b],
            &mut seen2,
            Duration::from_secs(30),
            |m, _| { m[0].assignment().len() == 2 }
        )
        .await,
        "restarted static member got nothing"
    );
    assert_eq!(a2.assignment(), a_parts, "same partitions");
    assert_eq!(
        b.generation(),
        b_generation,
        "no rebalance for the other member"
    );
    b.close(Duration::from_secs(10)).await.unwrap();
    a2.close(Duration::from_secs(10)).await.unwrap();
}
