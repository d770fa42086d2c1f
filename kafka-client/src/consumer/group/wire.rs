//! Version-aware building and reading of the group requests whose shape changed across
//! versions: FindCoordinator (batched keys from v4, KIP-699), OffsetFetch (batched groups from
//! v8, KIP-709) and OffsetCommit / OffsetFetch v10 (topic ids, which we do not use: capped at 9).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::generated::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::generated::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::generated::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::generated::{
    FindCoordinatorResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse,
};
use kafka_protocol::ErrorCode;

use crate::consumer::types::{OffsetAndMetadata, TopicPartition};

/// Highest OffsetCommit version we speak (v10 names topics by id only).
pub const OFFSET_COMMIT_MAX: i16 = 9;
/// Highest OffsetFetch version we speak (v10 names topics by id only).
pub const OFFSET_FETCH_MAX: i16 = 9;

/// A coordinator's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordinatorInfo {
    /// Node id.
    pub node: i32,
    /// Host.
    pub host: String,
    /// Port.
    pub port: i32,
}

/// FindCoordinator for a group (`key_type` 0).
pub fn find_coordinator(group: &str, version: i16) -> FindCoordinatorRequest {
    if version >= 4 {
        FindCoordinatorRequest {
            key_type: 0,
            coordinator_keys: vec![group.into()],
            ..Default::default()
        }
    } else {
        FindCoordinatorRequest {
            key: group.into(),
            key_type: 0,
            ..Default::default()
        }
    }
}

/// The coordinator, or the error code and message.
pub fn parse_find_coordinator(
    resp: &FindCoordinatorResponse,
    group: &str,
) -> Result<CoordinatorInfo, (ErrorCode, Option<String>)> {
    if let Some(c) = resp.coordinators.iter().find(|c| c.key == group) {
        return match ErrorCode(c.error_code) {
            ErrorCode::NONE => Ok(CoordinatorInfo {
                node: c.node_id,
                host: c.host.to_string(),
                port: c.port,
            }),
            code => Err((code, c.error_message.as_deref().map(Into::into))),
        };
    }
    if !resp.coordinators.is_empty() {
        return Err((
            ErrorCode::COORDINATOR_NOT_AVAILABLE,
            Some("no answer for our group".into()),
        ));
    }
    match ErrorCode(resp.error_code) {
        ErrorCode::NONE => Ok(CoordinatorInfo {
            node: resp.node_id,
            host: resp.host.to_string(),
            port: resp.port,
        }),
        code => Err((code, resp.error_message.as_deref().map(Into::into))),
    }
}

fn grouped(parts: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut m: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in parts {
        m.entry(&tp.topic).or_default().push(tp.partition);
    }
    m
}

/// OffsetFetch of `parts` for `group` (`require_stable` from v7: wait for pending
/// transactional commits, KIP-447). `member` is the KIP-848 member id and epoch (v9+).
pub fn offset_fetch(
    group: &str,
    parts: &[TopicPartition],
    member: Option<(&str, i32)>,
    version: i16,
) -> OffsetFetchRequest {
    let topics = grouped(parts);
    if version >= 8 {
        OffsetFetchRequest {
            groups: vec![OffsetFetchRequestGroup {
                group_id: group.into(),
                member_id: member.filter(|_| version >= 9).map(|(m, _)| m.into()),
                member_epoch: member.filter(|_| version >= 9).map_or(-1, |(_, e)| e),
                topics: Some(
                    topics
                        .into_iter()
                        .map(|(t, p)| OffsetFetchRequestTopics {
                            name: t.into(),
                            partition_indexes: p.into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }],
            require_stable: true,
            ..Default::default()
        }
    } else {
        OffsetFetchRequest {
            group_id: group.into(),
            topics: Some(
                topics
                    .into_iter()
                    .map(|(t, p)| OffsetFetchRequestTopic {
                        name: t.into(),
                        partition_indexes: p.into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            require_stable: version >= 7,
            ..Default::default()
        }
    }
}

/// Per partition: the committed offset (`None` when nothing is committed) or an error; or a
/// group-level error.
pub type FetchedOffsets = Vec<(TopicPartition, Result<Option<OffsetAndMetadata>, ErrorCode>)>;

fn committed(offset: i64, epoch: i32, metadata: Option<&str>) -> Option<OffsetAndMetadata> {
    // -1: no committed offset for the partition.
    (offset >= 0).then(|| OffsetAndMetadata {
        offset,
        leader_epoch: (epoch >= 0).then_some(epoch),
        metadata: metadata.unwrap_or_default().to_owned(),
    })
}

/// Reads an OffsetFetch response of any version.
pub fn parse_offset_fetch(resp: &OffsetFetchResponse) -> Result<FetchedOffsets, ErrorCode> {
    let mut out = Vec::new();
    if let Some(g) = resp.groups.first() {
        if g.error_code != 0 {
            return Err(ErrorCode(g.error_code));
        }
        for t in &g.topics {
            let name: Arc<str> = t.name.as_str().into();
            for p in &t.partitions {
                let tp = TopicPartition::new(name.clone(), p.partition_index);
                out.push((
                    tp,
                    match ErrorCode(p.error_code) {
                        ErrorCode::NONE => Ok(committed(
                            p.committed_offset,
                            p.committed_leader_epoch,
                            p.metadata.as_deref(),
                        )),
                        code => Err(code),
                    },
                ));
            }
        }
        return Ok(out);
    }
    if resp.error_code != 0 {
        return Err(ErrorCode(resp.error_code));
    }
    for t in &resp.topics {
        let name: Arc<str> = t.name.as_str().into();
        for p in &t.partitions {
            let tp = TopicPartition::new(name.clone(), p.partition_index);
            out.push((
                tp,
                match ErrorCode(p.error_code) {
                    ErrorCode::NONE => Ok(committed(
                        p.committed_offset,
                        p.committed_leader_epoch,
                        p.metadata.as_deref(),
                    )),
                    code => Err(code),
                },
            ));
        }
    }
    Ok(out)
}

/// OffsetCommit of `offsets`. `generation` is the classic generation id or the KIP-848
/// member epoch; -1 with an empty member id commits as a non-member (simple consumers).
pub fn offset_commit(
    group: &str,
    generation: i32,
    member_id: &str,
    instance_id: Option<&str>,
    offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    version: i16,
) -> OffsetCommitRequest {
    let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (tp, o) in offsets {
        topics
            .entry(&tp.topic)
            .or_default()
            .push(OffsetCommitRequestPartition {
                partition_index: tp.partition,
                committed_offset: o.offset,
                committed_leader_epoch: if version >= 6 {
                    o.leader_epoch.unwrap_or(-1)
                } else {
                    -1
                },
                committed_metadata: Some(o.metadata.clone().into()),
                ..Default::default()
            });
    }
    OffsetCommitRequest {
        group_id: group.into(),
        generation_id_or_member_epoch: generation,
        member_id: member_id.into(),
        group_instance_id: instance_id.filter(|_| version >= 7).map(Into::into),
        topics: topics
            .into_iter()
            .map(|(t, partitions)| OffsetCommitRequestTopic {
                name: t.into(),
                partitions,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// The first error of an OffsetCommit response, if any partition failed.
pub fn parse_offset_commit(resp: &OffsetCommitResponse) -> Vec<(TopicPartition, ErrorCode)> {
    let mut out = Vec::new();
    for t in &resp.topics {
        let name: Arc<str> = t.name.as_str().into();
        for p in &t.partitions {
            out.push((
                TopicPartition::new(name.clone(), p.partition_index),
                ErrorCode(p.error_code),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::generated::find_coordinator_response::Coordinator;
    use kafka_protocol::generated::offset_fetch_response::{
        OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
        OffsetFetchResponseTopic, OffsetFetchResponseTopics,
    };
    use kafka_protocol::Message;

    #[test]
    fn find_coordinator_by_version() {
        assert_eq!(find_coordinator("g", 3).key, "g");
        assert_eq!(find_coordinator("g", 4).coordinator_keys, vec!["g"]);
        for v in [3, 4, 6] {
            find_coordinator("g", v).encode_to_bytes(v).unwrap();
        }
        let v4 = FindCoordinatorResponse {
            coordinators: vec![Coordinator {
                key: "g".into(),
                node_id: 2,
                host: "h".into(),
                port: 9,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(parse_find_coordinator(&v4, "g").unwrap().node, 2);
        let err = FindCoordinatorResponse {
            error_code: ErrorCode::COORDINATOR_NOT_AVAILABLE.0,
            ..Default::default()
        };
        assert_eq!(
            parse_find_coordinator(&err, "g").unwrap_err().0,
            ErrorCode::COORDINATOR_NOT_AVAILABLE
        );
    }

    #[test]
    fn offset_fetch_both_shapes() {
        let parts = [TopicPartition::new("t", 0), TopicPartition::new("t", 1)];
        for v in [1, 7, 8, 9] {
            let req = offset_fetch("g", &parts, Some(("m", 3)), v);
            req.encode_to_bytes(v).unwrap();
        }
        let old = OffsetFetchResponse {
            topics: vec![OffsetFetchResponseTopic {
                name: "t".into(),
                partitions: vec![
                    OffsetFetchResponsePartition {
                        partition_index: 0,
                        committed_offset: 5,
                        committed_leader_epoch: 2,
                        metadata: Some("x".into()),
                        ..Default::default()
                    },
                    OffsetFetchResponsePartition {
                        partition_index: 1,
                        committed_offset: -1,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = parse_offset_fetch(&old).unwrap();
        assert_eq!(r[0].1.as_ref().unwrap().as_ref().unwrap().offset, 5);
        assert_eq!(r[1].1, Ok(None));
        let new = OffsetFetchResponse {
            groups: vec![OffsetFetchResponseGroup {
                group_id: "g".into(),
                topics: vec![OffsetFetchResponseTopics {
                    name: "t".into(),
                    partitions: vec![OffsetFetchResponsePartitions {
                        partition_index: 0,
                        committed_offset: 9,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            parse_offset_fetch(&new).unwrap()[0]
                .1
                .as_ref()
                .unwrap()
                .as_ref()
                .unwrap()
                .offset,
            9
        );
        let failed = OffsetFetchResponse {
            groups: vec![OffsetFetchResponseGroup {
                error_code: ErrorCode::NOT_COORDINATOR.0,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            parse_offset_fetch(&failed).unwrap_err(),
            ErrorCode::NOT_COORDINATOR
        );
    }

    #[test]
    fn offset_commit_encodes_at_every_version_we_use() {
        let mut offsets = BTreeMap::new();
        offsets.insert(TopicPartition::new("t", 0), OffsetAndMetadata::new(10));
        for v in [2, 6, 7, 8, 9] {
            offset_commit("g", 3, "m", Some("i"), &offsets, v)
                .encode_to_bytes(v)
                .unwrap();
        }
    }
}
