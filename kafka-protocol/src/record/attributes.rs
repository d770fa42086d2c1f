//! Attribute bits of v2 batches (KIP-98, KIP-534) and legacy messages (KIP-32).

/// Which clock a record's timestamp comes from (KIP-32), bit 3 of the attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Magic 0 messages have no timestamp.
    NoTimestamp,
    /// Set by the producer (`CreateTime`).
    #[default]
    CreateTime,
    /// Set by the broker on append (`LogAppendTime`); the batch's max timestamp is then the
    /// timestamp of every record in it.
    LogAppendTime,
}

impl TimestampType {
    /// The name Java prints (`TimestampType.toString`).
    pub fn name(self) -> &'static str {
        match self {
            Self::NoTimestamp => "NoTimestampType",
            Self::CreateTime => "CreateTime",
            Self::LogAppendTime => "LogAppendTime",
        }
    }
}

/// Bits 0-2: the compression codec (both formats).
pub(crate) const COMPRESSION_MASK: u8 = 0x07;
/// Bit 3: timestamp type, 1 = `LogAppendTime` (magic 1 and 2).
pub(crate) const TIMESTAMP_TYPE_BIT: u8 = 0x08;
/// Bit 4 of v2 batch attributes: the batch is part of a transaction (KIP-98).
pub(crate) const TRANSACTIONAL_BIT: i16 = 0x10;
/// Bit 5 of v2 batch attributes: the batch holds control records (KIP-98).
pub(crate) const CONTROL_BIT: i16 = 0x20;
/// Bit 6 of v2 batch attributes: the base timestamp is the delete horizon (KIP-534).
pub(crate) const DELETE_HORIZON_BIT: i16 = 0x40;
