//! Small value types shared by the consumer's parts.

use std::fmt;
use std::sync::Arc;

/// A topic and a partition. The topic is shared (`Arc<str>`) because every record and every
/// state entry names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic name.
    pub topic: Arc<str>,
    /// The partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    /// Java's `TopicPartition.toString`: `topic-partition`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// An offset to commit or a committed offset, with its metadata string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OffsetAndMetadata {
    /// The next offset to consume (a committed offset is the position, not the last record).
    pub offset: i64,
    /// The leader epoch of the last consumed record, when known (KIP-320).
    pub leader_epoch: Option<i32>,
    /// Free-form metadata stored with the commit.
    pub metadata: String,
}

impl OffsetAndMetadata {
    /// An offset without leader epoch or metadata.
    pub fn new(offset: i64) -> Self {
        Self {
            offset,
            leader_epoch: None,
            metadata: String::new(),
        }
    }
}

/// The leader of a partition as metadata reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaderInfo {
    /// The leader's node id.
    pub node: i32,
    /// The leader epoch (KIP-320), or -1 when the broker does not report it.
    pub epoch: i32,
}
