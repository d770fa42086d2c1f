//! Legacy message sets, magic 0 and 1 (the format before KIP-98). Each entry:
//!
//! ```text
//! offset: int64
//! messageSize: int32          (bytes after this field)
//! crc: uint32                 (CRC32 of magic..end)
//! magic: int8                 (0 or 1)
//! attributes: int8            (bits 0-2 codec; bit 3 timestamp type, magic 1 only, KIP-32)
//! timestamp: int64            (magic 1 only, KIP-32)
//! key: bytes                  (int32 length, -1 = null)
//! value: bytes                (int32 length, -1 = null)
//! ```
//!
//! A compressed entry is a wrapper whose value is a compressed message set of the same magic.
//! Inner offsets are absolute for magic 0 and relative (0, 1, ...) for magic 1, where the
//! wrapper holds the absolute offset of the last inner message (KIP-31).

use bytes::Bytes;

use super::attributes::{TimestampType, COMPRESSION_MASK, TIMESTAMP_TYPE_BIT};
use super::batch::{LOG_OVERHEAD, MAGIC_OFFSET};
use super::compression::{self, Compression};
use super::iter::RecordsIter;
use super::options::DecodeOptions;
use super::record::Record;
use super::NO_TIMESTAMP;
use crate::codec::Reader;
use crate::error::{DecodeError, DecodeErrorKind};

/// Offset of the CRC field in an entry.
pub(crate) const CRC_OFFSET: usize = 12;
/// `RECORD_OVERHEAD_V0`: crc, magic, attributes and the two length fields.
pub(crate) const MIN_SIZE_V0: usize = 14;
/// `RECORD_OVERHEAD_V1`: the same plus the timestamp.
pub(crate) const MIN_SIZE_V1: usize = 22;

/// One entry of a magic 0 or 1 message set: a plain message, or a compressed wrapper whose
/// [`records`](Self::records) are its inner messages. Java models each entry as a batch too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyBatch {
    /// The entry's offset: the message's own, or for a wrapper the offset of its last inner
    /// message.
    pub offset: i64,
    /// The stored CRC32.
    pub crc: u32,
    /// 0 or 1.
    pub magic: i8,
    /// Raw attributes.
    pub attributes: i8,
    /// The timestamp (magic 1), or -1 for magic 0.
    pub timestamp: i64,
    /// The key; null for wrappers.
    pub key: Option<Bytes>,
    /// The value; for a wrapper, the compressed inner message set.
    pub value: Option<Bytes>,
    raw: Bytes,
}

#[cold]
fn malformed(at: usize, why: String) -> DecodeError {
    DecodeError::new(DecodeErrorKind::Records(why), at)
}

impl LegacyBatch {
    /// Decodes exactly one entry from `data` (which must hold nothing else), checking the
    /// size, magic, codec and, with `opts.verify_crc`, the CRC32.
    pub fn decode(data: Bytes, opts: &DecodeOptions) -> Result<Self, DecodeError> {
        let mut r = Reader::from_bytes(&data);
        let offset = r.i64()?;
        let size = r.i32()?;
        if size < MIN_SIZE_V0 as i32 {
            // Java's ByteBufferLogInputStream: "Record size is less than the minimum".
            return Err(malformed(8, format!("message size {size} is below 14")));
        }
        let total = size as usize + LOG_OVERHEAD;
        if total != data.len() {
            return Err(DecodeError::new(
                if total > data.len() {
                    DecodeErrorKind::LengthExceedsInput {
                        claimed: size as u64,
                        remaining: data.len() - LOG_OVERHEAD,
                    }
                } else {
                    DecodeErrorKind::TrailingData(data.len() - total)
                },
                8,
            ));
        }
        let crc = r.u32()?;
        let magic = r.i8()?;
        if magic != 0 && magic != 1 {
            return Err(malformed(
                MAGIC_OFFSET,
                format!("magic {magic} is not 0 or 1"),
            ));
        }
        if magic == 1 && (size as usize) < MIN_SIZE_V1 {
            return Err(malformed(8, format!("message size {size} is below 22")));
        }
        if opts.verify_crc {
            // LegacyRecord.computeChecksum: CRC32 from the magic byte to the end.
            let computed = crc32fast::hash(&data[MAGIC_OFFSET..]);
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
        let attributes = r.i8()?;
        match Compression::from_id(attributes as u8 & COMPRESSION_MASK) {
            // Zstandard needs magic 2 (KIP-110).
            None | Some(Compression::Zstd) => {
                return Err(malformed(
                    MAGIC_OFFSET + 1,
                    format!("codec id {} is not valid for magic {magic}", attributes & 7),
                ))
            }
            Some(_) => {}
        }
        let timestamp = if magic == 1 { r.i64()? } else { NO_TIMESTAMP };
        let key = r.nullable_bytes(false)?;
        let value = r.nullable_bytes(false)?;
        r.finish()?;
        Ok(Self {
            offset,
            crc,
            magic,
            attributes,
            timestamp,
            key,
            value,
            raw: data,
        })
    }

    /// The codec: not none for a wrapper message.
    pub fn compression(&self) -> Compression {
        Compression::from_id(self.attributes as u8 & COMPRESSION_MASK).unwrap_or_default()
    }

    /// `NoTimestamp` for magic 0, else attribute bit 3 (KIP-32).
    pub fn timestamp_type(&self) -> TimestampType {
        timestamp_type(self.magic, self.attributes)
    }

    /// The offset of the last message: the entry's offset, for wrappers too.
    pub fn last_offset(&self) -> i64 {
        self.offset
    }

    /// Size of the entry in bytes.
    pub fn size(&self) -> usize {
        self.raw.len()
    }

    /// The entry exactly as it was read.
    pub fn as_bytes(&self) -> &Bytes {
        &self.raw
    }

    /// The records with default options.
    pub fn records(&self) -> Result<RecordsIter, DecodeError> {
        self.records_with(&DecodeOptions::default())
    }

    /// The records: the message itself, or a wrapper's inner messages with absolute offsets
    /// and, when the wrapper is `LogAppendTime`, its timestamp (Java's `DeepRecordsIterator`).
    /// Inner messages are decoded here at once because, for magic 1, absolute offsets need the
    /// last inner offset first (KIP-31).
    pub fn records_with(&self, opts: &DecodeOptions) -> Result<RecordsIter, DecodeError> {
        let codec = self.compression();
        if codec == Compression::None {
            return Ok(RecordsIter::legacy(vec![self.as_record(self.offset)]));
        }
        let Some(value) = &self.value else {
            return Err(malformed(
                0,
                "compressed message set with a null value".to_owned(),
            ));
        };
        let inner = compression::decompress(codec, value, opts.max_decompressed)
            .map_err(|kind| DecodeError::new(kind, 0).in_field("wrapper_value"))?;
        let mut entries = Vec::new();
        let mut r = Reader::from_bytes(&inner);
        while !r.is_empty() {
            let start = r.position();
            let mut head = r.clone();
            head.i64()?;
            let size = head.i32()?;
            let len = LOG_OVERHEAD.saturating_add(usize::try_from(size).unwrap_or(0));
            let entry = r.bytes(len)?;
            let msg = LegacyBatch::decode(entry, opts).map_err(|e| e.shifted(start))?;
            if msg.magic != self.magic {
                return Err(malformed(
                    start + MAGIC_OFFSET,
                    format!(
                        "inner magic {} does not match wrapper magic {}",
                        msg.magic, self.magic
                    ),
                ));
            }
            if msg.compression() != Compression::None {
                return Err(malformed(start, "nested compressed message".to_owned()));
            }
            entries.push(msg);
        }
        let Some(last) = entries.last() else {
            return Err(malformed(
                0,
                "compressed message set with no inner messages".to_owned(),
            ));
        };
        // KIP-31: for magic 1 the wrapper offset is the absolute offset of the last inner
        // message. A wrapper offset of 0 (produce data of some librdkafka versions) means the
        // inner offsets are used as they are, as Java does.
        let base = if self.magic == 1 && self.offset != 0 {
            if self.offset < last.offset {
                return Err(malformed(
                    0,
                    format!(
                        "wrapper offset {} is below the last inner offset {}",
                        self.offset, last.offset
                    ),
                ));
            }
            self.offset.wrapping_sub(last.offset)
        } else {
            0
        };
        let log_append = self.timestamp_type() == TimestampType::LogAppendTime;
        let records = entries
            .iter()
            .map(|m| {
                let mut rec = m.as_record(base.wrapping_add(m.offset));
                if log_append {
                    rec.timestamp = self.timestamp;
                }
                rec
            })
            .collect();
        Ok(RecordsIter::legacy(records))
    }

    fn as_record(&self, offset: i64) -> Record {
        Record {
            offset,
            timestamp: self.timestamp,
            timestamp_delta: 0,
            attributes: self.attributes,
            sequence: -1,
            key: self.key.clone(),
            value: self.value.clone(),
            headers: Vec::new(),
        }
    }
}

/// The timestamp type of a legacy message.
pub(crate) fn timestamp_type(magic: i8, attributes: i8) -> TimestampType {
    if magic == 0 {
        TimestampType::NoTimestamp
    } else if attributes as u8 & TIMESTAMP_TYPE_BIT != 0 {
        TimestampType::LogAppendTime
    } else {
        TimestampType::CreateTime
    }
}
