//! A `records` blob, as the `records` field of a Produce request or a Fetch response carries:
//! batches back to back, of any magic. Every format starts with `offset: int64, size: int32`
//! and has its magic at byte 16, which is how entries are told apart (Java's
//! `ByteBufferLogInputStream`).

use bytes::Bytes;

use super::batch::{RecordBatch, LOG_OVERHEAD, MAGIC_OFFSET};
use super::compression::Compression;
use super::iter::RecordsIter;
use super::legacy::{LegacyBatch, MIN_SIZE_V0};
use super::options::DecodeOptions;
use crate::error::{DecodeError, DecodeErrorKind};

/// One batch of a records blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// A v2 batch (magic 2).
    V2(RecordBatch),
    /// A magic 0 or 1 entry, possibly a compressed wrapper.
    Legacy(LegacyBatch),
}

impl Batch {
    /// The magic byte.
    pub fn magic(&self) -> i8 {
        match self {
            Self::V2(b) => b.magic,
            Self::Legacy(b) => b.magic,
        }
    }

    /// The offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        match self {
            Self::V2(b) => b.last_offset(),
            Self::Legacy(b) => b.last_offset(),
        }
    }

    /// The codec.
    pub fn compression(&self) -> Compression {
        match self {
            Self::V2(b) => b.compression(),
            Self::Legacy(b) => b.compression(),
        }
    }

    /// True for a v2 control batch.
    pub fn is_control(&self) -> bool {
        matches!(self, Self::V2(b) if b.is_control())
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        match self {
            Self::V2(b) => b.size(),
            Self::Legacy(b) => b.size(),
        }
    }

    /// The batch exactly as it was read.
    pub fn as_bytes(&self) -> &Bytes {
        match self {
            Self::V2(b) => b.as_bytes(),
            Self::Legacy(b) => b.as_bytes(),
        }
    }

    /// The records with default options.
    pub fn records(&self) -> Result<RecordsIter, DecodeError> {
        self.records_with(&DecodeOptions::default())
    }

    /// The records (see [`RecordBatch::records_with`] and [`LegacyBatch::records_with`]).
    pub fn records_with(&self, opts: &DecodeOptions) -> Result<RecordsIter, DecodeError> {
        match self {
            Self::V2(b) => b.records_with(opts),
            Self::Legacy(b) => b.records_with(opts),
        }
    }
}

/// An incomplete last batch. A broker fills a Fetch response up to the requested size and may
/// cut the last batch; that is normal, and the consumer fetches again from its offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    /// Where the incomplete batch starts in the blob.
    pub position: usize,
    /// Its bytes.
    pub bytes: Bytes,
    /// Its base offset (the first 8 bytes), when at least those arrived.
    pub base_offset: Option<i64>,
}

/// Iterates the batches of a records blob, lazily, one batch per `next`.
///
/// A batch whose declared size runs past the end of the blob ends the iteration without an
/// error and is kept as [`truncated`](Self::truncated). A size below the smallest message, an
/// unknown magic, a malformed header or a checksum mismatch yields one error and ends the
/// iteration. Error offsets count from the start of the blob.
#[derive(Debug, Clone)]
pub struct BatchIter {
    data: Bytes,
    pos: usize,
    opts: DecodeOptions,
    truncated: Option<TruncatedTail>,
    done: bool,
}

impl BatchIter {
    /// Iterates `data` with default options.
    pub fn new(data: Bytes) -> Self {
        Self::with_options(data, DecodeOptions::default())
    }

    /// Iterates `data` with `opts`.
    pub fn with_options(data: Bytes, opts: DecodeOptions) -> Self {
        Self {
            data,
            pos: 0,
            opts,
            truncated: None,
            done: false,
        }
    }

    /// The incomplete last batch, once the iteration reached it.
    pub fn truncated(&self) -> Option<&TruncatedTail> {
        self.truncated.as_ref()
    }

    /// Bytes of the blob consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    fn truncate_here(&mut self) -> Option<Result<Batch, DecodeError>> {
        let bytes = self.data.slice(self.pos..);
        let base_offset = bytes.first_chunk::<8>().map(|b| i64::from_be_bytes(*b));
        self.truncated = Some(TruncatedTail {
            position: self.pos,
            bytes,
            base_offset,
        });
        self.done = true;
        None
    }

    fn fail(&mut self, e: DecodeError) -> Option<Result<Batch, DecodeError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl Iterator for BatchIter {
    type Item = Result<Batch, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = &self.data[self.pos..];
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let Some(head) = rest.first_chunk::<LOG_OVERHEAD>() else {
            return self.truncate_here();
        };
        let size = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
        if size < MIN_SIZE_V0 as i32 {
            // Below the smallest message of any magic: corruption, not truncation.
            return self.fail(DecodeError::new(
                DecodeErrorKind::Records(format!("batch size {size} is below 14")),
                self.pos + 8,
            ));
        }
        let total = size as usize + LOG_OVERHEAD;
        if total > rest.len() {
            return self.truncate_here();
        }
        let magic = rest[MAGIC_OFFSET] as i8;
        let start = self.pos;
        let bytes = self.data.slice(start..start + total);
        self.pos += total;
        let batch = match magic {
            2 => RecordBatch::decode(bytes, &self.opts).map(Batch::V2),
            0 | 1 => LegacyBatch::decode(bytes, &self.opts).map(Batch::Legacy),
            m => Err(DecodeError::new(
                DecodeErrorKind::Records(format!("unknown magic {m}")),
                MAGIC_OFFSET,
            )),
        };
        match batch {
            Ok(b) => Some(Ok(b)),
            Err(e) => self.fail(e.shifted(start)),
        }
    }
}

impl std::iter::FusedIterator for BatchIter {}

/// All the batches of a records blob, decoded eagerly (the records inside stay lazy).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Records {
    /// The complete batches, in order.
    pub batches: Vec<Batch>,
    /// The incomplete last batch, if the blob ended inside one.
    pub truncated: Option<TruncatedTail>,
}

impl Records {
    /// Decodes every complete batch of `data`.
    pub fn decode(data: Bytes, opts: &DecodeOptions) -> Result<Self, DecodeError> {
        let mut it = BatchIter::with_options(data, *opts);
        let batches = it.by_ref().collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            batches,
            truncated: it.truncated,
        })
    }
}
