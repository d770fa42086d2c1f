//! An immutable snapshot of cluster metadata, and how a Metadata response updates it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::codec::Uuid;
use kafka_protocol::generated::MetadataResponse;
use kafka_protocol::ErrorCode;

/// A broker as the cluster advertises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Node id.
    pub node_id: i32,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// Rack, if configured.
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition's replicas and leader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    /// Partition index.
    pub partition: i32,
    /// The leader's node id, or -1 while there is none.
    pub leader: i32,
    /// The leader epoch (KIP-320), -1 if the broker did not say.
    pub leader_epoch: i32,
    /// All replicas.
    pub replicas: Vec<i32>,
    /// In-sync replicas.
    pub isr: Vec<i32>,
    /// Offline replicas.
    pub offline: Vec<i32>,
    /// The partition-level error, e.g. `LEADER_NOT_AVAILABLE`.
    pub error: ErrorCode,
}

/// One topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// Name.
    pub name: String,
    /// Topic id (KIP-516), zero if the broker predates them.
    pub id: Uuid,
    /// Whether the topic is internal (`__consumer_offsets`, ...).
    pub is_internal: bool,
    /// Partitions in index order.
    pub partitions: Vec<PartitionInfo>,
}

impl TopicInfo {
    /// The partition with `index`.
    pub fn partition(&self, index: i32) -> Option<&PartitionInfo> {
        self.partitions
            .get(usize::try_from(index).ok()?)
            .filter(|p| p.partition == index)
            .or_else(|| self.partitions.iter().find(|p| p.partition == index))
    }

    /// Partitions that currently have a leader.
    pub fn available_partitions(&self) -> impl Iterator<Item = &PartitionInfo> {
        self.partitions.iter().filter(|p| p.leader >= 0)
    }
}

/// A snapshot of the cluster: replaced as a whole on each update, so readers never see half an
/// update.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// The cluster id.
    pub cluster_id: Option<String>,
    /// The controller's node id (in KRaft, a broker that forwards to the quorum), -1 if unknown.
    pub controller_id: i32,
    /// Brokers by node id.
    pub brokers: BTreeMap<i32, BrokerInfo>,
    /// Topics by name.
    pub topics: HashMap<String, Arc<TopicInfo>>,
    /// Topic errors of the latest update (`UNKNOWN_TOPIC_OR_PARTITION`, `INVALID_TOPIC_EXCEPTION`,
    /// `TOPIC_AUTHORIZATION_FAILED`, `LEADER_NOT_AVAILABLE` while a topic is being created).
    pub topic_errors: HashMap<String, ErrorCode>,
    /// When the snapshot was fetched; `None` before the first update.
    pub updated_at: Option<Instant>,
}

impl Cluster {
    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicInfo>> {
        self.topics.get(name)
    }

    /// The leader of a partition, if it has one and the broker is known.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<&BrokerInfo> {
        let p = self.topic(topic)?.partition(partition)?;
        self.brokers.get(&p.leader)
    }

    /// The snapshot after `resp`. `requested` is the topic list asked for, `None` for all
    /// topics (then topics missing from the answer were deleted).
    ///
    /// KIP-320: a partition whose cached leader epoch is newer than the answer's keeps the
    /// cached state, since the answering broker has not yet seen the newer leader; going back
    /// would send requests to a broker that already gave up leadership.
    pub fn apply(
        &self,
        resp: &MetadataResponse,
        requested: Option<&[String]>,
        now: Instant,
    ) -> Cluster {
        let brokers: BTreeMap<i32, BrokerInfo> = resp
            .brokers
            .iter()
            .map(|b| {
                (
                    b.node_id,
                    BrokerInfo {
                        node_id: b.node_id,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.as_deref().map(Into::into),
                    },
                )
            })
            .collect();
        let mut topics = if requested.is_some() {
            self.topics.clone()
        } else {
            HashMap::new()
        };
        let mut topic_errors = HashMap::new();
        for t in &resp.topics {
            let Some(name) = t.name.clone() else { continue };
            let code = ErrorCode(t.error_code);
            if !code.is_ok() {
                topic_errors.insert(name.to_string(), code);
                if code != ErrorCode::LEADER_NOT_AVAILABLE || t.partitions.is_empty() {
                    topics.remove(name.as_str());
                    continue;
                }
            }
            let old = self.topics.get(name.as_str());
            let mut partitions: Vec<PartitionInfo> = t
                .partitions
                .iter()
                .map(|p| {
                    let fresh = PartitionInfo {
                        partition: p.partition_index,
                        leader: p.leader_id,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.to_vec(),
                        isr: p.isr_nodes.to_vec(),
                        offline: p.offline_replicas.to_vec(),
                        error: ErrorCode(p.error_code),
                    };
                    match old.and_then(|o| o.partition(p.partition_index)) {
                        Some(cached)
                            if cached.leader_epoch >= 0
                                && p.leader_epoch >= 0
                                && cached.leader_epoch > p.leader_epoch =>
                        {
                            cached.clone()
                        }
                        _ => fresh,
                    }
                })
                .collect();
            partitions.sort_by_key(|p| p.partition);
            topics.insert(
                name.to_string(),
                Arc::new(TopicInfo {
                    name: name.to_string(),
                    id: t.topic_id,
                    is_internal: t.is_internal,
                    partitions,
                }),
            );
        }
        Cluster {
            cluster_id: resp.cluster_id.as_deref().map(Into::into),
            controller_id: resp.controller_id,
            brokers,
            topics,
            topic_errors,
            updated_at: Some(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::generated::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };

    fn resp(leader: i32, epoch: i32, topics: &[(&str, i16)]) -> MetadataResponse {
        MetadataResponse {
            brokers: vec![
                MetadataResponseBroker {
                    node_id: 1,
                    host: "h1".into(),
                    port: 9092,
                    ..Default::default()
                },
                MetadataResponseBroker {
                    node_id: 2,
                    host: "h2".into(),
                    port: 9092,
                    ..Default::default()
                },
            ],
            controller_id: 1,
            topics: topics
                .iter()
                .map(|(name, err)| MetadataResponseTopic {
                    error_code: *err,
                    name: Some((*name).into()),
                    partitions: if *err == 0 {
                        vec![
                            MetadataResponsePartition {
                                partition_index: 1,
                                leader_id: leader,
                                leader_epoch: epoch,
                                ..Default::default()
                            },
                            MetadataResponsePartition {
                                partition_index: 0,
                                leader_id: leader,
                                leader_epoch: epoch,
                                ..Default::default()
                            },
                        ]
                    } else {
                        vec![]
                    },
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn update_keeps_newer_epochs_and_tracks_errors() {
        let now = Instant::now();
        let c = Cluster::default().apply(&resp(1, 5, &[("a", 0), ("b", 0)]), None, now);
        assert_eq!(c.leader("a", 0).unwrap().addr(), "h1:9092");
        assert_eq!(c.topic("a").unwrap().partitions[0].partition, 0, "sorted");
        // A stale broker reports epoch 4 with leader 2: ignored.
        let a = vec!["a".to_string()];
        let c2 = c.apply(&resp(2, 4, &[("a", 0)]), Some(&a), now);
        assert_eq!(c2.leader("a", 1).unwrap().node_id, 1);
        assert!(
            c2.topic("b").is_some(),
            "a partial update keeps other topics"
        );
        // A newer epoch wins.
        let c3 = c2.apply(&resp(2, 6, &[("a", 0)]), Some(&a), now);
        assert_eq!(c3.leader("a", 1).unwrap().node_id, 2);
        // An unknown topic is dropped and its error remembered.
        let c4 = c3.apply(&resp(2, 6, &[("a", 3)]), Some(&a), now);
        assert!(c4.topic("a").is_none());
        assert_eq!(c4.topic_errors["a"], ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
        // A full listing drops deleted topics.
        let c5 = c3.apply(&resp(2, 6, &[("a", 0)]), None, now);
        assert!(c5.topic("b").is_none());
    }
}
