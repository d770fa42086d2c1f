//! Scripted-response tests of the fetcher: no sockets, no broker.

use super::*;
use bytes::Bytes;
use kafka_protocol::generated::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::record::{Compression, RecordBatchBuilder};

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

fn batch(base: i64, n: i64) -> Bytes {
    let mut b = RecordBatchBuilder::new(Compression::None);
    b.set_base_offset(base);
    for i in 0..n {
        let _ = b
            .append(1000, None, Some(format!("v{}", base + i).as_bytes()), &[])
            .unwrap();
    }
    b.build().unwrap()
}

fn part(p: i32, error: ErrorCode, hwm: i64, records: Option<Bytes>) -> PartitionData {
    PartitionData {
        partition_index: p,
        error_code: error.0,
        high_watermark: hwm,
        last_stable_offset: hwm,
        log_start_offset: 0,
        records,
        ..Default::default()
    }
}

fn response(session_id: i32, parts: Vec<PartitionData>) -> FetchResponse {
    FetchResponse {
        session_id,
        responses: vec![FetchableTopicResponse {
            topic: "t".into(),
            partitions: parts,
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn fetcher(cfg: FetchConfig) -> Fetcher {
    let mut f = Fetcher::new(cfg, Duration::from_millis(100));
    f.add_partitions([tp(0), tp(1)]);
    for p in 0..2 {
        f.set_leader(&tp(p), Some(LeaderInfo { node: 1, epoch: 3 }));
    }
    f
}

fn offsets(recs: &[ConsumerRecord]) -> Vec<(i32, i64)> {
    recs.iter().map(|r| (r.partition, r.offset)).collect()
}

fn sent(req: &FetchRequest) -> Vec<(i32, i64)> {
    req.topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| (p.partition, p.fetch_offset)))
        .collect()
}

#[test]
fn request_carries_the_fetch_settings_and_positions() {
    let cfg = FetchConfig {
        min_bytes: 10,
        max_wait: Duration::from_millis(250),
        max_bytes: 1000,
        max_partition_bytes: 300,
        isolation: IsolationLevel::ReadCommitted,
        ..Default::default()
    };
    let mut f = fetcher(cfg);
    let now = Instant::now();
    assert!(f.poll_fetch(now).is_none(), "no positions yet");
    f.seek(&tp(0), 5).unwrap();
    f.seek(&tp(1), 7).unwrap();
    let out = f.poll_fetch(now).unwrap();
    assert_eq!(out.node, 1);
    assert_eq!(out.max_version, 12, "topic id unknown: names only");
    let r = &out.request;
    assert_eq!(
        (r.min_bytes, r.max_wait_ms, r.max_bytes, r.isolation_level),
        (10, 250, 1000, 1)
    );
    assert_eq!((r.session_id, r.session_epoch), (0, 0));
    assert_eq!(sent(r), vec![(0, 5), (1, 7)]);
    assert!(r.topics[0]
        .partitions
        .iter()
        .all(|p| p.partition_max_bytes == 300 && p.current_leader_epoch == 3));
    assert!(
        f.poll_fetch(now).is_none(),
        "one fetch in flight per broker"
    );
}

#[test]
fn records_flow_and_the_session_goes_incremental() {
    let mut f = fetcher(FetchConfig::default());
    f.set_topic_id("t", Uuid([7; 16]));
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.seek(&tp(1), 0).unwrap();
    let out = f.poll_fetch(now).unwrap();
    assert_eq!(out.max_version, i16::MAX);
    f.handle_fetch_response(
        1,
        response(
            42,
            vec![
                part(0, ErrorCode::NONE, 3, Some(batch(0, 3))),
                part(1, ErrorCode::NONE, 0, None),
            ],
        ),
        now,
    );
    // Pipelined: partition 0 is fetched again from the end of its buffered data before the
    // application has read anything; partition 1 is unchanged and not listed.
    let out = f.poll_fetch(now).unwrap();
    assert_eq!((out.request.session_id, out.request.session_epoch), (42, 1));
    assert_eq!(sent(&out.request), vec![(0, 3)]);
    assert!(out.request.forgotten_topics_data.is_empty());
    let mut recs = Vec::new();
    assert_eq!(f.poll_records(10, &mut recs).unwrap(), 3);
    assert_eq!(offsets(&recs), vec![(0, 0), (0, 1), (0, 2)]);
    assert_eq!(f.position(&tp(0)), Some(3));
    assert_eq!(f.lag(&tp(0)), Some(0));
    assert!(f.at_end(&tp(0)) && f.at_end(&tp(1)));
    assert_eq!(f.buffered_bytes(), 0);
}

#[test]
fn responses_by_topic_id_map_back_to_names() {
    let mut f = fetcher(FetchConfig::default());
    f.set_topic_id("t", Uuid([7; 16]));
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.poll_fetch(now).unwrap();
    let mut resp = response(0, vec![part(0, ErrorCode::NONE, 2, Some(batch(0, 2)))]);
    resp.responses[0].topic = Default::default();
    resp.responses[0].topic_id = Uuid([7; 16]);
    f.handle_fetch_response(1, resp, now);
    let mut recs = Vec::new();
    f.poll_records(10, &mut recs).unwrap();
    assert_eq!(offsets(&recs), vec![(0, 0), (0, 1)]);
    assert_eq!(&*recs[0].topic, "t");
}

#[test]
fn session_errors_trigger_a_full_fetch() {
    let mut f = fetcher(FetchConfig::default());
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.seek(&tp(1), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(1, response(9, vec![]), now);
    let out = f.poll_fetch(now).unwrap();
    assert_eq!(out.request.session_epoch, 1);
    assert!(sent(&out.request).is_empty(), "nothing changed");
    let mut err = response(0, vec![]);
    err.error_code = ErrorCode::FETCH_SESSION_ID_NOT_FOUND.0;
    f.handle_fetch_response(1, err, now);
    let out = f.poll_fetch(now).unwrap();
    assert_eq!((out.request.session_id, out.request.session_epoch), (0, 0));
    assert_eq!(sent(&out.request), vec![(0, 0), (1, 0)]);
    let mut err = response(0, vec![]);
    err.error_code = ErrorCode::INVALID_FETCH_SESSION_EPOCH.0;
    f.handle_fetch_response(1, err, now);
    let out = f.poll_fetch(now).unwrap();
    assert_eq!(
        out.request.session_epoch, 0,
        "full fetch after an epoch error"
    );
    assert_eq!(sent(&out.request).len(), 2);
}

#[test]
fn paused_partitions_are_forgotten_and_their_data_held_back() {
    let mut f = fetcher(FetchConfig::default());
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.seek(&tp(1), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(
        1,
        response(
            5,
            vec![
                part(0, ErrorCode::NONE, 2, Some(batch(0, 2))),
                part(1, ErrorCode::NONE, 1, Some(batch(0, 1))),
            ],
        ),
        now,
    );
    f.pause(&tp(0)).unwrap();
    let out = f.poll_fetch(now).unwrap();
    assert_eq!(sent(&out.request), vec![(1, 1)]);
    let forgotten: Vec<i32> = out
        .request
        .forgotten_topics_data
        .iter()
        .flat_map(|t| t.partitions.clone())
        .collect();
    assert_eq!(forgotten, vec![0]);
    let mut recs = Vec::new();
    f.poll_records(10, &mut recs).unwrap();
    assert_eq!(offsets(&recs), vec![(1, 0)]);
    f.resume(&tp(0)).unwrap();
    recs.clear();
    f.poll_records(10, &mut recs).unwrap();
    assert_eq!(offsets(&recs), vec![(0, 0), (0, 1)]);
}

#[test]
fn offset_out_of_range_resets_per_policy() {
    for (policy, expect) in [
        (OffsetReset::Earliest, Some(OffsetSpec::Earliest)),
        (OffsetReset::Latest, Some(OffsetSpec::Latest)),
        (OffsetReset::None, None),
    ] {
        let mut f = fetcher(FetchConfig {
            auto_offset_reset: policy,
            ..Default::default()
        });
        let now = Instant::now();
        f.seek(&tp(0), 100).unwrap();
        f.poll_fetch(now).unwrap();
        f.handle_fetch_response(
            1,
            response(0, vec![part(0, ErrorCode::OFFSET_OUT_OF_RANGE, -1, None)]),
            now,
        );
        assert_eq!(f.position(&tp(0)), None);
        let resets = f.poll_resets();
        match expect {
            Some(spec) => {
                assert_eq!(resets, vec![(tp(0), spec)]);
                assert!(f.poll_resets().is_empty(), "asked once");
                f.handle_reset(&tp(0), spec, 4);
                assert_eq!(f.position(&tp(0)), Some(4));
                assert_eq!(sent(&f.poll_fetch(now).unwrap().request), vec![(0, 4)]);
            }
            None => {
                assert!(resets.is_empty());
                match f.poll_records(10, &mut Vec::new()) {
                    Err(ConsumerError::OffsetOutOfRange { offset: 100, .. }) => {}
                    other => panic!("{other:?}"),
                }
                assert!(f.poll_fetch(now).is_none(), "no position, no fetch");
            }
        }
    }
}

#[test]
fn leader_errors_request_metadata_and_stop_fetching_the_partition() {
    for code in [
        ErrorCode::NOT_LEADER_OR_FOLLOWER,
        ErrorCode::FENCED_LEADER_EPOCH,
    ] {
        let mut f = fetcher(FetchConfig::default());
        let now = Instant::now();
        f.seek(&tp(0), 0).unwrap();
        f.seek(&tp(1), 0).unwrap();
        assert!(!f.take_metadata_request());
        f.poll_fetch(now).unwrap();
        f.handle_fetch_response(
            1,
            response(
                0,
                vec![part(0, code, -1, None), part(1, ErrorCode::NONE, 0, None)],
            ),
            now,
        );
        assert!(f.take_metadata_request());
        assert_eq!(sent(&f.poll_fetch(now).unwrap().request), vec![(1, 0)]);
        f.set_leader(&tp(0), Some(LeaderInfo { node: 2, epoch: 4 }));
        let out = f.poll_fetch(now).unwrap();
        assert_eq!(out.node, 2);
        assert_eq!(out.request.topics[0].partitions[0].current_leader_epoch, 4);
    }
}

#[test]
fn seek_drops_buffered_and_in_flight_data() {
    let mut f = fetcher(FetchConfig::default());
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(
        1,
        response(0, vec![part(0, ErrorCode::NONE, 10, Some(batch(0, 5)))]),
        now,
    );
    f.poll_fetch(now).unwrap(); // pipelined fetch from 5
    f.seek(&tp(0), 8).unwrap();
    assert_eq!(f.buffered_bytes(), 0);
    // The answer to the fetch from 5 is stale now.
    f.handle_fetch_response(
        1,
        response(0, vec![part(0, ErrorCode::NONE, 10, Some(batch(5, 5)))]),
        now,
    );
    let mut recs = Vec::new();
    assert_eq!(f.poll_records(10, &mut recs).unwrap(), 0);
    assert_eq!(sent(&f.poll_fetch(now).unwrap().request), vec![(0, 8)]);
}

#[test]
fn prefetch_stops_at_the_memory_bound() {
    let one = batch(0, 5);
    let mut f = fetcher(FetchConfig {
        max_buffered_bytes: one.len(),
        ..Default::default()
    });
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(
        1,
        response(0, vec![part(0, ErrorCode::NONE, 10, Some(one))]),
        now,
    );
    assert!(f.poll_fetch(now).is_none(), "buffer full");
    let mut recs = Vec::new();
    f.poll_records(2, &mut recs).unwrap();
    assert!(
        f.poll_fetch(now).is_none(),
        "still holding the partly read data"
    );
    f.poll_records(10, &mut recs).unwrap();
    assert_eq!(recs.len(), 5);
    assert_eq!(sent(&f.poll_fetch(now).unwrap().request), vec![(0, 5)]);
}

#[test]
fn failures_back_off_and_reset_the_session() {
    let mut f = fetcher(FetchConfig::default());
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(1, response(3, vec![]), now);
    f.poll_fetch(now).unwrap();
    f.handle_fetch_failure(1, now);
    assert!(f.poll_fetch(now).is_none(), "backing off");
    assert_eq!(f.poll_timeout(), Some(now + Duration::from_millis(100)));
    let later = now + Duration::from_millis(101);
    f.handle_timeout(later);
    let out = f.poll_fetch(later).unwrap();
    assert_eq!(
        out.request.session_epoch, 0,
        "full fetch after a lost request"
    );
}

#[test]
fn max_records_per_poll_is_respected_across_partitions() {
    let mut f = fetcher(FetchConfig::default());
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.seek(&tp(1), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(
        1,
        response(
            0,
            vec![
                part(0, ErrorCode::NONE, 3, Some(batch(0, 3))),
                part(1, ErrorCode::NONE, 3, Some(batch(0, 3))),
            ],
        ),
        now,
    );
    let mut recs = Vec::new();
    assert_eq!(f.poll_records(2, &mut recs).unwrap(), 2);
    assert_eq!(f.poll_records(2, &mut recs).unwrap(), 2);
    assert_eq!(f.poll_records(5, &mut recs).unwrap(), 2);
    assert_eq!(
        offsets(&recs),
        vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    );
    assert_eq!((f.position(&tp(0)), f.position(&tp(1))), (Some(3), Some(3)));
}

#[test]
fn other_partition_errors_reach_the_application() {
    let mut f = fetcher(FetchConfig::default());
    let now = Instant::now();
    f.seek(&tp(0), 0).unwrap();
    f.poll_fetch(now).unwrap();
    f.handle_fetch_response(
        1,
        response(
            0,
            vec![part(0, ErrorCode::TOPIC_AUTHORIZATION_FAILED, -1, None)],
        ),
        now,
    );
    let e = f.poll_records(10, &mut Vec::new()).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TOPIC_AUTHORIZATION_FAILED));
}
