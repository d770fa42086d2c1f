//! Record batches: the data that Produce carries and Fetch returns.
//!
//! - [`RecordBatch`]: the v2 batch of KIP-98 (magic 2), with every header field, lazily iterated
//!   [`Record`]s (varint framing, [`Header`]s, null distinct from empty) and typed
//!   [`ControlRecord`]s.
//! - [`LegacyBatch`]: one message of the magic 0 and 1 message sets, including compressed wrapper
//!   messages and their inner sets (relative inner offsets for magic 1, KIP-31).
//! - [`BatchIter`]: the batches of a `records` blob of mixed magics; a truncated last batch, as a
//!   Fetch response may end with, is reported as a [`TruncatedTail`], not an error.
//! - [`RecordBatchBuilder`] and [`LegacyMessageSetBuilder`]: build batches for producers (and
//!   interop tests), with any [`Compression`], checksum computed once.
//!
//! Checksums are CRC32C for magic 2 (over attributes to the end) and CRC32 for magic 0/1 (over
//! magic to the end); a mismatch is [`DecodeErrorKind::CrcMismatch`](crate::DecodeErrorKind)
//! unless [`DecodeOptions::verify_crc`] is off. Decompression stops at
//! [`DecodeOptions::max_decompressed`] bytes.
//!
//! Zero copy: when the input is a [`bytes::Bytes`], keys, values and header values of
//! uncompressed batches are slices of it; a compressed batch is decompressed once into a
//! `Bytes` that its records then slice.

mod access;
mod attributes;
mod batch;
mod blob;
mod builder;
mod compression;
mod control;
mod header;
mod iter;
mod legacy;
mod legacy_builder;
mod options;
#[allow(clippy::module_inception)]
mod record;

#[cfg(test)]
mod tests;

pub use attributes::TimestampType;
pub use batch::RecordBatch;
pub use blob::{Batch, BatchIter, Records, TruncatedTail};
pub use builder::{AppendResult, RecordBatchBuilder};
pub use compression::Compression;
pub use control::{ControlRecord, ControlRecordType};
pub use header::Header;
pub use iter::RecordsIter;
pub use legacy::LegacyBatch;
pub use legacy_builder::LegacyMessageSetBuilder;
pub use options::DecodeOptions;
pub use record::Record;

/// `producerId` of a batch written without idempotence (KIP-98).
pub const NO_PRODUCER_ID: i64 = -1;
/// `producerEpoch` of a batch written without idempotence.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// `baseSequence` of a batch written without idempotence.
pub const NO_SEQUENCE: i32 = -1;
/// `partitionLeaderEpoch` before the broker stamps it.
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// The timestamp of a record that has none (magic 0, or `-1` written by the producer).
pub const NO_TIMESTAMP: i64 = -1;
