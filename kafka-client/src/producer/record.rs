//! What users send and what they get back.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::record::Header;

/// A record to produce.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProducerRecord {
    /// Topic. An `Arc<str>` so that a producer sending many records to one topic clones a
    /// pointer per record rather than the name (the role of a topic handle in librdkafka, or
    /// of the shared `String` reference in Java's `ProducerRecord`): keep one `Arc<str>` per
    /// topic and clone it. The producer also recognises the topic of its previous record by
    /// this pointer before comparing names.
    pub topic: Arc<str>,
    /// A fixed partition, or `None` to let the partitioner choose.
    pub partition: Option<i32>,
    /// Key (`None` is a null key, distinct from an empty one).
    pub key: Option<Bytes>,
    /// Value (`None` is a tombstone).
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Vec<Header>,
    /// Create time in ms since the epoch, or `None` for now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with a value and no key.
    pub fn new(topic: impl Into<Arc<str>>, value: impl Into<Bytes>) -> Self {
        // Every field spelled out: `..Self::default()` would build a default `Arc<str>` topic
        // only to drop it, two atomic operations per record.
        Self {
            topic: topic.into(),
            partition: None,
            key: None,
            value: Some(value.into()),
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets a fixed partition.
    pub fn partition(mut self, p: i32) -> Self {
        self.partition = Some(p);
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.headers.push(Header::new(key, Some(value)));
        self
    }

    /// Sets the create time.
    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp = Some(ms);
        self
    }

    /// An upper bound of the record's size inside a batch (Java's
    /// `estimateSizeInBytesUpperBound`): varint overheads at their widest.
    pub fn estimated_size(&self) -> usize {
        let key = self.key.as_ref().map_or(0, Bytes::len);
        let value = self.value.as_ref().map_or(0, Bytes::len);
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len) + 10)
            .sum();
        // length(5) + attributes(1) + timestamp delta(10) + offset delta(5) + key len(5) +
        // value len(5) + header count(5).
        36 + key + value + headers
    }
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Topic (shared by the records of a batch, as `ConsumerRecord::topic` is).
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// Offset, or -1 when unknown (acks=0, or a duplicate the broker no longer remembers).
    pub offset: i64,
    /// The record's timestamp: the broker's log append time if the topic uses it, else the
    /// create time.
    pub timestamp: i64,
}
