//! Cluster metadata: brokers, topics, partitions, leaders and their epochs.

mod cluster;

pub use cluster::{BrokerInfo, Cluster, PartitionInfo, TopicInfo};
