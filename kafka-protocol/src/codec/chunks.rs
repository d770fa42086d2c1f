//! [`Writer`]: where encoders write, either one contiguous buffer or a list of chunks that
//! references large `records` fields instead of copying them.

use std::io::IoSlice;

use bytes::{BufMut, Bytes, BytesMut};

use super::writer::put_nullable_bytes;
use super::{put_bytes, put_unsigned_varint};
use crate::error::EncodeError;

/// Records fields shorter than this are copied even by a chunked writer: below about a
/// kilobyte, copying costs less than the reference count and the extra I/O vector entry.
pub const DEFAULT_MIN_REFERENCE: usize = 1024;

/// Capacity a chunked writer allocates for its owned chunks at a time. Owned chunks are split
/// off one buffer, so a whole Produce request's fields usually share one allocation, reused by
/// [`Writer::reset`] once the chunks are dropped.
const CHUNK_CAPACITY: usize = 4096;

/// Below this much spare capacity after a split, a new buffer is reserved at once rather than
/// growing a small one step by step.
const MIN_SPARE: usize = 256;

#[derive(Debug)]
enum Chunk {
    /// Bytes written by the encoder; stays mutable so a size prefix can still be filled in.
    Owned(BytesMut),
    /// A `records` field, referenced, not copied.
    Shared(Bytes),
}

impl Chunk {
    fn as_slice(&self) -> &[u8] {
        match self {
            Chunk::Owned(b) => b,
            Chunk::Shared(b) => b,
        }
    }
}

/// The destination of an encoding.
///
/// A contiguous writer ([`Writer::new`], and what [`Message::encode`](crate::Message::encode)
/// uses) is one [`BytesMut`]. A chunked writer ([`Writer::chunked`], used through
/// [`Message::encode_to`](crate::Message::encode_to)) writes the small fields the same way but
/// keeps every `records` field of at least `min_reference` bytes as a reference to the message's
/// own [`Bytes`]: a Produce request or Fetch response then costs a few hundred bytes of copying
/// however many megabytes of records it carries, and the chunks go to the socket with one
/// vectored write ([`Writer::io_slices`]).
///
/// ```
/// use bytes::Bytes;
/// use kafka_protocol::codec::Writer;
/// use kafka_protocol::generated::{produce_request, ProduceRequest};
/// use kafka_protocol::Message;
///
/// let records = Bytes::from(vec![7u8; 64 * 1024]);
/// let request = ProduceRequest {
///     acks: -1,
///     topic_data: vec![produce_request::TopicProduceData {
///         name: "orders".into(),
///         partition_data: vec![produce_request::PartitionProduceData {
///             index: 0,
///             records: Some(records.clone()),
///             ..Default::default()
///         }],
///         ..Default::default()
///     }],
///     ..Default::default()
/// };
/// let mut w = Writer::chunked(1024);
/// w.size_prefixed(|w| request.encode_to(w, 9)).unwrap();
/// // Size prefix and fields, the records by reference, the trailing fields.
/// assert_eq!(w.chunk_count(), 3);
/// assert_eq!(w.io_slices()[1].as_ptr(), records.as_ptr());
/// // The same bytes as a contiguous encoding.
/// let contiguous = request.encode_to_bytes(9).unwrap();
/// assert_eq!(w.total_len(), 4 + contiguous.len());
/// assert_eq!(&w.to_bytes()[4..], &contiguous[..]);
/// ```
#[derive(Debug)]
pub struct Writer {
    /// The chunk being written.
    buf: BytesMut,
    /// Finished chunks, in order, before `buf`. Always empty for a contiguous writer.
    done: Vec<Chunk>,
    /// Records fields of at least this many bytes are referenced; `usize::MAX` never.
    min_reference: usize,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    /// A contiguous writer: everything is copied into one buffer.
    pub fn new() -> Self {
        Self::contiguous(BytesMut::new())
    }

    /// A contiguous writer appending to `buf`.
    pub fn contiguous(buf: BytesMut) -> Self {
        Self {
            buf,
            done: Vec::new(),
            min_reference: usize::MAX,
        }
    }

    /// A chunked writer that references every `records` field of at least `min_reference`
    /// bytes instead of copying it ([`DEFAULT_MIN_REFERENCE`] is a good value).
    pub fn chunked(min_reference: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(CHUNK_CAPACITY),
            done: Vec::new(),
            min_reference,
        }
    }

    /// Everything written, as one buffer; for a chunked writer that holds references, the
    /// chunks are copied together.
    pub fn into_contiguous(self) -> BytesMut {
        if self.done.is_empty() {
            return self.buf;
        }
        let mut out = BytesMut::with_capacity(self.total_len());
        for c in &self.done {
            out.put_slice(c.as_slice());
        }
        out.put_slice(&self.buf);
        out
    }

    /// A copy of everything written, as one buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.total_len());
        for c in self.chunks() {
            out.put_slice(c);
        }
        out.freeze()
    }

    /// Bytes written so far, over all chunks.
    pub fn total_len(&self) -> usize {
        self.done.iter().map(|c| c.as_slice().len()).sum::<usize>() + self.buf.len()
    }

    /// Number of chunks (the current one included when it holds bytes).
    pub fn chunk_count(&self) -> usize {
        self.done.len() + usize::from(!self.buf.is_empty())
    }

    /// The chunks in order, empty ones left out.
    pub fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.done
            .iter()
            .map(Chunk::as_slice)
            .chain(std::iter::once(&self.buf[..]))
            .filter(|c| !c.is_empty())
    }

    /// The chunks as I/O slices, for one vectored write.
    pub fn io_slices(&self) -> Vec<IoSlice<'_>> {
        self.chunks().map(IoSlice::new).collect()
    }

    /// The chunks as shared buffers (the referenced records are the caller's own `Bytes`).
    pub fn into_chunks(self) -> Vec<Bytes> {
        let mut out: Vec<Bytes> = self
            .done
            .into_iter()
            .map(|c| match c {
                Chunk::Owned(b) => b.freeze(),
                Chunk::Shared(b) => b,
            })
            .collect();
        if !self.buf.is_empty() {
            out.push(self.buf.freeze());
        }
        out
    }

    /// Forgets everything written, keeping the buffer for reuse once the chunks handed out
    /// from it are dropped.
    pub fn reset(&mut self) {
        self.done.clear();
        self.buf.clear();
        if self.min_reference != usize::MAX {
            // Takes back the start of the allocation when no chunk handed out still uses it;
            // otherwise the next reserve allocates, as it would anyway.
            let _reclaimed = self.buf.try_reclaim(CHUNK_CAPACITY);
        }
    }

    /// Writes a big-endian `int32` size prefix followed by what `f` writes; the size counts
    /// the bytes after the prefix (Kafka's frame size).
    pub fn size_prefixed(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<(), EncodeError>,
    ) -> Result<(), EncodeError> {
        let chunk = self.done.len();
        let at = self.buf.len();
        self.buf.put_i32(0);
        let before = self.total_len();
        f(self)?;
        let size = self.total_len() - before;
        let size = i32::try_from(size).map_err(|_| EncodeError::TooLong { len: size })?;
        // The prefix is in the chunk that was current when it was written: still `buf`, or the
        // owned chunk split off from it when a records field was referenced.
        let target = match self.done.get_mut(chunk) {
            Some(Chunk::Owned(b)) => b,
            _ => &mut self.buf,
        };
        debug_assert!(target.len() >= at + 4);
        if let Some(prefix) = target.get_mut(at..at + 4) {
            prefix.copy_from_slice(&size.to_be_bytes());
        }
        Ok(())
    }

    /// Overwrites `bytes` at `offset`, counted from the start of everything written, when they
    /// lie in the first chunk (always owned: a frame's size prefix and header), and says
    /// whether they did. A connection patches its correlation id into a request frame encoded
    /// before the id was known this way.
    pub fn patch(&mut self, offset: usize, bytes: &[u8]) -> bool {
        let first = match self.done.first_mut() {
            Some(Chunk::Owned(b)) => b,
            Some(Chunk::Shared(_)) => return false,
            None => &mut self.buf,
        };
        match offset
            .checked_add(bytes.len())
            .and_then(|end| first.get_mut(offset..end))
        {
            Some(target) => {
                target.copy_from_slice(bytes);
                true
            }
            None => false,
        }
    }

    /// Writes a `records` field's bytes (the length prefix is already written): referenced
    /// when this writer is chunked and they are long enough, else copied.
    #[inline]
    fn put_records_payload(&mut self, records: &Bytes) {
        if records.len() >= self.min_reference {
            let head = self.buf.split();
            self.done.push(Chunk::Owned(head));
            self.done.push(Chunk::Shared(records.clone()));
            if self.buf.capacity() < MIN_SPARE {
                self.buf.reserve(CHUNK_CAPACITY);
            }
        } else {
            self.buf.put_slice(records);
        }
    }
}

impl std::ops::Deref for Writer {
    type Target = BytesMut;
    #[inline(always)]
    fn deref(&self) -> &BytesMut {
        &self.buf
    }
}

impl std::ops::DerefMut for Writer {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

/// Writes a non-null `records` field: length prefix, then the bytes, referenced rather than
/// copied by a chunked [`Writer`].
#[inline]
pub fn put_records(w: &mut Writer, value: &Bytes, compact: bool) -> Result<(), EncodeError> {
    if value.len() < w.min_reference {
        return put_bytes(w, value, compact);
    }
    if compact {
        let plus_one = u32::try_from(value.len())
            .ok()
            .and_then(|n| n.checked_add(1))
            .ok_or(EncodeError::TooLong { len: value.len() })?;
        put_unsigned_varint(w, plus_one);
    } else {
        let n =
            i32::try_from(value.len()).map_err(|_| EncodeError::TooLong { len: value.len() })?;
        w.put_i32(n);
    }
    w.put_records_payload(value);
    Ok(())
}

/// Writes a nullable `records` field (length -1, or compact 0, for null).
#[inline]
pub fn put_nullable_records(
    w: &mut Writer,
    value: Option<&Bytes>,
    compact: bool,
) -> Result<(), EncodeError> {
    match value {
        Some(b) => put_records(w, b, compact),
        None => put_nullable_bytes(w, None, compact),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_and_contiguous_write_the_same_bytes() {
        let big = Bytes::from(vec![1u8; 2000]);
        let small = Bytes::from_static(b"tiny");
        for compact in [false, true] {
            let mut flat = Writer::new();
            let mut chunked = Writer::chunked(1024);
            for w in [&mut flat, &mut chunked] {
                w.size_prefixed(|w| {
                    w.put_i16(7);
                    put_nullable_records(w, Some(&big), compact)?;
                    put_records(w, &small, compact)?;
                    put_nullable_records(w, None, compact)?;
                    put_records(w, &big, compact)?;
                    w.put_i8(-1);
                    Ok(())
                })
                .unwrap();
            }
            assert_eq!(flat.chunk_count(), 1);
            // head, big, middle, big, tail
            assert_eq!(chunked.chunk_count(), 5);
            assert_eq!(chunked.total_len(), flat.total_len());
            let flat = flat.into_contiguous();
            assert_eq!(chunked.to_bytes(), flat);
            let size = i32::from_be_bytes([flat[0], flat[1], flat[2], flat[3]]);
            assert_eq!(size as usize, flat.len() - 4);
            let slices = chunked.io_slices();
            assert_eq!(slices[1].as_ptr(), big.as_ptr());
            assert_eq!(slices[3].as_ptr(), big.as_ptr());
            assert_eq!(chunked.into_contiguous(), flat);
        }
    }

    #[test]
    fn patch_writes_into_the_first_chunk_only() {
        let big = Bytes::from(vec![5u8; 2048]);
        let mut w = Writer::chunked(1024);
        w.put_i32(0);
        w.put_i32(0);
        put_records(&mut w, &big, true).unwrap();
        w.put_u8(9);
        assert!(w.patch(4, &7i32.to_be_bytes()));
        // The first chunk is the two integers and the records length (2 bytes).
        assert!(!w.patch(9, &[1, 2]), "crosses into the referenced records");
        assert!(!w.patch(usize::MAX, &[1]));
        let bytes = w.to_bytes();
        assert_eq!(&bytes[..8], &[0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(bytes.len(), 8 + 2 + 2048 + 1);
        let mut flat = Writer::new();
        flat.put_i32(1);
        assert!(flat.patch(0, &[0xff]));
        assert!(!flat.patch(3, &[0, 0]));
        assert_eq!(&flat.to_bytes()[..], &[0xff, 0, 0, 1]);
    }

    #[test]
    fn reset_reuses_the_writer() {
        let big = Bytes::from(vec![3u8; 4096]);
        let mut w = Writer::chunked(1024);
        for _ in 0..3 {
            w.reset();
            w.put_u8(1);
            put_records(&mut w, &big, true).unwrap();
            w.put_u8(2);
            assert_eq!(w.chunk_count(), 3);
            assert_eq!(w.total_len(), 1 + 2 + 4096 + 1);
        }
        let chunks = w.into_chunks();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[2], Bytes::from_static(&[2]));
    }
}
