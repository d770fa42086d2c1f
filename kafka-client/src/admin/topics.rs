//! Topics, partitions and the cluster description.

use std::sync::Arc;

use kafka_protocol::generated::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::generated::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::generated::delete_topics_request::DeleteTopicState;
use kafka_protocol::generated::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeClusterRequest,
};
use kafka_protocol::ErrorCode;

use super::Admin;
use crate::error::{KafkaError, Result};
use crate::metadata::{BrokerInfo, TopicInfo};

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// Name.
    pub name: String,
    /// Partitions, or -1 for the broker's `num.partitions`.
    pub partitions: i32,
    /// Replication factor, or -1 for the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    /// A topic with broker defaults.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partitions: -1,
            replication_factor: -1,
            configs: Vec::new(),
        }
    }

    /// Sets the partition count.
    pub fn partitions(mut self, n: i32) -> Self {
        self.partitions = n;
        self
    }

    /// Sets the replication factor.
    pub fn replication_factor(mut self, n: i16) -> Self {
        self.replication_factor = n;
        self
    }

    /// Adds a topic config.
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// What DescribeCluster returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    /// The cluster id.
    pub cluster_id: String,
    /// The controller's node id (in KRaft, the broker that forwards controller requests).
    pub controller_id: i32,
    /// Brokers.
    pub brokers: Vec<BrokerInfo>,
}

impl Admin {
    /// Creates topics; one result per topic, in input order. `TOPIC_ALREADY_EXISTS` is an error
    /// of that topic.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
    ) -> Result<Vec<(String, Result<()>)>> {
        let timeout_ms = self.timeout_ms();
        let req = CreateTopicsRequest {
            topics: topics
                .iter()
                .map(|t| CreatableTopic {
                    name: t.name.clone().into(),
                    num_partitions: t.partitions,
                    replication_factor: t.replication_factor,
                    configs: t
                        .configs
                        .iter()
                        .map(|(k, v)| CreatableTopicConfig {
                            name: k.clone().into(),
                            value: Some(v.clone().into()),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
            timeout_ms,
            validate_only,
            ..Default::default()
        };
        let resp = self
            .retrying("create topics", || self.client.send_any(&req))
            .await?;
        Ok(topics
            .iter()
            .map(|t| {
                let r = resp.topics.iter().find(|r| r.name == t.name).map_or_else(
                    || {
                        Err(KafkaError::Protocol(format!(
                            "no result for topic {}",
                            t.name
                        )))
                    },
                    |r| {
                        KafkaError::check(r.error_code, r.error_message.as_deref(), || {
                            format!("create topic {}", t.name)
                        })
                    },
                );
                (t.name.clone(), r)
            })
            .collect())
    }

    /// Creates one topic.
    pub async fn create_topic(&self, topic: NewTopic) -> Result<()> {
        let mut r = self
            .create_topics(std::slice::from_ref(&topic), false)
            .await?;
        r.pop().map_or(Ok(()), |(_, r)| r)
    }

    /// Deletes topics by name; one result per topic, in input order.
    pub async fn delete_topics(&self, names: &[&str]) -> Result<Vec<(String, Result<()>)>> {
        let timeout_ms = self.timeout_ms();
        let resp = self
            .retrying("delete topics", || {
                self.client.send_any_with(|version| {
                    // v6 (KIP-516) names topics in structs that may carry ids instead.
                    if version >= 6 {
                        DeleteTopicsRequest {
                            topics: names
                                .iter()
                                .map(|n| DeleteTopicState {
                                    name: Some((*n).into()),
                                    ..Default::default()
                                })
                                .collect(),
                            timeout_ms,
                            ..Default::default()
                        }
                    } else {
                        DeleteTopicsRequest {
                            topic_names: names.iter().map(|&n| n.into()).collect(),
                            timeout_ms,
                            ..Default::default()
                        }
                    }
                })
            })
            .await?;
        Ok(names
            .iter()
            .map(|n| {
                let r = resp
                    .responses
                    .iter()
                    .find(|r| r.name.as_deref() == Some(n))
                    .map_or_else(
                        || Err(KafkaError::Protocol(format!("no result for topic {n}"))),
                        |r| {
                            KafkaError::check(r.error_code, r.error_message.as_deref(), || {
                                format!("delete topic {n}")
                            })
                        },
                    );
                ((*n).to_owned(), r)
            })
            .collect())
    }

    /// Deletes one topic.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let mut r = self.delete_topics(&[name]).await?;
        r.pop().map_or(Ok(()), |(_, r)| r)
    }

    /// Names of all topics, sorted; internal ones only if asked.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<String>> {
        let cluster = self
            .retrying("list topics", || self.client.refresh_metadata(None))
            .await?;
        let mut names: Vec<String> = cluster
            .topics
            .values()
            .filter(|t| include_internal || !t.is_internal)
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Partitions, leaders, replicas and ids of topics. An unknown topic is an
    /// `UNKNOWN_TOPIC_OR_PARTITION` error.
    pub async fn describe_topics(&self, names: &[&str]) -> Result<Vec<Arc<TopicInfo>>> {
        let owned: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cluster = self
            .retrying("describe topics", || async {
                let c = self.client.refresh_metadata(Some(&owned)).await?;
                // A topic just created may not have leaders yet: retriable.
                for n in &owned {
                    if let Some(code) = c.topic_errors.get(n) {
                        if *code != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
                            return Err(KafkaError::broker(*code, None, format!("topic {n}")));
                        }
                    }
                }
                Ok(c)
            })
            .await?;
        names
            .iter()
            .map(|n| {
                cluster.topic(n).cloned().ok_or_else(|| {
                    KafkaError::broker(
                        cluster
                            .topic_errors
                            .get(*n)
                            .copied()
                            .unwrap_or(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
                        None,
                        format!("describe topic {n}"),
                    )
                })
            })
            .collect()
    }

    /// Raises a topic's partition count to `total`.
    pub async fn create_partitions(&self, topic: &str, total: i32) -> Result<()> {
        let timeout_ms = self.timeout_ms();
        let req = CreatePartitionsRequest {
            topics: vec![CreatePartitionsTopic {
                name: topic.into(),
                count: total,
                assignments: None,
                ..Default::default()
            }],
            timeout_ms,
            validate_only: false,
            ..Default::default()
        };
        let resp = self
            .retrying("create partitions", || self.client.send_any(&req))
            .await?;
        let r = resp
            .results
            .iter()
            .find(|r| r.name == topic)
            .ok_or_else(|| KafkaError::Protocol(format!("no result for topic {topic}")))?;
        KafkaError::check(r.error_code, r.error_message.as_deref(), || {
            format!("create partitions of {topic}")
        })
    }

    /// The cluster id, controller and brokers.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        let req = DescribeClusterRequest::default();
        let resp = self
            .retrying("describe cluster", || self.client.send_any(&req))
            .await?;
        KafkaError::check(resp.error_code, resp.error_message.as_deref(), || {
            "describe cluster".into()
        })?;
        Ok(ClusterDescription {
            cluster_id: resp.cluster_id.to_string(),
            controller_id: resp.controller_id,
            brokers: resp
                .brokers
                .into_iter()
                .map(|b| BrokerInfo {
                    node_id: b.broker_id,
                    host: b.host.to_string(),
                    port: b.port,
                    rack: b.rack.map(Into::into),
                })
                .collect(),
        })
    }

    pub(super) fn timeout_ms(&self) -> i32 {
        i32::try_from(self.client.config().default_api_timeout.as_millis()).unwrap_or(i32::MAX)
    }
}
