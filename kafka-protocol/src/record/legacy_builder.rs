//! Building magic 0 and 1 message sets, plain or as one compressed wrapper, the way Java's
//! `MemoryRecordsBuilder` writes them (for interop tests of the old formats and for talking to
//! brokers that predate KIP-98).

use bytes::{BufMut, Bytes, BytesMut};

use super::attributes::{TimestampType, TIMESTAMP_TYPE_BIT};
use super::batch::{LOG_OVERHEAD, MAGIC_OFFSET};
use super::builder::AppendResult;
use super::compression::{self, Compression, Flavour};
use super::legacy::CRC_OFFSET;
use super::record::len_i32;
use super::NO_TIMESTAMP;
use crate::error::EncodeError;

/// Builds a magic 0 or 1 message set. Without compression every message is an entry of its own
/// with its absolute offset; with compression the messages become the inner set of one wrapper
/// whose offset is the last inner offset, with relative inner offsets for magic 1 (KIP-31).
pub struct LegacyMessageSetBuilder {
    magic: i8,
    compression: Compression,
    timestamp_type: TimestampType,
    log_append_time: i64,
    base_offset: i64,
    max_size: usize,
    buf: BytesMut,
    count: usize,
    next_offset: i64,
    last_offset: i64,
    max_timestamp: i64,
}

impl std::fmt::Debug for LegacyMessageSetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegacyMessageSetBuilder")
            .field("magic", &self.magic)
            .field("compression", &self.compression)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// Size of a message after its offset and size fields.
fn message_size(magic: i8, key: Option<&[u8]>, value: Option<&[u8]>) -> usize {
    let fixed = if magic == 0 {
        super::legacy::MIN_SIZE_V0
    } else {
        super::legacy::MIN_SIZE_V1
    };
    fixed + key.map_or(0, <[u8]>::len) + value.map_or(0, <[u8]>::len)
}

/// Writes one message and its CRC32 (LegacyRecord.write).
fn put_message(
    buf: &mut BytesMut,
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(), EncodeError> {
    let size = message_size(magic, key, value);
    let start = buf.len();
    buf.reserve(LOG_OVERHEAD + size);
    buf.put_i64(offset);
    buf.put_i32(len_i32(size)?);
    buf.put_u32(0);
    buf.put_i8(magic);
    buf.put_i8(attributes);
    if magic == 1 {
        buf.put_i64(timestamp);
    }
    for field in [key, value] {
        match field {
            None => buf.put_i32(-1),
            Some(b) => {
                buf.put_i32(len_i32(b.len())?);
                buf.put_slice(b);
            }
        }
    }
    let crc = crc32fast::hash(&buf[start + MAGIC_OFFSET..]);
    buf[start + CRC_OFFSET..start + MAGIC_OFFSET].copy_from_slice(&crc.to_be_bytes());
    Ok(())
}

impl LegacyMessageSetBuilder {
    /// A builder for `magic` 0 or 1. Zstandard needs magic 2 (KIP-110) and is refused.
    pub fn new(magic: i8, compression: Compression) -> Result<Self, EncodeError> {
        if magic != 0 && magic != 1 {
            return Err(EncodeError::Records(format!("magic {magic} is not 0 or 1")));
        }
        if compression == Compression::Zstd {
            return Err(EncodeError::Records("zstd needs magic 2".into()));
        }
        Ok(Self {
            magic,
            compression,
            timestamp_type: if magic == 0 {
                TimestampType::NoTimestamp
            } else {
                TimestampType::CreateTime
            },
            log_append_time: NO_TIMESTAMP,
            base_offset: 0,
            max_size: super::RecordBatchBuilder::DEFAULT_MAX_BATCH_SIZE,
            buf: BytesMut::new(),
            count: 0,
            next_offset: 0,
            last_offset: 0,
            max_timestamp: NO_TIMESTAMP,
        })
    }

    /// Sets the offset of the first message (before any append).
    pub fn set_base_offset(&mut self, base_offset: i64) -> &mut Self {
        self.base_offset = base_offset;
        if self.count == 0 {
            self.next_offset = base_offset;
        }
        self
    }

    /// Magic 1 only: `LogAppendTime` with this append time.
    pub fn set_log_append_time(&mut self, log_append_time: i64) -> &mut Self {
        if self.magic == 1 {
            self.timestamp_type = TimestampType::LogAppendTime;
            self.log_append_time = log_append_time;
        }
        self
    }

    /// The most bytes the set may take, uncompressed; see [`AppendResult::Full`].
    pub fn set_max_size(&mut self, max: usize) -> &mut Self {
        self.max_size = max;
        self
    }

    /// Messages appended so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True before the first append.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn inner_attributes(&self) -> i8 {
        if self.timestamp_type == TimestampType::LogAppendTime {
            TIMESTAMP_TYPE_BIT as i8
        } else {
            0
        }
    }

    /// Appends a message at the next offset. The timestamp is ignored for magic 0.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<AppendResult, EncodeError> {
        let offset = self.next_offset;
        self.append_with_offset(offset, timestamp, key, value)
    }

    /// Appends a message at `offset`, which must be above the previous one.
    pub fn append_with_offset(
        &mut self,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<AppendResult, EncodeError> {
        if self.count > 0 && offset <= self.last_offset || offset < self.base_offset {
            return Err(EncodeError::Records(format!(
                "offset {offset} is not above the previous one"
            )));
        }
        let size = LOG_OVERHEAD + message_size(self.magic, key, value);
        if self.count > 0 && self.buf.len().saturating_add(size) > self.max_size {
            return Ok(AppendResult::Full);
        }
        let timestamp = if self.magic == 0 {
            NO_TIMESTAMP
        } else if self.compression == Compression::None
            && self.timestamp_type == TimestampType::LogAppendTime
        {
            // MemoryRecordsBuilder.appendLegacyRecord stamps plain messages directly.
            self.log_append_time
        } else {
            timestamp
        };
        // toInnerOffset: relative offsets inside compressed magic 1 sets (KIP-31).
        let stored_offset = if self.magic == 1 && self.compression != Compression::None {
            offset.wrapping_sub(self.base_offset)
        } else {
            offset
        };
        let attributes = self.inner_attributes();
        put_message(
            &mut self.buf,
            stored_offset,
            self.magic,
            attributes,
            timestamp,
            key,
            value,
        )?;
        if timestamp > self.max_timestamp {
            self.max_timestamp = timestamp;
        }
        self.count += 1;
        self.last_offset = offset;
        self.next_offset = offset.wrapping_add(1);
        Ok(AppendResult::Appended)
    }

    /// Finishes the set (empty when nothing was appended) and resets the builder.
    pub fn build(&mut self) -> Result<Bytes, EncodeError> {
        let out = if self.compression == Compression::None || self.count == 0 {
            self.buf.split().freeze()
        } else {
            let mut value = Vec::with_capacity(self.buf.len() / 2 + 64);
            compression::compress(
                self.compression,
                Flavour {
                    // KAFKA-3160: Java keeps writing the broken checksum for magic 0.
                    lz4_broken_header_checksum: self.magic == 0,
                },
                &self.buf,
                &mut value,
                &mut None,
            )?;
            let wrapper_timestamp = if self.timestamp_type == TimestampType::LogAppendTime {
                self.log_append_time
            } else {
                self.max_timestamp
            };
            let attributes = self.inner_attributes() | self.compression.id() as i8;
            let mut out = BytesMut::new();
            put_message(
                &mut out,
                self.last_offset,
                self.magic,
                attributes,
                wrapper_timestamp,
                None,
                Some(&value),
            )?;
            self.buf.clear();
            out.freeze()
        };
        self.count = 0;
        self.next_offset = self.base_offset;
        self.last_offset = 0;
        self.max_timestamp = NO_TIMESTAMP;
        Ok(out)
    }
}
