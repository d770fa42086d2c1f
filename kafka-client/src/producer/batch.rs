//! One producer batch: records appended until it is sent, then the built bytes kept for
//! retries (with the same sequence numbers, so the broker can drop duplicates, KIP-98).

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_protocol::record::{AppendResult, Compression, Header, RecordBatchBuilder};

use crate::error::{KafkaError, Result};

/// A topic and partition.
#[derive(Debug, Clone, Eq, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
}

impl TopicPartition {
    /// A topic-partition.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }
}

impl PartialEq for TopicPartition {
    fn eq(&self, other: &Self) -> bool {
        // The producer hands out one `Arc` per topic name, so the pointer usually decides
        // without comparing the names (a map lookup per record does this).
        self.partition == other.partition
            && (Arc::ptr_eq(&self.topic, &other.topic) || self.topic == other.topic)
    }
}

impl std::hash::Hash for TopicPartition {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // By content, as equality is (the pointer check there is only a shortcut).
        self.topic.hash(state);
        self.partition.hash(state);
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Per-record bookkeeping: who to tell, and the create time to report.
#[derive(Debug)]
pub struct RecordSlot<T> {
    /// The completion token.
    pub token: T,
    /// The create time written into the batch.
    pub timestamp: i64,
}

/// Byte offsets in a v2 batch header (KIP-98) of the fields the producer stamps late.
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;

/// The most a new batch reserves up front; larger `batch.size` settings grow as they fill.
const MAX_RESERVE: usize = 1 << 20;

/// A batch of records for one partition.
#[derive(Debug)]
pub struct ProducerBatch<T> {
    /// Unique, increasing per accumulator: orders batches for `flush`.
    pub id: u64,
    /// Where it goes.
    pub tp: TopicPartition,
    builder: Option<RecordBatchBuilder>,
    built: Option<Bytes>,
    /// `batch.size`: sizes the record bookkeeping up front.
    max_size: usize,
    /// Records in append order.
    pub records: Vec<RecordSlot<T>>,
    /// Memory accounted to `buffer.memory` for these records.
    pub memory: usize,
    /// When the first record was appended: linger and delivery timeout count from here.
    pub created: Instant,
    /// Sends so far.
    pub attempts: u32,
    /// The base sequence assigned at first send (idempotence), `None` before.
    pub sequence: Option<i32>,
    /// The producer id and epoch the built bytes carry.
    pub producer: (i64, i16),
    /// No more appends (it filled up, or it was drained).
    pub closed: bool,
}

impl<T> ProducerBatch<T> {
    /// An empty batch.
    pub fn new(
        id: u64,
        tp: TopicPartition,
        compression: Compression,
        max_size: usize,
        now: Instant,
    ) -> Self {
        let mut builder = RecordBatchBuilder::new(compression);
        // The whole batch.size at once (as Java's producer takes a batch.size buffer from its
        // pool): growing by doubling copied about as many bytes again as the records' own.
        builder
            .set_max_batch_size(max_size)
            .reserve(max_size.min(MAX_RESERVE));
        Self {
            id,
            tp,
            builder: Some(builder),
            built: None,
            max_size,
            records: Vec::new(),
            memory: 0,
            created: now,
            attempts: 0,
            sequence: None,
            producer: (-1, -1),
            closed: false,
        }
    }

    /// Records in the batch.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Uncompressed size so far (or the built size).
    pub fn size(&self) -> usize {
        match (&self.built, &self.builder) {
            (Some(b), _) => b.len(),
            (None, Some(b)) => b.estimated_size(),
            (None, None) => 0,
        }
    }

    /// Appends a record; `Ok(false)` when it does not fit (the batch is then closed).
    pub fn try_append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
        memory: usize,
        token: T,
    ) -> Result<std::result::Result<(), T>> {
        let Some(b) = self.builder.as_mut().filter(|_| !self.closed) else {
            return Ok(Err(token));
        };
        match b.append(timestamp, key, value, headers)? {
            AppendResult::Appended => {
                if self.records.is_empty() {
                    // Room for a full batch of records like the first: no regrowth per batch.
                    let each = memory.max(1);
                    self.records.reserve((self.max_size / each).clamp(1, 4096));
                }
                self.records.push(RecordSlot { token, timestamp });
                self.memory += memory;
                Ok(Ok(()))
            }
            AppendResult::Full => {
                self.closed = true;
                Ok(Err(token))
            }
        }
    }

    /// The wire bytes with `producer` and base sequence `sequence` (-1 for none): built once
    /// (compressed, checksummed); later calls with other values patch the header and recompute
    /// the CRC32C instead of re-encoding (after an epoch bump, KIP-360).
    pub fn bytes(&mut self, producer: (i64, i16), sequence: i32) -> Result<Bytes> {
        self.closed = true;
        if let Some(mut b) = self.builder.take() {
            b.set_producer(producer.0, producer.1);
            b.set_base_sequence(sequence);
            let out = b.build()?;
            self.built = Some(out);
            self.producer = producer;
        }
        let built = self
            .built
            .as_ref()
            .ok_or_else(|| KafkaError::Protocol("batch has no bytes".into()))?;
        let stamped_seq = i32::from_be_bytes(
            built[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4]
                .try_into()
                .expect("4 bytes"),
        );
        if self.producer != producer || stamped_seq != sequence {
            let mut m = BytesMut::from(&built[..]);
            m[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8]
                .copy_from_slice(&producer.0.to_be_bytes());
            m[PRODUCER_EPOCH_OFFSET..PRODUCER_EPOCH_OFFSET + 2]
                .copy_from_slice(&producer.1.to_be_bytes());
            m[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4]
                .copy_from_slice(&sequence.to_be_bytes());
            let crc = crc32c::crc32c(&m[ATTRIBUTES_OFFSET..]);
            m[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
            self.built = Some(m.freeze());
            self.producer = producer;
        }
        Ok(self.built.clone().expect("built above"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::record::{BatchIter, DecodeOptions};

    #[test]
    fn restamping_keeps_a_valid_crc() {
        let now = Instant::now();
        let mut b: ProducerBatch<u32> = ProducerBatch::new(
            0,
            TopicPartition::new("t", 0),
            Compression::Lz4,
            1 << 20,
            now,
        );
        for i in 0..3u32 {
            b.try_append(1000 + i64::from(i), None, Some(b"v"), &[], 10, i)
                .unwrap()
                .unwrap();
        }
        let first = b.bytes((7, 0), 5).unwrap();
        let again = b.bytes((7, 0), 5).unwrap();
        assert_eq!(first, again, "built once");
        let bumped = b.bytes((7, 1), 0).unwrap();
        let batch = BatchIter::new(bumped).next().unwrap().unwrap();
        let kafka_protocol::record::Batch::V2(batch) = batch else {
            panic!("v2 expected")
        };
        assert_eq!(
            (batch.producer_id, batch.producer_epoch, batch.base_sequence),
            (7, 1, 0)
        );
        // Decoding verifies the CRC by default.
        let _ = DecodeOptions::default();
        assert_eq!(batch.records().unwrap().count(), 3);
        assert!(
            b.try_append(1, None, None, &[], 1, 9).unwrap().is_err(),
            "closed after build"
        );
    }
}
