//! Building v2 record batches (KIP-98) for producers.
//!
//! Records are written straight into one reused buffer behind a 61-byte header placeholder:
//! sizes are computed first so the length varint is written once, nothing is encoded twice,
//! and the CRC32C is computed once over the finished batch.

use bytes::{BufMut, Bytes, BytesMut};

use super::attributes::{
    TimestampType, CONTROL_BIT, DELETE_HORIZON_BIT, TIMESTAMP_TYPE_BIT, TRANSACTIONAL_BIT,
};
use super::batch::{RecordBatch, ATTRIBUTES_OFFSET, CRC_OFFSET, HEADER_LEN, LOG_OVERHEAD};
use super::compression::{self, Compression, Flavour};
use super::control::ControlRecord;
use super::header::Header;
use super::record::{put_v2, v2_body_size, varint_size, Record};
use super::{
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, NO_TIMESTAMP,
};
use crate::error::EncodeError;

/// What [`RecordBatchBuilder::append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum AppendResult {
    /// The record is in the batch.
    Appended,
    /// The record would push the batch past its maximum size and was not added: build this
    /// batch and append the record to the next one. Never returned for the first record.
    Full,
}

/// Builds one v2 batch at a time; after [`build`](Self::build) it is ready for the next batch
/// with the same settings and its buffers reused.
///
/// ```
/// use kafka_protocol::record::{Compression, RecordBatchBuilder, BatchIter};
/// let mut b = RecordBatchBuilder::new(Compression::Lz4);
/// b.set_producer(42, 0).set_base_sequence(0);
/// let _ = b.append(1_700_000_000_000, Some(b"key"), Some(b"value"), &[]).unwrap();
/// let bytes = b.build().unwrap();
/// let batch = BatchIter::new(bytes).next().unwrap().unwrap();
/// assert_eq!(batch.records().unwrap().count(), 1);
/// ```
pub struct RecordBatchBuilder {
    compression: Compression,
    timestamp_type: TimestampType,
    log_append_time: i64,
    base_offset: i64,
    partition_leader_epoch: i32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    transactional: bool,
    control: bool,
    delete_horizon: Option<i64>,
    max_batch_size: usize,
    // Per-batch overrides, set by `for_batch` to re-encode a decoded batch exactly.
    base_timestamp_override: Option<i64>,
    max_timestamp_override: Option<i64>,
    last_offset_delta_override: Option<i32>,
    // Per-batch state.
    buf: BytesMut,
    count: i32,
    next_offset_delta: i64,
    last_offset_delta: i32,
    base_timestamp: Option<i64>,
    max_timestamp: i64,
    zstd: Option<zstd::bulk::Compressor<'static>>,
    /// Size of the last uncompressed batch: the next one reserves that much at once instead of
    /// growing (and copying) its buffer step by step.
    last_size: usize,
}

impl std::fmt::Debug for RecordBatchBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatchBuilder")
            .field("compression", &self.compression)
            .field("base_offset", &self.base_offset)
            .field("count", &self.count)
            .field("size", &self.buf.len())
            .field("max_batch_size", &self.max_batch_size)
            .finish_non_exhaustive()
    }
}

impl Default for RecordBatchBuilder {
    fn default() -> Self {
        Self::new(Compression::None)
    }
}

impl RecordBatchBuilder {
    /// The default maximum batch size: Kafka's default `message.max.bytes` (1 MiB + 12 bytes).
    pub const DEFAULT_MAX_BATCH_SIZE: usize = 1_048_588;

    /// A builder with `compression`, `CreateTime`, base offset 0, no producer id, no sequence,
    /// not transactional, partition leader epoch -1.
    pub fn new(compression: Compression) -> Self {
        let mut buf = BytesMut::with_capacity(4096);
        buf.put_bytes(0, HEADER_LEN);
        Self {
            compression,
            timestamp_type: TimestampType::CreateTime,
            log_append_time: NO_TIMESTAMP,
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            delete_horizon: None,
            max_batch_size: Self::DEFAULT_MAX_BATCH_SIZE,
            base_timestamp_override: None,
            max_timestamp_override: None,
            last_offset_delta_override: None,
            buf,
            count: 0,
            next_offset_delta: 0,
            last_offset_delta: 0,
            base_timestamp: None,
            max_timestamp: NO_TIMESTAMP,
            zstd: None,
            last_size: 0,
        }
    }

    /// A builder set up to re-encode `batch`: every header field of it, including the stored
    /// base and max timestamps and last offset delta, is taken as is. Append its records with
    /// [`append_record`](Self::append_record); for an uncompressed batch in canonical encoding
    /// (what every Kafka client writes) [`build`](Self::build) then returns the same bytes.
    pub fn for_batch(batch: &RecordBatch) -> Self {
        let mut b = Self::new(batch.compression());
        b.base_offset = batch.base_offset;
        b.partition_leader_epoch = batch.partition_leader_epoch;
        b.producer_id = batch.producer_id;
        b.producer_epoch = batch.producer_epoch;
        b.base_sequence = batch.base_sequence;
        b.transactional = batch.is_transactional();
        b.control = batch.is_control();
        b.timestamp_type = batch.timestamp_type();
        b.log_append_time = batch.max_timestamp;
        b.delete_horizon = batch.delete_horizon_ms();
        b.max_batch_size = usize::MAX;
        b.base_timestamp_override = Some(batch.base_timestamp);
        b.max_timestamp_override = Some(batch.max_timestamp);
        b.last_offset_delta_override = Some(batch.last_offset_delta);
        b
    }

    /// Sets the codec.
    pub fn set_compression(&mut self, compression: Compression) -> &mut Self {
        self.compression = compression;
        self
    }

    /// Sets the base offset (0 for producers; the broker assigns offsets).
    pub fn set_base_offset(&mut self, base_offset: i64) -> &mut Self {
        self.base_offset = base_offset;
        self
    }

    /// Sets the partition leader epoch (KIP-101).
    pub fn set_partition_leader_epoch(&mut self, epoch: i32) -> &mut Self {
        self.partition_leader_epoch = epoch;
        self
    }

    /// Sets the producer id and epoch (KIP-98 idempotence).
    pub fn set_producer(&mut self, producer_id: i64, producer_epoch: i16) -> &mut Self {
        self.producer_id = producer_id;
        self.producer_epoch = producer_epoch;
        self
    }

    /// Sets the sequence number of the first record.
    pub fn set_base_sequence(&mut self, base_sequence: i32) -> &mut Self {
        self.base_sequence = base_sequence;
        self
    }

    /// Marks the batch transactional (attribute bit 4).
    pub fn set_transactional(&mut self, transactional: bool) -> &mut Self {
        self.transactional = transactional;
        self
    }

    /// Marks the batch as a control batch (attribute bit 5); see
    /// [`append_control`](Self::append_control).
    pub fn set_control(&mut self, control: bool) -> &mut Self {
        self.control = control;
        self
    }

    /// `CreateTime` (the default) stamps the max of the record timestamps; use
    /// [`set_log_append_time`](Self::set_log_append_time) for `LogAppendTime`.
    pub fn set_create_time(&mut self) -> &mut Self {
        self.timestamp_type = TimestampType::CreateTime;
        self
    }

    /// `LogAppendTime` with the broker's append time, which becomes the max timestamp.
    pub fn set_log_append_time(&mut self, log_append_time: i64) -> &mut Self {
        self.timestamp_type = TimestampType::LogAppendTime;
        self.log_append_time = log_append_time;
        self
    }

    /// Sets the KIP-534 delete horizon: attribute bit 6, and the base timestamp becomes the
    /// horizon.
    pub fn set_delete_horizon(&mut self, delete_horizon_ms: Option<i64>) -> &mut Self {
        self.delete_horizon = delete_horizon_ms;
        self
    }

    /// The most bytes the batch may take, uncompressed, header included. A compressed batch
    /// comes out smaller except for incompressible data, where the codec's framing adds a few
    /// bytes per block.
    pub fn set_max_batch_size(&mut self, max: usize) -> &mut Self {
        self.max_batch_size = max;
        self
    }

    /// Makes room for `additional` more bytes of records, so that a batch filled up to a
    /// known size (a producer's `batch.size`) is written without regrowing and copying its
    /// buffer as it fills.
    pub fn reserve(&mut self, additional: usize) -> &mut Self {
        self.buf.reserve(additional);
        self
    }

    /// Records appended to the current batch.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True before the first append of a batch.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size of the batch so far, uncompressed, header included.
    pub fn estimated_size(&self) -> usize {
        self.buf.len()
    }

    /// Appends a record at the next offset (base offset + records so far). Returns
    /// [`AppendResult::Full`] instead of exceeding the maximum batch size, except for the first
    /// record of a batch, which is always taken.
    #[inline]
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<AppendResult, EncodeError> {
        let delta = self.next_offset_delta;
        self.append_at(delta, timestamp, None, 0, key, value, headers)
    }

    /// Appends a record at an explicit offset, which must be above the previous one (gaps are
    /// allowed, as in compacted batches) and within `i32` of the base offset.
    pub fn append_with_offset(
        &mut self,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<AppendResult, EncodeError> {
        let delta = offset.wrapping_sub(self.base_offset);
        self.append_at(delta, timestamp, None, 0, key, value, headers)
    }

    /// Appends a decoded record as it was stored: its offset, attributes and, in a builder
    /// from [`for_batch`](Self::for_batch), its stored timestamp delta.
    pub fn append_record(&mut self, record: &Record) -> Result<AppendResult, EncodeError> {
        let delta = record.offset.wrapping_sub(self.base_offset);
        let stored_delta = self.base_timestamp_override.map(|_| record.timestamp_delta);
        self.append_at(
            delta,
            record.timestamp,
            stored_delta,
            record.attributes,
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
        )
    }

    /// Appends a control record (the builder must be [`set_control`](Self::set_control)).
    pub fn append_control(
        &mut self,
        timestamp: i64,
        record: &ControlRecord,
    ) -> Result<AppendResult, EncodeError> {
        if !self.control {
            return Err(EncodeError::Records(
                "control records need a control batch".into(),
            ));
        }
        let key = record.key();
        let value = record.value();
        self.append(timestamp, Some(&key), value.as_deref(), &[])
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn append_at(
        &mut self,
        offset_delta: i64,
        timestamp: i64,
        stored_timestamp_delta: Option<i64>,
        attributes: i8,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<AppendResult, EncodeError> {
        if offset_delta < self.next_offset_delta || offset_delta > i64::from(i32::MAX) {
            return Err(EncodeError::Records(format!(
                "offset delta {offset_delta} is not above the previous record's or beyond i32"
            )));
        }
        let offset_delta = offset_delta as i32;
        let base_timestamp = match self.base_timestamp {
            Some(t) => t,
            // Java's MemoryRecordsBuilder: the first record's timestamp, or the delete horizon.
            None => self
                .base_timestamp_override
                .or(self.delete_horizon)
                .unwrap_or(timestamp),
        };
        let timestamp_delta =
            stored_timestamp_delta.unwrap_or_else(|| timestamp.wrapping_sub(base_timestamp));
        let body = v2_body_size(timestamp_delta, offset_delta, key, value, headers)?;
        let body_i32 = super::record::len_i32(body)?;
        let total = varint_size(body_i32) + body;
        if self.count > 0 && self.buf.len().saturating_add(total) > self.max_batch_size {
            return Ok(AppendResult::Full);
        }
        if self.count == i32::MAX {
            return Err(EncodeError::Records("too many records".into()));
        }
        self.buf.reserve(total);
        put_v2(
            &mut self.buf,
            body,
            attributes,
            timestamp_delta,
            offset_delta,
            key,
            value,
            headers,
        );
        self.base_timestamp = Some(base_timestamp);
        if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        self.count += 1;
        self.last_offset_delta = offset_delta;
        self.next_offset_delta = i64::from(offset_delta) + 1;
        Ok(AppendResult::Appended)
    }

    fn attributes(&self) -> i16 {
        let mut a = i16::from(self.compression.id());
        if self.timestamp_type == TimestampType::LogAppendTime {
            a |= i16::from(TIMESTAMP_TYPE_BIT);
        }
        if self.transactional {
            a |= TRANSACTIONAL_BIT;
        }
        if self.control {
            a |= CONTROL_BIT;
        }
        if self.delete_horizon.is_some() {
            a |= DELETE_HORIZON_BIT;
        }
        a
    }

    /// Writes the 61 header bytes (CRC left 0) into `h`, for a records section of
    /// `records_len` bytes.
    fn write_header(&self, h: &mut [u8], records_len: usize) -> Result<(), EncodeError> {
        let batch_length = super::record::len_i32(HEADER_LEN - LOG_OVERHEAD + records_len)?;
        let max_timestamp = self.max_timestamp_override.unwrap_or(
            if self.timestamp_type == TimestampType::LogAppendTime {
                self.log_append_time
            } else {
                self.max_timestamp
            },
        );
        let base_timestamp = self
            .base_timestamp
            .or(self.base_timestamp_override)
            .or(self.delete_horizon)
            .unwrap_or(NO_TIMESTAMP);
        let mut w = &mut h[..];
        w.put_i64(self.base_offset);
        w.put_i32(batch_length);
        w.put_i32(self.partition_leader_epoch);
        w.put_i8(2);
        w.put_u32(0);
        w.put_i16(self.attributes());
        w.put_i32(
            self.last_offset_delta_override
                .unwrap_or(self.last_offset_delta),
        );
        w.put_i64(base_timestamp);
        w.put_i64(max_timestamp);
        w.put_i64(self.producer_id);
        w.put_i16(self.producer_epoch);
        w.put_i32(self.base_sequence);
        w.put_i32(self.count);
        Ok(())
    }

    /// Finishes the batch: fills the header, compresses, computes the CRC32C once, and resets
    /// the builder for the next batch (settings kept, per-batch overrides of
    /// [`for_batch`](Self::for_batch) dropped, buffers reused). A batch with no records is a
    /// valid empty batch, as log compaction keeps them.
    pub fn build(&mut self) -> Result<Bytes, EncodeError> {
        self.last_size = self.buf.len();
        let out = if self.compression == Compression::None {
            let records_len = self.buf.len() - HEADER_LEN;
            let mut header = [0u8; HEADER_LEN];
            self.write_header(&mut header, records_len)?;
            self.buf[..HEADER_LEN].copy_from_slice(&header);
            let crc = crc32c::crc32c(&self.buf[ATTRIBUTES_OFFSET..]);
            self.buf[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
            self.buf.split().freeze()
        } else {
            let plain = &self.buf[HEADER_LEN..];
            let mut out = Vec::with_capacity(HEADER_LEN + plain.len() / 2 + 64);
            out.resize(HEADER_LEN, 0);
            compression::compress(
                self.compression,
                Flavour {
                    lz4_broken_header_checksum: false,
                },
                plain,
                &mut out,
                &mut self.zstd,
            )?;
            let records_len = out.len() - HEADER_LEN;
            self.write_header(&mut out[..HEADER_LEN], records_len)?;
            let crc = crc32c::crc32c(&out[ATTRIBUTES_OFFSET..]);
            out[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
            self.buf.clear();
            Bytes::from(out)
        };
        self.reset();
        Ok(out)
    }

    /// Drops the records of the current batch.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.buf.reserve(self.last_size);
        self.buf.put_bytes(0, HEADER_LEN);
        self.count = 0;
        self.next_offset_delta = 0;
        self.last_offset_delta = 0;
        self.base_timestamp = None;
        self.max_timestamp = NO_TIMESTAMP;
        self.base_timestamp_override = None;
        self.max_timestamp_override = None;
        self.last_offset_delta_override = None;
    }
}
