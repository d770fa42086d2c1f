//! ListOffsets and DeleteRecords: per-partition requests that go to each partition's leader.

use std::collections::BTreeMap;

use kafka_protocol::generated::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::generated::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::generated::{DeleteRecordsRequest, ListOffsetsRequest};

use super::Admin;
use crate::error::{KafkaError, Result};

/// Which offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (timestamp -2 on the wire).
    Earliest,
    /// The high watermark: the offset the next record gets (-1).
    Latest,
    /// The offset of the record with the largest timestamp (-3, KIP-734).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this (ms since the epoch).
    Timestamp(i64),
}

impl OffsetSpec {
    fn wire(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// A ListOffsets answer for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    /// Partition.
    pub partition: i32,
    /// The offset; -1 if no record matches a timestamp.
    pub offset: i64,
    /// The record's timestamp for timestamp lookups, else -1.
    pub timestamp: i64,
    /// The leader epoch of the record, -1 if unknown.
    pub leader_epoch: i32,
}

impl Admin {
    /// Offsets of `partitions` of `topic`, in input order.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[(i32, OffsetSpec)],
    ) -> Result<Vec<ListedOffset>> {
        let timeout = self.client.config().default_api_timeout;
        self.retrying("list offsets", || async {
            let info = self.client.topic(topic, timeout).await?;
            // Group by leader: one request per broker.
            let mut by_leader: BTreeMap<i32, Vec<ListOffsetsPartition>> = BTreeMap::new();
            for (p, spec) in partitions {
                let part = info.partition(*p).ok_or_else(|| {
                    KafkaError::InvalidArgument(format!("topic {topic} has no partition {p}"))
                })?;
                by_leader
                    .entry(part.leader)
                    .or_default()
                    .push(ListOffsetsPartition {
                        partition_index: *p,
                        current_leader_epoch: part.leader_epoch,
                        timestamp: spec.wire(),
                        ..Default::default()
                    });
            }
            let mut out = BTreeMap::new();
            for (leader, parts) in by_leader {
                let timeout_ms = self.timeout_ms();
                let resp = self
                    .client
                    .send_to(
                        leader,
                        &ListOffsetsRequest {
                            replica_id: -1,
                            topics: vec![ListOffsetsTopic {
                                name: topic.into(),
                                partitions: parts,
                                ..Default::default()
                            }],
                            timeout_ms,
                            ..Default::default()
                        },
                    )
                    .await?;
                for t in resp.topics {
                    for p in t.partitions {
                        KafkaError::check(p.error_code, None, || {
                            format!("list offsets of {topic}-{}", p.partition_index)
                        })?;
                        out.insert(
                            p.partition_index,
                            ListedOffset {
                                partition: p.partition_index,
                                offset: p.offset,
                                timestamp: p.timestamp,
                                leader_epoch: p.leader_epoch,
                            },
                        );
                    }
                }
            }
            partitions
                .iter()
                .map(|(p, _)| {
                    out.get(p)
                        .copied()
                        .ok_or_else(|| KafkaError::Protocol(format!("no offset for {topic}-{p}")))
                })
                .collect()
        })
        .await
    }

    /// Deletes records before the given offsets (-1: the high watermark); returns the new log
    /// start offset (low watermark) per partition, in input order.
    pub async fn delete_records(
        &self,
        topic: &str,
        before: &[(i32, i64)],
    ) -> Result<Vec<(i32, i64)>> {
        let timeout = self.client.config().default_api_timeout;
        self.retrying("delete records", || async {
            let info = self.client.topic(topic, timeout).await?;
            let mut by_leader: BTreeMap<i32, Vec<DeleteRecordsPartition>> = BTreeMap::new();
            for (p, offset) in before {
                let part = info.partition(*p).ok_or_else(|| {
                    KafkaError::InvalidArgument(format!("topic {topic} has no partition {p}"))
                })?;
                by_leader
                    .entry(part.leader)
                    .or_default()
                    .push(DeleteRecordsPartition {
                        partition_index: *p,
                        offset: *offset,
                        ..Default::default()
                    });
            }
            let mut out = BTreeMap::new();
            for (leader, parts) in by_leader {
                let timeout_ms = self.timeout_ms();
                let resp = self
                    .client
                    .send_to(
                        leader,
                        &DeleteRecordsRequest {
                            topics: vec![DeleteRecordsTopic {
                                name: topic.into(),
                                partitions: parts,
                                ..Default::default()
                            }],
                            timeout_ms,
                            ..Default::default()
                        },
                    )
                    .await?;
                for t in resp.topics {
                    for p in t.partitions {
                        KafkaError::check(p.error_code, None, || {
                            format!("delete records of {topic}-{}", p.partition_index)
                        })?;
                        out.insert(p.partition_index, p.low_watermark);
                    }
                }
            }
            before
                .iter()
                .map(|(p, _)| {
                    out.get(p)
                        .map(|lw| (*p, *lw))
                        .ok_or_else(|| KafkaError::Protocol(format!("no result for {topic}-{p}")))
                })
                .collect()
        })
        .await
    }
}
