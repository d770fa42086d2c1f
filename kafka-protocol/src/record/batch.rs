//! The v2 record batch (magic 2, KIP-98), header layout:
//!
//! ```text
//! offset  field                 type
//!  0      baseOffset            int64
//!  8      batchLength           int32   (bytes after this field)
//! 12      partitionLeaderEpoch  int32
//! 16      magic                 int8    (2)
//! 17      crc                   uint32  (CRC32C of attributes..end)
//! 21      attributes            int16
//! 23      lastOffsetDelta       int32
//! 27      baseTimestamp         int64
//! 35      maxTimestamp          int64
//! 43      producerId            int64
//! 51      producerEpoch         int16
//! 53      baseSequence          int32
//! 57      recordsCount          int32
//! 61      records               (compressed as a whole when the codec is not none)
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::attributes::{
    TimestampType, COMPRESSION_MASK, CONTROL_BIT, DELETE_HORIZON_BIT, TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
};
use super::compression::{self, Compression};
use super::control::ControlRecord;
use super::iter::RecordsIter;
use super::options::DecodeOptions;
use super::record::V2Context;
use crate::codec::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// Size of the fields before `batchLength` ends: baseOffset and batchLength (`LOG_OVERHEAD`).
pub(crate) const LOG_OVERHEAD: usize = 12;
/// Size of the v2 header (`RECORD_BATCH_OVERHEAD`).
pub(crate) const HEADER_LEN: usize = 61;
/// Offset of the magic byte, the same in every format (`MAGIC_OFFSET`).
pub(crate) const MAGIC_OFFSET: usize = 16;
/// Offset of the CRC field.
pub(crate) const CRC_OFFSET: usize = 17;
/// Offset of the attributes, where the CRC32C coverage starts.
pub(crate) const ATTRIBUTES_OFFSET: usize = 21;

/// A v2 record batch (magic 2): its header fields and its records, which are decoded lazily by
/// [`RecordBatch::records`].
///
/// The header fields are public so that, like a broker, one can restamp `base_offset` or
/// `partition_leader_epoch` and [`encode`](Self::encode) again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordBatch {
    /// Offset of the first record (`baseOffset`).
    pub base_offset: i64,
    /// `batchLength`: bytes after this field, as stored.
    pub batch_length: i32,
    /// `partitionLeaderEpoch` (KIP-101), stamped by the leader.
    pub partition_leader_epoch: i32,
    /// Always 2.
    pub magic: i8,
    /// The stored CRC32C.
    pub crc: u32,
    /// Raw attributes; see [`compression`](Self::compression),
    /// [`timestamp_type`](Self::timestamp_type), [`is_transactional`](Self::is_transactional),
    /// [`is_control`](Self::is_control), [`has_delete_horizon`](Self::has_delete_horizon).
    pub attributes: i16,
    /// `lastOffsetDelta`: offset of the last record minus `base_offset` (may exceed
    /// `records_count - 1` after compaction).
    pub last_offset_delta: i32,
    /// `baseTimestamp`: the first record's timestamp, or the delete horizon (KIP-534).
    pub base_timestamp: i64,
    /// `maxTimestamp`: the largest record timestamp, or the log append time.
    pub max_timestamp: i64,
    /// `producerId`, -1 without idempotence.
    pub producer_id: i64,
    /// `producerEpoch`, -1 without idempotence.
    pub producer_epoch: i16,
    /// `baseSequence`, -1 without idempotence.
    pub base_sequence: i32,
    /// `recordsCount`.
    pub records_count: i32,
    /// The whole batch as it was read.
    raw: Bytes,
}

#[cold]
fn malformed(at: usize, why: String) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Records(why), at)
}

impl RecordBatch {
    /// Decodes exactly one v2 batch from `data`, which must hold the batch and nothing else.
    ///
    /// Checks the header (magic 2, `batchLength` matching the input and at least the header,
    /// a known codec, a non-negative count) and, with `opts.verify_crc`, the CRC32C. Records
    /// are not touched until [`records`](Self::records).
    pub fn decode(data: Bytes, opts: &DecodeOptions) -> Result<Self, DecodeError> {
        let mut r = Reader::from_bytes(&data);
        let base_offset = r.i64()?;
        let batch_length = r.i32()?;
        // KIP-98: batchLength counts from partitionLeaderEpoch to the end, so the smallest batch
        // (no records) has 49; Java's DefaultRecordBatch.ensureValid checks the same.
        if batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 {
            return Err(malformed(
                8,
                format!("batch length {batch_length} is below the v2 header size"),
            ));
        }
        let total = batch_length as usize + LOG_OVERHEAD;
        if total != data.len() {
            return Err(DecodeError::new(
                if total > data.len() {
                    DecodeErrorKind::LengthExceedsInput {
                        claimed: batch_length as u64,
                        remaining: data.len() - LOG_OVERHEAD,
                    }
                } else {
                    DecodeErrorKind::TrailingData(data.len() - total)
                },
                8,
            ));
        }
        let partition_leader_epoch = r.i32()?;
        let magic = r.i8()?;
        if magic != 2 {
            return Err(malformed(
                MAGIC_OFFSET,
                format!("magic {magic} is not a v2 batch"),
            ));
        }
        let crc = r.u32()?;
        if opts.verify_crc {
            // KIP-98: the CRC32C covers everything from the attributes to the end of the batch.
            let computed = crc32c::crc32c(&data[ATTRIBUTES_OFFSET..]);
            if computed != crc {
                return Err(DecodeError::new(
                    DecodeErrorKind::CrcMismatch {
                        stored: crc,
                        computed,
                    },
                    CRC_OFFSET,
                ));
            }
        }
        let attributes = r.i16()?;
        if Compression::from_id(attributes as u8 & COMPRESSION_MASK).is_none() {
            return Err(malformed(
                ATTRIBUTES_OFFSET,
                format!("unknown compression codec id {}", attributes & 7),
            ));
        }
        let last_offset_delta = r.i32()?;
        let base_timestamp = r.i64()?;
        let max_timestamp = r.i64()?;
        let producer_id = r.i64()?;
        let producer_epoch = r.i16()?;
        let base_sequence = r.i32()?;
        let records_count = r.i32()?;
        if records_count < 0 {
            return Err(malformed(
                57,
                format!("negative record count {records_count}"),
            ));
        }
        Ok(Self {
            base_offset,
            batch_length,
            partition_leader_epoch,
            magic,
            crc,
            attributes,
            last_offset_delta,
            base_timestamp,
            max_timestamp,
            producer_id,
            producer_epoch,
            base_sequence,
            records_count,
            raw: data,
        })
    }

    /// The codec of the records (attribute bits 0-2).
    pub fn compression(&self) -> Compression {
        // Checked in `decode`; a restamped attribute with an unknown id reads as none.
        Compression::from_id(self.attributes as u8 & COMPRESSION_MASK).unwrap_or_default()
    }

    /// The timestamp type (attribute bit 3).
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes as u8 & TIMESTAMP_TYPE_BIT != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Attribute bit 4: the batch belongs to a transaction (KIP-98).
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// Attribute bit 5: the batch holds control records (KIP-98).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// Attribute bit 6 (KIP-534): `base_timestamp` is the delete horizon set by compaction.
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & DELETE_HORIZON_BIT != 0
    }

    /// The delete horizon in ms when [`has_delete_horizon`](Self::has_delete_horizon).
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        self.has_delete_horizon().then_some(self.base_timestamp)
    }

    /// Offset of the last record: `base_offset + last_offset_delta`.
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    /// The offset a consumer continues from: `last_offset + 1`.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// Size of the whole batch in bytes.
    pub fn size(&self) -> usize {
        self.raw.len()
    }

    /// The batch exactly as it was read (zero-copy).
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// The records section as stored (compressed when the codec is not none).
    pub fn records_payload(&self) -> Bytes {
        self.raw.slice(HEADER_LEN.min(self.raw.len())..)
    }

    /// The records with default options (64 MiB decompression cap).
    pub fn records(&self) -> Result<RecordsIter, DecodeError> {
        self.records_with(&DecodeOptions::default())
    }

    /// A lazy iterator over the records. An uncompressed batch is iterated in place, its keys,
    /// values and header values slicing the input; a compressed one is decompressed once here
    /// (failing with `DecompressedTooLarge` past `opts.max_decompressed`) and then sliced.
    pub fn records_with(&self, opts: &DecodeOptions) -> Result<RecordsIter, DecodeError> {
        let ctx = V2Context {
            base_offset: self.base_offset,
            base_timestamp: self.base_timestamp,
            log_append_time: (self.timestamp_type() == TimestampType::LogAppendTime)
                .then_some(self.max_timestamp),
            base_sequence: self.base_sequence,
        };
        let (data, start) = match self.compression() {
            Compression::None => (self.raw.clone(), HEADER_LEN),
            codec => {
                let payload = &self.raw[HEADER_LEN..];
                let plain = compression::decompress(codec, payload, opts.max_decompressed)
                    .map_err(|kind| DecodeError::new(kind, HEADER_LEN).in_field("records"))?;
                (plain, 0)
            }
        };
        Ok(RecordsIter::v2(data, start, self.records_count, ctx))
    }

    /// The records of a control batch, parsed. Fails unless [`is_control`](Self::is_control).
    pub fn control_records(
        &self,
        opts: &DecodeOptions,
    ) -> Result<impl Iterator<Item = Result<ControlRecord, DecodeError>>, DecodeError> {
        if !self.is_control() {
            return Err(malformed(
                ATTRIBUTES_OFFSET,
                "not a control batch".to_owned(),
            ));
        }
        Ok(self
            .records_with(opts)?
            .map(|r| r.and_then(|rec| ControlRecord::parse(&rec))))
    }

    /// Writes the batch: the header from the public fields, the stored records payload, and a
    /// freshly computed `batchLength` and CRC32C. An unchanged decoded batch with a correct CRC
    /// comes out byte for byte as it came in.
    pub fn encode(&self, out: &mut BytesMut) {
        let payload = &self.raw[HEADER_LEN.min(self.raw.len())..];
        let start = out.len();
        out.reserve(HEADER_LEN + payload.len());
        out.put_i64(self.base_offset);
        out.put_i32((HEADER_LEN - LOG_OVERHEAD + payload.len()) as i32);
        out.put_i32(self.partition_leader_epoch);
        out.put_i8(2);
        out.put_u32(0);
        out.put_i16(self.attributes);
        out.put_i32(self.last_offset_delta);
        out.put_i64(self.base_timestamp);
        out.put_i64(self.max_timestamp);
        out.put_i64(self.producer_id);
        out.put_i16(self.producer_epoch);
        out.put_i32(self.base_sequence);
        out.put_i32(self.records_count);
        out.put_slice(payload);
        let crc = crc32c::crc32c(&out[start + ATTRIBUTES_OFFSET..]);
        out[start + CRC_OFFSET..start + ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
    }
}
