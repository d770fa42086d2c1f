//! Scripted-response tests of group membership: no sockets, no broker.

use super::*;
use crate::consumer::group::assignor::AssignorKind;
use crate::consumer::group::protocol;
use kafka_protocol::generated::consumer_group_heartbeat_response::{
    Assignment, TopicPartitions as CgTp,
};
use kafka_protocol::generated::find_coordinator_response::Coordinator;
use kafka_protocol::generated::join_group_response::JoinGroupResponseMember;
use kafka_protocol::generated::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::generated::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartitions, OffsetFetchResponseTopics,
};

fn cfg(assignors: &[AssignorKind]) -> GroupConfig {
    GroupConfig {
        group_id: Some("g".into()),
        assignors: assignors.to_vec(),
        ..Default::default()
    }
}

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

struct Script {
    m: GroupMember,
    now: Instant,
}

impl Script {
    fn new(cfg: GroupConfig) -> Self {
        let now = Instant::now();
        let mut m = GroupMember::new(cfg, Duration::from_millis(100), now).unwrap();
        m.subscribe(["t".to_string()]);
        m.set_metadata([("t".to_string(), Uuid([1; 16]), 4)], now);
        while m.poll_event().is_some() {}
        Self { m, now }
    }

    fn next(&mut self) -> Outgoing {
        self.m.poll_request(self.now).expect("a request")
    }

    fn none(&mut self) {
        if let Some(o) = self.m.poll_request(self.now) {
            panic!("unexpected request {o:?}");
        }
    }

    fn events(&mut self) -> Vec<GroupEvent> {
        std::iter::from_fn(|| self.m.poll_event()).collect()
    }

    fn find_coordinator(&mut self) {
        let o = self.next();
        assert!(matches!(o.request, GroupRequest::FindCoordinator) && o.node.is_none());
        self.m.handle_response(
            o.id,
            GroupResponse::FindCoordinator(FindCoordinatorResponse {
                coordinators: vec![Coordinator {
                    key: "g".into(),
                    node_id: 7,
                    host: "h".into(),
                    port: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            self.now,
        );
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.m.handle_timeout(self.now);
    }
}

fn join_ok(
    member: &str,
    leader: &str,
    generation: i32,
    members: Vec<JoinGroupResponseMember>,
) -> GroupResponse {
    GroupResponse::JoinGroup(JoinGroupResponse {
        generation_id: generation,
        protocol_name: Some("range".into()),
        leader: leader.into(),
        member_id: member.into(),
        members,
        ..Default::default()
    })
}

fn sync_ok(parts: &[i32]) -> GroupResponse {
    let tps: Vec<TopicPartition> = parts.iter().map(|&p| tp(p)).collect();
    GroupResponse::SyncGroup(SyncGroupResponse {
        assignment: protocol::encode_assignment(&tps, None).unwrap(),
        ..Default::default()
    })
}

fn offsets(committed: &[(i32, i64)]) -> GroupResponse {
    GroupResponse::OffsetFetch(OffsetFetchResponse {
        groups: vec![OffsetFetchResponseGroup {
            group_id: "g".into(),
            topics: vec![OffsetFetchResponseTopics {
                name: "t".into(),
                partitions: committed
                    .iter()
                    .map(|&(p, o)| OffsetFetchResponsePartitions {
                        partition_index: p,
                        committed_offset: o,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// Joins as the only member and leader with range over 4 partitions.
fn join_alone(s: &mut Script) {
    s.find_coordinator();
    let o = s.next();
    let GroupRequest::JoinGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(o.node, Some(7));
    assert_eq!(req.member_id, "");
    assert_eq!(req.protocol_type, "consumer");
    assert!(o.timeout.unwrap() > Duration::from_secs(300));
    // KIP-394: the first join only gets a member id.
    s.m.handle_response(
        o.id,
        GroupResponse::JoinGroup(JoinGroupResponse {
            error_code: ErrorCode::MEMBER_ID_REQUIRED.0,
            member_id: "m1".into(),
            ..Default::default()
        }),
        s.now,
    );
    let o = s.next();
    let GroupRequest::JoinGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.member_id, "m1");
    let metadata = req.protocols[0].metadata.clone();
    s.m.handle_response(
        o.id,
        join_ok(
            "m1",
            "m1",
            1,
            vec![JoinGroupResponseMember {
                member_id: "m1".into(),
                metadata,
                ..Default::default()
            }],
        ),
        s.now,
    );
    let o = s.next();
    let GroupRequest::SyncGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.assignments.len(), 1);
    let mine = protocol::decode_assignment(&req.assignments[0].assignment).unwrap();
    assert_eq!(mine, vec![tp(0), tp(1), tp(2), tp(3)]);
    s.m.handle_response(o.id, sync_ok(&[0, 1, 2, 3]), s.now);
    let o = s.next();
    let GroupRequest::OffsetFetch { partitions, .. } = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(partitions.len(), 4);
    s.m.handle_response(o.id, offsets(&[(0, 10), (1, -1), (2, 5), (3, 0)]), s.now);
}

#[test]
fn classic_join_sync_fetch_offsets_and_heartbeat() {
    let mut s = Script::new(cfg(&[AssignorKind::Range]));
    join_alone(&mut s);
    let ev = s.events();
    let assign = ev.iter().find_map(|e| match e {
        GroupEvent::Assign(a) => Some(a.clone()),
        _ => None,
    });
    let assign = assign.expect("assign event");
    assert_eq!(assign.len(), 4);
    assert_eq!(assign[0].1.as_ref().map(|o| o.offset), Some(10));
    assert_eq!(assign[1].1, None, "nothing committed");
    assert!(s.m.is_stable());
    s.none();
    s.advance(Duration::from_secs(3));
    let o = s.next();
    let GroupRequest::Heartbeat(hb) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!((hb.generation_id, hb.member_id.as_str()), (1, "m1"));
    s.m.handle_response(
        o.id,
        GroupResponse::Heartbeat(HeartbeatResponse::default()),
        s.now,
    );
    s.none();
}

#[test]
fn eager_rebalance_revokes_everything_before_rejoining() {
    let mut s = Script::new(cfg(&[AssignorKind::Range]));
    join_alone(&mut s);
    s.events();
    s.advance(Duration::from_secs(3));
    let o = s.next();
    s.m.handle_response(
        o.id,
        GroupResponse::Heartbeat(HeartbeatResponse {
            error_code: ErrorCode::REBALANCE_IN_PROGRESS.0,
            ..Default::default()
        }),
        s.now,
    );
    s.none();
    match s.events().as_slice() {
        [GroupEvent::Revoke(r)] => assert_eq!(r.len(), 4),
        other => panic!("{other:?}"),
    }
    // The application commits during the revocation: the commit goes out before the join.
    let mut to_commit = BTreeMap::new();
    to_commit.insert(tp(0), OffsetAndMetadata::new(11));
    let cid = s.m.commit(to_commit);
    s.m.revocation_done(s.now);
    let o = s.next();
    let GroupRequest::OffsetCommit {
        generation,
        member_id,
        ..
    } = &o.request
    else {
        panic!("{o:?}")
    };
    assert_eq!((*generation, member_id.as_str()), (1, "m1"));
    s.none();
    s.m.handle_response(
        o.id,
        GroupResponse::OffsetCommit(OffsetCommitResponse::default()),
        s.now,
    );
    assert!(
        matches!(s.events().as_slice(), [GroupEvent::CommitDone { id, result: Ok(()) }] if *id == cid)
    );
    let o = s.next();
    let GroupRequest::JoinGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    let sub = protocol::decode_subscription("m1", None, &req.protocols[0].metadata).unwrap();
    assert!(
        sub.owned_partitions.is_empty(),
        "eager: nothing owned when joining"
    );
}

#[test]
fn cooperative_member_keeps_partitions_and_revokes_only_moved_ones() {
    let mut s = Script::new(cfg(&[AssignorKind::CooperativeSticky]));
    s.find_coordinator();
    let o = s.next();
    s.m.handle_response(o.id, join_ok("m1", "other", 1, vec![]), s.now);
    let o = s.next();
    assert!(matches!(o.request, GroupRequest::SyncGroup(_)));
    s.m.handle_response(o.id, sync_ok(&[0, 1, 2, 3]), s.now);
    let o = s.next();
    s.m.handle_response(o.id, offsets(&[]), s.now);
    s.events();
    // Rebalance: the member rejoins still owning its partitions.
    s.advance(Duration::from_secs(3));
    let o = s.next();
    s.m.handle_response(
        o.id,
        GroupResponse::Heartbeat(HeartbeatResponse {
            error_code: ErrorCode::REBALANCE_IN_PROGRESS.0,
            ..Default::default()
        }),
        s.now,
    );
    let o = s.next();
    let GroupRequest::JoinGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    let sub = protocol::decode_subscription("m1", None, &req.protocols[0].metadata).unwrap();
    assert_eq!(sub.owned_partitions.len(), 4);
    assert_eq!(sub.generation, Some(1));
    assert!(
        s.events()
            .iter()
            .all(|e| !matches!(e, GroupEvent::Revoke(_))),
        "no revocation before joining"
    );
    s.m.handle_response(o.id, join_ok("m1", "other", 2, vec![]), s.now);
    let o = s.next();
    // The leader moved 2 and 3 away.
    s.m.handle_response(o.id, sync_ok(&[0, 1]), s.now);
    let ev: Vec<GroupEvent> = s
        .events()
        .into_iter()
        .filter(|e| !matches!(e, GroupEvent::Joined { .. }))
        .collect();
    match ev.as_slice() {
        [GroupEvent::Revoke(r)] => assert_eq!(r, &vec![tp(2), tp(3)]),
        other => panic!("{other:?}"),
    }
    s.none();
    s.m.revocation_done(s.now);
    assert_eq!(s.m.owned().len(), 2);
    // KIP-429: rejoin after revoking so that the new owner gets them.
    let o = s.next();
    assert!(matches!(o.request, GroupRequest::JoinGroup(_)));
}

#[test]
fn fencing_loses_partitions_and_unknown_member_resets_the_id() {
    let mut s = Script::new(cfg(&[AssignorKind::Range]));
    join_alone(&mut s);
    s.events();
    s.advance(Duration::from_secs(3));
    let o = s.next();
    s.m.handle_response(
        o.id,
        GroupResponse::Heartbeat(HeartbeatResponse {
            error_code: ErrorCode::UNKNOWN_MEMBER_ID.0,
            ..Default::default()
        }),
        s.now,
    );
    match s.events().as_slice() {
        [GroupEvent::Lost(l)] => assert_eq!(l.len(), 4),
        other => panic!("{other:?}"),
    }
    let o = s.next();
    let GroupRequest::JoinGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.member_id, "");
}

#[test]
fn coordinator_errors_trigger_rediscovery_and_commits_retry() {
    let mut s = Script::new(cfg(&[AssignorKind::Range]));
    join_alone(&mut s);
    s.events();
    let mut to_commit = BTreeMap::new();
    to_commit.insert(tp(0), OffsetAndMetadata::new(5));
    let cid = s.m.commit(to_commit);
    let o = s.next();
    let failed = OffsetCommitResponse {
        topics: vec![OffsetCommitResponseTopic {
            name: "t".into(),
            partitions: vec![OffsetCommitResponsePartition {
                partition_index: 0,
                error_code: ErrorCode::NOT_COORDINATOR.0,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    s.m.handle_response(o.id, GroupResponse::OffsetCommit(failed), s.now);
    assert!(s.m.coordinator().is_none());
    assert!(s.events().is_empty(), "retried, not failed");
    s.find_coordinator();
    let o = s.next();
    assert!(matches!(o.request, GroupRequest::OffsetCommit { .. }));
    s.m.handle_response(
        o.id,
        GroupResponse::OffsetCommit(OffsetCommitResponse::default()),
        s.now,
    );
    assert!(
        matches!(s.events().as_slice(), [GroupEvent::CommitDone { id, result: Ok(()) }] if *id == cid)
    );
}

#[test]
fn static_member_does_not_send_leave_group_and_fenced_instance_is_fatal() {
    let mut c = cfg(&[AssignorKind::Range]);
    c.group_instance_id = Some("i1".into());
    let mut s = Script::new(c);
    join_alone(&mut s);
    s.events();
    s.m.leave(s.now);
    assert!(matches!(s.events().as_slice(), [GroupEvent::Revoke(_)]));
    s.m.revocation_done(s.now);
    s.none();
    assert!(matches!(s.events().as_slice(), [GroupEvent::Left]));

    let mut c = cfg(&[AssignorKind::Range]);
    c.group_instance_id = Some("i1".into());
    let mut s = Script::new(c);
    s.find_coordinator();
    let o = s.next();
    s.m.handle_response(
        o.id,
        GroupResponse::JoinGroup(JoinGroupResponse {
            error_code: ErrorCode::FENCED_INSTANCE_ID.0,
            ..Default::default()
        }),
        s.now,
    );
    assert!(matches!(
        s.events().as_slice(),
        [GroupEvent::Fatal(ConsumerError::Fenced(_))]
    ));
    assert!(s.m.is_done());
    s.none();
}

#[test]
fn dynamic_member_leaves_with_leave_group() {
    let mut s = Script::new(cfg(&[AssignorKind::Range]));
    join_alone(&mut s);
    s.events();
    s.m.leave(s.now);
    s.events();
    s.m.revocation_done(s.now);
    let o = s.next();
    let GroupRequest::LeaveGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.members[0].member_id, "m1");
    s.m.handle_response(
        o.id,
        GroupResponse::LeaveGroup(LeaveGroupResponse::default()),
        s.now,
    );
    assert!(matches!(s.events().as_slice(), [GroupEvent::Left]));
}

#[test]
fn leader_waits_for_metadata_of_topics_only_others_subscribe() {
    let mut s = Script::new(cfg(&[AssignorKind::RoundRobin]));
    s.find_coordinator();
    let o = s.next();
    let other = protocol::encode_subscription(&["u".into()], &[], -1, None, None).unwrap();
    let mine = protocol::encode_subscription(&["t".into()], &[], -1, None, None).unwrap();
    let mut resp = join_ok(
        "m1",
        "m1",
        1,
        vec![
            JoinGroupResponseMember {
                member_id: "m1".into(),
                metadata: mine,
                ..Default::default()
            },
            JoinGroupResponseMember {
                member_id: "m2".into(),
                metadata: other,
                ..Default::default()
            },
        ],
    );
    if let GroupResponse::JoinGroup(r) = &mut resp {
        r.protocol_name = Some("roundrobin".into());
    }
    s.m.handle_response(o.id, resp, s.now);
    match s.events().as_slice() {
        [GroupEvent::Joined { leader: true, .. }, GroupEvent::NeedMetadata(t)] => {
            assert!(t.contains("u"))
        }
        other => panic!("{other:?}"),
    }
    s.none();
    s.m.set_metadata([("u".to_string(), Uuid([2; 16]), 2)], s.now);
    let o = s.next();
    let GroupRequest::SyncGroup(req) = &o.request else {
        panic!("{o:?}")
    };
    let m2 = req
        .assignments
        .iter()
        .find(|a| a.member_id == "m2")
        .unwrap();
    assert_eq!(
        protocol::decode_assignment(&m2.assignment).unwrap().len(),
        2
    );
}

// ----- KIP-848 -----

fn kip848() -> Script {
    let c = GroupConfig {
        group_id: Some("g".into()),
        protocol: GroupProtocol::Consumer,
        ..Default::default()
    };
    Script::new(c)
}

fn cg_response(epoch: i32, assigned: Option<&[i32]>) -> GroupResponse {
    GroupResponse::ConsumerGroupHeartbeat(ConsumerGroupHeartbeatResponse {
        member_epoch: epoch,
        heartbeat_interval_ms: 5000,
        assignment: assigned.map(|ps| Assignment {
            topic_partitions: vec![CgTp {
                topic_id: Uuid([1; 16]),
                partitions: ps.into(),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    })
}

#[test]
fn kip848_join_reconcile_and_acknowledge() {
    let mut s = kip848();
    let member_id = s.m.member_id().to_string();
    assert_eq!(member_id.len(), 22, "client-generated member id (KIP-1082)");
    s.find_coordinator();
    let o = s.next();
    let GroupRequest::ConsumerGroupHeartbeat(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.member_epoch, 0);
    assert_eq!(
        req.subscribed_topic_names
            .as_deref()
            .map(|ts| ts.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        Some(vec!["t"])
    );
    assert_eq!(req.topic_partitions.as_deref().map(<[_]>::len), Some(0));
    assert_eq!(req.rebalance_timeout_ms, 300_000);
    s.m.handle_response(o.id, cg_response(1, Some(&[0, 2])), s.now);
    // Owned at once; committed offsets are looked up with our member id and epoch.
    assert_eq!(s.m.owned().len(), 2);
    let o = s.next();
    let GroupRequest::OffsetFetch { partitions, member } = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(partitions.len(), 2);
    assert_eq!(member.as_ref().map(|(_, e)| *e), Some(1));
    s.m.handle_response(o.id, offsets(&[(0, 3), (2, -1)]), s.now);
    // The acknowledgement heartbeat goes out without waiting for the interval.
    let o = s.next();
    let GroupRequest::ConsumerGroupHeartbeat(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.member_epoch, 1);
    assert!(
        req.subscribed_topic_names.is_none(),
        "unchanged fields are null"
    );
    let tps = req.topic_partitions.as_ref().unwrap();
    assert_eq!(tps[0].partitions, vec![0, 2]);
    s.m.handle_response(o.id, cg_response(1, None), s.now);
    s.none();
    let ev = s.events();
    assert!(ev
        .iter()
        .any(|e| matches!(e, GroupEvent::Assign(a) if a.len() == 2)));
}

#[test]
fn kip848_revokes_before_acknowledging_and_rejoins_when_fenced() {
    let mut s = kip848();
    s.find_coordinator();
    let o = s.next();
    s.m.handle_response(o.id, cg_response(1, Some(&[0, 1, 2])), s.now);
    let o = s.next();
    s.m.handle_response(o.id, offsets(&[]), s.now);
    let o = s.next();
    s.m.handle_response(o.id, cg_response(1, None), s.now);
    s.events();
    // New target without 1 and 2.
    s.now += Duration::from_secs(5);
    let o = s.next();
    s.m.handle_response(o.id, cg_response(2, Some(&[0])), s.now);
    match s.events().as_slice() {
        [GroupEvent::Joined { generation: 2, .. }, GroupEvent::Revoke(r)] => {
            assert_eq!(r, &vec![tp(1), tp(2)])
        }
        other => panic!("{other:?}"),
    }
    s.none();
    s.m.revocation_done(s.now);
    let o = s.next();
    let GroupRequest::ConsumerGroupHeartbeat(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(
        req.topic_partitions.as_ref().unwrap()[0].partitions,
        vec![0]
    );
    // Fenced: everything lost, rejoin with epoch 0 and the same member id.
    let id = s.m.member_id().to_string();
    s.m.handle_response(
        o.id,
        GroupResponse::ConsumerGroupHeartbeat(ConsumerGroupHeartbeatResponse {
            error_code: ErrorCode::FENCED_MEMBER_EPOCH.0,
            ..Default::default()
        }),
        s.now,
    );
    assert!(matches!(s.events().as_slice(), [GroupEvent::Lost(l)] if l.len() == 1));
    let o = s.next();
    let GroupRequest::ConsumerGroupHeartbeat(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!((req.member_epoch, req.member_id.as_str()), (0, id.as_str()));
    assert!(req.subscribed_topic_names.is_some());
}

#[test]
fn kip848_unknown_topic_ids_wait_for_metadata_and_leave_uses_epoch_minus_one() {
    let mut s = kip848();
    s.find_coordinator();
    let o = s.next();
    let mut resp = cg_response(1, Some(&[0]));
    if let GroupResponse::ConsumerGroupHeartbeat(r) = &mut resp {
        r.assignment.as_mut().unwrap().topic_partitions[0].topic_id = Uuid([9; 16]);
    }
    s.m.handle_response(o.id, resp, s.now);
    assert!(s.m.owned().is_empty());
    assert!(s
        .events()
        .iter()
        .any(|e| matches!(e, GroupEvent::NeedMetadata(_))));
    s.m.set_metadata([("t2".to_string(), Uuid([9; 16]), 1)], s.now);
    assert_eq!(s.m.owned().iter().next().map(|tp| &*tp.topic), Some("t2"));
    let o = s.next();
    s.m.handle_response(o.id, offsets(&[]), s.now);
    let o = s.next();
    s.m.handle_response(o.id, cg_response(1, None), s.now);
    s.events();
    s.m.leave(s.now);
    s.m.revocation_done(s.now);
    let o = s.next();
    let GroupRequest::ConsumerGroupHeartbeat(req) = &o.request else {
        panic!("{o:?}")
    };
    assert_eq!(req.member_epoch, -1);
    s.m.handle_response(o.id, cg_response(-1, None), s.now);
    assert!(s.events().iter().any(|e| matches!(e, GroupEvent::Left)));
}
