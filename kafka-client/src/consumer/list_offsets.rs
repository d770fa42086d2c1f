//! ListOffsets for the consumer: position resets (earliest, latest) and timestamp lookups,
//! one request per partition leader, with the consumer's isolation level (under read_committed
//! "latest" is the last stable offset, KIP-98).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::generated::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::generated::{ListOffsetsRequest, ListOffsetsResponse};
use kafka_protocol::ErrorCode;

use super::config::IsolationLevel;
use super::fetch::OffsetSpec;
use super::types::TopicPartition;

/// The answer for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// The offset, -1 when no record is at or after the timestamp.
    pub offset: i64,
    /// The found record's timestamp for timestamp lookups, else -1.
    pub timestamp: i64,
}

/// Builds the request for `parts` (all led by one broker) at `version`.
pub(crate) fn build(
    parts: &[(TopicPartition, OffsetSpec, i32)],
    isolation: IsolationLevel,
    version: i16,
    timeout_ms: i32,
) -> ListOffsetsRequest {
    let mut topics: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
    for (tp, spec, leader_epoch) in parts {
        topics
            .entry(&tp.topic)
            .or_default()
            .push(ListOffsetsPartition {
                partition_index: tp.partition,
                current_leader_epoch: if version >= 4 { *leader_epoch } else { -1 },
                timestamp: spec.wire_timestamp(),
                ..Default::default()
            });
    }
    ListOffsetsRequest {
        replica_id: -1,
        isolation_level: if version >= 2 { isolation.wire() } else { 0 },
        topics: topics
            .into_iter()
            .map(|(name, partitions)| ListOffsetsTopic {
                name: name.into(),
                partitions,
                ..Default::default()
            })
            .collect(),
        timeout_ms: if version >= 10 { timeout_ms } else { 0 },
        ..Default::default()
    }
}

/// Splits the response per partition.
pub(crate) fn parse(
    resp: &ListOffsetsResponse,
) -> Vec<(TopicPartition, Result<ListedOffset, ErrorCode>)> {
    let mut out = Vec::new();
    for t in &resp.topics {
        let topic: Arc<str> = t.name.as_str().into();
        for p in &t.partitions {
            let tp = TopicPartition::new(topic.clone(), p.partition_index);
            let r = match ErrorCode(p.error_code) {
                ErrorCode::NONE => Ok(ListedOffset {
                    offset: p.offset,
                    timestamp: p.timestamp,
                }),
                code => Err(code),
            };
            out.push((tp, r));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::generated::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };

    #[test]
    fn builds_per_topic_with_isolation_and_parses_errors() {
        let parts = vec![
            (TopicPartition::new("a", 0), OffsetSpec::Earliest, 3),
            (TopicPartition::new("a", 1), OffsetSpec::Latest, 3),
            (TopicPartition::new("b", 0), OffsetSpec::Timestamp(1234), 1),
        ];
        let req = build(&parts, IsolationLevel::ReadCommitted, 9, 500);
        assert_eq!(req.isolation_level, 1);
        assert_eq!(req.timeout_ms, 0, "v9 has no timeout field");
        assert_eq!(req.topics.len(), 2);
        let ts: Vec<i64> = req.topics[0]
            .partitions
            .iter()
            .map(|p| p.timestamp)
            .collect();
        assert_eq!(ts, vec![-2, -1]);
        assert_eq!(req.topics[1].partitions[0].timestamp, 1234);
        let resp = ListOffsetsResponse {
            topics: vec![ListOffsetsTopicResponse {
                name: "a".into(),
                partitions: vec![
                    ListOffsetsPartitionResponse {
                        partition_index: 0,
                        offset: 17,
                        timestamp: -1,
                        ..Default::default()
                    },
                    ListOffsetsPartitionResponse {
                        partition_index: 1,
                        error_code: ErrorCode::NOT_LEADER_OR_FOLLOWER.0,
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = parse(&resp);
        assert_eq!(
            r[0].1,
            Ok(ListedOffset {
                offset: 17,
                timestamp: -1
            })
        );
        assert_eq!(r[1].1, Err(ErrorCode::NOT_LEADER_OR_FOLLOWER));
    }
}
