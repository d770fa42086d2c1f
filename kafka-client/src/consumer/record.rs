//! The record a consumer hands out.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::record::{Header, TimestampType};

/// One record of a partition. Keys, values and header values of uncompressed batches are
/// slices of the fetch response (no copy); those of compressed batches slice the batch's
/// decompressed buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset.
    pub offset: i64,
    /// The timestamp in ms since the epoch, -1 if none.
    pub timestamp: i64,
    /// Who set the timestamp.
    pub timestamp_type: TimestampType,
    /// The key; `None` is null.
    pub key: Option<Bytes>,
    /// The value; `None` is null (a tombstone).
    pub value: Option<Bytes>,
    /// Headers in wire order.
    pub headers: Vec<Header>,
    /// The leader epoch of the batch the record came in, when known (KIP-320).
    pub leader_epoch: Option<i32>,
}
